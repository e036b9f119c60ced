"""Failures on request, for ``make demo``: the ones a handler can never record by itself.

An order with ``"simulate": "crash"`` ends the process mid-invocation, as a crashing native
extension would: Lambda reports ``Runtime.ExitError`` and no outcome record is written.
``"simulate": "unserializable"`` answers with a ``datetime``, which Lambda's runtime cannot turn
into JSON: Lambda reports ``Runtime.MarshalError`` although the handler returned. A real
deployment has no use for this module.
"""

from __future__ import annotations

import datetime
import os
from typing import Any


def simulate(fault: str) -> dict[str, Any]:
    """End the invocation the way ``fault`` names; the return value is the handler's response."""
    if fault == "crash":
        os._exit(1)
    if fault == "unserializable":
        return {"statusCode": 200, "shipped_at": datetime.datetime.now(datetime.timezone.utc)}
    raise ValueError(f"unknown fault {fault!r}: crash or unserializable")
