"""The boto3 side, loaded by the first fetch: clients with short timeouts, and the four calls.

Everything here runs on a fetch thread (``Cache._fly``); each call's result is a ``Value`` or
the exception for each key, never raised, so one bad name cannot fail the others.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

from lambdaops import _redact
from lambdaops._params._errors import NotFound, call_failed, describe, service_error
from lambdaops._params._values import JITTER, Flight, Key, Value

#: GetParameters takes at most 10 names; GetParametersByPath returns at most 10 a page.
_BATCH = 10

#: The flight the current fetch thread works for (read by the botocore retry hook).
_attempt = threading.local()


def _note_attempt(response: Any = None, caught_exception: Any = None, **_: Any) -> None:
    """botocore ``needs-retry`` hook: remember why an attempt failed; never decides."""
    flight = getattr(_attempt, "flight", None)
    if flight is None:
        return
    if caught_exception is not None:
        flight.last_error = describe(caught_exception)
    elif isinstance(response, tuple) and len(response) > 1:
        error = service_error(response[1])  # (http response, parsed body)
        if error is not None:
            flight.last_error = str(error)


def _value(
    raw: Any, started: float, secure: frozenset[str] = frozenset(), lease: _redact.Lease = ()
) -> Value:
    """A fetched value, its expiry jittered so environments started together refresh apart."""
    return Value(raw, started, secure, 1.0 - JITTER * random.random(), lease)


def _parameter_value(item: Mapping[str, Any], decrypt: bool, started: float) -> Value:
    """A GetParameter(s) item as a cache value; decrypted SecureStrings are registered."""
    value = item.get("Value", "")
    if decrypt and item.get("Type") == "SecureString":
        lease = _redact.register_secret(value)
        return _value(value, started, frozenset({str(item.get("Name", ""))}), lease)
    return _value(value, started)


class Aws:
    """The clients (made once, on first use) and the calls, for one process."""

    def __init__(self, timeout: float, max_attempts: int) -> None:
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._clients: dict[str, Any] = {}
        self._session: Any = None
        self._lock = threading.Lock()

    def fetch(self, keys: list[Key], flight: Flight, clock: Callable[[], float]) -> dict[Key, Any]:
        """Values (or errors) for ``keys``, all of one kind; ``clock`` stamps each value."""
        _attempt.flight = flight
        try:
            kind = keys[0].kind
            if kind == "secret":
                return self._secrets(keys, clock)
            if kind == "path":
                return self._path(keys[0], clock)
            return self._parameters(keys, clock)
        finally:
            _attempt.flight = None

    def client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is not None:
            return client
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                import boto3
                from botocore.config import Config as BotoConfig

                config = BotoConfig(
                    connect_timeout=min(1.0, self._timeout),
                    read_timeout=self._timeout,
                    retries={"mode": "standard", "total_max_attempts": self._max_attempts},
                    user_agent_extra="lambdaops",
                )
                if self._session is None:
                    self._session = boto3.session.Session()
                client = self._session.client(service, config=config)
                client.meta.events.register("needs-retry", _note_attempt)
                self._clients[service] = client
        return client

    def region(self, kind: str) -> str | None:
        """The region a client of ``kind`` was made for, if one was (for error messages)."""
        client = self._clients.get("secretsmanager" if kind == "secret" else "ssm")
        return getattr(getattr(client, "meta", None), "region_name", None)

    def _parameters(self, keys: list[Key], clock: Callable[[], float]) -> dict[Key, Any]:
        client = self.client("ssm")
        decrypt = keys[0].decrypt
        out: dict[Key, Any] = {}
        if len(keys) == 1:
            (key,) = keys
            started = clock()
            try:
                response = client.get_parameter(Name=key.name, WithDecryption=decrypt)
            except Exception as exc:
                out[key] = call_failed(exc, key.name)
                return out
            out[key] = _parameter_value(response["Parameter"], decrypt, started)
            return out
        for at in range(0, len(keys), _BATCH):
            chunk = keys[at : at + _BATCH]
            started = clock()
            try:
                response = client.get_parameters(
                    Names=[key.name for key in chunk], WithDecryption=decrypt
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
                item = found.get(key.name)
                out[key] = (
                    NotFound(key.name) if item is None else _parameter_value(item, decrypt, started)
                )
        return out

    def _path(self, key: Key, clock: Callable[[], float]) -> dict[Key, Any]:
        """Every page of one path; each parameter found is a value under its own key too."""
        client = self.client("ssm")
        started = clock()
        raw: dict[str, str] = {}
        secure: set[str] = set()
        out: dict[Key, Any] = {}
        token: str | None = None
        while True:
            request: dict[str, Any] = {
                "Path": key.name,
                "Recursive": key.recursive,
                "WithDecryption": key.decrypt,
                "MaxResults": _BATCH,
            }
            if token:
                request["NextToken"] = token
            response = client.get_parameters_by_path(**request)
            for item in response.get("Parameters", ()):
                name = str(item["Name"])
                value = _parameter_value(item, key.decrypt, started)
                raw[name] = value.raw
                secure |= value.secure
                out[Key("ssm", name, key.decrypt)] = value
            token = response.get("NextToken")
            if not token:
                break
        # The path's value holds its secrets too: each stays masked while either is cached.
        lease = tuple(v for n in secure if n in raw for v in _redact.register_secret(raw[n]))
        out[key] = _value(raw, started, frozenset(secure), lease)
        return out

    def _secrets(self, keys: list[Key], clock: Callable[[], float]) -> dict[Key, Any]:
        client = self.client("secretsmanager")
        out: dict[Key, Any] = {}
        for key in keys:
            started = clock()
            try:
                response = client.get_secret_value(SecretId=key.name)
            except Exception as exc:
                out[key] = call_failed(exc, key.name)
                continue
            if response.get("SecretString") is not None:
                value: Any = response["SecretString"]
            else:
                value = bytes(response.get("SecretBinary") or b"")
            lease = _redact.register_secret(value)  # before anyone can read it
            out[key] = _value(value, started, frozenset({key.name}), lease)
        return out
