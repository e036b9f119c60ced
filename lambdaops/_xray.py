"""The aws-xray-sdk half of tracing, imported only when a sampled invocation needs it.

Importing the SDK costs ~25-45 ms, so :mod:`lambdaops._trace` loads this module
on the first sampled invocation and never at ``import lambdaops``.

Our own subsegments (the handler's, ``@trace.capture``, ``trace.subsegment()``)
are :class:`Span` objects: a slots object per subsegment, an id from
``random.getrandbits``, written to the daemon format by :func:`span_doc` and the
C JSON encoder. Building the SDK's model objects for them (ids from
``os.urandom``, name and key validation, the facade segment re-parsed from the
header) cost most of a sampled invocation, so SDK objects are made only when
the SDK itself needs the current entity:

* :class:`InvocationContext` replaces the SDK's ``LambdaContext`` on the global
  ``xray_recorder``. It keeps the stack of open entities in a context variable
  (concurrent asyncio tasks get their own stacks), and threads the handler
  started nest under the handler's subsegment. When the SDK asks for the
  current entity (a patched botocore/requests/httpx call, or user code calling
  ``xray_recorder`` directly) and it is one of our spans, it gets the span's
  :class:`Twin`: an SDK ``Subsegment`` with the same id, sharing the span's
  annotations, metadata and children. SDK subsegments begun under it land in
  the span's children, so the tree stays one and is sent as one.
* :class:`Emitter` replaces ``UDPEmitter``: it redacts registered secrets from
  every document, keeps documents under the UDP size limit, and contains every
  failure (bad ``AWS_XRAY_DAEMON_ADDRESS``, ``sendto`` errors) with one warning
  per process.

The SDK in Lambda sends every subsegment as its own datagram the moment it
closes. A datagram costs a syscall and a wake-up of the daemon, the largest
part of a sampled invocation's cost, so an invocation's subsegments stay in
its tree (up to :data:`BATCH` of them; finished subtrees are sent early past
that) and the handler's subtree leaves as one document when the handler ends,
split only if it would not fit in a datagram. Outside our invocations (a
user's own subsegments, background threads) streaming stays immediate, as the
SDK does it.
"""

from __future__ import annotations

import contextvars
import json
import os
import socket
import sys
import threading
import traceback
from random import getrandbits
from time import time_ns as _now_ns
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
from aws_xray_sdk.core.models.throwable import Throwable
from aws_xray_sdk.core.models.trace_header import TraceHeader
from aws_xray_sdk.core.streaming.default_streaming import DefaultStreaming
from aws_xray_sdk.core.utils.conversion import metadata_to_dict

from lambdaops import _redact
from lambdaops._config import Config
from lambdaops._lifecycle import parse_trace_header, trace_header
from lambdaops._render import _default, _plain, exception_fields
from lambdaops._report import internal_error

__all__ = ["Emitter", "InvocationContext", "InvocationTrace", "Profile", "Span", "Twin", "setup"]

Stack = tuple[Any, ...]
"""Open entities, outermost last; element 0 says whose they are: our
:class:`InvocationTrace`, or the SDK segment they belong to (then also the first entity)."""
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
_environ_data: Any = getattr(os.environ, "_data", None)
_ADDRESS_RAW_KEY: Any = os.fsencode(_ADDRESS_KEY) if os.name != "nt" else _ADDRESS_KEY
_UNSET = "\x00unset"
#: What the SDK strips from entity names (X-Ray rejects them); X-Ray allows 200 characters.
_NAME_STRIP = str.maketrans("", "", "?;*()!$~^<>")
_MAX_NAME = 200
_names: dict[str, str] = {}
_esc: Any = json.encoder.encode_basestring_ascii


def _is_subsegment(entity: Any) -> bool:
    return getattr(entity, "type", None) == "subsegment"


def clean_name(name: str) -> str:
    """``name`` as X-Ray accepts it (as the SDK cleans it, and at most 200 characters)."""
    clean = _names.get(name)
    if clean is None:
        clean = str(name).translate(_NAME_STRIP)[:_MAX_NAME] or "unnamed"
        if len(_names) < 4096:
            _names[name] = clean
    return clean


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


def sampled_ids(header: str) -> tuple[str, str] | None:
    """(Root, Parent) of a sampled header; None if not sampled or incomplete."""
    parts = header.split(";")
    if (
        len(parts) == 3
        and parts[2] == "Sampled=1"
        and parts[0][:5] == "Root="
        and parts[1][:7] == "Parent="
        and " " not in header
    ):
        root, parent = parts[0][5:], parts[1][7:]
    else:
        fields = parse_trace_header(header)
        if fields.get("Sampled") != "1":
            return None
        root, parent = fields.get("Root", ""), fields.get("Parent", "")
    if not root or not parent:
        return None
    return root, parent


# -- our entities ------------------------------------------------------------------
class Profile:
    """What does not change between one handler's sampled invocations, worked out once."""

    __slots__ = (
        "annotations",
        "capture_error",
        "capture_response",
        "config",
        "error_key",
        "name",
        "patch",
        "response_key",
        "service",
        "span_name",
    )

    def __init__(self, config: Config, name: str) -> None:
        self.config = config
        self.name = name
        self.span_name = clean_name(f"## {name}")
        self.response_key = f"{name} response"
        self.error_key = f"{name} error" if config.trace_capture_error else None
        self.capture_response = config.trace_capture_response
        self.capture_error = config.trace_capture_error
        self.service = config.service
        self.patch = config.trace_patch
        #: ColdStart first, then Service, and their JSON: for a warm start (index 0), a cold one.
        service = {"Service": self.service} if self.service else {}
        warm, cold = {"ColdStart": False, **service}, {"ColdStart": True, **service}
        self.annotations: tuple[tuple[dict[str, Any], str], ...] = (
            (warm, json.dumps(warm, separators=(",", ":"))),
            (cold, json.dumps(cold, separators=(",", ":"))),
        )


class InvocationTrace:
    """One sampled invocation: its ids, its handler subsegment, how to record the outcome."""

    __slots__ = (
        "annotations",
        "count",
        "facade",
        "header",
        "parent",
        "profile",
        "root",
        "root_json",
        "span",
        "token",
    )
    #: Never an open entity itself (it may be element 0 of a stack).
    in_progress = False

    def __init__(self, profile: Profile, header: str, root: str, parent: str) -> None:
        self.profile = profile
        self.header = header
        self.root = root
        self.root_json: str = _esc(root)
        #: As written between quotes (a header's junk escaped; Lambda's are 16 hex digits).
        self.parent: str = parent if parent.isalnum() and parent.isascii() else _esc(parent)[1:-1]
        #: The handler's annotations as they start, and their JSON.
        self.annotations: tuple[dict[str, Any], str] = ({}, "{}")
        #: Lambda's function segment as an SDK object, made only if the SDK needs it.
        self.facade: Any = None
        #: Subsegments in the tree since it was last streamed.
        self.count = 0
        self.span: Span = None  # type: ignore[assignment]  # set right after
        self.token: Token | None = None

    def segment(self) -> Any:
        facade = self.facade
        if facade is None:
            facade = self.facade = context.segment_for(self.header)
        return facade


class Span:
    """A subsegment of ours: the fields of its document and nothing else.

    Quacks like an SDK subsegment where our context, streaming and the SDK's
    own entities touch it (``in_progress``, ``subsegments``, ``parent_id``,
    ``sampled``, ``add_exception``, ...). :func:`materialize` gives the SDK
    object standing for it, once something outside lambdaops needs one.
    """

    __slots__ = (
        "annotations",
        "cause",
        "end",
        "flags",
        "id",
        "in_progress",
        "inv",
        "metadata",
        "name",
        "namespace",
        "parent_id",
        "start",
        "subsegments",
        "twin",
    )
    type = "subsegment"
    sampled = True

    def __init__(self, inv: InvocationTrace, name: str, namespace: str, parent_id: str) -> None:
        self.inv = inv
        self.name = name
        self.namespace = namespace
        self.id = f"{getrandbits(64):016x}"
        self.parent_id = parent_id
        #: Microseconds since the epoch (an int formats in a tenth of a float's time).
        self.start = _now_ns() // 1000
        self.end = 0
        self.in_progress = True
        self.annotations: dict[str, Any] | None = None
        self.metadata: dict[str, dict[str, Any]] | None = None
        self.subsegments: list[Any] = []
        self.flags: dict[str, bool] | None = None
        self.cause: Any = None
        self.twin: Twin | None = None

    @property
    def trace_id(self) -> str:
        return self.inv.root

    @property
    def start_time(self) -> float:
        return self.start / 1e6

    @property
    def end_time(self) -> float | None:
        return None if self.in_progress else self.end / 1e6

    @property
    def parent_segment(self) -> Any:
        return self.inv.segment()

    def put_annotation(self, key: str, value: Any) -> None:
        """Keys are made valid by the caller (``lambdaops._trace``)."""
        annotations = self.annotations
        if annotations is None:
            self.annotations = {key: value}
        else:
            annotations[key] = value

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        if not isinstance(namespace, str) or namespace.startswith("AWS."):
            return  # as the SDK: ``AWS.`` is reserved
        metadata = self.metadata
        if metadata is None:
            self.metadata = {namespace: {key: value}}
        elif namespace in metadata:
            metadata[namespace][key] = value
        else:
            metadata[namespace] = {key: value}

    def _flag(self, name: str) -> None:
        twin = self.twin
        if twin is not None:
            setattr(twin, name, True)
        elif self.flags is None:
            self.flags = {name: True}
        else:
            self.flags[name] = True

    def add_fault_flag(self) -> None:
        self._flag("fault")

    def add_error_flag(self) -> None:
        self._flag("error")

    def add_throttle_flag(self) -> None:
        self._flag("throttle")

    def add_exception(self, exception: BaseException, stack: Any, remote: bool = False) -> None:
        """As the SDK's: fault, and the exception as the cause (its id if recorded below)."""
        twin = self.twin
        if twin is not None:
            twin.add_exception(exception, stack, remote)
            return
        self._flag("fault")
        if hasattr(exception, "_recorded"):
            self.cause = getattr(exception, "_cause_id", None)
            return
        cause = self.cause
        if not isinstance(cause, dict):
            cause = self.cause = {"exceptions": []}
        cause["exceptions"].append(Throwable(exception, stack, remote))
        cause["working_directory"] = os.getcwd()

    def add_subsegment(self, subsegment: Any) -> None:
        subsegment.parent_id = self.id
        self.subsegments.append(subsegment)

    def remove_subsegment(self, subsegment: Any) -> None:
        self.subsegments.remove(subsegment)

    def close(self, end_time: float | None = None) -> None:
        end = int(end_time * 1e6) if end_time else _now_ns() // 1000
        self.end = end if end > self.start else self.start
        self.in_progress = False
        twin = self.twin
        if twin is not None:
            twin.end_time = self.end / 1e6
            twin.in_progress = False

    # -- as an SDK entity, for an emitter a user installed ------------------------------
    def to_dict(self) -> dict[str, Any]:
        return span_doc(self)

    def serialize(self) -> str:
        return json.dumps(self.to_dict(), default=str)

    def __repr__(self) -> str:
        return f"<Span {self.name!r} id={self.id}>"


class Twin(Subsegment):  # type: ignore[misc]
    """The SDK subsegment standing for one of our spans (see :func:`materialize`)."""

    __slots__ = ("span",)  # a slot: not in ``vars()``, so never in a document


def materialize(span: Span) -> Twin:
    """The SDK subsegment for ``span``, made once: same id, times and name, shared
    annotations, metadata and children; from now on flags and causes go to it."""
    twin = span.twin
    if twin is not None:
        return twin
    twin = Twin(span.name, span.namespace, span.inv.segment())
    twin.span = span
    twin.id = span.id
    twin.start_time = span.start_time
    twin.parent_id = span.parent_id
    if span.annotations is None:
        span.annotations = {}
    if span.metadata is None:
        span.metadata = {}
    twin.annotations = span.annotations
    twin.metadata = span.metadata
    twin.subsegments = span.subsegments
    for flag in span.flags or ():
        setattr(twin, flag, True)
    if span.cause is not None:
        twin.cause = span.cause
    if not span.in_progress:
        twin.end_time = span.end / 1e6
        twin.in_progress = False
    span.twin = twin
    return twin


def sdk_entity(entity: Any) -> Any:
    """``entity`` as the SDK knows entities: a span's twin, anything else as it is."""
    return materialize(entity) if type(entity) is Span else entity


# -- the context ---------------------------------------------------------------------
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
        return self.segment_for(trace_header())

    def segment_for(self, header: str | None) -> Any:
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
        stack = self.entities.get()
        if inv is not None:
            # Never a closed entity (e.g. the handler's, after the watchdog ended the
            # invocation while the handler runs on): adding to it would raise in the SDK.
            if stack and stack[-1].in_progress:
                owner = stack[0]
                if owner is inv or owner is inv.facade:
                    return stack[-1], stack
            span = inv.span
            if span.in_progress:
                return span, (inv, span)
        segment = self.segment()
        if stack and stack[0] is segment and stack[-1].in_progress:
            return stack[-1], stack
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
        if type(entity) is Span:
            entity = materialize(entity)
        elif not _is_subsegment(entity) and (
            isinstance(entity, DummySegment) or getattr(entity, "initializing", False)
        ):
            return  # no trace to hang it on, as the SDK's LambdaContext
        entity.add_subsegment(subsegment)
        self.entities.set((*stack, subsegment))
        inv = self.invocation
        if inv is not None and stack[0] is inv:
            inv.count += 1

    def end_subsegment(self, end_time: float | None = None) -> bool:
        """End the innermost subsegment opened in this context (never one from elsewhere)."""
        stack = self.entities.get()
        if len(stack) < 2:
            return False
        top = stack[-1]
        if stack[0] is not self.current()[1][0] or not _is_subsegment(top):
            return False
        if top.in_progress:
            top.close(end_time)
        self.entities.set(stack[:-1])
        inv = self.invocation
        if inv is not None and stack[0] is inv and inv.count > BATCH:
            flush(inv)
        return True

    def get_trace_entity(self) -> Any:
        entity = self.current()[0]
        return materialize(entity) if type(entity) is Span else entity

    def set_trace_entity(self, trace_entity: Any) -> None:
        if isinstance(trace_entity, Twin):
            trace_entity = trace_entity.span
        if type(trace_entity) is Span:
            self.entities.set((trace_entity.inv, trace_entity))
        elif _is_subsegment(trace_entity):
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


# -- documents ---------------------------------------------------------------------
def _doc_default(obj: object) -> object:
    """What the SDK's ``metadata_to_dict`` makes of an object, converted only when met.

    The SDK walks all metadata before encoding; the encoder calls this only for
    values it cannot encode itself (objects, sets), which are rare.
    """
    if isinstance(obj, (BaseException, bytes, bytearray, memoryview)) or hasattr(obj, "isoformat"):
        return _default(obj)
    if type(obj) is Span:
        return span_doc(obj)
    converted = metadata_to_dict(obj)
    return str(obj) if converted is obj else converted


def _make_encoder() -> Any:
    """The C encoder with :func:`_doc_default`, built once."""
    from lambdaops._render import make_encoder

    return make_encoder(_doc_default)


_encode: Any = _make_encoder()
_SKIP = frozenset(
    ("sampled", "parent_segment", "ref_counter", "_subsegments_counter", "_origin_trace_header")
)


def _cause_doc(cause: Any) -> Any:
    if isinstance(cause, dict):
        return {
            "working_directory": cause.get("working_directory"),
            "exceptions": [t.to_dict() for t in cause.get("exceptions", ())],
        }
    return cause  # the id of an exception recorded in a subsegment below


def span_doc(span: Span) -> dict[str, Any]:
    """The span's document, with its subtree.

    Every subsegment names its ``trace_id`` and ``parent_id`` (as the SDK writes
    them), so any subtree can also be sent on its own.
    """
    twin = span.twin
    if twin is not None:
        made = to_doc(twin)  # the SDK (a patcher, the user) may have set anything on it
        if made.get("in_progress") is False:
            del made["in_progress"]
        return made
    doc: dict[str, Any] = {
        "id": span.id,
        "name": span.name,
        "start_time": span.start / 1e6,
        "trace_id": span.inv.root,
        "parent_id": span.parent_id,
        "type": "subsegment",
        "namespace": span.namespace,
    }
    if span.in_progress:
        doc["in_progress"] = True
    else:
        doc["end_time"] = span.end / 1e6
    if span.annotations:
        doc["annotations"] = span.annotations
    if span.metadata:
        doc["metadata"] = span.metadata
    if span.flags:
        doc.update(span.flags)
    if span.cause:
        doc["cause"] = _cause_doc(span.cause)
    children = span.subsegments
    if children:
        doc["subsegments"] = [
            span_doc(child) if type(child) is Span else to_doc(child) for child in children
        ]
    return doc


_LOCAL = '"local"'
_SCALARS: dict[Any, Any] = {True: "true", False: "false", None: "null"}


def _metadata_json(metadata: dict[str, dict[str, Any]]) -> str:
    """``{namespace: {key: value}}`` as JSON; one short value (the usual) without the encoder."""
    if len(metadata) == 1:
        for namespace, entries in metadata.items():
            if len(entries) == 1:
                for key, value in entries.items():
                    kind = type(value)
                    if kind is int:
                        text = str(value)
                    elif kind is str and len(value) < 256:
                        text = _esc(value)
                    elif value is None or kind is bool:
                        text = _SCALARS[value]
                    else:
                        break
                    return f"{{{_esc(namespace)}:{{{_esc(key)}:{text}}}}}"
    return _encode(metadata)  # type: ignore[no-any-return]


def write_span(span: Span) -> str:
    """:func:`span_doc` as JSON, written directly: an f-string for the fixed fields,
    the C encoder only for what users give (annotations, metadata). Times are
    integer microseconds with the point put in by slicing (``repr`` of a float
    costs ~0.4 µs); both have 16 digits, and the end is never before the start.

    Raises what the encoder raises (NaN, cycles): the caller falls back to
    :func:`documents`, which knows how to cut them.
    """
    if span.twin is not None:
        return _encode(span_doc(span))  # type: ignore[no-any-return]
    inv = span.inv
    start = str(span.start)
    namespace = span.namespace
    if span.in_progress:
        head = (
            f'{{"id":"{span.id}","name":{_esc(span.name)},'
            f'"start_time":{start[:-6]}.{start[-6:]},"in_progress":true,'
            f'"trace_id":{inv.root_json},"parent_id":"{span.parent_id}","type":"subsegment",'
            f'"namespace":{_LOCAL if namespace == "local" else _esc(namespace)}'
        )
    else:
        end = str(span.end)
        head = (
            f'{{"id":"{span.id}","name":{_esc(span.name)},'
            f'"start_time":{start[:-6]}.{start[-6:]},"end_time":{end[:-6]}.{end[-6:]},'
            f'"trace_id":{inv.root_json},"parent_id":"{span.parent_id}","type":"subsegment",'
            f'"namespace":{_LOCAL if namespace == "local" else _esc(namespace)}'
        )
    parts = [head]
    annotations = span.annotations
    if annotations:
        base, text = inv.annotations
        parts.append(',"annotations":')
        parts.append(text if annotations == base else _encode(annotations))
    if span.metadata:
        parts.append(',"metadata":')
        parts.append(_metadata_json(span.metadata))
    if span.flags:
        for flag in span.flags:
            parts.append(f',"{flag}":true')
    if span.cause:
        parts.append(',"cause":')
        parts.append(_encode(_cause_doc(span.cause)))
    children = span.subsegments
    if children:
        parts.append(',"subsegments":[')
        parts.append(
            ",".join(
                [
                    write_span(child) if type(child) is Span else _encode(to_doc(child))
                    for child in children
                ]
            )
        )
        parts.append("]")
    parts.append("}")
    return "".join(parts)


def to_doc(entity: Any) -> dict[str, Any]:
    """The entity's document: the SDK's ``to_dict``, minus its eager metadata walk."""
    if type(entity) is Span:
        return span_doc(entity)
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
            doc[key] = [
                span_doc(child) if type(child) is Span else to_doc(child) for child in value
            ]
        elif key == "cause":
            doc[key] = _cause_doc(value)
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

    A child sent on its own names its ``trace_id``, ``parent_id`` and ``type``,
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
        trace_id, parent_id = doc.get("trace_id"), doc.get("id")
        out: list[str] = []
        for child in children:
            child.setdefault("trace_id", trace_id)
            child.setdefault("parent_id", parent_id)
            child.setdefault("type", "subsegment")
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
            _warn_once(exc)

    def send_entity(self, entity: Any) -> None:
        try:
            if self._address is not None:
                self.send_document(to_doc(entity))
        except Exception as exc:
            _warn_once(exc)

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
            _warn_once(exc)

    def send_document(self, doc: dict[str, Any]) -> None:
        """In as few datagrams as fit; failures are contained and warned of once."""
        try:
            if self._address is not None:
                self.send_texts(documents(doc))
        except Exception as exc:
            _warn_once(exc)

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
            if _redact._needles:
                text = _redact.redact(text)
            sock.sendto((_HEADER + text).encode("utf-8"), address)
            self.sent += 1


class Streaming(DefaultStreaming):  # type: ignore[misc]
    """Ours stream in batches (:func:`flush`); others at once (as the SDK in Lambda)."""

    def is_eligible(self, segment: Any) -> bool:
        if not segment or not segment.sampled:
            return False
        inv = context.invocation
        return inv is None or inv.facade is not segment


_SUBSEGMENT_TO_DICT = Subsegment.to_dict
_SEGMENT_TO_DICT = Segment.to_dict
recorder: Any = xray_recorder
context = InvocationContext()
emitter = Emitter()
_patched: set[str] = set()
_modules_seen = -1
_streamer = DefaultStreaming(0)


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

    Checked on every sampled invocation (when anything was imported since), so a
    library imported later is traced from the next one; never imports a library
    the function does not use.
    """
    global _modules_seen
    modules = sys.modules
    if len(modules) == _modules_seen:
        return
    _modules_seen = len(modules)
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


def _size(entity: Any) -> int:
    return 1 + sum(_size(child) for child in entity.subsegments)


def flush(inv: InvocationTrace) -> None:
    """Send the finished subtrees of a large invocation's tree now, each on its own."""
    _streamer.stream(inv.span, _send)
    inv.count = _size(inv.span) - 1


# -- the invocation -----------------------------------------------------------
def begin(profile: Profile, header: str, cold_start: bool) -> InvocationTrace | None:
    """Open the handler's subsegment under Lambda's function segment."""
    emitter.refresh()
    if profile.patch:
        patch_loaded()
    ids = sampled_ids(header)
    if ids is None or not global_sdk_config.sdk_enabled():
        return None  # Sampled=0, a header without Root/Parent, or the SDK disabled
    inv = InvocationTrace(profile, header, *ids)
    span = inv.span = Span(inv, profile.span_name, "local", inv.parent)
    base = inv.annotations = profile.annotations[cold_start]
    span.annotations = base[0].copy()
    inv.token = context.entities.set((inv, span))
    context.invocation = inv
    return inv


def end(
    inv: InvocationTrace, result: Any, error: BaseException | None, outcome: str | None = None
) -> None:
    """Record the outcome, close the handler's subsegment and send the invocation's tree."""
    span, profile = inv.span, inv.profile
    try:
        if error is not None:
            record_error(span, error, profile.error_key, profile.service)
        elif outcome == "timeout":  # ended by the watchdog: the handler is still running
            span.add_fault_flag()
        elif result is not None and profile.capture_response:
            span.put_metadata(profile.response_key, result, profile.service)
    finally:
        if context.invocation is inv:
            context.invocation = None
        _unwind(inv.token, span)
        if span.in_progress:
            span.close()
        # The handler's subtree, whole, with whatever under it is still open (a thread
        # still working) as in progress.
        sender = recorder.emitter
        if sender is emitter:
            emitter.send_span(span)
        else:  # an emitter the user installed takes SDK entities
            _send(materialize(span))
        facade = inv.facade
        if facade is not None and facade.subsegments:
            # A user's subsegments beside ours: let the SDK's streaming pick what is done.
            recorder.streaming.stream(facade, _send)


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
    profile = inv.profile
    return profile.capture_response, profile.capture_error, profile.service


# -- subsegments ----------------------------------------------------------------
def open_subsegment(name: str, namespace: str = "local") -> tuple[Any, Token] | None:
    """Open a subsegment under the current entity and make it current; None if unsampled."""
    name = _names.get(name) or clean_name(name)
    parent, stack = context.current()
    if type(parent) is Span:
        inv = parent.inv
        span = Span(inv, name, namespace, parent.id)
        parent.subsegments.append(span)
        inv.count += 1
        return span, context.entities.set((*stack, span))
    if not parent.sampled:
        return None
    ours = context.invocation
    if ours is not None and (stack[0] is ours or stack[0] is ours.facade):
        # Under an SDK entity of our invocation (a user's subsegment): still one of ours.
        span = Span(ours, name, namespace, parent.id)
        parent.add_subsegment(span)
        ours.count += 1
        return span, context.entities.set((*stack, span))
    sub = Subsegment(name, namespace, stack[0])  # outside our invocations: the SDK's own
    parent.add_subsegment(sub)
    return sub, context.entities.set((*stack, sub))


def close_subsegment(sub: Any, token: Token | None) -> None:
    """Make the previous entity current again, close ``sub`` and stream what is due."""
    _unwind(token, sub)
    if sub.in_progress:
        sub.close()
    if type(sub) is Span:
        inv = sub.inv
        if inv.count > BATCH and context.invocation is inv:
            flush(inv)
        return  # sent with its invocation's tree (or never, if that has left already)
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
    if type(sub) is Span:
        return context.entities.set((sub.inv, sub))
    stack = context.current()[1]
    if stack[0] is not sub.parent_segment:
        stack = (sub.parent_segment,)
    return context.entities.set((*stack, sub))


def pop(token: Token, sub: Any) -> None:
    _unwind(token, sub)


def current_subsegment() -> Any:
    """The innermost open sampled subsegment (ours or the SDK's), or None."""
    entity = context.current()[0]
    if _is_subsegment(entity) and entity.sampled:
        return entity
    return None


def reset() -> None:
    """Forget per-process state (tests): warnings, address, context."""
    global _warned, _modules_seen
    _warned = False
    _modules_seen = -1
    context.reset()
    emitter._env_seen = _UNSET
    emitter.sent = 0
