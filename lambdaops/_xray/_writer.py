"""Documents as the daemon takes them: JSON, each under the datagram size limit."""

from __future__ import annotations

import json
from typing import Any

from lambdaops._clip import clip, measure
from lambdaops._render import make_encoder
from lambdaops._xray._span import (
    MAX_METADATA,
    Span,
    capped,
    cause_doc,
    doc_default,
    span_doc,
    to_doc,
)

#: Largest document body sent: a datagram must stay under 64 KiB with its header.
MAX_DOCUMENT = 64_000
_esc: Any = json.encoder.encode_basestring_ascii


#: The C encoder with :func:`doc_default`, built once.
_encode: Any = make_encoder(doc_default)


_LOCAL = '"local"'
_SCALARS: dict[Any, Any] = {True: "true", False: "false", None: "null"}


def _metadata_json(metadata: dict[str, dict[str, Any]]) -> str:
    """``{namespace: {key: value}}`` as JSON, each value capped (:func:`capped`); one short
    value (the usual) without the encoder."""
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
                    elif measure(value, MAX_METADATA) >= 0:  # a response of the usual size
                        return _encode(metadata)  # type: ignore[no-any-return]
                    else:
                        break
                    return f"{{{_esc(namespace)}:{{{_esc(key)}:{text}}}}}"
    return _encode(capped(metadata))  # type: ignore[no-any-return]


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
        base = inv.annotations
        parts.append(',"annotations":')
        parts.append(base.json if annotations == base.fields else _encode(annotations))
    if span.metadata:
        parts.append(',"metadata":')
        parts.append(_metadata_json(span.metadata))
    if span.flags:
        for flag in span.flags:
            parts.append(f',"{flag}":true')
    if span.cause:
        parts.append(',"cause":')
        parts.append(_encode(cause_doc(span.cause)))
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


def encode(doc: dict[str, Any]) -> str | None:
    """A document's JSON under :data:`MAX_DOCUMENT`; ``None`` if it cannot be made to fit."""
    try:
        text: str = _encode(doc)
        if len(text) <= MAX_DOCUMENT:
            return text
    except (ValueError, TypeError, RecursionError):
        pass
    # NaN, cycles, or more than fits: a copy cut to the size, what was cut marked.
    text = _encode(clip(doc, MAX_DOCUMENT, doc_default))
    return text if len(text) <= MAX_DOCUMENT else None


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
