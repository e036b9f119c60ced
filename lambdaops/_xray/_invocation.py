"""What one handler's sampled invocations share, and one sampled invocation."""

from __future__ import annotations

import contextvars
import json
from typing import TYPE_CHECKING, Any, NamedTuple

from lambdaops._config import Config
from lambdaops._xray import _facade
from lambdaops._xray._span import annotation_value

if TYPE_CHECKING:
    from lambdaops._xray._context import Stack
    from lambdaops._xray._span import Span

#: What the SDK strips from entity names (X-Ray rejects them); X-Ray allows 200 characters.
_NAME_STRIP = str.maketrans("", "", "?;*()!$~^<>")
_MAX_NAME = 200
_names: dict[str, str] = {}
_esc: Any = json.encoder.encode_basestring_ascii


def clean_name(name: str) -> str:
    """``name`` as X-Ray accepts it (as the SDK cleans it, and at most 200 characters)."""
    clean = _names.get(name)
    if clean is None:
        clean = str(name).translate(_NAME_STRIP)[:_MAX_NAME] or "unnamed"
        if len(_names) < 4096:
            _names[name] = clean
    return clean


class Annotations(NamedTuple):
    """The handler subsegment's annotations as it starts, and their JSON."""

    fields: dict[str, Any]
    json: str


class Settings(NamedTuple):
    """What ``@trace.capture`` and ``trace.metadata()`` record, from the invocation in flight."""

    capture_response: bool
    capture_error: bool
    namespace: str


_NONE = Annotations({}, "{}")


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
        "settings",
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
        self.settings = Settings(self.capture_response, self.capture_error, self.service)
        service = {"Service": annotation_value("Service", self.service)} if self.service else {}
        warm, cold = {"ColdStart": False, **service}, {"ColdStart": True, **service}
        #: Indexed by the cold-start bool (False is 0): one read instead of a branch.
        self.annotations = (
            Annotations(warm, json.dumps(warm, separators=(",", ":"))),
            Annotations(cold, json.dumps(cold, separators=(",", ":"))),
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
        "stack",
        "token",
    )
    #: Never current itself, though it owns stacks (:class:`~lambdaops._xray._context.Stack`).
    in_progress = False

    def __init__(self, profile: Profile, header: str, root: str, parent: str) -> None:
        self.profile = profile
        self.header = header
        self.root = root
        self.root_json: str = _esc(root)
        #: As written between quotes (a header's junk escaped; Lambda's are 16 hex digits).
        self.parent: str = parent if parent.isalnum() and parent.isascii() else _esc(parent)[1:-1]
        self.annotations = _NONE  # set by ``begin``
        #: Lambda's function segment as an SDK object, made only if the SDK needs it.
        self.facade: Any = None
        #: Subsegments in the tree since it was last streamed.
        self.count = 0
        #: Set right after, by ``begin``: the handler's span, and the stack it alone is on.
        self.span: Span = None  # type: ignore[assignment]
        self.stack: Stack = None  # type: ignore[assignment]
        self.token: contextvars.Token[Stack] | None = None

    def segment(self) -> Any:
        facade = self.facade
        if facade is None:
            facade = self.facade = _facade.segment_for(self.header)
        return facade
