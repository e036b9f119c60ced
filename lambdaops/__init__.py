"""lambdaops: in-function observability for AWS Lambda Python handlers.

One decorator, :func:`instrument`, gives a handler structured logs (``log``),
EMF metrics (``metrics``), X-Ray subsegments (``trace``), cached parameters and
secrets (``params``) and one outcome record per invocation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lambdaops._config import Config
from lambdaops._decorator import instrument
from lambdaops._errors import ConfigError, LambdaopsError
from lambdaops._logger import BoundLogger, DropEvent, log
from lambdaops._metrics import MetricError, metrics
from lambdaops._trace import trace

if TYPE_CHECKING:
    from lambdaops._params import ParameterError, params

from lambdaops._version import __version__


def __getattr__(name: str) -> object:
    """``params`` and ``ParameterError`` load on first use: the cache's cold start (0.7 ms,
    ``benchmarks/params_cost.py``) is not paid by functions without parameters."""
    if name in ("params", "ParameterError"):
        from lambdaops import _params

        return getattr(_params, name)
    raise AttributeError(f"module 'lambdaops' has no attribute {name!r}")


__all__ = [
    "BoundLogger",
    "Config",
    "ConfigError",
    "DropEvent",
    "LambdaopsError",
    "MetricError",
    "ParameterError",
    "__version__",
    "instrument",
    "log",
    "metrics",
    "params",
    "trace",
]
