"""The deep-learning engine's Lambda function, called with the Lambda Invoke API.

One synchronous invoke per page, started as soon as the page is handed over and waited for
later: the page (compressed, well under Invoke's 6 MB payload) and the seconds the request has
left go in; PP-OCR's lines, the page's turn and (when asked) its tables' grids, or the error the
function met, come out.
Every way the call can fail becomes a service error, so each dialect answers it as it answers
Tesseract's failures: throttled or unreachable is ``RecognitionUnavailable`` (503), out of time
is ``RecognitionTimedOut`` (503), a function that crashed or failed is ``RecognitionFailed``.

The call is bounded by the request's deadline, whatever botocore's own timeouts: it runs on a
thread of its own, and past the deadline the page is answered without waiting for it.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from ocr_api.config import Settings
from ocr_api.errors import RecognitionFailed, RecognitionTimedOut, RecognitionUnavailable, error_from_json

logger = logging.getLogger(__name__)

# Lambda's answers when the function has no concurrency left for this call.
_THROTTLED = {"TooManyRequestsException", "ThrottlingException", "EC2ThrottledException"}
# What Lambda says as errorType when it stopped the function at its timeout.
_FUNCTION_TIMED_OUT = "Sandbox.Timedout"
# The errors the function itself may report; anything else it says is a failure.
_REPORTED = (RecognitionFailed, RecognitionUnavailable, RecognitionTimedOut)


class DeepEngineFunction:
    def __init__(
        self,
        function_name: str,
        endpoint_url: str | None = None,
        longest_call_seconds: float = 30.0,
        calls_at_once: int = 4,
    ) -> None:
        self.function_name = function_name
        self.endpoint_url = endpoint_url
        self.longest_call_seconds = longest_call_seconds
        self._calls = ThreadPoolExecutor(max_workers=calls_at_once, thread_name_prefix="deep-engine")
        self._client = None
        self._client_lock = threading.Lock()

    def start(
        self, page: bytes, languages: str, layout: str, deadline: float, find_orientation: bool, find_tables: bool
    ) -> PendingCall:
        """Invokes the function with the page now; its reading is the returned call's ``result()``."""
        wait = deadline - time.monotonic()
        if wait <= 0:
            raise RecognitionTimedOut("no time is left to recognise the image")
        payload = json.dumps(
            {
                "page": base64.b64encode(page).decode("ascii"),
                "languages": languages,
                "layout": layout,
                "seconds": round(wait, 3),
                "find_orientation": find_orientation,
                "find_tables": find_tables,
            }
        )
        return PendingCall(self._calls.submit(self._invoke, payload), deadline, self.function_name)

    def _invoke(self, payload: str) -> tuple[str | None, bytes]:
        from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

        try:
            response = self._lambda().invoke(
                FunctionName=self.function_name, InvocationType="RequestResponse", Payload=payload
            )
            return response.get("FunctionError"), response["Payload"].read()
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code in _THROTTLED:
                logger.warning("deep-learning engine throttled", extra={"code": code})
                raise RecognitionUnavailable(
                    "the recognition engine is not available right now (busy); try again shortly"
                ) from None
            logger.error("deep-learning engine cannot be invoked", extra={"code": code})
            raise RecognitionUnavailable("the recognition engine is not available") from None
        except ReadTimeoutError:
            raise RecognitionTimedOut("recognition did not finish in the time this request has") from None
        except BotoCoreError as err:
            logger.error("deep-learning engine unreachable", extra={"error": type(err).__name__})
            raise RecognitionUnavailable("the recognition engine is not available") from None

    def _lambda(self):
        """One client per instance, made on first use (most pages never need it)."""
        with self._client_lock:
            if self._client is None:
                import boto3
                from botocore.config import Config

                self._client = boto3.client(
                    "lambda",
                    endpoint_url=self.endpoint_url,
                    config=Config(
                        connect_timeout=2,
                        read_timeout=self.longest_call_seconds,
                        # A retry would start the page again past its time; the caller answers instead.
                        retries={"total_max_attempts": 1},
                    ),
                )
            return self._client

    def close(self) -> None:
        self._calls.shutdown(wait=False, cancel_futures=True)


class PendingCall:
    """An invoke under way."""

    def __init__(self, call, deadline: float, function_name: str) -> None:
        self._call, self._deadline, self._function_name = call, deadline, function_name

    def result(self) -> tuple[list[dict], float, list[dict] | None]:
        """The lines on the page as sent (``TextLine`` fields, JSON), the clockwise degrees its
        text stood at and, when asked, the tables' grids (``TableGrid`` fields, JSON), waited for
        until the deadline; the call's failure as a service error."""
        try:
            response = self._call.result(timeout=max(0.0, self._deadline - time.monotonic()))
        except FutureTimeout:
            logger.warning("deep-learning engine did not answer in time", extra={"function": self._function_name})
            raise RecognitionTimedOut("recognition did not finish in the time this request has") from None
        return _reading_or_error(response)


def deep_engine_for(settings: Settings) -> DeepEngineFunction | None:
    """The deployment's deep-learning engine function, if it has one."""
    if not settings.deep_engine_function:
        return None
    return DeepEngineFunction(
        settings.deep_engine_function,
        endpoint_url=settings.lambda_endpoint_url,
        longest_call_seconds=settings.max_recognition_seconds + 2,
        # A call given up at its deadline still holds its thread until botocore's own timeout:
        # room for the next request's pages beside the last one's.
        calls_at_once=2 * settings.parallel_images,
    )


def _reading_or_error(response: tuple[str | None, bytes]) -> tuple[list[dict], float, list[dict] | None]:
    function_error, body = response
    try:
        document = json.loads(body)
    except ValueError:
        document = {}
    if function_error:
        error_type = document.get("errorType") if isinstance(document, dict) else None
        logger.error(
            "deep-learning engine function failed", extra={"function_error": function_error, "error_type": error_type}
        )
        if error_type == _FUNCTION_TIMED_OUT:
            raise RecognitionTimedOut("recognition did not finish in the time this request has")
        raise RecognitionFailed("the recognition engine failed on this image")
    if isinstance(document, dict) and isinstance(document.get("lines"), list):
        tables = document.get("tables")
        try:
            if tables is not None and not isinstance(tables, list):
                raise TypeError("tables")
            return document["lines"], float(document.get("angle", 0.0)), tables
        except (TypeError, ValueError):
            document = {}
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        raise error_from_json(
            error,
            kinds=_REPORTED,
            otherwise=RecognitionFailed,
            description="the recognition engine failed on this image",
        )
    logger.error("deep-learning engine answered something unreadable")
    raise RecognitionFailed("the recognition engine failed on this image")
