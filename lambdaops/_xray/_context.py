"""The SDK's context API for Lambda: which entity is current, per task and per thread.

Replaces the SDK's ``LambdaContext`` on the global ``xray_recorder``. The open
entities live in a context variable (concurrent asyncio tasks get their own
stacks), and threads the handler started nest under the handler's subsegment.
When the SDK asks for the current entity and it is one of our spans, it gets the
span's twin, so what the SDK records lands in our tree.
"""

from __future__ import annotations

import contextvars
from typing import Any, NamedTuple

from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.context import Context
from aws_xray_sdk.core.models.dummy_entities import DummySegment
from aws_xray_sdk.core.streaming.default_streaming import DefaultStreaming

from lambdaops._traceheader import trace_header
from lambdaops._xray import _facade
from lambdaops._xray._invocation import InvocationTrace
from lambdaops._xray._span import Span, Twin, is_subsegment, materialize

#: Subsegments kept in one invocation's tree before finished ones are streamed early.
BATCH = 50


class Stack(NamedTuple):
    """The entities open in one context, innermost last, and whose they are."""

    #: Our :class:`InvocationTrace`, or the SDK segment the entities belong to.
    owner: Any
    #: Open subsegments (spans or the SDK's); empty: a segment owner is itself current.
    open: tuple[Any, ...]


EMPTY = Stack(None, ())
#: ``new(Stack, (owner, open))``: tuple's own constructor, not the NamedTuple's Python
#: ``__new__``, at a third of the cost, for the tuples made once per subsegment.
new = tuple.__new__


class InvocationContext(Context):  # type: ignore[misc]
    """The SDK's context API over a context variable, for Lambda."""

    def __init__(self) -> None:
        super().__init__(context_missing="IGNORE_ERROR")
        self.entities: contextvars.ContextVar[Stack] = contextvars.ContextVar(
            "lambdaops_xray_entities", default=EMPTY
        )
        #: The sampled invocation in flight, whose subsegment threads nest under.
        self.invocation: InvocationTrace | None = None

    # -- ours -----------------------------------------------------------------
    def segment(self) -> Any:
        """The facade segment of the current ``_X_AMZN_TRACE_ID``, built once per header."""
        return _facade.segment_for(trace_header())

    def current(self) -> tuple[Any, Stack]:
        """The entity new work nests under, and the stack it tops."""
        inv = self.invocation
        stack = self.entities.get()
        owner, opened = stack
        if inv is not None:
            # Never a closed entity (e.g. the handler's, after the watchdog ended the
            # invocation while the handler runs on): adding to it would raise in the SDK.
            top = opened[-1] if opened else owner
            if top is not None and top.in_progress and (owner is inv or owner is inv.facade):
                return top, stack
            span = inv.span
            if span.in_progress:
                return span, inv.stack
        segment = self.segment()
        if owner is segment and opened and opened[-1].in_progress:
            return opened[-1], stack
        return segment, Stack(segment, ())

    def reset(self) -> None:
        """Forget the cached facade and the invocation (tests)."""
        _facade.reset()
        self.invocation = None
        self.entities.set(EMPTY)

    # -- the SDK's context API -------------------------------------------------
    def put_segment(self, segment: Any) -> None:
        """Lambda owns the function's segment: there is nothing to put."""

    def end_segment(self, end_time: float | None = None) -> None:
        """Lambda owns the function's segment: there is nothing to end."""

    def put_subsegment(self, subsegment: Any) -> None:
        entity, stack = self.current()
        if type(entity) is Span:
            entity = materialize(entity)
        elif not is_subsegment(entity) and (
            isinstance(entity, DummySegment) or getattr(entity, "initializing", False)
        ):
            return  # no trace to hang it on, as the SDK's LambdaContext
        entity.add_subsegment(subsegment)
        self.entities.set(Stack(stack.owner, (*stack.open, subsegment)))
        inv = self.invocation
        if inv is not None and stack.owner is inv:
            inv.count += 1

    def end_subsegment(self, end_time: float | None = None) -> bool:
        """End the innermost subsegment opened in this context (never one from elsewhere)."""
        stack = self.entities.get()
        if not stack.open:
            return False
        top = stack.open[-1]
        if stack.owner is not self.current()[1].owner or not is_subsegment(top):
            return False
        if top.in_progress:
            top.close(end_time)
        self.entities.set(Stack(stack.owner, stack.open[:-1]))
        inv = self.invocation
        if inv is not None and stack.owner is inv and inv.count > BATCH:
            flush(inv)
        return True

    def get_trace_entity(self) -> Any:
        entity = self.current()[0]
        return materialize(entity) if type(entity) is Span else entity

    def set_trace_entity(self, trace_entity: Any) -> None:
        if isinstance(trace_entity, Twin):
            trace_entity = trace_entity.span
        if type(trace_entity) is Span:
            self.entities.set(Stack(trace_entity.inv, (trace_entity,)))
        elif is_subsegment(trace_entity):
            self.entities.set(Stack(trace_entity.parent_segment, (trace_entity,)))
        else:
            self.entities.set(Stack(trace_entity, ()))

    def clear_trace_entities(self) -> None:
        self.entities.set(EMPTY)

    def handle_context_missing(self) -> None:
        return None


class Streaming(DefaultStreaming):  # type: ignore[misc]
    """Ours stream in batches (:func:`flush`); others at once (as the SDK in Lambda)."""

    def is_eligible(self, segment: Any) -> bool:
        if not segment or not segment.sampled:
            return False
        inv = context.invocation
        return inv is None or inv.facade is not segment


context = InvocationContext()
_streamer = DefaultStreaming(0)


def send(entity: Any) -> None:
    if entity.sampled:
        xray_recorder.emitter.send_entity(entity)


def _size(entity: Any) -> int:
    return 1 + sum(_size(child) for child in entity.subsegments)


def flush(inv: InvocationTrace) -> None:
    """Send the finished subtrees of a large invocation's tree now, each on its own."""
    _streamer.stream(inv.span, send)
    inv.count = _size(inv.span) - 1
