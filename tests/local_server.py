"""The local server as a subprocess, spoken to over real HTTP, as a client would."""

from __future__ import annotations

import os

from ocr_local.forms import multipart_form
from ocr_local.server_process import ServerProcess

PATH = "/v1/imagerecognition/ocr"


# The limits a hostile input runs into, shorter than deployed (10 s each): the bad-input corpus
# waits them out on every endpoint. Real pages decode and download well inside them. A failed
# job callback is tried again after 1 s rather than 30.
TEST_TIME_LIMITS = {"MAX_DECODE_SECONDS": "4", "URL_TIMEOUT_SECONDS": "3", "CALLBACK_RETRY_SECONDS": "1"}


class LocalServer(ServerProcess):
    def __init__(self, allow_networks: tuple[str, ...] = ("127.0.0.1/32",), instances: int = 2) -> None:
        # Under scripts/prove_layer_layout.sh the server takes Tesseract from the layer tree.
        super().__init__(
            allow_networks,
            instances,
            layer_dir=os.environ.get("OCR_LAYER_DIR"),
            function_variables=TEST_TIME_LIMITS,
        )
        self.curl_line = next(line.strip() for line in self.banner.splitlines() if "imagefile=@" in line)

    def upload(self, image, appkey=None, filename="page.png"):
        content_type, body = multipart_form(files=[("imagefile", filename, "image/png", image)])
        return self.request(
            "POST", PATH, body, {"Content-Type": content_type}, query=[("appkey", appkey or self.appkey)]
        )
