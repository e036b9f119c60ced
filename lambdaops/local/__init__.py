"""Run Lambda handlers locally under the real runtime client (awslambdaric).

A :class:`RuntimeAPI` stands in for the Lambda service's Runtime API and an
:class:`Environment` manages one execution environment (one runtime process), so
end-to-end tests and ``lambdaops local`` see cold starts, timeouts and logs as Lambda does.
"""

from lambdaops.local._environment import Environment
from lambdaops.local._moto import MotoServer
from lambdaops.local._platform import PlatformOutcome
from lambdaops.local._runtime_api import MAX_RESPONSE_BYTES, InvocationResult, RuntimeAPI
from lambdaops.local._xray_daemon import XRayDaemon

__all__ = [
    "MAX_RESPONSE_BYTES",
    "Environment",
    "InvocationResult",
    "MotoServer",
    "PlatformOutcome",
    "RuntimeAPI",
    "XRayDaemon",
]
