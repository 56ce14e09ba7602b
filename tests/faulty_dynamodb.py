"""DynamoDB that fails on demand: moto's server behind a small HTTP proxy on 127.0.0.1.

The proxy forwards every call to moto until told to fail, and then fails the way DynamoDB and
networks do: it answers DynamoDB's throttling errors, or takes a call and never answers, or
stops listening so that connections are refused. A fault can be limited to some calls (``when``),
for instance the ones that begin after recognition has started.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from moto.server import ThreadedMotoServer


class Fault(Enum):
    THROTTLED = "ProvisionedThroughputExceededException"
    THROTTLING = "ThrottlingException"
    REFUSED = "connection refused"
    HANGS = "connection hangs"


# The ``__type`` DynamoDB sends with each throttling error; botocore reads the part after '#'.
_ERROR_TYPES = {
    Fault.THROTTLED: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    Fault.THROTTLING: "com.amazon.coral.availability#ThrottlingException",
}
_ERROR_MESSAGES = {
    Fault.THROTTLED: "The level of configured provisioned throughput for the table was exceeded.",
    Fault.THROTTLING: "Rate of requests exceeds the allowed throughput.",
}
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True)
class Call:
    """One DynamoDB call as the proxy saw it."""

    operation: str  # GetItem, UpdateItem, ...
    body: dict

    @property
    def sort_key(self) -> str:
        """The item's sort key (``key``, ``rate#...``, ``usage#...``); empty for scans."""
        return self.body.get("Key", {}).get("sk", {}).get("S", "")

    @property
    def written(self) -> list[str]:
        """The sort keys of the items it writes, one call or a transaction."""
        if self.operation == "TransactWriteItems":
            return [next(iter(item.values()))["Key"]["sk"]["S"] for item in self.body["TransactItems"]]
        return [self.sort_key] if self.operation in ("UpdateItem", "PutItem", "DeleteItem") else []


class FaultyDynamoDB:
    """moto in server mode, reached through a proxy whose faults the test switches on and off."""

    def __init__(self) -> None:
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        self.calls: list[Call] = []
        self.faulted: list[Call] = []
        self._fault: Fault | None = None
        self._when: Callable[[Call], bool] = _always
        # Set while no fault holds: hanging calls wait on it.
        self._healed = threading.Event()
        self._healed.set()
        self._lock = threading.Lock()
        self._port_holder: socket.socket | None = None
        self._server: ThreadingHTTPServer | None = self._listen(port=0)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def fail(self, fault: Fault, when: Callable[[Call], bool] | None = None) -> None:
        """From now on, calls for which ``when`` holds (all by default) meet ``fault``.

        Refusing connections starts at once, or with the first call ``when`` picks.
        """
        with self._lock:
            self._fault, self._when = fault, when or _always
            self._healed.clear()
            if fault is Fault.REFUSED and when is None:
                self._stop_listening()

    def heal(self) -> None:
        """Back to forwarding every call; calls left hanging are dropped."""
        with self._lock:
            self._fault, self._when = None, _always
            self._healed.set()
            if self._server is None:
                self._release_port()
                self._server = self._listen(self.port)

    def stop(self) -> None:
        self.heal()
        with self._lock:
            self._stop_listening()
            self._release_port()
        self._moto.stop()

    def clear_log(self) -> None:
        with self._lock:
            self.calls.clear()
            self.faulted.clear()

    def fault_for(self, call: Call) -> Fault | None:
        with self._lock:
            self.calls.append(call)
            if self._fault is None or not self._when(call):
                return None
            self.faulted.append(call)
            if self._fault is Fault.REFUSED:
                self._stop_listening()
            return self._fault

    def wait_until_healed(self) -> None:
        self._healed.wait()

    def _listen(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), _ProxyHandler)
        server.daemon_threads = True
        server.proxy = self
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return server

    def _stop_listening(self) -> None:
        """Closes the listening socket: from now on connecting is refused."""
        if self._server is None:
            return
        server, self._server = self._server, None
        # The loop runs in its own thread, so a handler thread may wait for it here. Only once
        # its poll has returned does closing the socket end the listening.
        server.shutdown()
        server.server_close()
        # Hold the port without listening: connecting is refused, and no other socket on this
        # busy machine can take the port before the proxy listens on it again.
        self._port_holder = socket.socket()
        self._port_holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._port_holder.bind(("127.0.0.1", self.port))

    def _release_port(self) -> None:
        if self._port_holder is not None:
            self._port_holder.close()
            self._port_holder = None


def _always(call: Call) -> bool:
    return True


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        proxy: FaultyDynamoDB = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
        fault = proxy.fault_for(Call(operation, json.loads(body or b"{}")))
        if fault is None:
            return self._forward(proxy.moto_url, body)
        if fault is Fault.REFUSED:
            # A connection opened before the listener closed: the peer is gone.
            self.close_connection = True
            return
        if fault is Fault.HANGS:
            # Takes the call and says nothing; the client gives up on its own timeout.
            proxy.wait_until_healed()
            self.close_connection = True
            return
        payload = json.dumps({"__type": _ERROR_TYPES[fault], "message": _ERROR_MESSAGES[fault]}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-ErrorType", fault.value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _forward(self, moto_url: str, body: bytes) -> None:
        host, port = moto_url.removeprefix("http://").split(":")
        upstream = http.client.HTTPConnection(host, int(port), timeout=30)
        try:
            headers = {name: value for name, value in self.headers.items() if name.lower() not in _NOT_FORWARDED}
            upstream.request("POST", self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in _NOT_FORWARDED and name.lower() not in ("date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
