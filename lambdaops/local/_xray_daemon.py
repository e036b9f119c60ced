"""A stand-in for the X-Ray daemon: a UDP listener that keeps the documents it receives.

Point ``AWS_XRAY_DAEMON_ADDRESS`` of a local execution environment at
:attr:`XRayDaemon.address` and every segment document the function sends is
parsed and kept, so end-to-end tests can check the trace tree and
``lambdaops local`` can draw it (:meth:`XRayDaemon.waterfall`). The protocol is
parsed strictly, as the daemon does: a JSON header line
``{"format": "json", "version": 1}``, a newline, then one JSON segment document
per datagram. Anything else is counted in :attr:`XRayDaemon.malformed`.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from lambdaops.local._service import Service

__all__ = ["XRayDaemon", "document_problems", "flatten"]

Document = dict[str, Any]
_HEADER = {"format": "json", "version": 1}
_MAX_DATAGRAM = 65535
_ID = re.compile(r"^[0-9a-f]{16}$")
_TRACE_ID = re.compile(r"^1-[0-9a-f]{8}-[0-9a-f]{24}$")


def parse_datagram(data: bytes) -> Document:
    """The segment document in one datagram; ``ValueError`` if it breaks the protocol."""
    text = data.decode("utf-8")  # UnicodeDecodeError is a ValueError
    header, newline, body = text.partition("\n")
    if not newline:
        raise ValueError("no header line")
    if json.loads(header) != _HEADER:
        raise ValueError(f"unexpected header {header[:80]!r}")
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("the document is not a JSON object")
    return doc


def document_problems(doc: Document) -> list[str]:
    """What makes ``doc`` an invalid segment or subsegment document (empty if valid).

    The rules X-Ray applies to what a function sends: 16-hex ids, a
    ``1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx`` trace id, a name, a start time and
    either an end time or ``in_progress``; a standalone subsegment also needs
    ``type``, ``parent_id`` and ``trace_id``.
    """
    problems: list[str] = []
    name = doc.get("name")
    if not isinstance(name, str) or not name or len(name) > 200:
        problems.append(f"bad name {name!r}")
    if not isinstance(doc.get("id"), str) or not _ID.match(doc["id"]):
        problems.append(f"bad id {doc.get('id')!r}")
    start, end = doc.get("start_time"), doc.get("end_time")
    if not isinstance(start, (int, float)) or isinstance(start, bool):
        problems.append(f"bad start_time {start!r}")
    if end is None:
        if doc.get("in_progress") is not True:
            problems.append("neither end_time nor in_progress")
    elif not isinstance(end, (int, float)) or (isinstance(start, (int, float)) and end < start):
        problems.append(f"bad end_time {end!r}")
    if doc.get("type") == "subsegment":
        if not isinstance(doc.get("parent_id"), str) or not _ID.match(doc["parent_id"]):
            problems.append(f"bad parent_id {doc.get('parent_id')!r}")
        if not isinstance(doc.get("trace_id"), str) or not _TRACE_ID.match(doc["trace_id"]):
            problems.append(f"bad trace_id {doc.get('trace_id')!r}")
    elif "trace_id" in doc and not _TRACE_ID.match(str(doc["trace_id"])):
        problems.append(f"bad trace_id {doc.get('trace_id')!r}")
    for child in doc.get("subsegments", ()):
        problems.extend(f"{name}/{p}" for p in document_problems(child))
    return problems


def flatten(docs: list[Document]) -> list[Document]:
    """Every entity in ``docs``, nested subsegments included, each with its ``parent_id``."""
    out: list[Document] = []

    def walk(doc: Document, parent_id: str | None, trace_id: str | None) -> None:
        entity = {k: v for k, v in doc.items() if k != "subsegments"}
        if parent_id is not None:
            entity.setdefault("parent_id", parent_id)
        if trace_id is not None:
            entity.setdefault("trace_id", trace_id)
        out.append(entity)
        for child in doc.get("subsegments", ()):
            walk(child, doc.get("id"), entity.get("trace_id"))

    for doc in docs:
        walk(doc, None, None)
    return out


class XRayDaemon(Service):
    """A UDP listener on 127.0.0.1 that parses and keeps what functions send to X-Ray."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.documents: list[Document] = []
        #: Datagrams that broke the protocol, and the raw bytes of the first few.
        self.malformed = 0
        self.malformed_datagrams: list[bytes] = []
        self._cond = threading.Condition()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def address(self) -> str:
        """``host:port`` for ``AWS_XRAY_DAEMON_ADDRESS``; the daemon must be started."""
        if self._sock is None:
            raise RuntimeError("the daemon is not started")
        return f"{self.host}:{self.port}"

    def start(self) -> XRayDaemon:
        if self._sock is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        except OSError:
            pass
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"lambdaops-xray-daemon-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening; what was received stays readable."""
        self._stopping = True
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _run(self) -> None:
        sock = self._sock
        assert sock is not None
        while not self._stopping:
            try:
                ready, _, _ = select.select([sock], [], [], 0.1)
                if not ready:
                    continue
                data = sock.recv(_MAX_DATAGRAM)
            except OSError:
                if self._stopping:
                    return
                continue
            self.feed(data)

    def feed(self, data: bytes) -> None:
        """Take one datagram (as if it had arrived over UDP)."""
        try:
            doc = parse_datagram(data)
        except ValueError:
            with self._cond:
                self.malformed += 1
                if len(self.malformed_datagrams) < 20:
                    self.malformed_datagrams.append(data)
                self._cond.notify_all()
            return
        with self._cond:
            self.documents.append(doc)
            self._cond.notify_all()

    # -- reading ------------------------------------------------------------------------
    def snapshot(self) -> list[Document]:
        with self._cond:
            return list(self.documents)

    def clear(self) -> None:
        with self._cond:
            self.documents.clear()
            self.malformed = 0
            self.malformed_datagrams.clear()

    def wait_for(
        self, until: int | Callable[[list[Document]], bool], timeout: float = 5.0
    ) -> list[Document]:
        """The documents once there are ``until`` of them (or ``until(documents)`` holds).

        Raises ``TimeoutError`` saying what did arrive.
        """
        check: Callable[[list[Document]], bool]
        if callable(until):
            check = until
        else:
            count = until

            def check(docs: list[Document]) -> bool:
                return len(docs) >= count

        deadline = time.monotonic() + timeout
        with self._cond:
            while not check(self.documents):
                left = deadline - time.monotonic()
                if left <= 0:
                    names = [d.get("name") for d in self.documents]
                    raise TimeoutError(
                        f"X-Ray daemon: condition not met in {timeout}s; "
                        f"{len(names)} documents {names}, {self.malformed} malformed"
                    )
                self._cond.wait(left)
            return list(self.documents)

    def segments_for(self, trace_id: str) -> list[Document]:
        """The documents received for one trace, in arrival order."""
        return [d for d in self.snapshot() if d.get("trace_id") == trace_id]

    def waterfall(self, trace_id: str, width: int = 40) -> str:
        """A text timeline of one trace: each subsegment nested under its parent.

        Offsets and durations are in ms from the earliest start in the trace.
        """
        entities = flatten(self.segments_for(trace_id))
        if not entities:
            return f"trace {trace_id}: no documents"
        by_id = {e.get("id"): e for e in entities}
        children: dict[str | None, list[Document]] = {}
        for entity in entities:
            parent = entity.get("parent_id")
            children.setdefault(parent if parent in by_id else None, []).append(entity)
        starts = [float(e.get("start_time", 0)) for e in entities]
        t0 = min(starts)
        t1 = max(float(e.get("end_time") or e.get("start_time", 0)) for e in entities)
        span = max(t1 - t0, 1e-9)
        rows: list[tuple[str, str, str, str, str]] = []

        def visit(entity: Document, depth: int) -> None:
            start = float(entity.get("start_time", t0))
            end = entity.get("end_time")
            label = str(entity.get("name", "?"))
            operation = (entity.get("aws") or {}).get("operation")
            if operation:
                label += f" {operation}"
            flags = [f for f in ("fault", "error", "throttle") if entity.get(f)]
            if end is None:
                flags.append("in progress")
                end = t1
            cause = entity.get("cause")
            if isinstance(cause, dict):
                types = [str(x.get("type")) for x in cause.get("exceptions", ()) if x.get("type")]
                flags.extend(types[:1])
            lo = int((start - t0) / span * width)
            hi = max(lo + 1, int((float(end) - t0) / span * width))
            bar = " " * lo + "█" * (hi - lo) + " " * (width - hi)
            rows.append(
                (
                    "  " * depth + label,
                    f"{(start - t0) * 1000:.1f}",
                    f"{(float(end) - start) * 1000:.1f}",
                    f"|{bar[:width]}|",
                    ", ".join(flags),
                )
            )
            kids = children.get(entity.get("id"), [])
            for child in sorted(kids, key=lambda e: float(e.get("start_time", 0))):
                visit(child, depth + 1)

        for root in sorted(children.get(None, []), key=lambda e: float(e.get("start_time", 0))):
            visit(root, 0)
        name_w = max(len("subsegment"), *(len(r[0]) for r in rows))
        off_w = max(len("offset ms"), *(len(r[1]) for r in rows))
        dur_w = max(len("duration ms"), *(len(r[2]) for r in rows))
        lines = [
            f"trace {trace_id}: {len(entities)} subsegments, {span * 1000:.1f} ms",
            f"{'subsegment':<{name_w}}  {'offset ms':>{off_w}}  {'duration ms':>{dur_w}}",
        ]
        for name, offset, duration, bar, flags in rows:
            line = f"{name:<{name_w}}  {offset:>{off_w}}  {duration:>{dur_w}}  {bar}"
            lines.append(f"{line}  {flags}" if flags else line)
        return "\n".join(lines)
