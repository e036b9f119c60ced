"""The aws-xray-sdk half of tracing, loaded on the first sampled invocation.

Importing the SDK costs ~25-45 ms, so :mod:`lambdaops._trace` imports this package
only when an invocation is sampled, never at ``import lambdaops``. What ``_trace``
calls is here; docs/architecture.md ("Tracing") tells how the parts fit.
"""

from __future__ import annotations

import sys
from typing import Any

from aws_xray_sdk import global_sdk_config
from aws_xray_sdk.core import patch as _sdk_patch
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter
from aws_xray_sdk.core.streaming.default_streaming import DefaultStreaming

from lambdaops._traceheader import sampled_ids
from lambdaops._xray._capture import call, call_async, finish, generate, generate_async, start
from lambdaops._xray._context import BATCH, Stack, Streaming, context, new, send
from lambdaops._xray._emitter import emitter
from lambdaops._xray._invocation import InvocationTrace, Profile, Settings
from lambdaops._xray._span import Span, annotation_key, materialize, sdk_entity
from lambdaops._xray._span import _warned as _warned_annotations
from lambdaops._xray._subsegments import (
    Opened,
    current_subsegment,
    record_error,
    settings,
    unwind,
)

__all__ = [
    "Opened",
    "Profile",
    "Settings",
    "annotation_key",
    "begin",
    "call",
    "call_async",
    "current_subsegment",
    "end",
    "finish",
    "generate",
    "generate_async",
    "reset",
    "sdk_entity",
    "settings",
    "setup",
    "start",
]

#: Libraries whose calls become ``aws``/``remote`` subsegments once imported.
PATCHABLE = ("botocore", "aiobotocore", "requests", "httpx")
recorder: Any = xray_recorder
_patched: set[str] = set()
_modules_seen = -1


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
    span.annotations = base.fields.copy()
    inv.stack = new(Stack, (inv, (span,)))
    inv.token = context.entities.set(inv.stack)
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
        unwind(span, inv.token)
        if span.in_progress:
            span.close()
        # The handler's subtree, whole, with whatever under it is still open (a thread
        # still working) as in progress.
        if recorder.emitter is emitter:
            emitter.send_span(span)
        else:  # an emitter the user installed takes SDK entities
            send(materialize(span))
        facade = inv.facade
        if facade is not None and facade.subsegments:
            # A user's subsegments beside ours: let the SDK's streaming pick what is done.
            recorder.streaming.stream(facade, send)


def reset() -> None:
    """Forget per-process state (tests): warnings, address, context."""
    global _modules_seen
    _modules_seen = -1
    context.reset()
    emitter.reset()
    _warned_annotations.clear()
