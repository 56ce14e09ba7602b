// The console's behaviour: read an image through this API and show what it read, drawn on it.
// Plain JavaScript, no build step, no library; every request goes to this API (or, for a large
// file, to the uploads bucket through the presigned POST the API hands out).
"use strict";

(() => {
  const KEY_STORAGE = "ocr-console-appkey";
  // Files up to this size go in the request itself (API Gateway takes 10 MB, base64 makes 4 of 3,
  // and Lambda's payload is 6 MB); larger ones are uploaded first and read by upload_id.
  const DIRECT_BYTES = 4 * 1024 * 1024;
  const UPLOAD_TYPES = {
    heic: "image/heic", heif: "image/heif", avif: "image/avif", pdf: "application/pdf", jpg: "image/jpeg",
    jpeg: "image/jpeg", png: "image/png", bmp: "image/bmp", gif: "image/gif", webp: "image/webp",
    tif: "image/tiff", tiff: "image/tiff",
  };
  // Shown by the browser as they are; other files (HEIC, TIFF, PDF) are read without a preview.
  const SHOWN_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/avif"];
  const SVG = "http://www.w3.org/2000/svg";

  const $ = (id) => document.getElementById(id);
  // The API's root: the page's <base>, which the API sets to its stage's path (or "/").
  const apiBase = new URL(document.baseURI);
  const apiUrl = (path) => new URL(path, apiBase).href;

  let chosenFile = null;
  let previewUrl = null;
  let lastResult = null;
  let lastJson = "";

  // The key: kept in this tab's sessionStorage only.
  const keyInput = $("appkey");
  keyInput.value = sessionStorage.getItem(KEY_STORAGE) || "";
  keyInput.addEventListener("input", () => {
    if (keyInput.value.trim()) sessionStorage.setItem(KEY_STORAGE, keyInput.value.trim());
    else sessionStorage.removeItem(KEY_STORAGE);
  });
  const appkey = () => keyInput.value.trim();

  // Choosing a file: the file input, a drop on the zone, a paste anywhere.
  const drop = $("drop");
  const choose = (file) => {
    if (!file) return;
    chosenFile = file;
    $("url").value = "";
    drop.querySelector("span").textContent = `${file.name || "pasted image"} (${formatBytes(file.size)})`;
  };
  $("file").addEventListener("change", (event) => choose(event.target.files[0]));
  drop.addEventListener("click", () => $("file").click());
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      $("file").click();
    }
  });
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    choose(event.dataTransfer.files[0]);
  });
  document.addEventListener("paste", (event) => {
    const file = [...event.clipboardData.files][0];
    if (file) choose(file);
  });
  $("url").addEventListener("input", () => {
    if ($("url").value.trim()) chosenFile = null;
  });

  // The universal endpoint's options, as the form says.
  const options = () => {
    const fields = {};
    for (const name of ["engine", "languages", "enable_cls", "pdf_page"]) {
      const value = $(name).value.trim();
      if (value) fields[name] = value;
    }
    fields.need_location = String($("need_location").checked);
    fields.return_markdown = String($("return_markdown").checked);
    if ($("return_tables").checked) fields.return_tables = "true";
    return fields;
  };

  $("request").addEventListener("submit", (event) => {
    event.preventDefault();
    run(() => read(options()));
  });
  $("compare").addEventListener("click", () => run(compare));

  async function run(task) {
    for (const button of [$("read"), $("compare")]) button.disabled = true;
    showError(null);
    try {
      await task();
    } catch (error) {
      showError(error instanceof ApiError ? error.message : `The request could not be sent: ${error.message}`);
      setStatus("");
    } finally {
      for (const button of [$("read"), $("compare")]) button.disabled = false;
      $("progress").hidden = true;
    }
  }

  // One reading, shown with its boxes.
  async function read(fields) {
    if (!appkey()) return readDemo();
    const source = currentSource();
    const started = performance.now();
    setStatus("Reading…");
    if (source.file && isPdf(source.file) && $("all_pages").checked) {
      return readAsJob(source.file, fields, started);
    }
    const answer = await recognize(source, fields);
    const [result] = answer.results;
    const seconds = (performance.now() - started) / 1000;
    showResult(result, answer, source.file ? previewFor(source.file) : previewFor(null, source.url));
    setStatus(`Read in ${seconds.toFixed(2)} s: ${result.blocks.length} lines, mostly by ${result.engine}.`);
    writeCode(source, fields);
  }

  // Without a key: the demo endpoint, which reads the sample image and answers its text.
  async function readDemo() {
    const started = performance.now();
    setStatus("Reading the demo image (no key given)…");
    const answer = await call("GET", "v1/imagerecognition/ocr/demo");
    const texts = answer.Data.resultText;
    const result = { engine: "demo", blocks: texts.map((text) => ({ text, confidence: 1 })), text: texts.join("\n") };
    showResult(result, answer, "console/demo.png");
    const seconds = (performance.now() - started) / 1000;
    setStatus(`Demo image read in ${seconds.toFixed(2)} s. Type a key to read your own images with boxes.`);
    writeCode({ file: { name: "demo.png" } }, options());
  }

  // The same image by both engines, side by side.
  async function compare() {
    if (!appkey()) throw new ApiError("Comparing engines needs a key.");
    const source = currentSource();
    setStatus("Reading with tesseract and ppocr…");
    $("comparison").hidden = false;
    const readings = await Promise.all(
      ["tesseract", "ppocr"].map(async (engine) => {
        const started = performance.now();
        const answer = await recognize(source, { ...options(), engine });
        return { engine, answer, seconds: (performance.now() - started) / 1000 };
      }),
    );
    for (const { engine, answer, seconds } of readings) {
      const [result] = answer.results;
      $(`time-${engine}`).textContent = `(${seconds.toFixed(2)} s)`;
      fillLines($(`lines-${engine}`), result.blocks, null);
    }
    setStatus("Both readings are shown below.");
  }

  function currentSource() {
    const url = $("url").value.trim();
    if (url) return { url };
    if (chosenFile) return { file: chosenFile };
    throw new ApiError("Choose, drop or paste a file, or give an image URL.");
  }

  // POST /v1/ocr/universal: the file in the request, a large one by upload_id, or the URL.
  async function recognize(source, fields) {
    if (source.url) return call("POST", "v1/ocr/universal", { json: { ...fields, url: source.url } });
    if (source.file.size > DIRECT_BYTES) {
      const uploadId = await upload(source.file);
      return call("POST", "v1/ocr/universal", { json: { ...fields, upload_id: uploadId } });
    }
    const form = new FormData();
    form.append("file", source.file, source.file.name || "pasted.png");
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    return call("POST", "v1/ocr/universal", { form });
  }

  // POST /v1/uploads, then the file straight to the bucket with the presigned form.
  async function upload(file) {
    setStatus(`Uploading ${formatBytes(file.size)}…`);
    const offer = await call("POST", "v1/uploads", { json: { content_type: uploadType(file) } });
    const form = new FormData();
    for (const [name, value] of Object.entries(offer.upload.fields)) form.append(name, value);
    form.append("file", file);
    const stored = await fetch(offer.upload.url, { method: "POST", body: form });
    if (!stored.ok) {
      const said = (await stored.text()).match(/<Message>([^<]*)<\/Message>/);
      throw new ApiError(`The upload was refused: ${said ? said[1] : `HTTP ${stored.status}`}`);
    }
    setStatus("Uploaded; reading…");
    return offer.upload_id;
  }

  // Every page of a PDF: uploaded, read as a job, its progress shown until it ends.
  async function readAsJob(file, fields, started) {
    const uploadId = await upload(file);
    const { pdf_page: _, ...jobFields } = fields;
    let job = await call("POST", "v1/ocr/jobs", { json: { ...jobFields, upload_id: uploadId } });
    const progress = $("progress");
    progress.hidden = false;
    while (job.status === "IN_PROGRESS") {
      progress.max = job.pages_total || 1;
      progress.value = job.pages_done + job.pages_failed;
      setStatus(`Job ${job.job_id}: ${progress.value} of ${job.pages_total ?? "?"} pages read…`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      job = await call("GET", `v1/ocr/jobs/${encodeURIComponent(job.job_id)}`, { query: { max_results: 100 } });
    }
    const pages = job.pages.filter((page) => page.result);
    const blocks = pages.flatMap((page) => page.result.blocks.map((block) => ({ ...block, page: page.page })));
    const result = { engine: pages[0] ? pages[0].result.engine : "none", blocks, text: blocks.map((b) => b.text).join("\n") };
    showResult(result, job, null);
    const seconds = (performance.now() - started) / 1000;
    setStatus(`Job ${job.status.toLowerCase()}: ${job.pages_done} of ${job.pages_total} pages read in ${seconds.toFixed(1)} s.`);
  }

  // One call of this API; its error (in the endpoint's own words) as an ApiError.
  async function call(method, path, { json, form, query } = {}) {
    const url = new URL(apiUrl(path));
    for (const [name, value] of Object.entries(query || {})) url.searchParams.set(name, value);
    const headers = {};
    if (appkey()) headers["x-api-key"] = appkey();
    let body;
    if (json) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form) {
      body = form;
    }
    const response = await fetch(url, { method, headers, body });
    const text = await response.text();
    let answer;
    try {
      answer = JSON.parse(text);
    } catch {
      throw new ApiError(`The API answered HTTP ${response.status} without JSON.`);
    }
    if (!response.ok || (typeof answer.code === "number" && answer.code !== 0 && !answer.results)) {
      throw new ApiError(errorMessage(response.status, answer));
    }
    if (answer.DataStatus && answer.DataStatus.statusCode !== 100) {
      throw new ApiError(`${answer.DataStatus.statusDescription} (code ${answer.DataStatus.statusCode})`);
    }
    return answer;
  }

  function errorMessage(status, answer) {
    if (answer.message && answer.error) return `${answer.message} (${answer.error}, HTTP ${status})`;
    if (answer.message) return `${answer.message} (HTTP ${status})`;
    return `The API answered HTTP ${status}.`;
  }

  class ApiError extends Error {}

  // Showing a reading: the image with every line's four corners drawn, the lines as text, the
  // Markdown and the JSON; a line and its outline light up together on hover and focus.
  function showResult(result, answer, imageSource) {
    lastResult = result;
    lastJson = JSON.stringify(answer, null, 2);
    $("result").hidden = false;
    const image = $("image");
    const overlay = $("overlay");
    overlay.replaceChildren();
    $("page").hidden = !imageSource;
    $("caption").textContent = imageSource ? "" : "No preview of this file in the browser; the text is below.";
    if (imageSource) {
      image.src = imageSource;
      const width = result.width || image.naturalWidth;
      const height = result.height || image.naturalHeight;
      if (width && height) overlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
      overlay.setAttribute("preserveAspectRatio", "none");
      drawOutlines(result.blocks);
    }
    fillLines($("lines"), result.blocks, overlay);
    showTables(result.tables);
    $("markdown").textContent = result.markdown || "(ask for Markdown in the options)";
    $("json").textContent = lastJson;
    markDoubtful();
  }

  // Each table as a table (built from its cells, spans and all), and its region on the image.
  function showTables(tables) {
    const shown = $("tables");
    shown.replaceChildren();
    $("no-tables").hidden = Boolean(tables);
    (tables || []).forEach((table, number) => {
      const view = document.createElement("table");
      view.className = "table-view";
      view.createCaption().textContent = `Table ${number + 1}: ${table.rows} rows, ${table.columns} columns`;
      const rows = Array.from({ length: table.rows }, () => view.insertRow());
      for (const cell of table.cells) {
        const written = document.createElement("td");
        written.textContent = cell.text;
        if (cell.row_span > 1) written.rowSpan = cell.row_span;
        if (cell.column_span > 1) written.colSpan = cell.column_span;
        rows[cell.row].append(written);
      }
      shown.append(view);
      if (table.points) {
        const region = document.createElementNS(SVG, "polygon");
        region.setAttribute("points", table.points.map(([x, y]) => `${x},${y}`).join(" "));
        region.classList.add("table");
        $("overlay").append(region);
      }
    });
    if (tables && !tables.length) $("tables").textContent = "No table was found on this image.";
  }

  function drawOutlines(blocks) {
    const overlay = $("overlay");
    blocks.forEach((block, index) => {
      if (!block.points) return;
      const outline = document.createElementNS(SVG, "polygon");
      outline.setAttribute("points", block.points.map(([x, y]) => `${x},${y}`).join(" "));
      outline.dataset.line = String(index);
      outline.addEventListener("mouseenter", () => highlight(index, true));
      outline.addEventListener("mouseleave", () => highlight(index, false));
      overlay.append(outline);
      for (const word of block.words || []) {
        if (!word.points) continue;
        const box = document.createElementNS(SVG, "polygon");
        box.setAttribute("points", word.points.map(([x, y]) => `${x},${y}`).join(" "));
        box.classList.add("word");
        overlay.append(box);
      }
    });
  }

  function fillLines(list, blocks, overlay) {
    list.replaceChildren();
    blocks.forEach((block, index) => {
      const item = document.createElement("li");
      item.dataset.line = String(index);
      item.dataset.confidence = String(block.confidence);
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = block.text;
      const badge = document.createElement("span");
      badge.className = "badge";
      const parts = [block.engine, `${Math.round(block.confidence * 100)}%`];
      if (block.page) parts.unshift(`page ${block.page}`);
      badge.textContent = parts.filter(Boolean).join(" · ");
      item.append(text, badge);
      if (overlay) {
        item.tabIndex = 0;
        item.addEventListener("mouseenter", () => highlight(index, true));
        item.addEventListener("mouseleave", () => highlight(index, false));
        item.addEventListener("focus", () => highlight(index, true));
        item.addEventListener("blur", () => highlight(index, false));
      }
      list.append(item);
    });
  }

  function highlight(index, on) {
    for (const element of document.querySelectorAll(`#lines [data-line="${index}"], #overlay [data-line="${index}"]`)) {
      element.classList.toggle("active", on);
    }
  }

  // Lines below the chosen confidence are marked, in the text and on the image.
  function markDoubtful() {
    const threshold = Number($("threshold").value);
    $("threshold-value").textContent = threshold.toFixed(2);
    for (const item of document.querySelectorAll("#lines li")) {
      const doubtful = Number(item.dataset.confidence) < threshold;
      item.classList.toggle("doubtful", doubtful);
      const outline = document.querySelector(`#overlay [data-line="${item.dataset.line}"]`);
      if (outline) outline.classList.toggle("doubtful", doubtful);
    }
  }
  $("threshold").addEventListener("input", markDoubtful);
  $("show_words").addEventListener("change", () => $("overlay").classList.toggle("words", $("show_words").checked));

  // Tabs, with the arrow keys as the ARIA pattern has them.
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const selectTab = (tab) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !selected;
    }
    tab.focus();
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => selectTab(tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) selectTab(tabs[(index + step + tabs.length) % tabs.length]);
    });
  });

  // Copy buttons.
  const copied = {
    text: () => (lastResult ? lastResult.text : ""),
    markdown: () => $("markdown").textContent,
    json: () => lastJson,
  };
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const name = button.dataset.copy;
      const text = copied[name] ? copied[name]() : $(name).textContent;
      try {
        await navigator.clipboard.writeText(text);
        setStatus("Copied.");
      } catch {
        setStatus("The browser did not allow copying; select the text instead.");
      }
    });
  }

  // The same request as code, ready to copy (the key from an environment variable).
  function writeCode(source, fields) {
    const endpoint = apiUrl("v1/ocr/universal");
    const name = source.file ? source.file.name || "image.png" : null;
    const curlFields = Object.entries(fields).map(([key, value]) => ` -F ${shellQuote(`${key}=${value}`)}`).join("");
    const curlSource = source.url ? ` -F ${shellQuote(`url=${source.url}`)}` : ` -F ${shellQuote(`file=@${name}`)}`;
    $("code-curl").textContent = `curl -s -H "x-api-key: $OCR_APPKEY"${curlSource}${curlFields} ${endpoint}`;
    const pythonFields = JSON.stringify(source.url ? { ...fields, url: source.url } : fields);
    $("code-python").textContent = [
      "import os, requests",
      source.url
        ? `answer = requests.post(${JSON.stringify(endpoint)}, headers={"x-api-key": os.environ["OCR_APPKEY"]}, data=${pythonFields})`
        : `with open(${JSON.stringify(name)}, "rb") as image:\n    answer = requests.post(${JSON.stringify(endpoint)}, headers={"x-api-key": os.environ["OCR_APPKEY"]}, files={"file": image}, data=${pythonFields})`,
      'print(answer.json()["results"][0]["text"])',
    ].join("\n");
    // Tencent's SDKs call the root of a host and sign the path "/": under a stage's path they
    // need the stack's custom domain instead (docs/api/tencent.md).
    const atRoot = apiBase.pathname === "/";
    $("code-tencent").textContent = [
      "import base64",
      "from tencentcloud.common import credential",
      "from tencentcloud.common.profile.client_profile import ClientProfile",
      "from tencentcloud.common.profile.http_profile import HttpProfile",
      "from tencentcloud.ocr.v20181119 import models, ocr_client",
      "",
      "# A SecretId/SecretKey pair issued for your key (keys tencent-credentials create KEY_ID).",
      ...(atRoot ? [] : ["# Tencent's SDKs call the root of a host: set endpoint to the stack's CustomDomainName."]),
      `client = ocr_client.OcrClient(credential.Credential("SECRET_ID", "SECRET_KEY"), "ap-guangzhou", ClientProfile(httpProfile=HttpProfile(protocol=${JSON.stringify(apiBase.protocol.replace(":", ""))}, endpoint=${JSON.stringify(apiBase.host)})))`,
      "request = models.GeneralAccurateOCRRequest()",
      source.url
        ? `request.ImageUrl = ${JSON.stringify(source.url)}`
        : `request.ImageBase64 = base64.b64encode(open(${JSON.stringify(name)}, "rb").read()).decode()`,
      "print(client.GeneralAccurateOCR(request).to_json_string())",
    ].join("\n");
  }

  function shellQuote(text) {
    return `'${text.replaceAll("'", `'\\''`)}'`;
  }

  function previewFor(file, url) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = null;
    if (url) return null; // an image elsewhere is not loaded into this page (its policy allows this API only)
    if (!file || !SHOWN_TYPES.includes(file.type)) return null;
    previewUrl = URL.createObjectURL(file);
    return previewUrl;
  }

  function uploadType(file) {
    if (file.type) return file.type;
    const extension = (file.name || "").split(".").pop().toLowerCase();
    return UPLOAD_TYPES[extension] || "application/octet-stream";
  }

  function isPdf(file) {
    return uploadType(file) === "application/pdf";
  }

  function formatBytes(bytes) {
    return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
  }

  function setStatus(text) {
    $("status").textContent = text;
  }

  function showError(message) {
    $("error").hidden = !message;
    $("error").textContent = message || "";
  }
})();
