"""``python -m ocr_local serve`` as a child process: started, spoken to over HTTP, measured, stopped."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from ocr_local.template import PROJECT_ROOT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """The local API on free loopback ports, with its embedded DynamoDB and a demo appkey."""

    def __init__(
        self,
        allow_networks: tuple[str, ...] = (),
        instances: int = 2,
        layer_dir: str | None = None,
        temp_dir: Path | None = None,
        function_variables: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.dynamodb_port = free_port()
        self.lambda_port = free_port()
        layer = ["--layer-dir", layer_dir] if layer_dir else []
        environment = dict(os.environ)
        if temp_dir is not None:
            # Everything the server, its instances and their page workers leave behind shows up here.
            environment["TMPDIR"] = str(temp_dir)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ocr_local",
                "serve",
                "--port",
                str(self.port),
                "--dynamodb-port",
                str(self.dynamodb_port),
                "--lambda-port",
                str(self.lambda_port),
                "--instances",
                str(instances),
                *[option for network in allow_networks for option in ("--allow-network", network)],
                *layer,
                *[f"--env={name}={value}" for name, value in (function_variables or {}).items()],
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.banner = self._read_banner(timeout=90)
        self.appkey = re.search(r"Demo appkey .*: ([0-9a-f]{32})", self.banner)[1]
        self.secret_id = re.search(r"Demo Tencent SecretId: (\S+)", self.banner)[1]
        self.secret_key = re.search(r"Demo Tencent SecretKey: (\S+)", self.banner)[1]
        # The instances log to this pipe too: unread, it fills and their next log line blocks.
        self.output: deque[str] = deque(maxlen=2000)
        threading.Thread(target=self._keep_reading_output, daemon=True).start()

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

    def _keep_reading_output(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def send(self, method, path, body=b"", headers=None, query=None):
        """One request on a fresh connection: (status, headers, body bytes).

        ``headers`` is a mapping, or (name, value) pairs where a header is sent more than once.
        """
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        url = path + ("?" + "&".join(f"{k}={v}" for k, v in query) if query else "")
        pairs = list(headers.items()) if isinstance(headers, dict) else list(headers or ())
        try:
            connection.putrequest(method, url, skip_accept_encoding=True)
            for name, value in pairs:
                connection.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def request(self, method, path, body=b"", headers=None, query=None):
        """One request whose answer is JSON: (status, decoded body or None)."""
        status, _, data = self.send(method, path, body, headers, query)
        return status, json.loads(data) if data else None

    def keys(self, *args: str) -> str:
        """The key command against this server's store and API Gateway, as the banner says."""
        environment = {**os.environ, "DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{self.dynamodb_port}"}
        done = subprocess.run(
            [sys.executable, "-m", "ocr_local", "keys", *args],
            cwd=PROJECT_ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(f"keys {' '.join(args[:2])} failed: {done.stderr.strip()}")
        return done.stdout

    def create_key(self, name: str, plan: str) -> tuple[str, str]:
        """A new key on ``plan``: (appkey, key id)."""
        created = self.keys("create", "--name", name, "--plan", plan)
        return re.search(r"appkey: (\w+)", created)[1], re.search(r"key id: (\w+)", created)[1]

    def resident_processes(self) -> list[int]:
        """The server and its long-lived Python children (Lambda instances, their page workers)."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                pid, rest = stat.read_text().split(" (", 1)
                name, fields = rest.rsplit(") ", 1)
            except (OSError, ValueError):
                continue
            if name.startswith("python"):
                children.setdefault(int(fields.split()[1]), []).append(int(pid))
        found, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            found.append(pid)
            queue.extend(children.get(pid, []))
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
