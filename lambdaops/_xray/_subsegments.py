"""Subsegments inside an invocation: open, close, make current again, record an error."""

from __future__ import annotations

import traceback
from contextvars import Token
from typing import Any, NamedTuple

from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.models.subsegment import Subsegment

from lambdaops._render import exception_fields
from lambdaops._xray._context import BATCH, Stack, context, flush, new, send
from lambdaops._xray._invocation import Settings, _names, clean_name
from lambdaops._xray._span import Span, is_subsegment

recorder: Any = xray_recorder


class Opened(NamedTuple):
    """A subsegment :func:`open_subsegment` made current, and the token that undoes that."""

    sub: Any
    token: Token[Stack] | None


_DEFAULTS = Settings(True, True, "default")


def record_error(sub: Any, error: BaseException, key: str | None, namespace: str) -> None:
    """Mark ``sub`` faulty with the exception as its cause (and as metadata under ``key``)."""
    if not isinstance(error, Exception):
        return  # GeneratorExit, cancellation, exit: not a failure of the traced code
    frames = traceback.extract_tb(error.__traceback__)
    limit = recorder.max_trace_back
    sub.add_exception(error, frames[-limit:] if limit else [])
    if key is not None:
        sub.put_metadata(key, exception_fields(error), namespace)


def settings() -> Settings:
    """What the invocation in flight records (the SDK's defaults outside one)."""
    inv = context.invocation
    if inv is None:
        return _DEFAULTS
    return inv.profile.settings


# -- subsegments ----------------------------------------------------------------
def open_subsegment(name: str, namespace: str = "local") -> Opened | None:
    """Open a subsegment under the current entity and make it current; None if unsampled."""
    name = _names.get(name) or clean_name(name)  # clean_name's cache read, without its call
    parent, stack = context.current()
    if type(parent) is Span:
        inv = parent.inv
        span = Span(inv, name, namespace, parent.id)
        parent.subsegments.append(span)
        inv.count += 1
        token = context.entities.set(new(Stack, (stack.owner, (*stack.open, span))))
        return new(Opened, (span, token))
    if not parent.sampled:
        return None
    ours = context.invocation
    if ours is not None and (stack.owner is ours or stack.owner is ours.facade):
        # Under an SDK entity of our invocation (a user's subsegment): still one of ours.
        span = Span(ours, name, namespace, parent.id)
        parent.add_subsegment(span)
        ours.count += 1
        token = context.entities.set(new(Stack, (stack.owner, (*stack.open, span))))
        return new(Opened, (span, token))
    sub = Subsegment(name, namespace, stack.owner)  # outside our invocations: the SDK's own
    parent.add_subsegment(sub)
    return Opened(sub, context.entities.set(Stack(stack.owner, (*stack.open, sub))))


def close_subsegment(sub: Any, token: Token[Stack] | None) -> None:
    """Make the previous entity current again, close ``sub`` and stream what is due."""
    unwind(sub, token)
    if sub.in_progress:
        sub.close()
    if type(sub) is Span:
        inv = sub.inv
        if inv.count > BATCH and context.invocation is inv:
            flush(inv)
        return  # sent with its invocation's tree (or never, if that has left already)
    segment = sub.parent_segment
    if segment.ready_to_send():  # a real segment (not Lambda's facade) that is done
        send(segment)
        return
    streaming = recorder.streaming
    if streaming.is_eligible(segment):
        streaming.stream(segment, send)


def unwind(sub: Any, token: Token[Stack] | None) -> None:
    """Make current again what was before ``sub`` (a generator pausing, a subsegment closing)."""
    try:
        if token is None:
            raise ValueError
        context.entities.reset(token)
    except ValueError:  # closed from another context than it was opened in
        stack = context.entities.get()
        if sub in stack.open:
            context.entities.set(Stack(stack.owner, stack.open[: stack.open.index(sub)]))


def push(sub: Any) -> Token[Stack]:
    """Make an open subsegment current again (a generator resuming)."""
    if type(sub) is Span:
        return context.entities.set(new(Stack, (sub.inv, (sub,))))
    stack = context.current()[1]
    if stack.owner is not sub.parent_segment:
        stack = Stack(sub.parent_segment, ())
    return context.entities.set(Stack(stack.owner, (*stack.open, sub)))


def current_subsegment() -> Any:
    """The innermost open sampled subsegment (ours or the SDK's), or None."""
    entity = context.current()[0]
    if is_subsegment(entity) and entity.sampled:
        return entity
    return None
