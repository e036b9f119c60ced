"""The memory limit of an execution environment: the runtime's process tree against --memory.

Lambda runs the function in a memory cgroup the size of its configured memory and kills the
environment when it is full; the invocation fails with ``Runtime.OutOfMemory``. Locally we
have no cgroup to rely on (nor root), so a thread polls the resident set of the runtime and
everything it spawned, while the environment is working (init and invocations), and kills
the process group when the sum passes the limit. Reading /proc costs a few microseconds a
process; at one poll every 25 ms that is well under 1 % of a core.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

__all__ = ["MemoryWatcher", "tree_rss_bytes"]

_PAGE = os.sysconf("SC_PAGE_SIZE")
POLL_S = 0.025


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (every thread's ``children`` list; Linux 3.5+)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as handle:
                found.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return found


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def tree_rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in bytes (0 if it is gone)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        total += _rss_bytes(current)
        todo.extend(_children(current))
    return total


class MemoryWatcher:
    """Polls a process tree while armed; calls ``on_exceeded`` once if it passes the limit."""

    def __init__(
        self,
        pid: int,
        limit_mb: int,
        on_exceeded: Callable[[], None],
        poll_s: float = POLL_S,
    ) -> None:
        self.pid = pid
        self.limit_bytes = limit_mb * 1024 * 1024
        self.peak_bytes = 0
        self.exceeded = threading.Event()
        self._on_exceeded = on_exceeded
        self._poll_s = poll_s
        self._armed = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"lambdaops-local-memory-{pid}", daemon=True
        )
        self._thread.start()

    @property
    def peak_mb(self) -> int:
        """The largest tree RSS seen, in MB rounded up (Lambda's Max Memory Used)."""
        return -(-self.peak_bytes // (1024 * 1024))

    def arm(self) -> None:
        """Start watching (the environment is about to run code)."""
        self._armed.set()

    def disarm(self) -> None:
        """Stop watching until the next arm() (the runtime is idle in GET /next)."""
        self._armed.clear()

    def stop(self) -> None:
        self._stopped.set()
        self._armed.set()
        self._thread.join(1.0)

    def check(self) -> bool:
        """Poll once now; True if the limit was passed (and the kill requested)."""
        rss = tree_rss_bytes(self.pid)
        self.peak_bytes = max(self.peak_bytes, rss)
        if rss > self.limit_bytes and not self.exceeded.is_set():
            self.exceeded.set()
            self._on_exceeded()
        return self.exceeded.is_set()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._armed.wait()
            if self._stopped.is_set() or self.check():
                return
            self._stopped.wait(self._poll_s)
