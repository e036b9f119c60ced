"""Handlers that log errors and succeed: the report must not count the lines as failures.

``logger.exception`` through awslambdaric's own handler (its JSON formatter gives the line
``errorType``, ``stackTrace`` and ``requestId``, as the runtime's error object has) and
``[ERROR] …`` lines printed or logged by the user in the text format.
"""

from __future__ import annotations

import logging
from typing import Any

from lambdaops import instrument

payments = logging.getLogger("app.payments")


class PaymentDeclined(Exception):
    pass


def _log_errors(event: dict[str, Any]) -> dict[str, Any]:
    try:
        raise PaymentDeclined("card 4242 declined")
    except PaymentDeclined:
        payments.exception("retrying payment")
    print("[ERROR] PaymentDeclined: card 4242 declined, retrying")
    print("[ERROR] app.payments: card declined")
    return {"ok": True}


@instrument(service="payments")
def recorded(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _log_errors(event)


def unrecorded(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """No lambdaops record: Lambda's platform record and the lines alone decide."""
    return _log_errors(event)
