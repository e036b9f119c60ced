"""What the cache holds (keys, values, fetches in flight) and the argument checks."""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

from lambdaops import _redact
from lambdaops._params._errors import ParameterError

#: The transforms a read may ask for.
TRANSFORMS = ("json", "binary", "auto")
#: Cached values expire up to this fraction early, spreading refreshes out.
JITTER = 0.1


class Key(NamedTuple):
    """What one cache entry holds: a parameter (``ssm``), a ``secret`` or a ``path`` read."""

    kind: str
    #: The parameter name, secret id or path.
    name: str
    decrypt: bool
    #: Path reads only.
    recursive: bool = False


#: A plain tuple equal to a ``Key`` finds its entry (the cached read builds no NamedTuple).
RawKey = tuple[str, str, bool, bool]


class Value:
    """One fetched value; replaced whole on refresh, so readers need no lock."""

    __slots__ = ("factor", "fetched_at", "leases", "raw", "secure", "views")

    def __init__(
        self,
        raw: Any,
        fetched_at: float,
        secure: frozenset[str],
        factor: float,
        lease: _redact.Lease = (),
    ) -> None:
        self.raw = raw
        self.fetched_at = fetched_at
        #: In (1 - JITTER, 1]: this value's share of ``max_age``.
        self.factor = factor
        #: Names whose values are secrets (their transformed forms are registered too).
        self.secure = secure
        self.views: dict[str, Any] = {}
        #: What this value registered for masking, given back when the cache drops it.
        self.leases: list[_redact.Lease] = [lease] if lease else []

    def view(self, transform: str | None, name: str) -> Any:
        """The value as ``transform`` makes it, computed once per transform."""
        if transform is None:
            return self.raw
        try:
            return self.views[transform]
        except KeyError:
            pass
        check_transform(transform)
        if isinstance(self.raw, dict):
            out: Any = {n: self._one(v, transform, n) for n, v in self.raw.items()}
        else:
            out = self._one(self.raw, transform, name)
        self.views[transform] = out
        return out

    def _one(self, value: Any, transform: str, name: str) -> Any:
        result = apply_transform(value, transform, name)
        if name in self.secure and result is not value:
            self.leases.append(_redact.register_secret(result))
        return result

    def release(self) -> None:
        """The cache dropped this value: its secrets leave the mask after a while."""
        leases, self.leases = self.leases, []
        for lease in leases:
            _redact.release(lease)


class Flight:
    """One fetch in progress; callers wanting any of its keys wait on ``done``."""

    __slots__ = ("done", "errors", "last_error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.errors: dict[Key, BaseException] = {}
        #: What the last failed attempt said, for a caller that stops waiting mid-retry.
        self.last_error: str | None = None


class Entry:
    """The cache slot of one key: its value and its failure episode."""

    __slots__ = ("data", "error", "failures", "flight", "retry_at", "warned")

    def __init__(self) -> None:
        self.data: Value | None = None
        self.flight: Flight | None = None
        self.failures = 0
        self.retry_at = 0.0
        self.error: BaseException | None = None
        #: A stale value was served (and the warning logged) in the current episode.
        self.warned = False


def apply_transform(value: Any, transform: str, name: str) -> Any:
    """Apply ``json``/``binary``/``auto``; a failure names the parameter, never the value."""
    if transform == "auto":
        if name.endswith(".json"):
            transform = "json"
        elif name.endswith(".binary"):
            transform = "binary"
        else:
            return value
    if transform == "json":
        import json

        try:
            return json.loads(value)
        except (TypeError, ValueError):
            # from None: a JSONDecodeError carries the whole document in .doc
            raise ParameterError(
                f"{name!r} is not valid JSON (transform='json')", name=name, reason="transform"
            ) from None
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)  # SecretBinary: boto3 has decoded the base64 already
    import base64
    import binascii

    try:
        return base64.b64decode(value, validate=True)
    except (TypeError, ValueError, binascii.Error):
        raise ParameterError(
            f"{name!r} is not valid base64 (transform='binary')", name=name, reason="transform"
        ) from None


# -- argument checks: ValueError here; @instrument(params=...) reports them as ConfigError --


def check_transform(transform: object) -> None:
    if transform is not None and transform not in TRANSFORMS:
        raise ValueError(f"transform must be 'json', 'binary', 'auto' or None, not {transform!r}")


def check_max_age(max_age: object) -> None:
    """Seconds >= 0, or None; a bool is refused (``max_age=True`` is a slip, not one second)."""
    if max_age is not None and (
        isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or max_age < 0
    ):
        raise ValueError(f"max_age must be a number of seconds >= 0, not {max_age!r}")


def check_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a parameter or secret name must be a non-empty string, not {name!r}")


def check_path(path: object) -> None:
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"path must be a string starting with '/', not {path!r}")
