"""The process-wide cache: single-flight loads, jittered expiry, stale-on-error with backoff.

A fetch runs on a short-lived thread (``_launch``) so a caller can stop waiting; the boto3
side (``_aws``) is imported by the first fetch. docs/architecture.md ("Parameters") has the
design, docs/parameters.md the behaviour a user sees.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lambdaops._logger import log
from lambdaops._metrics import metrics
from lambdaops._params._errors import NotFound, ParameterError, StillRunning, describe, failure
from lambdaops._params._values import (
    Entry,
    Flight,
    Key,
    RawKey,
    Value,
    check_max_age,
    check_name,
    check_transform,
)
from lambdaops._scope import current_invocation
from lambdaops._settings import setting

if TYPE_CHECKING:
    from lambdaops._params._aws import Aws

#: Longest a call waits for a fetch when nothing is cached and there is no deadline.
_WAIT_CAP_S = 60.0
#: Time left to the handler when a fetch with nothing cached is given up.
_DEADLINE_MARGIN_S = 0.2
#: Cached keys before the least recently fetched quarter is dropped (names read
#: per tenant or per request must not grow the process without bound).
_MAX_ENTRIES = 2048

#: Monotonic clock for ages and backoff; tests replace it.
_clock: Callable[[], float] = time.monotonic


class Settings:
    """The ``LAMBDAOPS_PARAMS_*`` variables (``lambdaops._settings``), read on first use."""

    __slots__ = ("backoff", "backoff_max", "max_age", "max_attempts", "timeout", "wait")

    def __init__(self) -> None:
        self.max_age: float = setting("LAMBDAOPS_PARAMS_MAX_AGE")
        self.timeout: float = setting("LAMBDAOPS_PARAMS_TIMEOUT")
        self.max_attempts: int = setting("LAMBDAOPS_PARAMS_MAX_ATTEMPTS")
        self.wait: float = setting("LAMBDAOPS_PARAMS_WAIT")
        self.backoff: float = setting("LAMBDAOPS_PARAMS_BACKOFF")
        self.backoff_max: float = setting("LAMBDAOPS_PARAMS_BACKOFF_MAX")


def _remaining_s() -> float | None:
    """Seconds left in the current invocation, if there is one with a context."""
    inv = current_invocation()
    remaining = getattr(inv.context, "get_remaining_time_in_millis", None) if inv else None
    if remaining is None:
        return None
    try:
        return float(remaining()) / 1000.0
    except Exception:
        return None


class Cache:
    """Values by ``Key``, each fetched by one call at a time; ``Parameters`` adds the API."""

    def __init__(self) -> None:
        self._entries: dict[RawKey, Entry] = {}
        self._lock = threading.Lock()
        self._settings: Settings | None = None
        #: ``LAMBDAOPS_PARAMS_MAX_AGE``, kept apart for the cached read.
        self._max_age = 300.0
        #: The boto3 side, made by the first fetch.
        self._aws: Aws | None = None

    def _read(
        self,
        kind: str,
        name: str,
        decrypt: bool,
        max_age: float | None,
        transform: str | None,
        force: bool,
    ) -> Any:
        """One value: a fresh cached one at once, else a (single-flight) load."""
        if not force:
            entry = self._entries.get((kind, name, decrypt, False))
            data = entry.data if entry is not None else None
            if (
                data is not None
                and max_age.__class__ is not bool  # refused by check_max_age, cached or not
                and _clock() - data.fetched_at
                < (self._max_age if max_age is None else max_age) * data.factor
            ):
                return data.raw if transform is None else data.view(transform, name)
        check_name(name)
        check_transform(transform)
        key = Key(kind, name, decrypt)
        return self._load([key], max_age, force)[key].view(transform, name)

    def clear(self) -> None:
        """Drop every cached value (the next read fetches); their secrets stay masked for
        ``_redact.RETAIN_S``."""
        with self._lock:
            self._drop_all()

    def reset(self) -> None:
        """Drop values, clients and settings: the environment is read again (tests)."""
        with self._lock:
            self._drop_all()
            self._settings = None
            self._max_age = 300.0
            self._aws = None

    def _ensure_settings(self) -> Settings:
        settings = self._settings
        if settings is None:
            settings = Settings()
            self._settings = settings
            self._max_age = settings.max_age
        return settings

    def _fetcher(self) -> Aws:
        """The boto3 side, imported and made on the first fetch (with the settings then)."""
        aws = self._aws
        if aws is None:
            from lambdaops._params._aws import Aws

            settings = self._ensure_settings()
            with self._lock:
                aws = self._aws
                if aws is None:
                    aws = self._aws = Aws(settings.timeout, settings.max_attempts)
        return aws

    def _load(self, keys: list[Key], max_age: float | None, force: bool) -> dict[Key, Value]:
        """Values for ``keys``: cached, joined, fetched or stale; raises ParameterError."""
        values, failures = self._load_partial(keys, max_age, force)
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
        self, keys: list[Key], max_age: float | None, force: bool
    ) -> tuple[dict[Key, Value], dict[Key, ParameterError]]:
        """The values that could be had, and a ParameterError for each key that could not."""
        check_max_age(max_age)
        settings = self._ensure_settings()
        limit = settings.max_age if max_age is None else float(max_age)
        now = _clock()
        values: dict[Key, Value] = {}
        waits: dict[Key, Flight | None] = {}
        fetch: list[Key] = []
        flight: Flight | None = None
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is None:
                    if len(self._entries) >= _MAX_ENTRIES:
                        self._evict(keep=keys)
                    entry = self._entries[key] = Entry()
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
                flight = Flight()
                for key in fetch:
                    self._entries[key].flight = flight
                    waits[key] = flight
            if not waits:
                return values, {}
            stale_ok = all(self._entries[k].data is not None for k in waits)
            degraded = any(self._entries[k].warned or self._entries[k].failures for k in waits)
        if flight is not None:
            self._launch(flight, fetch, settings)
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
            data = self._entries.pop(key).data
            if data is not None:
                data.release()

    def _drop_all(self) -> None:
        """Empty the cache, giving back each value's secrets (lock held)."""
        for entry in self._entries.values():
            if entry.data is not None:
                entry.data.release()
        self._entries.clear()

    def _budget(self, settings: Settings, stale_ok: bool, degraded: bool) -> float:
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
        self, values: dict[Key, Value], waits: dict[Key, Flight | None], budget: float
    ) -> tuple[dict[Key, Value], dict[Key, ParameterError]]:
        """After the wait: each key's value, stale value (counted, warned once) or error."""
        now = _clock()
        failures: dict[Key, ParameterError] = {}
        #: (key, age, retry in, error, first of its episode) of each stale value served
        stale: list[tuple[Key, float, float, BaseException, bool]] = []
        with self._lock:
            for key, flight in waits.items():
                entry = self._entries.get(key) or Entry()
                if flight is not None and flight.done.is_set():
                    error = flight.errors.get(key)
                    if error is None and entry.data is not None:
                        values[key] = entry.data
                        continue
                elif flight is not None:
                    last = f"; last attempt: {flight.last_error}" if flight.last_error else ""
                    error = StillRunning(f"refresh still running after {budget:.2f}s{last}")
                else:
                    error = entry.error
                error = error or RuntimeError("no value")
                data = entry.data
                if data is not None and not isinstance(error, NotFound):
                    values[key] = data
                    retry = max(0.0, entry.retry_at - now)
                    stale.append((key, now - data.fetched_at, retry, error, not entry.warned))
                    entry.warned = True
                else:
                    aws = self._aws
                    failures[key] = failure(key, error, aws.region(key.kind) if aws else None)
        for key, age, retry, error, first in stale:
            try:
                metrics.add("ParameterStaleServed", 1)
            except Exception:  # counting must not fail the read it counts
                pass
            if first:
                log.warning(
                    "parameter refresh failed; serving the cached value",
                    parameter=key.name,
                    source="secretsmanager" if key.kind == "secret" else "ssm",
                    error=describe(error),
                    age_s=round(age, 3),
                    retry_in_s=round(retry, 3),
                )
        return values, failures

    def _launch(self, flight: Flight, keys: list[Key], settings: Settings) -> None:
        """Run the fetch on its own thread, in the caller's context (tracing, logs)."""
        context = contextvars.copy_context()
        thread = threading.Thread(
            target=context.run,
            args=(self._fly, flight, keys, settings),
            name="lambdaops-params-fetch",
            daemon=True,
        )
        try:
            thread.start()
        except RuntimeError:  # cannot start a thread (interpreter shutting down, limits)
            self._fly(flight, keys, settings)

    def _fly(self, flight: Flight, keys: list[Key], settings: Settings) -> None:
        """Fetch, then publish each key's value or error; the flight always ends."""
        try:
            results = self._fetcher().fetch(keys, flight, _clock)
        except BaseException as exc:
            results = dict.fromkeys(keys, exc)
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
            log.info("parameter refresh recovered", parameter=key.name, failed_attempts=failures)

    def _publish(
        self,
        flight: Flight,
        keys: list[Key],
        results: dict[Key, Any],
        settings: Settings,
        recovered: list[tuple[Key, int]],
    ) -> None:
        """Store each key's value, or its error and next retry time (lock held)."""
        import random  # loaded with boto3 by then; importing lambdaops._params skips its ~0.6 ms

        now = _clock()
        for key, result in results.items():
            entry = self._entries.get(key)
            if key not in keys:  # extra values a by-path read found
                if entry is None and len(self._entries) >= _MAX_ENTRIES:
                    continue
                if isinstance(result, Value) and (entry is None or entry.flight is None):
                    if entry is None:
                        entry = self._entries[key] = Entry()
                    _replace(entry, result)
                continue
            if entry is None:
                entry = self._entries[key] = Entry()
            if isinstance(result, Value):
                if entry.warned:
                    recovered.append((key, entry.failures))
                _replace(entry, result)
                entry.failures = 0
                entry.retry_at = 0.0
                entry.error = None
                entry.warned = False
                continue
            flight.errors[key] = result
            if isinstance(result, NotFound):
                _replace(entry, None)  # deleted: do not serve it any longer
                entry.warned = False
            entry.failures += 1
            entry.error = result
            delay = min(settings.backoff_max, settings.backoff * 2 ** (entry.failures - 1))
            entry.retry_at = now + delay * random.uniform(0.5, 1.0)
        for key in keys:
            if key not in results:
                flight.errors[key] = NotFound(key.name)


def _replace(entry: Entry, data: Value | None) -> None:
    """Store ``data``; the value it replaces gives its secrets back (lock held)."""
    old, entry.data = entry.data, data
    if old is not None and old is not data:
        old.release()
