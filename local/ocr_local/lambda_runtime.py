"""Invoking the handler as Lambda would: a context with a deadline, one request per instance."""

from __future__ import annotations

import importlib
import os
import signal
import threading
import time
import uuid
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from ocr_local.memory_limit import hold_to_memory
from ocr_local.template import FunctionSpec


class LocalLambdaContext:
    """The attributes of ``LambdaContext`` that handlers and Powertools read."""

    def __init__(self, function: FunctionSpec, request_id: str | None = None) -> None:
        self.function_name = function.logical_id
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function.logical_id}"
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.logical_id}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(function: FunctionSpec):
    module_name, _, attribute = function.handler.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)


def invoke_in_process(function: FunctionSpec, event: dict) -> dict:
    return load_handler(function)(event, LocalLambdaContext(function))


class FunctionTimedOut(Exception):
    pass


class FunctionCrashed(Exception):
    """The instance's process died during the invocation (Lambda: ``Runtime.ExitError``)."""


class LambdaInstances:
    """A pool of worker processes, each a warm Lambda instance serving one event at a time.

    Separate processes, as on Lambda: concurrent requests never share a handler's state.
    """

    def __init__(self, function: FunctionSpec, environment: dict[str, str], instances: int) -> None:
        self.function = function
        self.instances = instances
        self.environment = environment
        self._pool = self._new_pool()
        self._replacing = threading.Lock()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.instances,
            mp_context=get_context("spawn"),
            initializer=_start_instance,
            initargs=(self.function, self.environment),
        )

    def warm_up(self) -> None:
        """Runs the cold start of every instance now rather than on the first requests."""
        for future in [self._pool.submit(_ping) for _ in range(self.instances)]:
            future.result()

    def invoke(self, event: dict) -> dict:
        pool = self._pool
        future = pool.submit(_invoke, event)
        try:
            # A little grace beyond the function's timeout: the handler watches its own.
            return future.result(timeout=self.function.timeout_seconds + 2)
        except FutureTimeout:
            # As Lambda does, the instance still running is thrown away, and new ones start.
            self._replace(pool)
            raise FunctionTimedOut(self.function.logical_id) from None
        except (BrokenProcessPool, CancelledError):
            if self._pool is not pool:
                # Its instances were thrown away for another invocation's timeout or crash, while
                # this one waited for a free instance (queued, it is cancelled; running beside the
                # crash, the pool is broken): Lambda would have given it an instance of its own.
                return self.invoke(event)
            self._replace(pool)
            raise FunctionCrashed(self.function.logical_id) from None

    def _replace(self, pool: ProcessPoolExecutor) -> None:
        with self._replacing:
            if self._pool is not pool:
                return  # another caller replaced it already
            self._pool = self._new_pool()
        for process in list((pool._processes or {}).values()):
            try:
                os.kill(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


_instance_function: FunctionSpec | None = None


def _start_instance(function: FunctionSpec, environment: dict[str, str]) -> None:
    global _instance_function
    hold_to_memory(function.memory_mb, single_process=function.package_type == "Image")
    os.environ.update(environment)
    _instance_function = function
    load_handler(function)


def _ping() -> bool:
    return True


def _invoke(event: dict) -> dict:
    assert _instance_function is not None
    return invoke_in_process(_instance_function, event)
