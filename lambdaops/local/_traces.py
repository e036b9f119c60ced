"""What the local trace listeners share: the documents they keep, and the waterfall they draw.

The X-Ray daemon stand-in (UDP) and the OTLP/HTTP receiver both keep X-Ray-shaped
documents (``id``, ``trace_id``, ``parent_id``, ``name``, ``start_time``, ``end_time``,
``fault``/``error``, ``cause``, ``annotations``, ``metadata``), so tests, the runner and
``lambdaops local`` read a trace the same way whichever backend sent it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from lambdaops.local._service import Service

__all__ = ["Document", "TraceStore", "draw_waterfall", "flatten"]

Document = dict[str, Any]


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


class TraceStore(Service):
    """Documents received by a listener thread, readable while more arrive."""

    #: How the store names itself in a ``wait_for`` timeout.
    kind = "trace listener"

    def __init__(self) -> None:
        self.documents: list[Document] = []
        self._cond = threading.Condition()

    def _keep(self, docs: list[Document]) -> None:
        with self._cond:
            self.documents.extend(docs)
            self._cond.notify_all()

    def _problems(self) -> str:
        """What went wrong so far, for a timeout message."""
        return ""

    def snapshot(self) -> list[Document]:
        with self._cond:
            return list(self.documents)

    def clear(self) -> None:
        with self._cond:
            self.documents.clear()

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
                        f"{self.kind}: condition not met in {timeout}s; "
                        f"{len(names)} documents {names}{self._problems()}"
                    )
                self._cond.wait(left)
            return list(self.documents)

    def segments_for(self, trace_id: str) -> list[Document]:
        """The documents received for one trace, in arrival order."""
        return [d for d in self.snapshot() if d.get("trace_id") == trace_id]

    def waterfall(self, trace_id: str, width: int = 40) -> str:
        """A text timeline of one trace: each subsegment nested under its parent."""
        return draw_waterfall(trace_id, flatten(self.segments_for(trace_id)), width)


def draw_waterfall(trace_id: str, entities: list[Document], width: int = 40) -> str:
    """A text timeline of ``entities`` (flat, linked by ``parent_id``).

    Offsets and durations are in ms from the earliest start in the trace.
    """
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
