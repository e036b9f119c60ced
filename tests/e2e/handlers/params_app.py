"""Handlers for the end-to-end parameter tests, run by awslambdaric against moto."""

from __future__ import annotations

import logging
import sys
from typing import Any

import lambdaops
from lambdaops import instrument, log, params

#: Values injected into ``context.params`` before each invocation.
DECLARED = {"flag": "/e2e/flag", "db": {"secret": "e2e/db", "transform": "json"}}


@instrument(service="e2e-params", params=DECLARED)
def cached(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Read what the event names; the test counts the calls that reach the service."""
    out: dict[str, Any] = {"get": {n: params.get(n) for n in event.get("names", [])}}
    if event.get("many"):
        out["many"] = params.get_many(event["many"])
    if event.get("path"):
        out["path"] = params.get_by_path(event["path"])
    injected = context.params
    out["injected"] = {"flag": injected.flag, "db_user": injected["db"]["user"]}
    return out


@instrument(service="e2e-params")
def stale(event: dict[str, Any], context: Any) -> str:
    """One parameter, read with the max_age from the environment."""
    return str(params.get(event["name"]))


@instrument(service="e2e-params")
def canary(event: dict[str, Any], context: Any) -> None:
    """Load a secret and try every way of leaking it; the test reads every byte written."""
    secret = params.secret(event["secret_id"])
    secure = params.get(event["parameter"], decrypt=True)
    log.info("the secret is", secret=secret, nested={"list": [secret, secure]})
    log.warning(f"inline {secret} and {secure}")
    print("printed", secret, secure)
    print(f"stderr {secret}", file=sys.stderr)
    logging.getLogger("canary").error("stdlib %s", secret)
    try:
        raise KeyError(secret)
    except KeyError:
        log.exception("caught")
        logging.getLogger("canary").exception("caught by stdlib")
    metrics = getattr(lambdaops, "metrics", None)
    if metrics is not None:
        metrics.add("CanaryRuns", 1)
        metrics.property("leak", secret)
    trace = getattr(lambdaops, "trace", None)
    if trace is not None:
        trace.metadata("leak", {"secret": secret})
        with trace.subsegment("canary-leak") as sub:
            sub.metadata("inner", secret)
    raise RuntimeError(f"failed with {secret} / {secure}")
