"""The aws-xray-sdk half of tracing, imported only when a sampled invocation needs it.

Importing the SDK costs ~25-45 ms, so :mod:`lambdaops._trace` loads this module
on the first sampled invocation and never at ``import lambdaops``. Here the
global ``xray_recorder`` is configured once so that our subsegments, the SDK's
patchers (botocore, requests, httpx) and a user's own ``xray_recorder`` calls
share one context and one emitter, and therefore form one tree:

* :class:`InvocationContext` replaces the SDK's ``LambdaContext``. It keeps the
  stack of open entities in a context variable (concurrent asyncio tasks get
  their own stacks; the SDK's thread-local stack interleaves them), rebuilds
  the facade segment only when ``_X_AMZN_TRACE_ID`` changes (the SDK re-parses
  the header on every lookup), and lets threads the handler started nest under
  the handler's subsegment.
* :class:`Emitter` replaces ``UDPEmitter``: it redacts registered secrets from
  every document, keeps documents under the UDP size limit, and contains every
  failure (bad ``AWS_XRAY_DAEMON_ADDRESS``, ``sendto`` errors) with one warning
  per process.

The SDK in Lambda sends every subsegment as its own datagram the moment it
closes (streaming threshold 0), because Lambda's facade segment is never sent
and nothing else would flush them. A datagram costs a syscall and a wake-up of
the daemon, the largest part of a sampled invocation's cost, so while one of
our sampled invocations is in flight its subsegments stay in the tree (up to
:data:`BATCH` of them) and the handler's subtree leaves as one document when
the handler ends, split only if it would not fit in a datagram. Outside our
invocations (a user's own subsegments, background threads) streaming stays
immediate, as the SDK does it.
"""

from __future__ import annotations

import contextvars
import json
import os
import socket
import sys
import threading
import traceback
from typing import Any

from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import patch as _sdk_patch
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.context import Context
from aws_xray_sdk.core.daemon_config import DaemonConfig
from aws_xray_sdk.core.emitters.udp_emitter import (
    PROTOCOL_DELIMITER,
    PROTOCOL_HEADER,
    UDPEmitter,
)
from aws_xray_sdk.core.models.dummy_entities import DummySegment
from aws_xray_sdk.core.models.facade_segment import FacadeSegment
from aws_xray_sdk.core.models.segment import Segment
from aws_xray_sdk.core.models.subsegment import Subsegment
from aws_xray_sdk.core.models.trace_header import TraceHeader
from aws_xray_sdk.core.streaming.default_streaming import DefaultStreaming
from aws_xray_sdk.core.utils.conversion import metadata_to_dict

from lambdaops import _redact
from lambdaops._config import Config
from lambdaops._lifecycle import parse_trace_header, trace_header
from lambdaops._render import _default, _plain, exception_fields
from lambdaops._report import internal_error

__all__ = ["Emitter", "InvocationContext", "InvocationTrace", "setup"]

Stack = tuple[Any, ...]
"""Open entities, outermost first; element 0 is the segment they belong to."""
Token = contextvars.Token[Stack]

#: Libraries whose calls become ``aws``/``remote`` subsegments once imported.
PATCHABLE = ("botocore", "aiobotocore", "requests", "httpx")
#: Largest document body sent: a datagram must stay under 64 KiB with its header.
MAX_DOCUMENT = 64_000
#: Subsegments kept in one invocation's tree before finished ones are streamed early.
BATCH = 50
_HEADER = PROTOCOL_HEADER + PROTOCOL_DELIMITER
_DEFAULT_ADDRESS = "127.0.0.1:2000"
_ADDRESS_KEY = "AWS_XRAY_DAEMON_ADDRESS"
_UNSET = "\x00unset"


def _is_subsegment(entity: Any) -> bool:
    return getattr(entity, "type", None) == "subsegment"


def _facade_for(header: str | None) -> Any:
    """Lambda's function segment as the header describes it; a dummy if incomplete."""
    fields = parse_trace_header(header)
    root, parent, sampled = fields.get("Root"), fields.get("Parent"), fields.get("Sampled")
    if not root or not parent or sampled not in ("0", "1"):
        segment = DummySegment()
    else:
        segment = FacadeSegment(
            name="facade",
            traceid=root,
            entityid=parent,
            sampled=sampled == "1" and global_sdk_config.sdk_enabled(),
        )
    if len(fields) > 3:  # e.g. Lineage: the patchers pass it on in outgoing headers
        data = {k: v for k, v in fields.items() if k not in ("Root", "Parent", "Sampled")}
        segment.save_origin_trace_header(
            TraceHeader(root=root, parent=parent, sampled=sampled, data=data)
        )
    return segment


class InvocationTrace:
    """One sampled invocation: its handler subsegment and how to record the outcome."""

    __slots__ = ("config", "name", "segment", "subsegment", "token")

    def __init__(self, config: Config, name: str, segment: Any, subsegment: Any) -> None:
        self.config = config
        self.name = name
        self.segment = segment
        self.subsegment = subsegment
        self.token: Token | None = None


class InvocationContext(Context):  # type: ignore[misc]
    """The SDK's context API over a context variable, for Lambda."""

    def __init__(self) -> None:
        super().__init__(context_missing="IGNORE_ERROR")
        self.entities: contextvars.ContextVar[Stack] = contextvars.ContextVar(
            "lambdaops_xray_entities", default=()
        )
        self._facade: tuple[str | None, Any] = (_UNSET, None)
        self._lock = threading.Lock()
        #: The sampled invocation in flight, whose subsegment threads nest under.
        self.invocation: InvocationTrace | None = None

    # -- ours -----------------------------------------------------------------
    def segment(self) -> Any:
        """The facade segment of the current ``_X_AMZN_TRACE_ID``, built once per header."""
        header = trace_header()
        cached, segment = self._facade
        if header == cached:
            return segment
        with self._lock:
            cached, segment = self._facade
            if header != cached:
                segment = _facade_for(header)
                self._facade = (header, segment)
        return segment

    def current(self) -> tuple[Any, Stack]:
        """The entity new work nests under, and the stack it tops."""
        inv = self.invocation
        # The header cannot change while our invocation runs: no need to read it again.
        segment = inv.segment if inv is not None else self.segment()
        stack = self.entities.get()
        # Never a closed entity (e.g. the handler's, after the watchdog ended the invocation
        # while the handler runs on): adding to it would raise in the SDK.
        if stack and stack[0] is segment and stack[-1].in_progress:
            return stack[-1], stack
        if inv is not None and inv.subsegment.in_progress:
            return inv.subsegment, (segment, inv.subsegment)
        return segment, (segment,)

    def reset(self) -> None:
        """Forget the cached facade and the invocation (tests)."""
        self._facade = (_UNSET, None)
        self.invocation = None
        self.entities.set(())

    # -- the SDK's context API -------------------------------------------------
    def put_segment(self, segment: Any) -> None:
        """Lambda owns the function's segment: there is nothing to put."""

    def end_segment(self, end_time: float | None = None) -> None:
        """Lambda owns the function's segment: there is nothing to end."""

    def put_subsegment(self, subsegment: Any) -> None:
        entity, stack = self.current()
        if not _is_subsegment(entity) and (
            isinstance(entity, DummySegment) or getattr(entity, "initializing", False)
        ):
            return  # no trace to hang it on, as the SDK's LambdaContext
        entity.add_subsegment(subsegment)
        self.entities.set((*stack, subsegment))

    def end_subsegment(self, end_time: float | None = None) -> bool:
        """End the innermost subsegment opened in this context (never one from elsewhere)."""
        stack = self.entities.get()
        if len(stack) < 2 or stack[0] is not self.current()[1][0] or not _is_subsegment(stack[-1]):
            return False
        stack[-1].close(end_time)
        self.entities.set(stack[:-1])
        return True

    def get_trace_entity(self) -> Any:
        return self.current()[0]

    def set_trace_entity(self, trace_entity: Any) -> None:
        if _is_subsegment(trace_entity):
            self.entities.set((trace_entity.parent_segment, trace_entity))
        else:
            self.entities.set((trace_entity,))

    def clear_trace_entities(self) -> None:
        self.entities.set(())

    def handle_context_missing(self) -> None:
        return None


_warned = False


def _warn_once(exc: BaseException) -> None:
    """One warning per process for everything that goes wrong sending documents."""
    global _warned
    if not _warned:
        _warned = True
        internal_error("trace.emit", exc)


def _doc_default(obj: object) -> object:
    """What the SDK's ``metadata_to_dict`` makes of an object, converted only when met.

    The SDK walks all metadata before encoding; the encoder calls this only for
    values it cannot encode itself (objects, sets), which are rare.
    """
    if isinstance(obj, (BaseException, bytes, bytearray, memoryview)) or hasattr(obj, "isoformat"):
        return _default(obj)
    converted = metadata_to_dict(obj)
    return str(obj) if converted is obj else converted


def _make_encoder() -> Any:
    """The C encoder with :func:`_doc_default`, built once (``json.dumps`` rebuilds it)."""
    from _json import make_encoder

    c_encode = make_encoder(
        None,
        _doc_default,
        json.encoder.encode_basestring_ascii,
        None,
        ":",
        ",",
        False,
        False,
        False,
    )
    join = "".join

    def encode(obj: object) -> str:
        return join(c_encode(obj, 0))

    return encode


_encode: Any = _make_encoder()
_SKIP = frozenset(
    ("sampled", "parent_segment", "ref_counter", "_subsegments_counter", "_origin_trace_header")
)


def to_doc(entity: Any) -> dict[str, Any]:
    """The entity's document: the SDK's ``to_dict``, minus its eager metadata walk."""
    method = type(entity).to_dict
    if method is not _SUBSEGMENT_TO_DICT and method is not _SEGMENT_TO_DICT:
        return entity.to_dict()  # type: ignore[no-any-return]  # someone's own entity type
    doc: dict[str, Any] = {}
    for key, value in vars(entity).items():
        if not value and value is not False:
            continue
        if key in _SKIP:
            continue
        if key == "subsegments":
            doc[key] = [to_doc(child) for child in value]
        elif key == "cause" and isinstance(value, dict):
            doc[key] = {
                "working_directory": value.get("working_directory"),
                "exceptions": [t.to_dict() for t in value.get("exceptions", ())],
            }
        else:
            doc[key] = value
    return doc


def encode(doc: dict[str, Any]) -> str | None:
    """A document's JSON under :data:`MAX_DOCUMENT`; ``None`` if it cannot be made to fit."""
    try:
        text: str = _encode(doc)
        if len(text) <= MAX_DOCUMENT:
            return text
    except (ValueError, TypeError, RecursionError):
        pass  # NaN, cycles: the plain copy below names or cuts them
    plain = _plain(doc, 4096, set(), 0)
    text = _encode(plain)
    if len(text) <= MAX_DOCUMENT:
        return text
    if "metadata" in plain:  # the usual culprit: a large response
        plain["metadata"] = {"lambdaops": {"dropped": "metadata: document over 64 KB"}}
        text = _encode(plain)
        if len(text) <= MAX_DOCUMENT:
            return text
    return None


def documents(doc: dict[str, Any]) -> list[str]:
    """``doc`` as datagram bodies: one if it fits, else its subtrees each on their own.

    A child document carries its own ``trace_id``, ``parent_id`` and ``type``,
    so X-Ray reassembles the same tree from the pieces.
    """
    children = doc.get("subsegments")
    if children:
        try:
            text = _encode(doc)
            if len(text) <= MAX_DOCUMENT:
                return [text]
        except (ValueError, TypeError, RecursionError):
            pass
        doc = {k: v for k, v in doc.items() if k != "subsegments"}
        out: list[str] = []
        for child in children:
            out.extend(documents(child))
        out.extend(documents(doc))
        return out
    text = encode(doc)
    if text is None:
        raise ValueError(f"subsegment {doc.get('name')!r} is too large to send")
    return [text]


class Emitter(UDPEmitter):  # type: ignore[misc]
    """UDP to the daemon, redacted, size-capped, never raising."""

    def __init__(self) -> None:  # no super(): the socket is made on first send
        self._socket: socket.socket | None = None
        self._address: tuple[str, int] | None = None
        self._ip: str | None = None
        self._port: int | None = None
        self._env_seen: str | None = _UNSET
        self.sent = 0

    def refresh(self) -> None:
        """Follow ``AWS_XRAY_DAEMON_ADDRESS`` (read once per sampled invocation)."""
        raw = os.environ.get(_ADDRESS_KEY)
        if raw != self._env_seen:
            self._env_seen = raw
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
            _warn_once(exc)

    def send_entity(self, entity: Any) -> None:
        try:
            address = self._address
            if address is None:
                return
            sock = self._socket
            if sock is None:
                sock = self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.setblocking(False)
            for text in documents(to_doc(entity)):
                if _redact._needles:
                    text = _redact.redact(text)
                sock.sendto((_HEADER + text).encode("utf-8"), address)
                self.sent += 1
        except Exception as exc:
            _warn_once(exc)


class Streaming(DefaultStreaming):  # type: ignore[misc]
    """Batch while our sampled invocation runs; stream at once otherwise (as the SDK in Lambda)."""

    def is_eligible(self, segment: Any) -> bool:
        if not segment or not segment.sampled:
            return False
        inv = context.invocation
        if inv is None or inv.segment is not segment:
            return True
        return bool(segment.get_total_subsegments_size() > self.streaming_threshold)


_SUBSEGMENT_TO_DICT = Subsegment.to_dict
_SEGMENT_TO_DICT = Segment.to_dict
recorder: Any = xray_recorder
context = InvocationContext()
emitter = Emitter()
_patched: set[str] = set()


def setup() -> None:
    """Point the global recorder at our context, emitter and streaming; the header decides."""
    recorder.context = context
    if type(recorder.emitter) is UDPEmitter:  # keep an emitter a user installed
        recorder.emitter = emitter
    if type(recorder.streaming) is DefaultStreaming:
        recorder.streaming = Streaming(BATCH)
    recorder.sampling = False


def patch_loaded() -> None:
    """Patch the supported libraries the function has imported so far.

    Checked on every sampled invocation, so a library imported later is
    traced from the next one; never imports a library the function does not use.
    """
    modules = sys.modules
    todo = [name for name in PATCHABLE if name not in _patched and name in modules]
    if todo:
        _patched.update(todo)
        _sdk_patch(todo, raise_errors=False)


def _send(entity: Any) -> None:
    if entity.sampled:
        recorder.emitter.send_entity(entity)


def _stream(segment: Any) -> None:
    """Send the finished subtrees under ``segment`` that :class:`Streaming` says are due."""
    if segment.ready_to_send():  # a real segment (not Lambda's facade) that is done
        _send(segment)
        return
    streaming = recorder.streaming
    if streaming.is_eligible(segment):
        streaming.stream(segment, _send)


# -- the invocation -----------------------------------------------------------
def begin(config: Config, name: str, cold_start: bool, patch: bool) -> InvocationTrace | None:
    """Open the handler's subsegment under Lambda's function segment."""
    emitter.refresh()
    if patch:
        patch_loaded()
    segment = context.segment()
    if not segment.sampled:  # Sampled=0, or a header without Root/Parent (a dummy)
        return None
    sub = Subsegment(f"## {name}", "local", segment)
    # Keys known to be valid: skip put_annotation's per-character check.
    sub.annotations["ColdStart"] = bool(cold_start)
    service = config.service
    if service:
        sub.annotations["Service"] = service
    segment.add_subsegment(sub)
    inv = InvocationTrace(config, name, segment, sub)
    inv.token = context.entities.set((segment, sub))
    context.invocation = inv
    return inv


def end(
    inv: InvocationTrace, result: Any, error: BaseException | None, outcome: str | None = None
) -> None:
    """Record the outcome, close the handler's subsegment and send the invocation's tree."""
    sub, config = inv.subsegment, inv.config
    try:
        if error is not None:
            key = f"{inv.name} error" if config.trace_capture_error else None
            record_error(sub, error, key, config.service)
        elif outcome == "timeout":  # ended by the watchdog: the handler is still running
            sub.add_fault_flag()
        elif result is not None and config.trace_capture_response:
            sub.put_metadata(f"{inv.name} response", result, config.service)
    finally:
        if context.invocation is inv:
            context.invocation = None
        _unwind(inv.token, sub)
        if sub.in_progress:
            sub.close()
        segment = inv.segment
        children = segment.subsegments
        if len(children) == 1 and children[0] is sub:
            # The usual case: the handler's subtree is all there is. Send it whole,
            # with whatever under it is still open (a thread still working) as in progress.
            segment.remove_subsegment(sub)
            _send(sub)
        else:  # a user's subsegments beside ours: let the SDK's streaming pick what is done
            recorder.streaming.stream(segment, _send)
            if sub in segment.subsegments:
                segment.remove_subsegment(sub)
                _send(sub)


def record_error(sub: Any, error: BaseException, key: str | None, namespace: str) -> None:
    """Mark ``sub`` faulty with the exception as its cause (and as metadata under ``key``)."""
    if not isinstance(error, Exception):
        return  # GeneratorExit, cancellation, exit: not a failure of the traced code
    frames = traceback.extract_tb(error.__traceback__)
    limit = recorder.max_trace_back
    sub.add_exception(error, frames[-limit:] if limit else [])
    if key is not None:
        sub.put_metadata(key, exception_fields(error), namespace)


def settings() -> tuple[bool, bool, str]:
    """capture_response, capture_error and metadata namespace of the invocation in flight."""
    inv = context.invocation
    if inv is None:
        return True, True, "default"
    config = inv.config
    return config.trace_capture_response, config.trace_capture_error, config.service


# -- subsegments ----------------------------------------------------------------
def open_subsegment(name: str, namespace: str = "local") -> tuple[Any, Token] | None:
    """Open a subsegment under the current entity and make it current; None if unsampled."""
    parent, stack = context.current()
    if not parent.sampled:
        return None
    sub = Subsegment(name, namespace, stack[0])
    parent.add_subsegment(sub)
    return sub, context.entities.set((*stack, sub))


def close_subsegment(sub: Any, token: Token | None) -> None:
    """Make the previous entity current again, close ``sub`` and stream what is finished."""
    _unwind(token, sub)
    if sub.in_progress:
        sub.close()
    _stream(sub.parent_segment)


def _unwind(token: Token | None, sub: Any) -> None:
    try:
        if token is None:
            raise ValueError
        context.entities.reset(token)
    except ValueError:  # closed from another context than it was opened in
        stack = context.entities.get()
        if sub in stack:
            context.entities.set(stack[: stack.index(sub)])


def push(sub: Any) -> Token:
    """Make an open subsegment current again (a generator resuming)."""
    stack = context.current()[1]
    if stack[0] is not sub.parent_segment:
        stack = (sub.parent_segment,)
    return context.entities.set((*stack, sub))


def pop(token: Token, sub: Any) -> None:
    _unwind(token, sub)


def current_subsegment() -> Any:
    """The innermost open sampled subsegment, or None."""
    entity = context.current()[0]
    if _is_subsegment(entity) and entity.sampled:
        return entity
    return None


def reset() -> None:
    """Forget per-process state (tests): warnings, address, context."""
    global _warned
    _warned = False
    context.reset()
    emitter._env_seen = _UNSET
    emitter.sent = 0
