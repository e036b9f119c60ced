"""Process-wide settings, read from the environment only: the parameter cache's and redaction's.

They are not per-handler options (``_config.OPTIONS``): the cache and the masked set
are one per process. Read where they are used, but checked when a handler is
decorated (:func:`check_environment`), so a bad value fails the deployment's first
import with a ``ConfigError`` naming the variable instead of the first
``params.get`` some invocation later. docs/parameters.md's settings table is
checked against :data:`SETTINGS` (tests/test_settings.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from lambdaops._parse import bounded, bounded_number, parse_bool


class Setting:
    """One environment variable: its parser (which names it when it refuses), default, doc.

    A slotted class, not a NamedTuple: ``typing.NamedTuple`` costs ~0.2 ms of import.
    """

    __slots__ = ("default", "doc", "name", "parse", "shown")

    def __init__(
        self, name: str, parse: Callable[[str, str], Any], default: Any, shown: str, doc: str
    ) -> None:
        self.name = name
        self.parse = parse
        self.default = default
        self.shown = shown
        self.doc = doc


#: Every process-wide setting; an empty variable counts as unset.
SETTINGS: tuple[Setting, ...] = (
    Setting(
        "LAMBDAOPS_PARAMS_MAX_AGE", bounded_number(0, 366 * 86400), 300.0, "`300`",
        "default `max_age`, seconds",
    ),
    Setting(
        "LAMBDAOPS_PARAMS_TIMEOUT", bounded_number(0.05, 60), 2.0, "`2`",
        "read timeout of one attempt, seconds",
    ),
    Setting(
        "LAMBDAOPS_PARAMS_MAX_ATTEMPTS", bounded(1, 10), 2, "`2`",
        "attempts per fetch, retries included",
    ),
    Setting(
        "LAMBDAOPS_PARAMS_WAIT", bounded_number(0, 60), 1.0, "`1`",
        "longest a call waits for a refresh when it could serve a stale value",
    ),
    Setting(
        "LAMBDAOPS_PARAMS_BACKOFF", bounded_number(0, 3600), 1.0, "`1`",
        "first retry delay after a failure, seconds (doubles, ×0.5–1 jitter)",
    ),
    Setting(
        "LAMBDAOPS_PARAMS_BACKOFF_MAX", bounded_number(0, 86400), 60.0, "`60`",
        "longest retry delay",
    ),
    Setting(
        "LAMBDAOPS_REDACT_MIN_LENGTH", bounded(1, 1024), 6, "`6`",
        "shorter secret values are not redacted",
    ),
    Setting(
        "LAMBDAOPS_REDACT_STREAMS",
        lambda raw, source: parse_bool(raw, source),
        True,
        "`true`",
        "wrap stdout/stderr and logging in redaction once a secret is loaded",
    ),
)  # fmt: skip

_BY_NAME = {setting.name: setting for setting in SETTINGS}


def setting(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The variable's value, parsed, or its default; ``ConfigError`` names a bad one."""
    spec = _BY_NAME[name]
    raw = (os.environ if environ is None else environ).get(name)
    if raw is None or raw.strip() == "":
        return spec.default
    return spec.parse(raw, f"environment variable {name}")


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Parse every setting now: the first bad one raises ``ConfigError`` naming it."""
    for spec in SETTINGS:
        setting(spec.name, environ)
