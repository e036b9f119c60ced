"""Parsers of configuration values: each names the culprit when it refuses one.

Shared by the per-handler options (``_config``) and the process-wide settings
(``_settings``); CloudWatch's limits on names live here, checked at decoration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from lambdaops._errors import ConfigError

LEVELS: dict[str, int] = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
#: Spellings other tools use (Lambda's advanced logging controls, stdlib).
_LEVEL_ALIASES = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}

Processor = Callable[[Any, str, dict[str, Any]], dict[str, Any]]


def parse_level(value: Any, source: str) -> int:
    """A level name or number, as an int; ``ConfigError`` names the culprit."""
    if isinstance(value, int) and not isinstance(value, bool) and value in LEVELS.values():
        return value
    name = str(value).strip().upper()
    name = _LEVEL_ALIASES.get(name, name)
    if name not in LEVELS:
        raise ConfigError(f"{source}={value!r} is not a log level; use one of {', '.join(LEVELS)}")
    return LEVELS[name]


def parse_rate(value: Any, source: str) -> float:
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


def parse_text(value: Any, source: str) -> str | None:
    """A name: an empty one counts as unset (the default applies)."""
    return str(value) if value else None


def parse_processors(value: Any, source: str) -> tuple[Processor, ...]:
    procs = tuple(value or ())
    for proc in procs:
        if not callable(proc):
            raise ConfigError(f"{source}: {proc!r} is not callable")
    return procs


def parse_params(value: Any, source: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}={value!r} must be a mapping of name -> parameter")
    return MappingProxyType(dict(value))


def bounded(low: int, high: int) -> Callable[[Any, str], int]:
    return lambda value, source: _parse_int(value, source, low, high)


def bounded_number(low: float, high: float) -> Callable[[Any, str], float]:
    def parse(raw: Any, source: str) -> float:
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}={raw!r} is not a number") from None
        if not low <= value <= high:  # NaN fails too
            raise ConfigError(f"{source}={raw!r} must be between {low:g} and {high:g}")
        return value

    return parse


#: CloudWatch's limits (PutMetricData; the EMF specification): names it reserves or rejects
#: are refused here, when the handler is decorated, not dropped by CloudWatch later.
MAX_NAMESPACE = 255
MAX_DIMENSIONS = 30
MAX_DIMENSION_NAME = 250
MAX_DIMENSION_VALUE = 1024


def parse_namespace(value: Any, source: str) -> str | None:
    text = parse_text(value, source)
    if text is None:
        return None
    if len(text) > MAX_NAMESPACE:
        raise ConfigError(
            f"{source}: a namespace is at most {MAX_NAMESPACE} characters, got {len(text)}"
        )
    if text.startswith("AWS/"):
        raise ConfigError(f"{source}={text!r}: the AWS/ namespaces are reserved for AWS services")
    return text


def parse_dimensions(value: Any, source: str) -> tuple[tuple[str, str], ...]:
    pairs = _dimension_pairs(value, source)
    if len(pairs) > MAX_DIMENSIONS:
        raise ConfigError(
            f"{source}: {len(pairs)} dimensions; a metric has at most {MAX_DIMENSIONS}"
        )
    for name, val in pairs:
        if not name.strip() or len(name) > MAX_DIMENSION_NAME:
            raise ConfigError(
                f"{source}: dimension name {name[:40]!r} must be 1-{MAX_DIMENSION_NAME} characters"
            )
        if not val.strip() or len(val) > MAX_DIMENSION_VALUE:
            raise ConfigError(
                f"{source}: dimension {name!r} value must be 1-{MAX_DIMENSION_VALUE} characters"
            )
    return pairs


def _dimension_pairs(value: Any, source: str) -> tuple[tuple[str, str], ...]:
    """A mapping (argument) or ``k=v,k=v`` (environment variable)."""
    if isinstance(value, str) and source.startswith("environment"):
        pairs: list[tuple[str, str]] = []
        for item in filter(None, (p.strip() for p in value.split(","))):
            key, sep, val = item.partition("=")
            if not sep or not key.strip() or not val.strip():
                raise ConfigError(f"{source}={value!r}: expected name=value pairs, got {item!r}")
            pairs.append((key.strip(), val.strip()))
        return tuple(pairs)
    if not isinstance(value, Mapping):
        raise ConfigError(f"{source}={value!r} must be a mapping")
    return tuple((str(k), str(v)) for k, v in value.items())


TRACE_BACKENDS = ("xray", "otel", "auto")


def parse_trace_backend(value: Any, source: str) -> str:
    text = str(value).strip().lower()
    if text not in TRACE_BACKENDS:
        raise ConfigError(f"{source}={value!r} is not one of {', '.join(TRACE_BACKENDS)}")
    return text


def parse_trace_parent(value: Any, source: str) -> str:
    text = str(value).strip().lower()
    if text not in ("xray", "w3c"):
        raise ConfigError(f"{source}={value!r} is not xray or w3c")
    return text


_ARCHITECTURES = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "arm64", "aarch64": "arm64"}


def parse_architecture(value: Any, source: str) -> str:
    """Lambda bills by architecture; default to the machine we run on."""
    if value is None:
        import platform

        return _ARCHITECTURES.get(platform.machine().lower(), "x86_64")
    arch = _ARCHITECTURES.get(str(value).strip().lower())
    if arch is None:
        raise ConfigError(f"{source}={value!r} is not x86_64 or arm64")
    return arch
