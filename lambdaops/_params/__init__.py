"""Parameter Store and Secrets Manager values, cached across warm invocations.

``from lambdaops import params`` loads this package (``import lambdaops`` does not); the
boto3 side (``_aws``) loads with the first fetch and ``@instrument(params=...)``'s
(``_inject``) with the first handler that declares parameters. docs/architecture.md
("Parameters") says which module does what.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdaops._params._api import Injected, Parameters, params
from lambdaops._params._errors import ParameterError

if TYPE_CHECKING:
    from lambdaops._params._inject import ParamsSignal, parse_spec, resolve

__all__ = [
    "Injected",
    "ParameterError",
    "Parameters",
    "ParamsSignal",
    "params",
    "parse_spec",
    "resolve",
]

_INJECT = frozenset({"ParamsSignal", "parse_spec", "resolve"})


def __getattr__(name: str) -> object:
    """``ParamsSignal``, ``parse_spec`` and ``resolve`` import ``_inject`` on first use."""
    if name in _INJECT:
        from lambdaops._params import _inject

        return getattr(_inject, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
