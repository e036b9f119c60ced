"""``lambdaops.params``: the public reads over the cache, and the ``Injected`` mapping."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lambdaops._params._cache import Cache
from lambdaops._params._errors import ParameterError
from lambdaops._params._values import Key, check_name, check_path, check_transform
from lambdaops._scope import current_invocation


class Parameters(Cache):
    """Cached reads from Parameter Store and Secrets Manager (``lambdaops.params``)."""

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
        return self._read("ssm", name, bool(decrypt), max_age, transform, force)

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
            check_name(name)
        check_transform(transform)
        keys = [Key("ssm", name, bool(decrypt)) for name in wanted]
        values = self._load(keys, max_age, force)
        return {key.name: values[key].view(transform, key.name) for key in keys}

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
        check_path(path)
        check_transform(transform)
        key = Key("path", path, bool(decrypt), bool(recursive))
        values = self._load([key], max_age, force)
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
        return self._read("secret", secret_id, True, max_age, transform, force)

    def injected(self) -> Mapping[str, Any]:
        """The values ``@instrument(params=...)`` loaded for the current invocation."""
        inv = current_invocation()
        state = inv.signal_state if inv is not None else None
        found = state.get("params") if state else None
        return found if isinstance(found, Injected) else Injected({}, {})


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


#: The process-wide instance: ``from lambdaops import params``.
params = Parameters()
