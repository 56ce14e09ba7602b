"""DynamoDB that fails on demand: moto's server behind a small HTTP proxy, both in a process of
their own.

The proxy forwards every call to moto until told to fail, and then fails the way DynamoDB and
networks do: it answers DynamoDB's throttling errors, or takes a call and never answers, or
stops listening so that connections are refused. A fault can be limited to some calls
(``When``), for instance the ones that begin after recognition has started.

A process of their own: the test process's garbage collection and threads never hold up an
answer, so the store's real attempt timeouts (0.25 s to connect, 0.5 s to answer) meet a
healthy table as they would in a region. The test switches faults and reads the calls the proxy
saw through a control port.
"""

from __future__ import annotations

import glob
import http.client
import json
import socket
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


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


@dataclass(frozen=True)
class When:
    """Which calls a fault meets; every condition given must hold (none: every call)."""

    operation: str | None = None  # GetItem, UpdateItem, ...
    sort_key_prefix: str | None = None  # the item's sort key begins so (``usage#``)
    # Only once more than this many calls have written usage counters (the call itself counted).
    after_usage_writes: int | None = None
    # Only once a file matching this glob exists (``ReadingSignal.pattern``: a page is being read).
    once_exists: str | None = None


class FaultyDynamoDB:
    """The test's side: starts the process, switches its faults, reads what it saw."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__], stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True
        )
        ready = self._process.stdout.readline().split()
        if not ready or ready[0] != "ready":
            raise RuntimeError("the faulty DynamoDB did not start")
        moto_port, self.port, self._control_port = (int(port) for port in ready[1:])
        self.moto_url = f"http://127.0.0.1:{moto_port}"
        self.url = f"http://127.0.0.1:{self.port}"

    def fail(self, fault: Fault, when: When | None = None) -> None:
        """From now on, calls ``when`` picks (all by default) meet ``fault``.

        Refusing connections starts at once, or with the first call ``when`` picks.
        """
        self._control("fail", {"fault": fault.name, "when": asdict(when or When())})

    def heal(self) -> None:
        """Back to forwarding every call; calls left hanging are dropped."""
        self._control("heal")

    def clear_log(self) -> None:
        self._control("clear")

    @property
    def calls(self) -> list[Call]:
        return [Call(**call) for call in self._control("log")["calls"]]

    @property
    def faulted(self) -> list[Call]:
        return [Call(**call) for call in self._control("log")["faulted"]]

    def stop(self) -> None:
        self._process.stdin.close()  # the process ends when its stdin does
        self._process.wait(timeout=30)

    def _control(self, action: str, payload: dict | None = None) -> dict:
        connection = http.client.HTTPConnection("127.0.0.1", self._control_port, timeout=30)
        try:
            connection.request("POST", f"/{action}", body=json.dumps(payload or {}))
            answer = connection.getresponse()
            body = json.loads(answer.read() or b"{}")
        finally:
            connection.close()
        if answer.status != 200:
            raise RuntimeError(f"the faulty DynamoDB refused {action}: {body}")
        return body


# The process: moto, the proxy and its control port.


class _Faults:
    """The proxy's state: the fault in force, which calls it meets, and every call seen."""

    def __init__(self, moto_url: str) -> None:
        self.moto_url = moto_url
        self.calls: list[Call] = []
        self.faulted: list[Call] = []
        self._fault: Fault | None = None
        self._when = When()
        self._usage_writes = 0
        # Set while no fault holds: hanging calls wait on it.
        self._healed = threading.Event()
        self._healed.set()
        self._lock = threading.Lock()
        self._port_holder: socket.socket | None = None
        self._server: ThreadingHTTPServer | None = self._listen(port=0)
        self.port = self._server.server_address[1]

    def fail(self, fault: Fault, when: When) -> None:
        with self._lock:
            self._fault, self._when, self._usage_writes = fault, when, 0
            self._healed.clear()
            if fault is Fault.REFUSED and when == When():
                self._stop_listening()

    def heal(self) -> None:
        with self._lock:
            self._fault, self._when = None, When()
            self._healed.set()
            if self._server is None:
                self._release_port()
                self._server = self._listen(self.port)

    def clear_log(self) -> None:
        with self._lock:
            self.calls.clear()
            self.faulted.clear()

    def log(self) -> dict:
        with self._lock:
            return {"calls": [asdict(c) for c in self.calls], "faulted": [asdict(c) for c in self.faulted]}

    def fault_for(self, call: Call) -> Fault | None:
        with self._lock:
            self.calls.append(call)
            if self._fault is None or not self._meets(call):
                return None
            self.faulted.append(call)
            if self._fault is Fault.REFUSED:
                self._stop_listening()
            return self._fault

    def _meets(self, call: Call) -> bool:
        when = self._when
        if any(key.startswith("usage#") for key in call.written):
            self._usage_writes += 1
        return (
            (when.operation is None or call.operation == when.operation)
            and (when.sort_key_prefix is None or call.sort_key.startswith(when.sort_key_prefix))
            and (when.after_usage_writes is None or self._usage_writes > when.after_usage_writes)
            and (when.once_exists is None or bool(glob.glob(when.once_exists)))
        )

    def wait_until_healed(self) -> None:
        self._healed.wait()

    def _listen(self, port: int) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", port), _ProxyHandler)
        server.daemon_threads = True
        server.faults = self
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


class _ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        faults: _Faults = self.server.faults
        request = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        action = self.path.strip("/")
        answer: dict = {}
        status = 200
        if action == "fail":
            faults.fail(Fault[request["fault"]], When(**request["when"]))
        elif action == "heal":
            faults.heal()
        elif action == "clear":
            faults.clear_log()
        elif action == "log":
            answer = faults.log()
        else:
            status, answer = 404, {"error": f"no action {action!r}"}
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def serve() -> None:
    from moto.server import ThreadedMotoServer

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, moto_port = moto.get_host_and_port()
    faults = _Faults(f"http://{host}:{moto_port}")
    control = ThreadingHTTPServer(("127.0.0.1", 0), _ControlHandler)
    control.daemon_threads = True
    control.faults = faults
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print("ready", moto_port, faults.port, control.server_address[1], flush=True)
    sys.stdin.read()  # until the test process closes it, or ends
    faults.heal()
    moto.stop()


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        proxy: _Faults = self.server.faults
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


if __name__ == "__main__":
    serve()
