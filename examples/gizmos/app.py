"""gizmos: an order-processing function instrumented with lambdaops.

An order carries some gizmos; the function checks stock with the inventory
service, charges the payment provider with an API key kept as a SecureString
in Parameter Store (injected as ``context.params.payment_key``), and counts
the gizmos it shipped. It accepts an order from API Gateway, an EventBridge
``OrderPlaced`` event, a direct invocation, or an SQS batch (reporting partial
failures).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from faults import simulate

from lambdaops import instrument, log, metrics, trace

logger = logging.getLogger("gizmos.shipping")


class OrderError(ValueError):
    """An order that cannot be shipped."""


class InventoryUnavailable(RuntimeError):
    """A transient failure: the same order goes through when Lambda retries it."""


#: ``flaky`` orders this process has failed once: the inventory service answers the retry.
_failed_once: set[Any] = set()


@trace.capture
def check_inventory(order: dict[str, Any]) -> None:
    """Stands for a downstream call; ``slow`` orders hang, as inventory sometimes does, and
    ``flaky`` ones fail the first time, so ``make demo`` shows Lambda retrying an event."""
    if order.get("slow"):
        time.sleep(30)
    if order.get("flaky") and order.get("id") not in _failed_once:
        _failed_once.add(order.get("id"))
        raise InventoryUnavailable(f"inventory did not answer for order {order.get('id')}")
    time.sleep(0.002)


@trace.capture
def charge(order: dict[str, Any], api_key: str) -> None:
    """Stands for the payment provider; logging the key shows that lambdaops masks it."""
    log.info("card charged", order_id=order.get("id"), api_key=api_key)  # printed as ***
    time.sleep(0.001)


def ship(order: dict[str, Any], api_key: str) -> int:
    log.debug("validating order", order_id=order.get("id"))
    if order.get("fail"):
        raise OrderError(f"order {order.get('id')} has no shipping address")
    check_inventory(order)
    charge(order, api_key)
    gizmos = int(order.get("gizmos", 0))
    metrics.add("GizmosProcessed", gizmos)
    return gizmos


@instrument(service="gizmos", namespace="Gizmos", params={"payment_key": "/gizmos/payment-api-key"})
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process the orders of an API Gateway request, an EventBridge event, a direct
    invocation or an SQS batch."""
    api_key = context.params.payment_key
    if "Records" in event:
        failures = []
        for record in event["Records"]:
            try:
                ship(json.loads(record["body"]), api_key)
            except OrderError as exc:
                log.warning("order rejected", message_id=record["messageId"], reason=str(exc))
                failures.append({"itemIdentifier": record["messageId"]})
        return {"batchItemFailures": failures}
    body = event.get("body")
    if isinstance(body, str):
        order = json.loads(body)
    elif "detail-type" in event:
        order = event["detail"]
    else:
        order = event
    if "simulate" in order:  # make demo's crash and marshal error (faults.py)
        return simulate(order["simulate"])
    shipped = ship(order, api_key)
    log.info("order shipped", order_id=order.get("id"), gizmos=shipped)
    return {"statusCode": 200, "body": json.dumps({"shipped": shipped})}
