"""A small HTTP server on 127.0.0.1 that serves test images and misbehaves on request."""

from __future__ import annotations

import select
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from helpers import data_image


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append((self.path, dict(self.headers)))
        route = self.path.split("?")[0]
        if route == "/phototest.tif":
            return self._send(200, data_image("tesseract-test/phototest.tif"), "image/tiff")
        if route == "/screenshot.png":
            return self._send(200, data_image("zh-rendered/screenshot_02.png"), "image/png")
        if route == "/redirect":
            return self._redirect("/phototest.tif")
        if route == "/loop":
            return self._redirect("/loop")
        if route == "/to-metadata":
            return self._redirect("http://169.254.169.254/latest/meta-data/")
        if route == "/to-private":
            return self._redirect("http://10.0.0.1/image.png")
        if route == "/missing":
            return self._send(404, b"not here", "text/plain")
        if route == "/slow":
            time.sleep(3)
            return self._send(200, data_image("tesseract-test/phototest.tif"), "image/tiff")
        if route == "/huge-declared":
            self.send_response(200)
            self.send_header("Content-Length", str(50 * 1024 * 1024))
            self.end_headers()
            return
        if route == "/huge-streamed":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(40):
                    self.wfile.write(b"\0" * (1024 * 1024))
            except OSError:
                pass
            self.close_connection = True
            return
        if route == "/never-answers":
            # Takes the request and says nothing until the client gives up and hangs up.
            select.select([self.connection], [], [], 120)
            self.close_connection = True
            return
        if route == "/longer-than-declared":
            # Content-Length covers the image; more bytes follow, which are not part of the body.
            image = data_image("tesseract-test/phototest.tif")
            self._start_image(len(image))
            try:
                self.wfile.write(image)
                for _ in range(12):
                    self.wfile.write(b"\xff" * (1024 * 1024))
            except OSError:
                pass
            self.close_connection = True
            return
        if route in ("/trickle-body", "/trickle-body-unsized"):
            # An image announced (or not) and sent a kilobyte a second: cut off at the deadline,
            # the part that came is no image.
            image = data_image("tesseract-test/phototest.tif")
            self._start_image(len(image) if route == "/trickle-body" else None)
            return self._trickle([image[start : start + 1024] for start in range(0, len(image), 1024)])
        if route == "/short-body":
            # Announces the whole image, sends half of it and hangs up.
            image = data_image("tesseract-test/phototest.tif")
            self._start_image(len(image))
            self.wfile.write(image[: len(image) // 2])
            self.close_connection = True
            return
        if route == "/trickle-headers":
            # A status line and headers that never end, one byte a second: no single read waits long.
            return self._trickle([b"HTTP/1.1 200 OK\r\n"] + [b"X"] * 120)
        if route == "/endless-continue":
            # "100 Continue" after "100 Continue", each quickly, forever.
            return self._trickle([b"HTTP/1.1 100 Continue\r\n\r\n"] * 600, pause=0.1)
        return self._send(404, b"", "text/plain")

    def _start_image(self, length: int | None) -> None:
        """A 200 for a TIFF, announcing ``length`` bytes (None: none announced)."""
        self.send_response(200)
        self.send_header("Content-Type", "image/tiff")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def _trickle(self, pieces: list[bytes], pause: float = 1.0) -> None:
        try:
            for piece in pieces:
                self.wfile.write(piece)
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass  # the client hung up, as it should
        self.close_connection = True

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ImageServer:
    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        # Clients hang up on the oversized answers on purpose; that is not worth a traceback.
        self._server.handle_error = lambda request, address: None
        self._server.requests = []
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def requests(self) -> list:
        return self._server.requests

    def url(self, path: str) -> str:
        return self.base_url + path

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
