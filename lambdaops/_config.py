"""Configuration: decorator arguments > ``LAMBDAOPS_*`` > Powertools' names > defaults.

Resolved once, when the handler is decorated, so a bad value fails the
deployment's first import with a message naming the culprit instead of
surfacing on some invocation later.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

from lambdaops._errors import ConfigError

LEVELS: dict[str, int] = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
#: Spellings other tools use (Lambda's advanced logging controls, stdlib).
_LEVEL_ALIASES = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}

Processor = Callable[[Any, str, dict[str, Any]], dict[str, Any]]


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
    # parameters injected into the handler: name -> parameter spec
    params: Mapping[str, Any] = MappingProxyType({})

    @property
    def log_level_name(self) -> str:
        return next(name for name, no in LEVELS.items() if no == self.log_level)


def _lookup(
    name: str, value: Any, env_names: Sequence[str], environ: Mapping[str, str]
) -> tuple[Any, str]:
    """The first value set, with where it came from (for error messages)."""
    if value is not None:
        return value, f"argument {name}"
    for env in env_names:
        raw = environ.get(env)
        if raw not in (None, ""):
            return raw, f"environment variable {env}"
    return None, ""


def parse_level(value: Any, source: str) -> int:
    """A level name or number, as an int; ``ConfigError`` names the culprit."""
    if isinstance(value, int) and not isinstance(value, bool) and value in LEVELS.values():
        return value
    name = str(value).strip().upper()
    name = _LEVEL_ALIASES.get(name, name)
    if name not in LEVELS:
        raise ConfigError(f"{source}={value!r} is not a log level; use one of {', '.join(LEVELS)}")
    return LEVELS[name]


def _parse_rate(value: Any, source: str) -> float:
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}={value!r} is not a number between 0 and 1") from None
    if not 0.0 <= rate <= 1.0:
        raise ConfigError(f"{source}={value!r} must be between 0 and 1")
    return rate


def _parse_int(value: Any, source: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{source}={value!r} is not a whole number") from None
    if not low <= number <= high:
        raise ConfigError(f"{source}={value!r} must be between {low} and {high}")
    return number


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def parse_bool(value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{source}={value!r} is not a boolean (true/false)")


def resolve(
    *,
    service: str | None = None,
    namespace: str | None = None,
    log_level: str | int | None = None,
    debug_sample_rate: float | None = None,
    debug_buffer: int | None = None,
    max_line_bytes: int | None = None,
    capture_stdlib: bool | None = None,
    processors: Sequence[Processor] | None = None,
    default_dimensions: Mapping[str, str] | None = None,
    outcome: bool | None = None,
    timeout_margin_ms: int | None = None,
    timeout_stack: bool | None = None,
    architecture: str | None = None,
    trace: bool | None = None,
    trace_capture_response: bool | None = None,
    trace_capture_error: bool | None = None,
    trace_patch: bool | None = None,
    params: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build a :class:`Config` from arguments and the environment."""
    env = os.environ if environ is None else environ

    svc, _ = _lookup("service", service, ("LAMBDAOPS_SERVICE", "POWERTOOLS_SERVICE_NAME"), env)
    svc = str(svc or env.get("AWS_LAMBDA_FUNCTION_NAME") or "service_undefined")

    ns, _ = _lookup(
        "namespace", namespace, ("LAMBDAOPS_NAMESPACE", "POWERTOOLS_METRICS_NAMESPACE"), env
    )
    ns = str(ns or svc)

    raw, source = _lookup(
        "log_level",
        log_level,
        ("LAMBDAOPS_LOG_LEVEL", "AWS_LAMBDA_LOG_LEVEL", "POWERTOOLS_LOG_LEVEL"),
        env,
    )
    level = parse_level(raw, source) if raw is not None else LEVELS["INFO"]

    raw, source = _lookup(
        "debug_sample_rate",
        debug_sample_rate,
        ("LAMBDAOPS_DEBUG_SAMPLE_RATE", "POWERTOOLS_LOGGER_SAMPLE_RATE"),
        env,
    )
    rate = _parse_rate(raw, source) if raw is not None else 0.0

    raw, source = _lookup("debug_buffer", debug_buffer, ("LAMBDAOPS_DEBUG_BUFFER",), env)
    buffer = _parse_int(raw, source, 0, 100_000) if raw is not None else 200

    raw, source = _lookup("max_line_bytes", max_line_bytes, ("LAMBDAOPS_MAX_LINE_BYTES",), env)
    limit = _parse_int(raw, source, 1024, 1024 * 1024) if raw is not None else 256 * 1024

    raw, source = _lookup("capture_stdlib", capture_stdlib, ("LAMBDAOPS_CAPTURE_STDLIB",), env)
    stdlib = parse_bool(raw, source) if raw is not None else True

    procs = tuple(processors or ())
    for proc in procs:
        if not callable(proc):
            raise ConfigError(f"argument processors: {proc!r} is not callable")

    dims = _parse_dimensions(default_dimensions, env, svc)

    raw, source = _lookup("outcome", outcome, ("LAMBDAOPS_OUTCOME",), env)
    want_outcome = parse_bool(raw, source) if raw is not None else True

    raw, source = _lookup(
        "timeout_margin_ms", timeout_margin_ms, ("LAMBDAOPS_TIMEOUT_MARGIN_MS",), env
    )
    margin = _parse_int(raw, source, 0, 60_000) if raw is not None else None

    raw, source = _lookup("timeout_stack", timeout_stack, ("LAMBDAOPS_TIMEOUT_STACK",), env)
    gil_stack = parse_bool(raw, source) if raw is not None else False

    raw, source = _lookup("architecture", architecture, ("LAMBDAOPS_ARCHITECTURE",), env)
    arch = _parse_architecture(raw, source)

    raw, source = _lookup("trace", trace, ("LAMBDAOPS_TRACE",), env)
    if raw is not None:
        want_trace = parse_bool(raw, source)
    else:
        disabled = env.get("POWERTOOLS_TRACE_DISABLED")
        want_trace = (
            not parse_bool(disabled, "environment variable POWERTOOLS_TRACE_DISABLED")
            if disabled
            else True
        )

    trace_flags = []
    for name, value, envs in (
        (
            "trace_capture_response",
            trace_capture_response,
            ("LAMBDAOPS_TRACE_CAPTURE_RESPONSE", "POWERTOOLS_TRACER_CAPTURE_RESPONSE"),
        ),
        (
            "trace_capture_error",
            trace_capture_error,
            ("LAMBDAOPS_TRACE_CAPTURE_ERROR", "POWERTOOLS_TRACER_CAPTURE_ERROR"),
        ),
        ("trace_patch", trace_patch, ("LAMBDAOPS_TRACE_PATCH",)),
    ):
        raw, source = _lookup(name, value, envs, env)
        trace_flags.append(parse_bool(raw, source) if raw is not None else True)

    if params is not None and not isinstance(params, Mapping):
        raise ConfigError(f"argument params={params!r} must be a mapping of name -> parameter")

    return Config(
        service=svc,
        namespace=ns,
        log_level=level,
        debug_sample_rate=rate,
        debug_buffer=buffer,
        max_line_bytes=limit,
        capture_stdlib=stdlib,
        processors=procs,
        default_dimensions=dims,
        outcome=want_outcome,
        timeout_margin_ms=margin,
        timeout_stack=gil_stack,
        architecture=arch,
        trace=want_trace,
        trace_capture_response=trace_flags[0],
        trace_capture_error=trace_flags[1],
        trace_patch=trace_flags[2],
        params=MappingProxyType(dict(params or {})),
    )


def _parse_dimensions(
    value: Mapping[str, str] | None, env: Mapping[str, str], service: str
) -> tuple[tuple[str, str], ...]:
    """Default dimensions: the argument, ``LAMBDAOPS_DEFAULT_DIMENSIONS`` (k=v,k=v), or service."""
    if value is None:
        raw = env.get("LAMBDAOPS_DEFAULT_DIMENSIONS")
        if raw is None:
            return (("service", service),)
        source = "environment variable LAMBDAOPS_DEFAULT_DIMENSIONS"
        pairs: list[tuple[str, str]] = []
        for item in filter(None, (p.strip() for p in raw.split(","))):
            key, sep, val = item.partition("=")
            if not sep or not key.strip() or not val.strip():
                raise ConfigError(f"{source}={raw!r}: expected name=value pairs, got {item!r}")
            pairs.append((key.strip(), val.strip()))
        return tuple(pairs)
    if not isinstance(value, Mapping):
        raise ConfigError(f"argument default_dimensions={value!r} must be a mapping")
    return tuple((str(k), str(v)) for k, v in value.items())


_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "arm64", "aarch64": "arm64"}


def _parse_architecture(value: Any, source: str) -> str:
    """Lambda bills by architecture; default to the machine we run on."""
    if value is None:
        import platform

        return _ARCHITECTURES.get(platform.machine().lower(), "x86_64")
    arch = _ARCHITECTURES.get(str(value).strip().lower())
    if arch is None:
        raise ConfigError(f"{source}={value!r} is not x86_64 or arm64")
    return arch
