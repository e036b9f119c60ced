"""Configuration: decorator arguments > ``LAMBDAOPS_*`` > Powertools' names > defaults.

Resolved once, when the handler is decorated, so a bad value fails the
deployment's first import with a message naming the culprit instead of
surfacing on some invocation later.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from lambdaops._parse import (
    LEVELS,
    Processor,
    bounded,
    parse_architecture,
    parse_bool,
    parse_dimensions,
    parse_level,
    parse_namespace,
    parse_params,
    parse_processors,
    parse_rate,
    parse_text,
    parse_trace_backend,
    parse_trace_parent,
)


class Config(NamedTuple):
    """Everything one decorated handler needs to know, immutable.

    A NamedTuple rather than a frozen dataclass: ``dataclasses`` pulls in
    ``inspect`` and ``ast``, ~10 ms of cold start for one class.
    """

    service: str
    namespace: str
    log_level: int
    debug_sample_rate: float = 0.0
    debug_buffer: int = 200
    max_line_bytes: int = 256 * 1024
    capture_stdlib: bool = True
    processors: tuple[Processor, ...] = ()
    # metrics and the outcome record
    default_dimensions: tuple[tuple[str, str], ...] = ()
    outcome: bool = True
    timeout_margin_ms: int | None = None
    timeout_stack: bool = False
    architecture: str = "x86_64"
    # tracing
    trace: bool = True
    trace_capture_response: bool = True
    trace_capture_error: bool = True
    trace_patch: bool = True
    trace_backend: str = "xray"
    trace_parent: str = "xray"
    # parameters injected into the handler: name -> parameter spec
    params: Mapping[str, Any] = MappingProxyType({})

    @property
    def log_level_name(self) -> str:
        return next(name for name, no in LEVELS.items() if no == self.log_level)


def _lookup(option: Option, value: Any, environ: Mapping[str, str]) -> tuple[Any, str]:
    """The first value set, with where it came from (for error messages)."""
    if value is not None:
        return value, f"argument {option.name}"
    for env in option.env:
        raw = environ.get(env)
        if raw is not None and (raw != "" or option.empty_is_set):
            return raw, f"environment variable {env}"
    return None, ""


class Option:
    """One configuration option: the single place its name, variables and default live.

    ``env`` is in precedence order (``LAMBDAOPS_*``, then Lambda's, then Powertools'
    names); ``negated`` is a variable among them read as a boolean and inverted. An
    empty variable counts as unset unless ``empty_is_set``. ``default`` is the value
    itself, or — when it depends on the environment or on options resolved before it —
    a function of (environ, resolved so far). ``shown`` is the default as the README's
    configuration table and ``instrument``'s docstring put it. A slotted class, not a
    NamedTuple: ``typing.NamedTuple`` costs ~0.2 ms of ``import lambdaops`` per class.
    """

    __slots__ = ("default", "doc", "empty_is_set", "env", "name", "negated", "parse", "shown")

    def __init__(
        self,
        name: str,
        env: tuple[str, ...],
        parse: Callable[[Any, str], Any],
        default: Any,
        shown: str,
        doc: str,
        negated: str = "",
        empty_is_set: bool = False,
    ) -> None:
        self.name = name
        self.env = env
        self.parse = parse
        self.default = default
        self.shown = shown
        self.doc = doc
        self.negated = negated
        self.empty_is_set = empty_is_set

    def __repr__(self) -> str:
        return f"Option({self.name!r})"


#: Every option, in ``Config``'s field order (tests/test_config.py checks both it and
#: the README's configuration table against this).
OPTIONS: tuple[Option, ...] = (
    Option(
        "service",
        ("LAMBDAOPS_SERVICE", "POWERTOOLS_SERVICE_NAME"),
        parse_text,
        lambda env, _: str(env.get("AWS_LAMBDA_FUNCTION_NAME") or "service_undefined"),
        "function name",
        "the service name on every line, record and default dimension",
    ),
    Option(
        "namespace",
        ("LAMBDAOPS_NAMESPACE", "POWERTOOLS_METRICS_NAMESPACE"),
        lambda value, source: parse_namespace(value, source),
        lambda _, resolved: resolved["service"],
        "service",
        "the CloudWatch namespace of the EMF metrics",
    ),
    Option(
        "log_level",
        ("LAMBDAOPS_LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL", "POWERTOOLS_LOG_LEVEL"),
        parse_level,
        LEVELS["INFO"],
        "`INFO`",
        "the lowest level written (a name or number)",
    ),
    Option(
        "debug_sample_rate",
        ("LAMBDAOPS_DEBUG_SAMPLE_RATE", "POWERTOOLS_LOGGER_SAMPLE_RATE"),
        parse_rate,
        0.0,
        "`0`",
        "the fraction of invocations that log at DEBUG throughout",
    ),
    Option(
        "debug_buffer",
        ("LAMBDAOPS_DEBUG_BUFFER",),
        bounded(0, 100_000),
        200,
        "`200`",
        "hidden debug lines kept per invocation, written if it fails (0 = off)",
    ),
    Option(
        "max_line_bytes",
        ("LAMBDAOPS_MAX_LINE_BYTES",),
        bounded(1024, 1024 * 1024),
        256 * 1024,
        "`262144`",
        "the longest line written; longer fields are shortened",
    ),
    Option(
        "capture_stdlib",
        ("LAMBDAOPS_CAPTURE_STDLIB",),
        parse_bool,
        True,
        "`true`",
        "route stdlib ``logging`` through the same pipeline",
    ),
    Option(
        "processors",
        (),
        parse_processors,
        (),
        "`()`",
        "structlog-protocol processors run on every line",
    ),
    Option(
        "default_dimensions",
        ("LAMBDAOPS_DEFAULT_DIMENSIONS",),
        lambda value, source: parse_dimensions(value, source),
        lambda _, resolved: (("service", resolved["service"]),),
        '`{"service": service}`',
        "the dimensions of every metric (``k=v,k=v`` in the environment; empty: none)",
        empty_is_set=True,
    ),
    Option(
        "outcome",
        ("LAMBDAOPS_OUTCOME",),
        parse_bool,
        True,
        "`true`",
        "write one outcome record per invocation",
    ),
    Option(
        "timeout_margin_ms",
        ("LAMBDAOPS_TIMEOUT_MARGIN_MS",),
        bounded(0, 60_000),
        None,
        "10% of the remaining time, 50–500 ms",
        "how long before Lambda's deadline the timeout record is written",
    ),
    Option(
        "timeout_stack",
        ("LAMBDAOPS_TIMEOUT_STACK",),
        parse_bool,
        False,
        "`false`",
        "faulthandler's stack for a timeout while C code holds the GIL",
    ),
    Option(
        "architecture",
        ("LAMBDAOPS_ARCHITECTURE",),
        lambda value, source: parse_architecture(value, source),
        lambda _, __: parse_architecture(None, ""),
        "the machine's",
        "``x86_64`` or ``arm64``, for the cost estimate",
    ),
    Option(
        "trace",
        ("LAMBDAOPS_TRACE", "POWERTOOLS_TRACE_DISABLED"),
        parse_bool,
        True,
        "`true`",
        "X-Ray subsegments for sampled invocations",
        negated="POWERTOOLS_TRACE_DISABLED",
    ),
    Option(
        "trace_capture_response",
        ("LAMBDAOPS_TRACE_CAPTURE_RESPONSE", "POWERTOOLS_TRACER_CAPTURE_RESPONSE"),
        parse_bool,
        True,
        "`true`",
        "record the handler's response as trace metadata",
    ),
    Option(
        "trace_capture_error",
        ("LAMBDAOPS_TRACE_CAPTURE_ERROR", "POWERTOOLS_TRACER_CAPTURE_ERROR"),
        parse_bool,
        True,
        "`true`",
        "record the handler's exception as trace metadata",
    ),
    Option(
        "trace_patch",
        ("LAMBDAOPS_TRACE_PATCH",),
        parse_bool,
        True,
        "`true`",
        "trace boto3/botocore, requests and httpx calls",
    ),
    Option(
        "trace_backend",
        ("LAMBDAOPS_TRACE_BACKEND",),
        parse_trace_backend,
        "xray",
        "`xray`",
        "``xray`` (the X-Ray SDK), ``otel`` (OpenTelemetry) or ``auto`` (``otel`` when an "
        "OpenTelemetry tracer provider is configured)",
    ),
    Option(
        "trace_parent",
        ("LAMBDAOPS_TRACE_PARENT",),
        parse_trace_parent,
        "xray",
        "`xray`",
        "the ``otel`` backend's parent: Lambda's X-Ray header, or ``w3c``: a ``traceparent`` "
        "in the event's HTTP headers or SQS message attributes first",
    ),
    Option(
        "params",
        (),
        parse_params,
        MappingProxyType({}),
        "`{}`",
        "parameters injected as ``context.params``: name -> parameter spec",
    ),
)

#: The option names, in order: what ``instrument`` accepts.
NAMES: tuple[str, ...] = tuple(option.name for option in OPTIONS)


def resolve(*, environ: Mapping[str, str] | None = None, **arguments: Any) -> Config:
    """Build a :class:`Config` from arguments (``None`` = unset) and the environment."""
    unknown = sorted(set(arguments) - set(NAMES))
    if unknown:
        raise TypeError(f"resolve() got unknown option(s) {', '.join(unknown)}")
    env = os.environ if environ is None else environ
    resolved: dict[str, Any] = {}
    for option in OPTIONS:
        raw, source = _lookup(option, arguments.get(option.name), env)
        value = None
        if raw is not None:
            if option.negated and source == f"environment variable {option.negated}":
                value = not parse_bool(raw, source)
            else:
                value = option.parse(raw, source)
        if value is None:
            default = option.default
            value = default(env, resolved) if callable(default) else default
        resolved[option.name] = value
    return Config(**resolved)
