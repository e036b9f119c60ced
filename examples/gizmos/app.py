"""gizmos: an order-processing function instrumented with lambdaops.

Each order carries some gizmos; the function validates and "ships" them.
An order with ``"fail": true`` raises, to show what a failure looks like.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from lambdaops import instrument, log

logger = logging.getLogger("gizmos.shipping")


def _orders(event: dict[str, Any]) -> list[dict[str, Any]]:
    if "body" in event:
        body = event["body"]
        return [json.loads(body) if isinstance(body, str) else body]
    return [event]


@instrument(service="gizmos")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Process the orders in an API Gateway request or a direct invocation."""
    shipped = 0
    for order in _orders(event):
        log.debug("validating order", order=order)
        if order.get("fail"):
            raise ValueError(f"order {order.get('id')} has no shipping address")
        shipped += int(order.get("gizmos", 0))
        logger.info("order shipped")
    log.info("orders processed", gizmos=shipped)
    return {"statusCode": 200, "body": json.dumps({"shipped": shipped})}
