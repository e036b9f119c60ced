"""Readers for the pipes a runtime process writes its logs to: stdout/stderr lines, and frames.

Each reader drains its pipe on a thread, so the child never blocks on a full pipe, and turns
what it reads into log events. We keep a copy of each pipe's write end to send sync marks
through it: pipes are FIFO, so once the reader sees a mark, everything the child wrote before
it has become events. Marks are written in one write() shorter than PIPE_BUF, so atomically.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable

__all__ = ["LineReader", "PipeReader"]

_READ_SIZE = 65536

#: Called with (stream name, event text, event time or None for "now").
OnEvent = Callable[[str, str, "float | None"], None]


class PipeReader:
    """Drains one pipe on a thread; subclasses turn bytes into events in :meth:`_feed`."""

    sync_mark: bytes = b""

    def __init__(self, name: str, on_event: OnEvent) -> None:
        self.name = name
        self._on_event = on_event
        self._read_fd, write_fd = os.pipe()
        self._write_fd: int | None = write_fd
        self.child_fd = write_fd
        self._write_lock = threading.Lock()
        self._cond = threading.Condition()
        self._marks_sent = 0
        self._marks_seen = 0
        self._eof = False
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"lambdaops-local-{name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def close_writer(self) -> None:
        """Drop our copy of the write end, so the reader sees EOF once the child is gone."""
        with self._write_lock:
            if self._write_fd is not None:
                os.close(self._write_fd)
                self._write_fd = None

    def sync(self, timeout_s: float) -> bool:
        """Wait until everything written to the pipe so far has become events."""
        with self._write_lock:
            if self._write_fd is not None:
                self._marks_sent += 1
                target = self._marks_sent
                os.write(self._write_fd, self.sync_mark)
            else:
                target = -1
        with self._cond:
            return self._cond.wait_for(
                lambda: self._eof or (target >= 0 and self._marks_seen >= target), timeout_s
            )

    def stop(self, timeout_s: float) -> None:
        """Read to EOF if it comes soon, then give up (a grandchild may hold the pipe open)."""
        self.close_writer()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._stopping = True
            self._thread.join(1.0)
        if not self._thread.is_alive() and self._read_fd >= 0:
            os.close(self._read_fd)
            self._read_fd = -1

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN)
        try:
            while not self._stopping:
                if not poller.poll(200):
                    continue
                data = os.read(self._read_fd, _READ_SIZE)
                if not data:
                    break
                self._feed(data)
        except OSError:
            pass
        finally:
            self._flush()
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def _mark_seen(self) -> None:
        with self._cond:
            self._marks_seen += 1
            self._cond.notify_all()

    def _emit(self, text: str, when: float | None = None) -> None:
        self._on_event(self.name, text, when)

    def _feed(self, data: bytes) -> None:
        raise NotImplementedError

    def _flush(self) -> None:
        """At EOF: emit whatever is left over."""


# Written by us into the child's own stdout/stderr pipe (see the module docstring).
_SYNC_MARK = b"\x00\x1b[lambdaops-local-sync]\x1b\x00"


class LineReader(PipeReader):
    """stdout or stderr: one event per line, as Lambda captures them."""

    sync_mark = _SYNC_MARK

    def __init__(self, name: str, on_event: OnEvent) -> None:
        super().__init__(name, on_event)
        self._pending = b""

    def _feed(self, data: bytes) -> None:
        buf = self._pending + data
        while True:
            mark = buf.find(_SYNC_MARK)
            newline = buf.find(b"\n")
            if mark >= 0 and (newline < 0 or mark < newline):
                # The child is idle when we sync, so a partial line before the mark is complete.
                if mark:
                    self._line(buf[:mark])
                buf = buf[mark + len(_SYNC_MARK) :]
                self._mark_seen()
            elif newline >= 0:
                self._line(buf[:newline])
                buf = buf[newline + 1 :]
            else:
                break
        self._pending = buf

    def _flush(self) -> None:
        if self._pending:
            self._line(self._pending)
            self._pending = b""

    def _line(self, raw: bytes) -> None:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        self._emit(raw.decode("utf-8", "replace"))
