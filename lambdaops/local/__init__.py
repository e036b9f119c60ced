"""Run Lambda handlers locally under the real runtime client (awslambdaric).

A :class:`RuntimeAPI` stands in for the Lambda service's Runtime API and an
:class:`Environment` manages one execution environment (one runtime process), so
end-to-end tests and ``lambdaops local`` see cold starts, timeouts and logs as Lambda does.
"""

from typing import TYPE_CHECKING, Any

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
    "OTLPReceiver",
    "PlatformOutcome",
    "RuntimeAPI",
    "XRayDaemon",
]

if TYPE_CHECKING:
    from lambdaops.local._otlp_receiver import OTLPReceiver


def __getattr__(name: str) -> Any:
    # The OTLP receiver is loaded on first use: most users of this package never start one.
    if name == "OTLPReceiver":
        from lambdaops.local._otlp_receiver import OTLPReceiver

        return OTLPReceiver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
