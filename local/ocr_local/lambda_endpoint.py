"""Lambda's Invoke API on loopback, for functions other functions call (as ``sam local
start-lambda`` serves them): boto3's ``lambda.invoke`` reaches the local instances unchanged.

Answers as Lambda does: 200 with the handler's result; 200 with ``X-Amz-Function-Error:
Unhandled`` and ``{"errorType", "errorMessage"}`` when the handler raised, its process died
(``Runtime.ExitError``) or it ran past its timeout (``Sandbox.Timedout``, and the instance is
replaced), or its answer is over the 6 MB a synchronous invocation returns
(``Function.ResponseSizeTooLarge``); an instance is held to its function's memory
(``memory_limit``); 404 ``ResourceNotFoundException`` for an unknown function; 429
``TooManyRequestsException`` past a function's reserved concurrency, when one is set.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from ocr_local.lambda_runtime import FunctionCrashed, FunctionTimedOut, LambdaInstances

logger = logging.getLogger(__name__)

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations$")
# Lambda's own limit on a synchronous invocation's request and response.
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


class LocalLambdaEndpoint(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        functions: dict[str, LambdaInstances],
        reserved_concurrency: dict[str, int] | None = None,
    ) -> None:
        super().__init__(address, _InvokeHandler)
        self.functions = functions
        # Invocations a function may run at once beyond which Lambda throttles; unset: unlimited
        # (they queue for the local instances).
        self._slots = {
            name: threading.BoundedSemaphore(limit) if limit > 0 else None
            for name, limit in (reserved_concurrency or {}).items()
        }
        self._thread: threading.Thread | None = None
        # How long each invocation ran, as Lambda bills it (the benchmark's cost figures).
        self.billed_seconds: list[float] = []

    @property
    def endpoint_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def invoke(self, name: str, event: dict) -> tuple[int, dict[str, str], dict]:
        function = self.functions[name]
        if name not in self._slots:
            return self._run(function, event)
        slot = self._slots[name]
        if slot is None or not slot.acquire(blocking=False):
            return (
                429,
                {"x-amzn-ErrorType": "TooManyRequestsException"},
                {
                    "Type": "User",
                    "message": "Rate Exceeded.",
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                },
            )
        try:
            return self._run(function, event)
        finally:
            slot.release()

    def _run(self, function: LambdaInstances, event: dict) -> tuple[int, dict[str, str], dict]:
        unhandled = {"X-Amz-Function-Error": "Unhandled"}
        started = time.monotonic()
        try:
            result = function.invoke(event)
            size = len(json.dumps(result, ensure_ascii=False).encode("utf-8"))
            if size > MAX_PAYLOAD_BYTES:
                return (
                    200,
                    unhandled,
                    {
                        "errorType": "Function.ResponseSizeTooLarge",
                        "errorMessage": f"Response payload size ({size} bytes) exceeded maximum allowed payload "
                        f"size ({MAX_PAYLOAD_BYTES} bytes).",
                    },
                )
            return 200, {}, result
        except FunctionTimedOut:
            seconds = function.function.timeout_seconds
            return (
                200,
                unhandled,
                {"errorType": "Sandbox.Timedout", "errorMessage": f"Task timed out after {seconds:.2f} seconds"},
            )
        except FunctionCrashed:
            return (
                200,
                unhandled,
                {"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited without providing a reason"},
            )
        except Exception as err:
            return 200, unhandled, {"errorType": type(err).__name__, "errorMessage": str(err)}
        finally:
            self.billed_seconds.append(time.monotonic() - started)


class _InvokeHandler(BaseHTTPRequestHandler):
    server: LocalLambdaEndpoint
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:
        logger.debug("lambda %s", format % args)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        match = _INVOKE_PATH.match(self.path.split("?")[0])
        name = unquote(match[1]).rsplit(":function:", 1)[-1] if match else None
        if name is None or name not in self.server.functions:
            return self._send(
                404,
                {"x-amzn-ErrorType": "ResourceNotFoundException"},
                {"Type": "User", "Message": f"Function not found: {name}"},
            )
        if self.headers.get("X-Amz-Invocation-Type", "RequestResponse") != "RequestResponse":
            return self._send(
                400,
                {"x-amzn-ErrorType": "InvalidParameterValueException"},
                {"Type": "User", "message": "only RequestResponse invocations run locally"},
            )
        if length > MAX_PAYLOAD_BYTES:
            return self._send(
                413,
                {"x-amzn-ErrorType": "RequestTooLargeException"},
                {"Type": "User", "message": "Request must be smaller than 6291456 bytes"},
            )
        try:
            event = json.loads(body or b"{}")
        except ValueError:
            return self._send(
                400,
                {"x-amzn-ErrorType": "InvalidRequestContentException"},
                {"Type": "User", "message": "Could not parse request body into json"},
            )
        self._send(*self.server.invoke(name, event))

    def _send(self, status: int, headers: dict[str, str], document: dict) -> None:
        data = json.dumps(document, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for header, value in headers.items():
            self.send_header(header, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
