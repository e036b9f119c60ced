"""``@instrument(params=...)``: the specs (checked at decoration) and the signal that loads them.

Loaded only for a handler that declares parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdaops._config import Config
from lambdaops._errors import ConfigError
from lambdaops._params._api import Injected, Parameters, params
from lambdaops._params._errors import ParameterError
from lambdaops._params._values import Key, check_max_age, check_path, check_transform


class Spec:
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
_KIND_OF = {"name": "ssm", "parameter": "ssm", "secret": "secret", "path": "path"}


def parse_spec(key: str, spec: Any) -> Spec:
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
        return Spec(kind, target)
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
    kind = _KIND_OF[targets[0]]
    target = spec[targets[0]]
    if not isinstance(target, str):
        raise ConfigError(f"{where}: {targets[0]}={target!r} must be a string")
    transform = spec.get("transform", "auto")
    max_age = spec.get("max_age")
    try:  # the checks params.get makes, reported as the decorator's ConfigError
        if kind == "path":
            check_path(target)
        check_transform(transform)
        check_max_age(max_age)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    return Spec(
        kind,
        target,
        decrypt=bool(spec.get("decrypt", True)),
        transform=transform,
        max_age=max_age,
        recursive=bool(spec.get("recursive", True)),
    )


def resolve(specs: Mapping[str, Spec], store: Parameters | None = None) -> Injected:
    """Load every declared value: Parameter Store names batched, the rest one by one."""
    store = store or params
    values: dict[str, Any] = {}
    errors: dict[str, ParameterError] = {}
    #: Parameter Store specs by (decrypt, max_age): each group shares its GetParameters calls
    groups: dict[tuple[bool, float | None], list[tuple[str, Spec]]] = {}
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
        keys = [Key("ssm", spec.target, decrypt) for _, spec in members]
        try:
            loaded, failed = store._load_partial(keys, max_age, False)
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
