"""What can go wrong in a read: the errors, and their text (which never holds a value)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdaops._errors import LambdaopsError

if TYPE_CHECKING:
    from lambdaops._params._values import Key

#: The error codes that say a name does not exist (Parameter Store's and Secrets Manager's).
NOT_FOUND = frozenset(
    {"ParameterNotFound", "ParameterVersionNotFound", "ResourceNotFoundException"}
)

#: How an error message names what it could not load, by ``Key.kind``.
KIND_WORD = {"ssm": "parameter", "secret": "secret", "path": "parameter path"}


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


class NotFound(Exception):
    """The service says the name does not exist (internal marker)."""


class StillRunning(TimeoutError):
    """The caller stopped waiting for a fetch that is still in progress."""


class ServiceError:
    """The ``Error`` member of a botocore response: what the service said went wrong."""

    __slots__ = ("code", "message")  # a plain class: a NamedTuple costs ~0.1 ms to define

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.message else self.code


def service_error(response: object) -> ServiceError | None:
    """The service's error in a parsed botocore response (``exc.response``), if it has one.

    The one place the error code is read, and without importing botocore.
    """
    if not isinstance(response, dict):
        return None
    error = response.get("Error")
    if not isinstance(error, dict) or not error.get("Code"):
        return None
    return ServiceError(str(error["Code"]), str(error.get("Message") or ""))


def call_failed(exc: Exception, name: str) -> BaseException:
    """What a failed call means for ``name``: ``NotFound`` if the service says so, else ``exc``."""
    error = service_error(getattr(exc, "response", None))
    return NotFound(name) if error is not None and error.code in NOT_FOUND else exc


def describe(exc: BaseException) -> str:
    """One line on what went wrong, at most 300 characters (some services' messages are long)."""
    if isinstance(exc, StillRunning):
        text = str(exc)
    else:
        error = service_error(getattr(exc, "response", None))
        text = f"{type(exc).__name__}: {exc}" if error is None else str(error)
    return text if len(text) <= 300 else text[:300] + "…"


def failure(key: Key, error: BaseException, region: str | None) -> ParameterError:
    """The ``ParameterError`` a caller gets for ``key`` when nothing cached can be served."""
    word, name = KIND_WORD[key.kind], key.name
    if isinstance(error, NotFound):
        where = f" in region {region}" if region else ""
        return ParameterError(
            f"{word} {name!r} does not exist{where}", name=name, reason="not_found"
        )
    if isinstance(error, StillRunning):
        out = ParameterError(
            f"{word} {name!r} could not be loaded in time and nothing is cached ({error})",
            name=name,
            reason="timeout",
        )
    else:
        out = ParameterError(
            f"{word} {name!r} could not be loaded and nothing is cached: {describe(error)}",
            name=name,
            reason="unavailable",
        )
    out.__cause__ = error
    return out
