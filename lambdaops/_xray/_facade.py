"""Lambda's function segment as an SDK object, built only when the SDK needs one.

Lambda owns the function's segment; the SDK still wants an object for it as the
parent of what it records. One is built per trace header and kept until the next.
"""

from __future__ import annotations

import threading
from typing import Any

from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core.models.dummy_entities import DummySegment
from aws_xray_sdk.core.models.facade_segment import FacadeSegment
from aws_xray_sdk.core.models.trace_header import TraceHeader

from lambdaops._traceheader import parse_trace_header

_UNSET = "\x00unset"
_cached: tuple[str | None, Any] = (_UNSET, None)
_lock = threading.Lock()


def facade_for(header: str | None) -> Any:
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


def segment_for(header: str | None) -> Any:
    """The facade segment for ``header``, built once per header."""
    global _cached
    cached, segment = _cached
    if header == cached:
        return segment
    with _lock:
        cached, segment = _cached
        if header != cached:
            segment = facade_for(header)
            _cached = (header, segment)
    return segment


def reset() -> None:
    """Forget the cached segment (tests)."""
    global _cached
    _cached = (_UNSET, None)
