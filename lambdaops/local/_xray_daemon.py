"""A stand-in for the X-Ray daemon: a UDP listener that keeps the documents it receives.

Point ``AWS_XRAY_DAEMON_ADDRESS`` of a local execution environment at
:attr:`XRayDaemon.address` and every segment document the function sends is
parsed and kept, so end-to-end tests can check the trace tree and
``lambdaops local`` can draw it (:meth:`XRayDaemon.waterfall`, shared with the OTLP
receiver in :mod:`lambdaops.local._traces`). The protocol is
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

from lambdaops.local._traces import Document, TraceStore, flatten

__all__ = ["XRayDaemon", "document_problems", "flatten"]

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


class XRayDaemon(TraceStore):
    """A UDP listener on 127.0.0.1 that parses and keeps what functions send to X-Ray."""

    kind = "X-Ray daemon"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.host = host
        self.port = port
        #: Datagrams that broke the protocol, and the raw bytes of the first few.
        self.malformed = 0
        self.malformed_datagrams: list[bytes] = []
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
        self._keep([doc])

    # -- reading ------------------------------------------------------------------------
    def _problems(self) -> str:
        return f", {self.malformed} malformed"

    def clear(self) -> None:
        with self._cond:
            self.documents.clear()
            self.malformed = 0
            self.malformed_datagrams.clear()
