"""A handler for the end-to-end log tests, run by awslambdaric."""

from __future__ import annotations

import logging
import os
from typing import Any

from lambdaops import instrument, log

log.info("module loaded", phase="init")


@instrument(service="e2e-logs")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    log.debug("debug detail", step=1)
    log.info("handling", kind=event.get("kind"))
    logging.getLogger("e2e.stdlib").warning("from stdlib")
    if event.get("kind") == "error":
        raise ValueError("requested failure")
    if event.get("kind") == "logged-error":
        log.error("something went wrong")
    return {"echo": event.get("kind"), "trace": os.environ.get("_X_AMZN_TRACE_ID")}
