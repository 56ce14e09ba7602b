// GeneralAccurateOCR through Tencent Cloud's official Node.js SDK, changed only in its endpoint
// (plain HTTP) and credentials, as a Tencent customer's code would be.
// Usage: node general_accurate_ocr.js ENDPOINT SECRET_ID SECRET_KEY < request.json
// Prints {"response": ...}, or {"error": {"code", "message", "requestId"}} when the SDK raises.
const fs = require("fs");
const tencentcloud = require("tencentcloud-sdk-nodejs-ocr");

const [endpoint, secretId, secretKey] = process.argv.slice(2);
const client = new tencentcloud.ocr.v20181119.Client({
  credential: { secretId, secretKey },
  region: "ap-guangzhou",
  profile: { httpProfile: { endpoint, protocol: "http://" } },
});
client.GeneralAccurateOCR(JSON.parse(fs.readFileSync(0, "utf8"))).then(
  (response) => console.log(JSON.stringify({ response })),
  (error) => console.log(JSON.stringify({ error: { code: error.code, message: error.message, requestId: error.requestId } })),
);
