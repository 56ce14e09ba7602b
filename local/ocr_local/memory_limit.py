"""Holding a local Lambda instance to its function's memory, as Lambda does.

Lambda counts what an instance's processes hold (the handler and every process it starts) and
stops the instance past the function's memory. Where this machine lets us make memory control
groups (cgroup v1 or v2, as root), each instance gets one of its own with that limit: the kernel
then kills a process of the instance past it, as Lambda's would. Elsewhere, a container-image
function's single process gets an address-space limit instead (an allocation past it fails);
the API function's page workers cap their own address space in any case.
"""

from __future__ import annotations

import logging
import os
import resource
from pathlib import Path

logger = logging.getLogger(__name__)

_CGROUP_ROOT = Path("/sys/fs/cgroup")
_PREFIX = "ocr-local-"


def hold_to_memory(memory_mb: int, single_process: bool) -> str:
    """Limits this process (and all it starts) to ``memory_mb``; says how: "cgroup",
    "address space" (``single_process`` functions only), or "none"."""
    limit = memory_mb * 1024 * 1024
    if _join_new_cgroup(limit):
        return "cgroup"
    if single_process:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        return "address space"
    return "none"


def memory_cgroups_available() -> bool:
    """Whether this process could give an instance a memory cgroup of its own."""
    return _own_memory_cgroup() is not None


def _join_new_cgroup(limit: int) -> bool:
    parent = _own_memory_cgroup()
    if parent is None:
        return False
    _remove_abandoned(parent)
    group = parent / f"{_PREFIX}{os.getpid()}"
    v2 = (parent / "cgroup.controllers").exists()
    try:
        group.mkdir(exist_ok=True)
        (group / ("memory.max" if v2 else "memory.limit_in_bytes")).write_text(str(limit))
        if v2:
            (group / "memory.swap.max").write_text("0")
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError as err:
        logger.debug("no memory cgroup for this instance: %s", err)
        return False
    return True


def _own_memory_cgroup() -> Path | None:
    """This process's memory cgroup directory, where one can be written."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            directory = _CGROUP_ROOT / "memory" / path.lstrip("/")
            return directory if os.access(directory, os.W_OK) else None
    for line in lines:
        if line.startswith("0::"):
            directory = _CGROUP_ROOT / line[3:].lstrip("/")
            controllers = directory / "cgroup.controllers"
            if controllers.exists() and "memory" in controllers.read_text().split() and os.access(directory, os.W_OK):
                return directory
    return None


def _remove_abandoned(parent: Path) -> None:
    """Groups of instances that have ended (killed with their pool, say): empty, and removed."""
    for group in parent.glob(f"{_PREFIX}*"):
        pid = group.name[len(_PREFIX) :]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            try:
                group.rmdir()
            except OSError:
                pass  # still has processes, or already gone
