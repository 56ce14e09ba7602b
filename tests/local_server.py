"""The local server as a subprocess, spoken to over real HTTP, as a client would."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time

from ocr_local.forms import multipart_form
from ocr_local.template import PROJECT_ROOT

PATH = "/v1/imagerecognition/ocr"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalServer:
    def __init__(self, allow_networks: tuple[str, ...] = ("127.0.0.1/32",), instances: int = 2) -> None:
        self.port = free_port()
        self.dynamodb_port = free_port()
        layer = ["--layer-dir", os.environ["OCR_LAYER_DIR"]] if os.environ.get("OCR_LAYER_DIR") else []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ocr_local", "serve", "--port", str(self.port),
             "--dynamodb-port", str(self.dynamodb_port), "--instances", str(instances),
             *[option for network in allow_networks for option in ("--allow-network", network)], *layer],
            cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self.banner = self._read_banner(timeout=90)
        self.appkey = re.search(r"Demo appkey .*: ([0-9a-f]{32})", self.banner)[1]
        self.curl_line = next(line.strip() for line in self.banner.splitlines() if "imagefile=@" in line)

    def _read_banner(self, timeout: float) -> str:
        lines, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the local server exited before it was ready")
            lines.append(line)
            if "Stop with Ctrl-C" in line:
                return "".join(lines)
        raise RuntimeError("the local server did not start in time")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def send(self, method, path, body=b"", headers=None, query=None):
        """One request on a fresh connection: (status, headers, body bytes)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        url = path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
        try:
            connection.request(method, url, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def request(self, method, path, body=b"", headers=None, query=None):
        """One request whose answer is JSON: (status, decoded body or None)."""
        status, _, data = self.send(method, path, body, headers, query)
        return status, json.loads(data) if data else None

    def upload(self, image, appkey=None, filename="page.png"):
        content_type, body = multipart_form(files=[("imagefile", filename, "image/png", image)])
        return self.request("POST", PATH, body, {"Content-Type": content_type},
                            query=[("appkey", appkey or self.appkey)])

    def keys(self, *args: str) -> str:
        """The key command against this server's store and API Gateway, as the banner says."""
        environment = {**os.environ, "DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{self.dynamodb_port}"}
        done = subprocess.run([sys.executable, "-m", "ocr_local", "keys", *args], cwd=PROJECT_ROOT,
                              env=environment, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
