"""Tencent Cloud's own Python SDK against the local server over HTTP, changed only in its endpoint
and credentials: what a Tencent customer's code does, answered as Tencent answers it."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from helpers import data_image, data_truth, encode
from ocr_tools.scoring import cer
from tencent_sdk import client, general_accurate_ocr, signed, signing_at

pytestmark = pytest.mark.http

PHOTOTEST = data_image("tesseract-test/phototest.tif")
# One line of phototest: quick to read, and text to find.
ONE_LINE = base64.b64encode(encode(Image.open(io.BytesIO(PHOTOTEST)).crop((30, 85, 600, 128)), "PNG")).decode()


@pytest.fixture(scope="module")
def server(local_server):
    return local_server


def endpoint(server) -> str:
    return f"127.0.0.1:{server.port}"


def sdk(server, secret_id=None, secret_key=None, **options):
    return client(endpoint(server), secret_id or server.secret_id, secret_key or server.secret_key, **options)


def new_pair(server, plan: str = "standard") -> tuple[str, str, str]:
    """A new key on ``plan`` with a pair issued by the key command: (key id, SecretId, SecretKey)."""
    _, key_id = server.create_key(f"sdk {plan}", plan)
    issued = server.keys("tencent-credentials", "create", key_id)
    return (key_id, re.search(r"SecretId:  (\S+)", issued)[1], re.search(r"SecretKey: (\S+)", issued)[1])


def as_sent(headers: dict[str, str], **changes: str) -> dict[str, str]:
    """The SDK's headers but Host, which the connection sends: the address it connected to."""
    return {**{name: value for name, value in headers.items() if name != "Host"}, **changes}


def refused_with(code: str, call) -> TencentCloudSDKException:
    with pytest.raises(TencentCloudSDKException) as raised:
        call()
    assert raised.value.code == code, raised.value
    assert raised.value.message and raised.value.requestId
    return raised.value


def test_the_sdk_reads_text_into_text_detections(server):
    answer = general_accurate_ocr(sdk(server), ImageBase64=base64.b64encode(PHOTOTEST).decode())
    text = "\n".join(detection["DetectedText"] for detection in answer["TextDetections"])
    assert cer(text, data_truth("tesseract-test/phototest.tif")) <= 0.02
    assert answer["TextDetections"][0]["Polygon"] and answer["RequestId"]


def test_the_printed_python_example_works_as_printed(server):
    example = re.search(r"\n  (\S+/python) - <<'EOF'\n(.*?)\nEOF\n", server.banner, re.S)
    done = subprocess.run([example[1], "-"], input=example[2], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    detections = json.loads(done.stdout)["TextDetections"]
    assert [d["DetectedText"] for d in detections][1] == "Image to text in one API call"


def test_a_wrong_secret_key_raises_signature_failure(server):
    refused_with(
        "AuthFailure.SignatureFailure",
        lambda: general_accurate_ocr(sdk(server, secret_key="x" * 32), ImageBase64=ONE_LINE),
    )


def test_an_unknown_secret_id_raises_secret_id_not_found(server):
    refused_with(
        "AuthFailure.SecretIdNotFound",
        lambda: general_accurate_ocr(sdk(server, secret_id="AKID" + "0" * 32), ImageBase64=ONE_LINE),
    )


def test_a_request_signed_ten_minutes_ago_raises_signature_expire(server):
    with signing_at(time.time() - 600):
        refused_with("AuthFailure.SignatureExpire", lambda: general_accurate_ocr(sdk(server), ImageBase64=ONE_LINE))


def test_a_disabled_key_raises_unauthorized_operation(server):
    key_id, secret_id, secret_key = new_pair(server)
    server.keys("disable", key_id)
    refused_with(
        "AuthFailure.UnauthorizedOperation",
        lambda: general_accurate_ocr(sdk(server, secret_id, secret_key), ImageBase64=ONE_LINE),
    )


def test_a_disabled_pair_is_not_found_and_its_rotation_signs(server):
    key_id, secret_id, secret_key = new_pair(server)
    rotated = server.keys("tencent-credentials", "rotate", secret_id)
    new_id, new_key = re.search(r"SecretId:  (\S+)", rotated)[1], re.search(r"SecretKey: (\S+)", rotated)[1]
    refused_with(
        "AuthFailure.SecretIdNotFound",
        lambda: general_accurate_ocr(sdk(server, secret_id, secret_key), ImageBase64=ONE_LINE),
    )
    answer = general_accurate_ocr(sdk(server, new_id, new_key), ImageBase64=ONE_LINE)
    assert answer["TextDetections"][0]["DetectedText"].startswith("This is")


def test_a_used_up_quota_raises_charge_status_exception(server):
    server.keys("plans", "create", "sdk-one-call", "--trial", "1")
    _, secret_id, secret_key = new_pair(server, plan="sdk-one-call")
    ocr = sdk(server, secret_id, secret_key)
    assert general_accurate_ocr(ocr, ImageBase64=ONE_LINE)["TextDetections"]
    refused_with("ResourcesSoldOut.ChargeStatusException", lambda: general_accurate_ocr(ocr, ImageBase64=ONE_LINE))


def test_a_bad_image_raises_tencents_code(server):
    refused_with(
        "FailedOperation.ImageDecodeFailed",
        lambda: general_accurate_ocr(sdk(server), ImageBase64=base64.b64encode(b"not an image").decode()),
    )


def test_a_pdf_page_through_the_sdk(server):
    pdf = io.BytesIO()
    Image.new("L", (640, 480), 255).save(
        pdf, format="PDF", save_all=True, append_images=[Image.open(io.BytesIO(PHOTOTEST))]
    )
    encoded = base64.b64encode(pdf.getvalue()).decode()
    answer = general_accurate_ocr(sdk(server), ImageBase64=encoded, IsPdf=True, PdfPageNumber=2)
    assert answer["TextDetections"][0]["DetectedText"].startswith("This is")


def test_an_image_url_through_the_sdk(server, image_server):
    answer = general_accurate_ocr(sdk(server), ImageUrl=image_server.url("/phototest.tif"))
    assert answer["TextDetections"][0]["DetectedText"].startswith("This is")


def test_the_sdks_unsigned_payload_option(server):
    # The second client: the SDK's own UNSIGNED-PAYLOAD signing, the body left out.
    answer = general_accurate_ocr(sdk(server, unsigned_payload=True), ImageBase64=ONE_LINE)
    assert answer["TextDetections"][0]["DetectedText"].startswith("This is")
    refused_with(
        "AuthFailure.SignatureFailure",
        lambda: general_accurate_ocr(sdk(server, secret_key="y" * 32, unsigned_payload=True), ImageBase64=ONE_LINE),
    )


NODE_SDK = Path(__file__).parents[1] / "node_sdk"  # scripts/setup_node_sdk.sh installs it


def node_sdk(server, secret_key: str, **fields) -> dict:
    """GeneralAccurateOCR through Tencent's Node.js SDK: {"response": ...} or {"error": ...}."""
    done = subprocess.run(
        ["node", str(NODE_SDK / "general_accurate_ocr.js"), endpoint(server), server.secret_id, secret_key],
        input=json.dumps(fields),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_tencents_node_sdk_reads_and_fails_as_the_python_one(server):
    # A second official client, which signs otherwise: the host without its port, and the
    # service named after the endpoint's first label ("127" here).
    answer = node_sdk(server, server.secret_key, ImageBase64=ONE_LINE)
    assert answer["response"]["TextDetections"][0]["DetectedText"].startswith("This is")
    refused = node_sdk(server, "n" * 32, ImageBase64=ONE_LINE)["error"]
    assert refused["code"] == "AuthFailure.SignatureFailure" and refused["requestId"]


def test_answers_are_application_json_exactly_as_tencent_sends_them(server):
    # The SDK reads an error only under this exact type: anything else would look like a success.
    for secret_key in (server.secret_key, "z" * 32):
        headers, body = signed({"ImageBase64": ONE_LINE}, server.secret_id, secret_key, host=endpoint(server))
        status, answer_headers, data = server.send("POST", "/", body, as_sent(headers))
        assert status == 200 and answer_headers["Content-Type"] == "application/json"
        assert ("Error" in json.loads(data)["Response"]) is (secret_key != server.secret_key)


def test_a_wrong_version_gets_tencents_answer(server):
    headers, body = signed({"ImageBase64": ONE_LINE}, server.secret_id, server.secret_key, host=endpoint(server))
    status, _, data = server.send("POST", "/", body, as_sent(headers, **{"X-TC-Version": "2017-01-01"}))
    assert status == 200 and json.loads(data)["Response"]["Error"]["Code"] == "NoSuchVersion"


def test_a_signature_for_another_host_fails(server):
    # Signed for one host and sent to another: the host a client signs is the one it connected to.
    headers, body = signed({"ImageBase64": ONE_LINE}, server.secret_id, server.secret_key, host="ocr.example.com")
    status, _, data = server.send("POST", "/", body, as_sent(headers))
    assert json.loads(data)["Response"]["Error"]["Code"] == "AuthFailure.SignatureFailure"
