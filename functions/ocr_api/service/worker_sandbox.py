"""What a page worker may see of the handler: an environment without the function's secrets,
and a handler process it cannot read through /proc or trace."""

from __future__ import annotations

import ctypes
import logging
import os
import sys

logger = logging.getLogger(__name__)

# The worker's environment: what Python and Tesseract need, nothing of the function's secrets.
_PASSED_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "LD_LIBRARY_PATH", "TMPDIR")


def keep_handler_from_workers() -> None:
    """Makes the handler's process non-dumpable: the workers run as the same user, and could
    otherwise read its environment (the function's AWS credentials) and memory through /proc.
    A non-dumpable process's /proc files belong to root, and it cannot be traced. (Workers are
    started with execve, which makes them dumpable again: their own /proc stays theirs.)"""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        logger.warning("handler could not be made non-dumpable", extra={"errno": ctypes.get_errno()})


_PR_SET_DUMPABLE = 4


def worker_environment() -> dict[str, str]:
    environment = {name: os.environ[name] for name in _PASSED_ENVIRONMENT if name in os.environ}
    # The worker imports what the handler imported, from the same places.
    environment["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
    # One malloc arena: each further one reserves 64 MB of the capped address space.
    environment["MALLOC_ARENA_MAX"] = "1"
    # One thread per worker, should Tesseract ever be built with OpenMP: on Lambda's few vCPUs
    # its threads make it several times slower.
    environment["OMP_THREAD_LIMIT"] = "1"
    return environment
