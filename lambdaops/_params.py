"""Parameter Store and Secrets Manager values, cached across warm invocations.

``from lambdaops import params``: ``params.get``, ``get_many``, ``get_by_path``
and ``secret`` read through one process-wide cache, because a read per
invocation is slow, costly and throttled (GetParameter allows 40 TPS per
account and region by default). The design, in short:

* a cached value is served while younger than ``max_age`` times a per-fetch
  jitter factor in (0.9, 1], so environments started together do not refresh
  in lockstep;
* at most one fetch per name is in flight: concurrent callers join it;
* a fetch runs on a short-lived thread so the caller can stop waiting — after
  ``LAMBDAOPS_PARAMS_WAIT`` seconds when a stale value can be served, before
  the invocation's deadline otherwise — and a hanging endpoint cannot eat the
  function's timeout;
* when a refresh fails and a value is cached, the stale value is served, one
  warning is logged per failure episode (never the value), a metric counts
  each stale serve, and retries back off exponentially;
* decrypted SecureStrings and secrets are registered with
  :mod:`lambdaops._redact` before anyone can read them.

Importing this module costs no boto3: the clients are created on the first
fetch, once, with short timeouts and bounded retries.
"""

from __future__ import annotations

import contextvars
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from lambdaops import _redact
from lambdaops._config import Config
from lambdaops._errors import ConfigError, LambdaopsError

__all__ = ["Injected", "ParameterError", "Parameters", "ParamsSignal", "params"]

#: GetParameters takes at most 10 names; GetParametersByPath returns at most 10 a page.
_BATCH = 10
#: Cached values expire up to this fraction early, spreading refreshes out.
_JITTER = 0.1
#: Longest a call waits for a fetch when nothing is cached and there is no deadline.
_WAIT_CAP_S = 60.0
#: Time left to the handler when a fetch with nothing cached is given up.
_DEADLINE_MARGIN_S = 0.2
#: Cached keys before the least recently fetched quarter is dropped (names read
#: per tenant or per request must not grow the process without bound).
_MAX_ENTRIES = 2048
_TRANSFORMS = ("json", "binary", "auto")
_NOT_FOUND = frozenset(
    {"ParameterNotFound", "ParameterVersionNotFound", "ResourceNotFoundException"}
)

#: Monotonic clock for ages and backoff; tests replace it.
_clock: Callable[[], float] = time.monotonic

Key = tuple[Any, ...]


class ParameterError(LambdaopsError):
    """A parameter or secret could not be loaded and no cached value could be served.

    ``name`` is the parameter, path or secret id; ``reason`` is ``"not_found"``,
    ``"unavailable"``, ``"timeout"`` or ``"transform"``. The message never
    contains a value.
    """

    def __init__(self, message: str, *, name: str = "", reason: str = "unavailable") -> None:
        super().__init__(message)
        self.name = name
        self.reason = reason


class _NotFound(Exception):
    """The service says the name does not exist (internal marker)."""


class _StillRunning(TimeoutError):
    """The caller stopped waiting for a fetch that is still in progress."""


# -- settings -----------------------------------------------------------------------


def _env_number(name: str, default: float, low: float, high: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ConfigError(f"environment variable {name}={raw!r} must be between {low} and {high}")
    return value


class _Settings:
    """The ``LAMBDAOPS_PARAMS_*`` variables, read on first use."""

    __slots__ = ("backoff", "backoff_max", "max_age", "max_attempts", "timeout", "wait")

    def __init__(self) -> None:
        self.max_age = _env_number("LAMBDAOPS_PARAMS_MAX_AGE", 300.0, 0.0, 366 * 86400.0)
        self.timeout = _env_number("LAMBDAOPS_PARAMS_TIMEOUT", 2.0, 0.05, 60.0)
        self.max_attempts = int(_env_number("LAMBDAOPS_PARAMS_MAX_ATTEMPTS", 2, 1, 10))
        self.wait = _env_number("LAMBDAOPS_PARAMS_WAIT", 1.0, 0.0, 60.0)
        self.backoff = _env_number("LAMBDAOPS_PARAMS_BACKOFF", 1.0, 0.0, 3600.0)
        self.backoff_max = _env_number("LAMBDAOPS_PARAMS_BACKOFF_MAX", 60.0, 0.0, 86400.0)


# -- cache records ------------------------------------------------------------------


class _Value:
    """One fetched value; replaced whole on refresh, so readers need no lock."""

    __slots__ = ("factor", "fetched_at", "raw", "secure", "views")

    def __init__(self, raw: Any, fetched_at: float, secure: frozenset[str]) -> None:
        self.raw = raw
        self.fetched_at = fetched_at
        self.factor = 1.0 - _JITTER * random.random()
        #: Names whose values are secrets (their transformed forms are registered too).
        self.secure = secure
        self.views: dict[str, Any] = {}

    def view(self, transform: str | None, name: str) -> Any:
        """The value as ``transform`` makes it, computed once per transform."""
        if transform is None:
            return self.raw
        try:
            return self.views[transform]
        except KeyError:
            pass
        if transform not in _TRANSFORMS:
            raise ValueError(
                f"transform must be 'json', 'binary', 'auto' or None, not {transform!r}"
            )
        if isinstance(self.raw, dict):
            out: Any = {n: self._one(v, transform, n) for n, v in self.raw.items()}
        else:
            out = self._one(self.raw, transform, name)
        self.views[transform] = out
        return out

    def _one(self, value: Any, transform: str, name: str) -> Any:
        result = _transform(value, transform, name)
        if name in self.secure and result is not value:
            _redact.register_secret(result)
        return result


class _Flight:
    """One fetch in progress; callers wanting any of its keys wait on ``done``."""

    __slots__ = ("done", "errors", "last_error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.errors: dict[Key, BaseException] = {}
        #: What the last failed attempt said, for a caller that stops waiting mid-retry.
        self.last_error: str | None = None


#: The flight the current fetch thread works for (read by the botocore retry hook).
_attempt = threading.local()


def _note_attempt(response: Any = None, caught_exception: Any = None, **_: Any) -> None:
    """botocore ``needs-retry`` hook: remember why an attempt failed; never decides."""
    flight = getattr(_attempt, "flight", None)
    if flight is None:
        return
    if caught_exception is not None:
        flight.last_error = _describe(caught_exception)
    elif isinstance(response, tuple) and len(response) > 1 and isinstance(response[1], dict):
        error = response[1].get("Error") or {}
        if error.get("Code"):
            flight.last_error = f"{error['Code']}: {error.get('Message') or ''}".rstrip(": ")


class _Entry:
    """The cache slot of one key: its value and its failure episode."""

    __slots__ = ("data", "error", "failures", "flight", "retry_at", "warned")

    def __init__(self) -> None:
        self.data: _Value | None = None
        self.flight: _Flight | None = None
        self.failures = 0
        self.retry_at = 0.0
        self.error: BaseException | None = None
        #: A stale value was served (and the warning logged) in the current episode.
        self.warned = False


# -- transforms ---------------------------------------------------------------------


def _transform(value: Any, transform: str, name: str) -> Any:
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


def _check_transform(transform: str | None) -> None:
    if transform is not None and transform not in _TRANSFORMS:
        raise ValueError(f"transform must be 'json', 'binary', 'auto' or None, not {transform!r}")


def _check_max_age(max_age: float | None) -> None:
    if max_age is not None and (not isinstance(max_age, (int, float)) or max_age < 0):
        raise ValueError(f"max_age must be a number of seconds >= 0, not {max_age!r}")


# -- errors as text -----------------------------------------------------------------


def _error_code(exc: BaseException) -> str | None:
    """botocore's error code, without importing botocore."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def _describe(exc: BaseException) -> str:
    code = _error_code(exc)
    if isinstance(exc, _StillRunning):
        text = str(exc)
    elif code:
        message = getattr(exc, "response", {}).get("Error", {}).get("Message") or ""
        text = f"{code}: {message}" if message else code
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:300] + "…"


_KIND_WORD = {"ssm": "parameter", "secret": "secret", "path": "parameter path"}


def _failure(key: Key, error: BaseException, region: str | None) -> ParameterError:
    word, name = _KIND_WORD[key[0]], key[1]
    if isinstance(error, _NotFound):
        where = f" in region {region}" if region else ""
        failure = ParameterError(
            f"{word} {name!r} does not exist{where}", name=name, reason="not_found"
        )
    elif isinstance(error, _StillRunning):
        failure = ParameterError(
            f"{word} {name!r} could not be loaded in time and nothing is cached ({error})",
            name=name,
            reason="timeout",
        )
    else:
        failure = ParameterError(
            f"{word} {name!r} could not be loaded and nothing is cached: {_describe(error)}",
            name=name,
            reason="unavailable",
        )
    if not isinstance(error, _NotFound):
        failure.__cause__ = error
    return failure


# -- side channels (logs, metrics, deadline) ----------------------------------------


def _remaining_s() -> float | None:
    """Seconds left in the current invocation, if there is one with a context."""
    from lambdaops._scope import current_invocation

    inv = current_invocation()
    remaining = getattr(inv.context, "get_remaining_time_in_millis", None) if inv else None
    if remaining is None:
        return None
    try:
        return float(remaining()) / 1000.0
    except Exception:
        return None


def _count_stale_serve() -> None:
    """``ParameterStaleServed`` +1 through lambdaops.metrics, if that exists."""
    try:
        import lambdaops

        metrics = getattr(lambdaops, "metrics", None)
        if metrics is None:
            import importlib

            metrics = importlib.import_module("lambdaops.metrics")
        metrics.add("ParameterStaleServed", 1)
    except Exception:
        pass


def _warn(message: str, **fields: Any) -> None:
    from lambdaops._logger import log

    log.warning(message, **fields)


def _info(message: str, **fields: Any) -> None:
    from lambdaops._logger import log

    log.info(message, **fields)


# -- the cache ----------------------------------------------------------------------

Fetcher = Callable[[list[Key]], dict[Key, Any]]


class Parameters:
    """Cached reads from Parameter Store and Secrets Manager (``lambdaops.params``)."""

    def __init__(self) -> None:
        self._entries: dict[Key, _Entry] = {}
        self._lock = threading.Lock()
        self._settings: _Settings | None = None
        #: ``LAMBDAOPS_PARAMS_MAX_AGE``, kept apart for the fast path.
        self._max_age = 300.0
        self._clients: dict[str, Any] = {}
        self._session: Any = None
        self._client_lock = threading.Lock()

    # -- public API ---------------------------------------------------------------
    def get(
        self,
        name: str,
        *,
        decrypt: bool = False,
        max_age: float | None = None,
        transform: str | None = None,
        force: bool = False,
    ) -> Any:
        """A Parameter Store value (SecureString needs ``decrypt=True``), cached.

        ``transform``: ``"json"``, ``"binary"`` (base64 to bytes) or ``"auto"``
        (by the name's ``.json``/``.binary`` suffix). ``max_age`` defaults to
        ``LAMBDAOPS_PARAMS_MAX_AGE`` (300 s); ``force`` refetches now.
        """
        return self._one(
            ("ssm", name, bool(decrypt)), max_age, transform, force, self._fetch_parameters
        )

    def get_many(
        self,
        names: Iterable[str],
        *,
        decrypt: bool = False,
        max_age: float | None = None,
        transform: str | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        """Several parameters as ``{name: value}``; misses are fetched 10 names a call."""
        wanted = list(dict.fromkeys(names))
        for name in wanted:
            _check_name(name)
        _check_transform(transform)
        keys = [("ssm", name, bool(decrypt)) for name in wanted]
        values = self._load(keys, max_age, force, self._fetch_parameters)
        return {key[1]: values[key].view(transform, key[1]) for key in keys}

    def get_by_path(
        self,
        path: str,
        *,
        recursive: bool = True,
        decrypt: bool = False,
        max_age: float | None = None,
        transform: str | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        """Every parameter under ``path`` as ``{full name: value}``, all pages.

        The parameters found are cached under their own names too, so a later
        ``get(name, decrypt=...)`` costs no call.
        """
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"path must be a string starting with '/', not {path!r}")
        _check_transform(transform)
        key = ("path", path, bool(decrypt), bool(recursive))
        values = self._load([key], max_age, force, self._fetch_path)
        return dict(values[key].view(transform, path))

    def secret(
        self,
        secret_id: str,
        *,
        max_age: float | None = None,
        transform: str | None = None,
        force: bool = False,
    ) -> Any:
        """A Secrets Manager value (SecretString, or SecretBinary as bytes), cached."""
        return self._one(
            ("secret", secret_id, True), max_age, transform, force, self._fetch_secrets
        )

    def _one(
        self,
        key: Key,
        max_age: float | None,
        transform: str | None,
        force: bool,
        fetch: Fetcher,
    ) -> Any:
        """One cached value: the fresh cache entry on the fast path, else a (single-flight) load."""
        name = str(key[1])
        if not force:
            entry = self._entries.get(key)
            data = entry.data if entry is not None else None
            if (
                data is not None
                and _clock() - data.fetched_at
                < (self._max_age if max_age is None else max_age) * data.factor
            ):
                return data.raw if transform is None else data.view(transform, name)
        _check_name(name)
        _check_transform(transform)
        values = self._load([key], max_age, force, fetch)
        return values[key].view(transform, name)

    def injected(self) -> Mapping[str, Any]:
        """The values ``@instrument(params=...)`` loaded for the current invocation."""
        from lambdaops._scope import current_invocation

        inv = current_invocation()
        state = inv.signal_state if inv is not None else None
        found = state.get("params") if state else None
        return found if isinstance(found, Injected) else Injected({}, {})

    def clear(self) -> None:
        """Drop every cached value (the next read fetches); secrets stay registered."""
        with self._lock:
            self._entries.clear()

    def reset(self) -> None:
        """Drop values, clients and settings: the environment is read again (tests)."""
        with self._lock:
            self._entries.clear()
            self._settings = None
            self._max_age = 300.0
        with self._client_lock:
            self._clients.clear()
            self._session = None

    # -- loading ------------------------------------------------------------------
    def _ensure_settings(self) -> _Settings:
        settings = self._settings
        if settings is None:
            settings = _Settings()
            self._settings = settings
            self._max_age = settings.max_age
        return settings

    def _load(
        self, keys: list[Key], max_age: float | None, force: bool, fetcher: Fetcher
    ) -> dict[Key, _Value]:
        """Values for ``keys``: cached, joined, fetched or stale; raises ParameterError."""
        values, failures = self._load_partial(keys, max_age, force, fetcher)
        if failures:
            errors = list(failures.values())
            missing = [e.name for e in errors if e.reason == "not_found"]
            if len(errors) > 1 and len(missing) == len(errors):
                raise ParameterError(
                    f"parameters do not exist: {', '.join(repr(m) for m in missing)}",
                    name=missing[0],
                    reason="not_found",
                )
            raise errors[0]
        return values

    def _load_partial(
        self, keys: list[Key], max_age: float | None, force: bool, fetcher: Fetcher
    ) -> tuple[dict[Key, _Value], dict[Key, ParameterError]]:
        """The values that could be had, and a ParameterError for each key that could not."""
        _check_max_age(max_age)
        settings = self._ensure_settings()
        limit = settings.max_age if max_age is None else float(max_age)
        now = _clock()
        values: dict[Key, _Value] = {}
        waits: dict[Key, _Flight | None] = {}
        fetch: list[Key] = []
        flight: _Flight | None = None
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is None:
                    if len(self._entries) >= _MAX_ENTRIES:
                        self._evict(keep=keys)
                    entry = self._entries[key] = _Entry()
                data = entry.data
                if data is not None and not force and now - data.fetched_at < limit * data.factor:
                    values[key] = data
                elif entry.flight is not None:
                    waits[key] = entry.flight  # single flight: join the fetch in progress
                elif not force and entry.retry_at > now:
                    waits[key] = None  # backing off after a failure: stale or error, no call
                else:
                    fetch.append(key)
            if fetch:
                flight = _Flight()
                for key in fetch:
                    self._entries[key].flight = flight
                    waits[key] = flight
            if not waits:
                return values, {}
            stale_ok = all(self._entries[k].data is not None for k in waits)
            degraded = any(self._entries[k].warned or self._entries[k].failures for k in waits)
        if flight is not None:
            self._launch(flight, fetch, fetcher, settings)
        budget = self._budget(settings, stale_ok, degraded)
        flights = {f for f in waits.values() if f is not None}
        deadline = time.monotonic() + budget
        for pending in flights:
            pending.done.wait(max(0.0, deadline - time.monotonic()))
        return self._collect(values, waits, budget)

    def _evict(self, keep: list[Key]) -> None:
        """Drop the least recently fetched quarter of the idle entries (lock held)."""
        wanted = set(keep)
        idle = [
            (e.data.fetched_at if e.data else float("-inf"), k)
            for k, e in self._entries.items()
            if e.flight is None and k not in wanted
        ]
        idle.sort(key=lambda item: item[0])
        for _, key in idle[: max(1, len(self._entries) // 4)]:
            del self._entries[key]

    def _budget(self, settings: _Settings, stale_ok: bool, degraded: bool) -> float:
        """How long this call waits for a fetch before serving stale or giving up."""
        remaining = _remaining_s()
        if stale_ok:
            if degraded:
                return 0.0  # in a failure episode: serve stale now, retry in the background
            wait = settings.wait
            return wait if remaining is None else min(wait, max(0.0, remaining / 2))
        if remaining is None:
            return _WAIT_CAP_S
        return max(0.0, remaining - _DEADLINE_MARGIN_S)

    def _collect(
        self, values: dict[Key, _Value], waits: dict[Key, _Flight | None], budget: float
    ) -> tuple[dict[Key, _Value], dict[Key, ParameterError]]:
        now = _clock()
        failures: dict[Key, ParameterError] = {}
        stale: list[tuple[Key, float, float, BaseException, bool]] = []
        with self._lock:
            for key, flight in waits.items():
                entry = self._entries.get(key) or _Entry()
                if flight is not None and flight.done.is_set():
                    error = flight.errors.get(key)
                    if error is None and entry.data is not None:
                        values[key] = entry.data
                        continue
                elif flight is not None:
                    last = f"; last attempt: {flight.last_error}" if flight.last_error else ""
                    error = _StillRunning(f"refresh still running after {budget:.2f}s{last}")
                else:
                    error = entry.error
                error = error or RuntimeError("no value")
                data = entry.data
                if data is not None and not isinstance(error, _NotFound):
                    values[key] = data
                    retry = max(0.0, entry.retry_at - now)
                    stale.append((key, now - data.fetched_at, retry, error, not entry.warned))
                    entry.warned = True
                else:
                    failures[key] = _failure(key, error, self._region(key))
        for key, age, retry, error, first in stale:
            _count_stale_serve()
            if first:
                _warn(
                    "parameter refresh failed; serving the cached value",
                    parameter=key[1],
                    source="secretsmanager" if key[0] == "secret" else "ssm",
                    error=_describe(error),
                    age_s=round(age, 3),
                    retry_in_s=round(retry, 3),
                )
        return values, failures

    def _launch(
        self, flight: _Flight, keys: list[Key], fetcher: Fetcher, settings: _Settings
    ) -> None:
        """Run the fetch on its own thread, in the caller's context (tracing, logs)."""
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run,
            args=(self._fly, flight, keys, fetcher, settings),
            name="lambdaops-params-fetch",
            daemon=True,
        )
        try:
            thread.start()
        except RuntimeError:  # cannot start a thread (interpreter shutting down, limits)
            self._fly(flight, keys, fetcher, settings)

    def _fly(self, flight: _Flight, keys: list[Key], fetcher: Fetcher, settings: _Settings) -> None:
        """Fetch, then publish each key's value or error; the flight always ends."""
        _attempt.flight = flight
        try:
            results = fetcher(keys)
        except BaseException as exc:
            results = dict.fromkeys(keys, exc)
        finally:
            _attempt.flight = None
        recovered: list[tuple[Key, int]] = []
        try:
            with self._lock:
                self._publish(flight, keys, results, settings, recovered)
        finally:
            with self._lock:
                for key in keys:
                    entry = self._entries.get(key)
                    if entry is not None and entry.flight is flight:
                        entry.flight = None
            flight.done.set()
        for key, failures in recovered:
            _info("parameter refresh recovered", parameter=key[1], failed_attempts=failures)

    def _publish(
        self,
        flight: _Flight,
        keys: list[Key],
        results: dict[Key, Any],
        settings: _Settings,
        recovered: list[tuple[Key, int]],
    ) -> None:
        """Store each key's value, or its error and next retry time (lock held)."""
        now = _clock()
        for key, result in results.items():
            entry = self._entries.get(key)
            if key not in keys:  # extra values a by-path read found
                if entry is None and len(self._entries) >= _MAX_ENTRIES:
                    continue
                if isinstance(result, _Value) and (entry is None or entry.flight is None):
                    if entry is None:
                        entry = self._entries[key] = _Entry()
                    entry.data = result
                continue
            if entry is None:
                entry = self._entries[key] = _Entry()
            if isinstance(result, _Value):
                if entry.warned:
                    recovered.append((key, entry.failures))
                entry.data = result
                entry.failures = 0
                entry.retry_at = 0.0
                entry.error = None
                entry.warned = False
                continue
            flight.errors[key] = result
            if isinstance(result, _NotFound):
                entry.data = None  # deleted: do not serve it any longer
                entry.warned = False
            entry.failures += 1
            entry.error = result
            delay = min(settings.backoff_max, settings.backoff * 2 ** (entry.failures - 1))
            entry.retry_at = now + delay * random.uniform(0.5, 1.0)
        for key in keys:
            if key not in results:
                flight.errors[key] = _NotFound(key[1])

    # -- AWS calls (run on the fetch thread) -------------------------------------
    def _client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is not None:
            return client
        with self._client_lock:
            client = self._clients.get(service)
            if client is None:
                import boto3
                from botocore.config import Config as BotoConfig

                settings = self._ensure_settings()
                if self._session is None:
                    self._session = boto3.session.Session()
                config = BotoConfig(
                    connect_timeout=min(1.0, settings.timeout),
                    read_timeout=settings.timeout,
                    retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
                    user_agent_extra="lambdaops",
                )
                client = self._session.client(service, config=config)
                client.meta.events.register("needs-retry", _note_attempt)
                self._clients[service] = client
        return client

    def _region(self, key: Key) -> str | None:
        service = "secretsmanager" if key[0] == "secret" else "ssm"
        client = self._clients.get(service)
        return getattr(getattr(client, "meta", None), "region_name", None)

    def _fetch_parameters(self, keys: list[Key]) -> dict[Key, Any]:
        client = self._client("ssm")
        decrypt = keys[0][2]
        out: dict[Key, Any] = {}
        if len(keys) == 1:
            (key,) = keys
            started = _clock()
            try:
                response = client.get_parameter(Name=key[1], WithDecryption=decrypt)
            except Exception as exc:
                out[key] = _NotFound(key[1]) if _error_code(exc) in _NOT_FOUND else exc
                return out
            out[key] = _parameter_value(response["Parameter"], decrypt, started)
            return out
        for at in range(0, len(keys), _BATCH):
            chunk = keys[at : at + _BATCH]
            started = _clock()
            try:
                response = client.get_parameters(
                    Names=[key[1] for key in chunk], WithDecryption=decrypt
                )
            except Exception as exc:
                for key in keys[at:]:  # the service is failing: do not hammer it
                    out[key] = exc
                break
            found: dict[str, dict[str, Any]] = {}
            for item in response.get("Parameters", ()):
                found[str(item["Name"]) + str(item.get("Selector") or "")] = item
                if item.get("ARN"):
                    found[str(item["ARN"])] = item
            for key in chunk:
                item = found.get(key[1])
                out[key] = (
                    _NotFound(key[1]) if item is None else _parameter_value(item, decrypt, started)
                )
        return out

    def _fetch_path(self, keys: list[Key]) -> dict[Key, Any]:
        (key,) = keys
        _, path, decrypt, recursive = key
        client = self._client("ssm")
        started = _clock()
        raw: dict[str, str] = {}
        secure: set[str] = set()
        out: dict[Key, Any] = {}
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "Path": path,
                "Recursive": recursive,
                "WithDecryption": decrypt,
                "MaxResults": _BATCH,
            }
            if token:
                request["NextToken"] = token
            response = client.get_parameters_by_path(**request)
            for item in response.get("Parameters", ()):
                name = str(item["Name"])
                value = _parameter_value(item, decrypt, started)
                raw[name] = value.raw
                secure |= value.secure
                out[("ssm", name, decrypt)] = value
            token = response.get("NextToken")
            if not token:
                break
        out[key] = _Value(raw, started, frozenset(secure))
        return out

    def _fetch_secrets(self, keys: list[Key]) -> dict[Key, Any]:
        client = self._client("secretsmanager")
        out: dict[Key, Any] = {}
        for key in keys:
            started = _clock()
            try:
                response = client.get_secret_value(SecretId=key[1])
            except Exception as exc:
                out[key] = _NotFound(key[1]) if _error_code(exc) in _NOT_FOUND else exc
                continue
            if response.get("SecretString") is not None:
                value: Any = response["SecretString"]
            else:
                value = bytes(response.get("SecretBinary") or b"")
            _redact.register_secret(value)  # before anyone can read it
            out[key] = _Value(value, started, frozenset({key[1]}))
        return out


def _parameter_value(item: Mapping[str, Any], decrypt: bool, started: float) -> _Value:
    """A GetParameter(s) item as a cache value; decrypted SecureStrings are registered."""
    value = item.get("Value", "")
    name = str(item.get("Name", ""))
    if decrypt and item.get("Type") == "SecureString":
        _redact.register_secret(value)
        return _Value(value, started, frozenset({name}))
    return _Value(value, started, frozenset())


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(f"a parameter or secret name must be a non-empty string, not {name!r}")


#: The process-wide instance: ``from lambdaops import params``.
params = Parameters()


# -- declarative injection ------------------------------------------------------------


class _Spec:
    """One ``@instrument(params=...)`` entry, validated at decoration time."""

    __slots__ = ("decrypt", "kind", "max_age", "recursive", "target", "transform")

    def __init__(
        self,
        kind: str,
        target: str,
        *,
        decrypt: bool = True,
        transform: str | None = "auto",
        max_age: float | None = None,
        recursive: bool = True,
    ) -> None:
        self.kind = kind  # "ssm", "secret" or "path"
        self.target = target
        self.decrypt = decrypt
        self.transform = transform
        self.max_age = max_age
        self.recursive = recursive

    def __repr__(self) -> str:
        return f"<param {self.kind}:{self.target}>"


_SPEC_KEYS = frozenset(
    {"name", "parameter", "secret", "path", "decrypt", "transform", "max_age", "recursive"}
)


_PREFIXES = (("secret:", "secret"), ("secretsmanager:", "secret"), ("ssm:", "ssm"))


def parse_spec(key: str, spec: Any) -> _Spec:
    """``"/ssm/name"``, ``"secret:id"``, a Secrets Manager ARN, or a dict; ConfigError else."""
    where = f"argument params[{key!r}]"
    if not isinstance(key, str) or not key:
        raise ConfigError(f"argument params: key {key!r} must be a non-empty string")
    if isinstance(spec, str):
        text = spec.strip()
        kind = "secret" if text.startswith("arn:") and ":secretsmanager:" in text else "ssm"
        target = text
        for prefix, prefix_kind in _PREFIXES:
            if text.startswith(prefix):
                kind, target = prefix_kind, text[len(prefix) :].strip()
                break
        if not target:
            raise ConfigError(f"{where}={spec!r} names no parameter or secret")
        return _Spec(kind, target)
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}={spec!r} must be a parameter name, 'secret:<id>', or a dict")
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"known: {', '.join(sorted(_SPEC_KEYS))}"
        )
    targets = [k for k in ("name", "parameter", "secret", "path") if spec.get(k)]
    if len(targets) != 1:
        raise ConfigError(f"{where} needs exactly one of 'name', 'secret' or 'path'")
    kind = {"name": "ssm", "parameter": "ssm", "secret": "secret", "path": "path"}[targets[0]]
    target = spec[targets[0]]
    if not isinstance(target, str):
        raise ConfigError(f"{where}: {targets[0]}={target!r} must be a string")
    if kind == "path" and not target.startswith("/"):
        raise ConfigError(f"{where}: path={target!r} must start with '/'")
    transform = spec.get("transform", "auto")
    if transform is not None and transform not in _TRANSFORMS:
        raise ConfigError(f"{where}: transform={transform!r} is not json, binary, auto or None")
    max_age = spec.get("max_age")
    if max_age is not None and (
        isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or max_age < 0
    ):
        raise ConfigError(f"{where}: max_age={max_age!r} must be a number of seconds >= 0")
    return _Spec(
        kind,
        target,
        decrypt=bool(spec.get("decrypt", True)),
        transform=transform,
        max_age=max_age,
        recursive=bool(spec.get("recursive", True)),
    )


class Injected(Mapping[str, Any]):
    """The declared values of one invocation: ``context.params["key"]`` or ``.key``.

    A value that could not be loaded raises its :class:`ParameterError` when
    read, so a handler that does not need it is not failed by it. ``repr``
    shows keys only.
    """

    __slots__ = ("_errors", "_values")

    def __init__(self, values: dict[str, Any], errors: dict[str, ParameterError]) -> None:
        self._values = values
        self._errors = errors

    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            error = self._errors.get(key)
            if error is None:
                raise
        raise ParameterError(str(error), name=error.name, reason=error.reason)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(
                f"no parameter {key!r} was declared in @instrument(params=...)"
            ) from None

    def __iter__(self) -> Iterator[str]:
        yield from self._values
        yield from self._errors

    def __len__(self) -> int:
        return len(self._values) + len(self._errors)

    def __contains__(self, key: object) -> bool:
        return key in self._values or key in self._errors

    def __repr__(self) -> str:
        return f"<lambdaops params {sorted(self)}>"


def resolve(specs: Mapping[str, _Spec], store: Parameters | None = None) -> Injected:
    """Load every declared value: Parameter Store names batched, the rest one by one."""
    store = store or params
    values: dict[str, Any] = {}
    errors: dict[str, ParameterError] = {}
    groups: dict[tuple[bool, float | None], list[tuple[str, _Spec]]] = {}
    for key, spec in specs.items():
        if spec.kind == "ssm":
            groups.setdefault((spec.decrypt, spec.max_age), []).append((key, spec))
            continue
        try:
            if spec.kind == "secret":
                values[key] = store.secret(
                    spec.target, max_age=spec.max_age, transform=spec.transform
                )
            else:
                values[key] = store.get_by_path(
                    spec.target,
                    recursive=spec.recursive,
                    decrypt=spec.decrypt,
                    max_age=spec.max_age,
                    transform=spec.transform,
                )
        except ParameterError as exc:
            errors[key] = exc
    for (decrypt, max_age), members in groups.items():
        keys = [("ssm", spec.target, decrypt) for _, spec in members]
        try:
            loaded, failed = store._load_partial(keys, max_age, False, store._fetch_parameters)
        except ParameterError as exc:  # a bad setting: every member fails alike
            loaded, failed = {}, dict.fromkeys(keys, exc)
        for (key, spec), raw_key in zip(members, keys, strict=True):
            try:
                if raw_key in failed:
                    raise failed[raw_key]
                values[key] = loaded[raw_key].view(spec.transform, spec.target)
            except ParameterError as exc:
                errors[key] = exc
    return Injected(values, errors)


class ParamsSignal:
    """Declarative injection: ``@instrument(params={"api_key": "/shop/api-key"})``.

    Before the handler runs, the declared values are loaded through the cache
    and exposed as ``context.params`` (and ``params.injected()`` for code
    without the context). Specs are validated when the handler is decorated.
    """

    name = "params"

    def __init__(self, config: Config) -> None:
        self.specs = {key: parse_spec(key, spec) for key, spec in config.params.items()}

    def start(self, inv: Any) -> None:
        try:
            injected = resolve(self.specs)
        except Exception as exc:  # e.g. a bad LAMBDAOPS_PARAMS_* value: fail on access
            failure = ParameterError(
                f"declared parameters could not be loaded: {type(exc).__name__}: {exc}"
            )
            injected = Injected({}, dict.fromkeys(self.specs, failure))
        if inv.signal_state is None:
            inv.signal_state = {}
        inv.signal_state["params"] = injected
        context = inv.context
        if context is not None:
            try:
                context.params = injected
            except Exception:
                pass  # a context that refuses attributes: params.injected() still works

    finish = None
