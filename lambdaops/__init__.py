"""lambdaops: in-function observability for AWS Lambda Python handlers.

One decorator, :func:`instrument`, gives a handler structured logs (``log``),
EMF metrics (``metrics``), X-Ray subsegments (``trace``), cached parameters and
secrets (``params``) and one outcome record per invocation.
"""

from __future__ import annotations

from lambdaops._config import Config
from lambdaops._decorator import instrument
from lambdaops._errors import ConfigError, LambdaopsError
from lambdaops._logger import BoundLogger, DropEvent, log
from lambdaops._metrics import MetricError, metrics
from lambdaops._params import ParameterError, params
from lambdaops._trace import trace

__version__ = "0.1.0"

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
