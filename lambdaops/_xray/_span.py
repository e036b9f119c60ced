"""Our subsegments (:class:`Span`), the SDK objects standing for them, and their documents.

A span is a slots object with an id from ``getrandbits``: building the SDK's
model objects (ids from ``os.urandom``, name and key validation) cost most of a
sampled invocation, so an SDK twin is made only when the SDK needs the entity.
"""

from __future__ import annotations

import json
import os
from random import getrandbits
from time import time_ns as _now_ns
from typing import TYPE_CHECKING, Any

from aws_xray_sdk.core.models.segment import Segment
from aws_xray_sdk.core.models.subsegment import Subsegment
from aws_xray_sdk.core.models.throwable import Throwable
from aws_xray_sdk.core.utils.conversion import metadata_to_dict

from lambdaops._clip import clip, measure
from lambdaops._render import _default

if TYPE_CHECKING:
    from lambdaops._xray._invocation import InvocationTrace


#: What X-Ray allows in annotation keys.
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
#: The segment document schema's limits: keys ``^[a-zA-Z0-9_]{1,500}$``, strings of at
#: most 1,000 characters (xray-segmentdocument-schema-v1.0.0; docs/tracing.md).
MAX_ANNOTATION_KEY = 500
MAX_ANNOTATION_VALUE = 1000
_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    """One warning per annotation key and process: a loop annotating must not flood."""
    if key in _warned or len(_warned) >= 1024:
        return
    _warned.add(key)
    from lambdaops._logger import log

    log.warning(message)


def annotation_key(key: object) -> str:
    """X-Ray indexes keys of letters, digits and ``_`` only; others become ``_``, and a
    key longer than the schema allows is cut (one warning)."""
    text = str(key)
    if not all(c in _KEY_CHARS for c in text):
        text = "".join(c if c in _KEY_CHARS else "_" for c in text)
    if len(text) > MAX_ANNOTATION_KEY:
        _warn_once(
            text,
            f"annotation key {text[:40]!r}… is longer than {MAX_ANNOTATION_KEY} "
            "characters; shortened",
        )
        text = text[:MAX_ANNOTATION_KEY]
    return text


def annotation_value(key: str, value: Any) -> Any:
    """``value`` as the schema takes it: a string cut to 1,000 characters (one warning)."""
    if type(value) is str and len(value) > MAX_ANNOTATION_VALUE:
        _warn_once(
            key,
            f"annotation {key!r}: value longer than {MAX_ANNOTATION_VALUE} characters; shortened",
        )
        return value[:MAX_ANNOTATION_VALUE]
    return value


def is_subsegment(entity: Any) -> bool:
    return getattr(entity, "type", None) == "subsegment"


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
        """Keys' characters and length are made valid by the caller (:func:`annotation_key`);
        an empty key is dropped and a long string value cut, each with one warning."""
        if not key:
            _warn_once("", "annotation key '': empty; dropped")
            return
        value = annotation_value(key, value)
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

    def put_annotation(self, key: str, value: Any) -> None:
        """The SDK's, after our span's repairs: the twin shares the span's annotations."""
        if not key:
            _warn_once("", "annotation key '': empty; dropped")
            return
        super().put_annotation(key, annotation_value(key, value))


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


# -- documents ---------------------------------------------------------------------
_SKIP = frozenset(
    ("sampled", "parent_segment", "ref_counter", "_subsegments_counter", "_origin_trace_header")
)


#: Largest JSON of one metadata value (a response, an error, ``trace.metadata``): X-Ray
#: takes documents of 64 KB at most, so more is work thrown away. Longer values are cut.
MAX_METADATA = 8192


def doc_default(obj: object) -> object:
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


def capped(metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` with each value longer than :data:`MAX_METADATA` as JSON cut (a copy;
    the same dict when none is). Both the check and the cut stop at the cap, so a 3 MB
    response costs what 8 KB of it does."""
    out = metadata
    for namespace, entries in metadata.items():
        if type(entries) is not dict:
            continue
        for key, value in entries.items():
            if measure(value, MAX_METADATA) >= 0:
                continue
            try:
                value = clip(value, MAX_METADATA, doc_default)
            except Exception:  # a conversion that raised: the document still goes
                value = f"<unrepresentable {type(value).__name__}>"
            if out is metadata:
                out = dict(metadata)
            if out[namespace] is entries:
                out[namespace] = dict(entries)
            out[namespace][key] = value
    return out


def cause_doc(cause: Any) -> Any:
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
        doc["metadata"] = capped(span.metadata)
    if span.flags:
        doc.update(span.flags)
    if span.cause:
        doc["cause"] = cause_doc(span.cause)
    children = span.subsegments
    if children:
        doc["subsegments"] = [
            span_doc(child) if type(child) is Span else to_doc(child) for child in children
        ]
    return doc


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
            doc[key] = cause_doc(value)
        elif key == "metadata":
            doc[key] = capped(value)
        else:
            doc[key] = value
    return doc


_SUBSEGMENT_TO_DICT = Subsegment.to_dict
_SEGMENT_TO_DICT = Segment.to_dict
