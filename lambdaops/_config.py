"""Configuration: decorator arguments > ``LAMBDAOPS_*`` > Powertools' names > defaults.

Resolved once, when the handler is decorated, so a bad value fails the
deployment's first import with a message naming the culprit instead of
surfacing on some invocation later.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambdaops._errors import ConfigError

LEVELS: dict[str, int] = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
#: Spellings other tools use (Lambda's advanced logging controls, stdlib).
_LEVEL_ALIASES = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}

Processor = Callable[[Any, str, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Config:
    """Everything one decorated handler needs to know, immutable."""

    service: str
    namespace: str
    log_level: int
    debug_sample_rate: float = 0.0
    debug_buffer: int = 200
    max_line_bytes: int = 256 * 1024
    capture_stdlib: bool = True
    processors: tuple[Processor, ...] = ()

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
        raise ConfigError(
            f"{source}={value!r} is not a log level; use one of {', '.join(LEVELS)}"
        )
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

    raw, source = _lookup(
        "max_line_bytes", max_line_bytes, ("LAMBDAOPS_MAX_LINE_BYTES",), env
    )
    limit = _parse_int(raw, source, 1024, 1024 * 1024) if raw is not None else 256 * 1024

    raw, source = _lookup(
        "capture_stdlib", capture_stdlib, ("LAMBDAOPS_CAPTURE_STDLIB",), env
    )
    stdlib = parse_bool(raw, source) if raw is not None else True

    procs = tuple(processors or ())
    for proc in procs:
        if not callable(proc):
            raise ConfigError(f"argument processors: {proc!r} is not callable")

    return Config(
        service=svc,
        namespace=ns,
        log_level=level,
        debug_sample_rate=rate,
        debug_buffer=buffer,
        max_line_bytes=limit,
        capture_stdlib=stdlib,
        processors=procs,
    )
