"""UDP to the X-Ray daemon: redacted, size-capped, never raising.

Replaces the SDK's ``UDPEmitter``: registered secrets are redacted from every
document, documents are kept under the datagram limit, and every failure (a bad
``AWS_XRAY_DAEMON_ADDRESS``, ``sendto`` errors) is contained with one warning per process.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from aws_xray_sdk.core.daemon_config import DaemonConfig
from aws_xray_sdk.core.emitters.udp_emitter import (
    PROTOCOL_DELIMITER,
    PROTOCOL_HEADER,
    UDPEmitter,
)

from lambdaops import _redact
from lambdaops._report import internal_error
from lambdaops._xray._span import Span, span_doc, to_doc
from lambdaops._xray._writer import MAX_DOCUMENT, documents, write_span

_HEADER = PROTOCOL_HEADER + PROTOCOL_DELIMITER
_DEFAULT_ADDRESS = "127.0.0.1:2000"
_ADDRESS_KEY = "AWS_XRAY_DAEMON_ADDRESS"
_environ_data: Any = getattr(os.environ, "_data", None)
_ADDRESS_RAW_KEY: Any = os.fsencode(_ADDRESS_KEY) if os.name != "nt" else _ADDRESS_KEY
_UNSET = "\x00unset"
_warned = False


def warn_once(exc: BaseException) -> None:
    """One warning per process for everything that goes wrong sending documents."""
    global _warned
    if not _warned:
        _warned = True
        internal_error("trace.emit", exc)


class Emitter(UDPEmitter):  # type: ignore[misc]
    """UDP to the daemon, redacted, size-capped, never raising."""

    def __init__(self) -> None:  # no super(): the socket is made on first send
        self._socket: socket.socket | None = None
        self._address: tuple[str, int] | None = None
        self._ip: str | None = None
        self._port: int | None = None
        self._env_seen: Any = _UNSET
        self.sent = 0

    def refresh(self) -> None:
        """Follow ``AWS_XRAY_DAEMON_ADDRESS`` (read once per sampled invocation)."""
        if _environ_data is not None:
            raw = _environ_data.get(_ADDRESS_RAW_KEY)  # os.environ's own dict: a tenth the cost
        else:  # pragma: no cover - not CPython's os.environ
            raw = os.environ.get(_ADDRESS_KEY)
        if raw != self._env_seen:
            self._env_seen = raw
            if isinstance(raw, bytes):
                raw = os.fsdecode(raw)
            self.set_daemon_address(raw or _DEFAULT_ADDRESS)

    def set_daemon_address(self, address: str | None) -> None:
        """Parse and resolve the address once; a bad one disables sending, with a warning."""
        if not address:
            return
        self._address = None
        try:
            config = DaemonConfig(address)
            ip = socket.gethostbyname(config.udp_ip)
            self._ip, self._port = ip, int(config.udp_port)
            self._address = (ip, self._port)
        except Exception as exc:
            warn_once(exc)

    def send_entity(self, entity: Any) -> None:
        try:
            if self._address is not None:
                self.send_document(to_doc(entity))
        except Exception as exc:
            warn_once(exc)

    def send_span(self, span: Span) -> None:
        """A span's tree in one datagram, written by :func:`write_span` if it can be."""
        try:
            if self._address is None:
                return
            try:
                text: str | None = write_span(span)
            except (ValueError, TypeError, RecursionError):
                text = None
            if text is None or len(text) > MAX_DOCUMENT:
                self.send_document(span_doc(span))
            else:
                self.send_texts((text,))
        except Exception as exc:
            warn_once(exc)

    def send_document(self, doc: dict[str, Any]) -> None:
        """In as few datagrams as fit; failures are contained and warned of once."""
        try:
            if self._address is not None:
                self.send_texts(documents(doc))
        except Exception as exc:
            warn_once(exc)

    def send_texts(self, texts: Any) -> None:
        """Each document JSON in its own datagram, redacted."""
        address = self._address
        if address is None:
            return
        sock = self._socket
        if sock is None:
            sock = self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setblocking(False)
        for text in texts:
            if _redact.armed:
                text = _redact.redact(text)
            sock.sendto((_HEADER + text).encode("utf-8"), address)
            self.sent += 1

    def reset(self) -> None:
        """Forget the address seen and the count, and warn again (tests)."""
        global _warned
        _warned = False
        self._env_seen = _UNSET
        self.sent = 0


emitter = Emitter()
