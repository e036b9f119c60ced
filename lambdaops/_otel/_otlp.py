"""OTLP for lambdaops' own tracer provider: spans encoded as protobuf by hand (posted by
:mod:`lambdaops._otel._http`).

Why not the SDK's exporter: importing it (requests, protobuf) costs more than all of
lambdaops (README's dependency table); the encoding here is the part of the
OTLP trace protocol lambdaops writes (opentelemetry-proto's ``trace.proto``,
``common.proto``, ``resource.proto``), checked against the SDK's own encoder in the
tests. Strings are masked here when a secret is loaded, as the X-Ray emitter masks its
documents.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry.trace import SpanKind

from lambdaops import _redact
from lambdaops._report import internal_error

if TYPE_CHECKING:
    from lambdaops._otel._lite import LiteSpan

_INT64 = 1 << 63
_U64 = (1 << 64) - 1
#: ``Span.flags``: bit 8 says bit 9 is known, bit 9 that the parent was remote.
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200
_FLAGS_TAG = b"\x85\x01"  # field 16, wire type 5 (fixed32): a two-byte varint tag


#: The one-byte varints: tags and most lengths (a lookup, not a loop).
_SMALL = [bytes((n,)) for n in range(128)]


def _varint(n: int) -> bytes:
    if n < 0x80:
        return _SMALL[n]
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): strings, bytes, messages."""
    size = len(payload)
    return _SMALL[number << 3 | 2] + (_SMALL[size] if size < 0x80 else _varint(size)) + payload


def _text(number: int, text: str) -> bytes:
    if _redact.armed:
        text = _redact.redact(text)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (e.g. from json.loads): protobuf wants UTF-8
        data = text.encode("utf-8", "replace")
    return _field(number, data)


def _fixed64(number: int, value: int) -> bytes:
    return _SMALL[number << 3 | 1] + struct.pack("<Q", value & _U64)


def _any_value(value: Any) -> bytes:
    """``AnyValue``: string 1, bool 2, int 3, double 4, array 5, bytes 7."""
    if isinstance(value, str):
        return _text(1, value)
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if _redact.armed and isinstance(value, (int, float, bytes)) and _secret(value):
        return _text(1, _redact.MASK)
    if isinstance(value, int):
        if -_INT64 <= value < _INT64:
            return b"\x18" + _varint(value & _U64)
        return _text(1, str(value))  # past int64: kept as its digits rather than lost
    if isinstance(value, float):
        return b"\x21" + struct.pack("<d", value)
    if isinstance(value, bytes):
        return _field(7, value)
    if value is None:  # allowed inside a sequence: an empty AnyValue
        return b""
    return _field(5, b"".join(_field(1, _any_value(item)) for item in value))


def _secret(value: int | float | bytes) -> bool:
    """Whether a number or bytes value spells a loaded secret (a PIN as an int, a key as
    bytes): strings are masked where they are written, these are compared whole."""
    # bytes as _redact registers them: backslash escapes for what is not UTF-8
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else repr(value)
    return _redact.redact(text) != text


#: Encoded ``KeyValue``s of short attributes: most repeat every invocation (the trigger,
#: the region, the service, the annotation list). Only values whose equality is their
#: encoding's (short strings, bools, ints, tuples of short strings; not floats: 0.0 ==
#: -0.0; not other tuples: (1,) == (True,)); emptied when 2,048 are held; bypassed while
#: secrets are masked, since a value cached before a secret was loaded would skip the mask.
_pairs: dict[tuple[str, type, Any], bytes] = {}
_MAX_PAIRS = 2048


def _cacheable(value: Any) -> bool:
    kind = type(value)
    if kind is str:
        return len(value) <= 64
    if kind is tuple:
        return len(value) <= 8 and all(type(item) is str and len(item) <= 64 for item in value)
    return kind is bool or kind is int


def _pair(key: str, value: Any) -> bytes:
    """A ``KeyValue`` (key 1, value 2), its length first: a field's body."""
    pair = _text(1, key) + _field(2, _any_value(value))
    size = len(pair)
    encoded = (_SMALL[size] if size < 0x80 else _varint(size)) + pair
    if not _redact.armed and _cacheable(value):
        if len(_pairs) >= _MAX_PAIRS:  # values that did not repeat make room for those that do
            _pairs.clear()
        _pairs[(key, type(value), value)] = encoded
    return encoded


def _attributes(number: int, attributes: Mapping[str, Any]) -> bytes:
    """Repeated ``KeyValue`` as field ``number``."""
    if not attributes:
        return b""
    tag = _SMALL[number << 3 | 2]
    if _redact.armed:
        return tag + tag.join([_pair(key, value) for key, value in attributes.items()])
    # Looked up first, checked only when stored: what is never stored (a float, a mixed
    # tuple) is never found, so an equal value of another encoding cannot answer for it.
    get = _pairs.get
    parts = []
    for key, value in attributes.items():
        hit = get((key, type(value), value))
        parts.append(_pair(key, value) if hit is None else hit)
    return tag + tag.join(parts)


#: Start and end times: fields 7 and 8, fixed64 each, in one pack.
_TIMES = struct.Struct("<BQBQ")


#: ``kind`` (field 6) for each API kind: the API's INTERNAL is 0, OTLP's 1.
_KINDS = {kind: bytes((6 << 3, kind.value + 1)) for kind in SpanKind}
#: ``flags`` (field 16, fixed32) for a local and a remote parent.
_LOCAL_FLAGS = _FLAGS_TAG + struct.pack("<I", _HAS_IS_REMOTE)
_REMOTE_FLAGS = _FLAGS_TAG + struct.pack("<I", _HAS_IS_REMOTE | _IS_REMOTE)
#: Encoded span names (field 5): few, and the same every invocation.
_names: dict[str, bytes] = {}


def _name(name: str) -> bytes:
    if _redact.armed:
        return _text(5, name)
    encoded = _names.get(name)
    if encoded is None:
        encoded = _text(5, name)
        if len(_names) < 1024:
            _names[name] = encoded
    return encoded


def _span(span: LiteSpan) -> bytes:
    ctx, parent = span.context, span.parent
    # trace_id (field 1, 16 bytes) and span_id (field 2, 8 bytes): tag and length fixed
    head = (
        b"\x0a\x10"
        + ctx.trace_id.to_bytes(16, "big")
        + b"\x12\x08"
        + ctx.span_id.to_bytes(8, "big")
    )
    parts = [head]
    if ctx.trace_state:
        parts.append(_text(3, ctx.trace_state.to_header()))
    flags = _LOCAL_FLAGS
    if parent is not None:
        parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
        if parent.is_remote:
            flags = _REMOTE_FLAGS
    start = span.start_time
    parts.append(_name(span.name))
    parts.append(_KINDS[span.kind])
    parts.append(_TIMES.pack(7 << 3 | 1, start, 8 << 3 | 1, span.end_time or start))
    parts.append(_attributes(9, span.attributes))
    if span.dropped:
        parts.append(_SMALL[10 << 3] + _varint(span.dropped))
    if span.dropped_events:
        parts.append(_SMALL[12 << 3] + _varint(span.dropped_events))
    if span.dropped_links:
        parts.append(_SMALL[14 << 3] + _varint(span.dropped_links))
    for event in span.events:
        body = _fixed64(1, event.timestamp) + _text(2, event.name)
        parts.append(_field(11, body + _attributes(3, event.attributes)))
    for link in span.links:
        linked = link.context
        body = b"\x0a\x10" + linked.trace_id.to_bytes(16, "big")
        body += b"\x12\x08" + linked.span_id.to_bytes(8, "big")
        if linked.trace_state:
            body += _text(3, linked.trace_state.to_header())
        link_flags = _HAS_IS_REMOTE | (_IS_REMOTE if linked.is_remote else 0)
        body += _attributes(4, link.attributes or {}) + b"\x35" + struct.pack("<I", link_flags)
        parts.append(_field(13, body))
    status = span.status
    if status is None:
        parts.append(b"\x7a\x00")  # field 15, empty: UNSET, written as the SDK writes it
    else:
        body = _text(2, status.description) if status.description else b""
        parts.append(_field(15, body + _SMALL[3 << 3] + _SMALL[status.status_code.value]))
    parts.append(flags)
    return b"".join(parts)


def resource(attributes: Mapping[str, Any]) -> bytes:
    """The ``resource`` field of a ``ResourceSpans``: the same for every request."""
    return _field(1, _attributes(1, attributes))


#: Encoded ``InstrumentationScope`` fields (field 1 of a ``ScopeSpans``), per tracer.
_scopes: dict[tuple[str, str], bytes] = {}


def _scope(scope: tuple[str, str]) -> bytes:
    encoded = None if _redact.armed else _scopes.get(scope)
    if encoded is None:
        name, version = scope
        encoded = _field(1, _text(1, name) + (_text(2, version) if version else b""))
        if not _redact.armed and len(_scopes) < 1024:
            _scopes[scope] = encoded
    return encoded


def encode(resource: bytes, spans: Iterable[LiteSpan]) -> bytes:
    """An ``ExportTraceServiceRequest``: one resource (:func:`resource`), a ``ScopeSpans``
    per tracer."""
    scopes: dict[tuple[str, str], list[bytes]] = {}
    for span in spans:
        try:
            encoded = _field(2, _span(span))
        except Exception as exc:  # one span lambdaops cannot encode costs that span alone
            internal_error("trace.otel.encode", exc)
            continue
        group = scopes.get(span.scope)
        if group is None:
            group = scopes[span.scope] = [_scope(span.scope)]
        group.append(encoded)
    body = [resource]
    body += [_field(2, b"".join(group)) for group in scopes.values()]
    return _field(1, b"".join(body))
