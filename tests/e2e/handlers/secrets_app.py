"""Issue 15's leak paths, one per event, under the real awslambdaric and moto.

``tests/e2e/test_secrets_e2e.py`` reads every byte the runtime process wrote (stdout,
stderr, the telemetry fd), the Runtime API's error body and X-Ray error cause.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any
from urllib.parse import quote, urlencode

from lambdaops import instrument, log, params, trace

#: Made at import, before any secret is loaded: its stream is the stderr of then.
EARLY = logging.getLogger("secrets_app.early")
EARLY.addHandler(logging.StreamHandler(sys.stderr))
EARLY.propagate = False
#: The runtime's root handler (awslambdaric's formatter, JSON or text) sees this one.
PLAIN = logging.getLogger("secrets_app.plain")


def _password(event: dict[str, Any]) -> str:
    return str(params.get(event["parameter"], decrypt=True))


@instrument(service="e2e-secrets")
def leak(event: dict[str, Any], context: Any) -> Any:
    """Leak the SecureString by the path the event names, then fail with it."""
    pw = _password(event)
    path = event["path"]
    if path == "late":  # item 1: slow dependency, the watchdog fires, then an auth error
        time.sleep(float(event["sleep_s"]))
        raise RuntimeError(f"auth failed for token {pw}")
    if path == "json_field":  # item 2
        log.info("config", cfg=json.dumps({"db_password": pw}))
        PLAIN.warning("config %s", json.dumps({"db_password": pw}))
        raise ValueError(json.dumps({"db_password": pw}))
    if path == "url":  # item 3
        query = urlencode({"key": pw})
        log.info("calling", url=f"https://api.example.com/?{query}")
        print("GET", f"/v1/{quote(pw, safe='')}?{query}")
        trace.metadata("url", f"https://api.example.com/?{query}")
        raise PermissionError(f"403 Forbidden for https://api.example.com/?{query}")
    if path == "bytes_filename":  # item 4
        open(b"/nonexistent/" + pw.encode())  # noqa: SIM115
    if path == "early_streams":  # item 6
        EARLY.error("early handler: %s", pw)
        print(f"dunder stdout: {pw}", file=sys.__stdout__)
        print(f"dunder stderr: {pw}", file=sys.__stderr__)
        raise LookupError(pw)
    if path == "runtime_json_extra":  # item 7
        PLAIN.error("login failed", extra={"password": pw, "user": "alice"})
        raise KeyError(pw)
    raise AssertionError(f"unknown path {path}")


@instrument(service="e2e-secrets")
def documents(event: dict[str, Any], context: Any) -> Any:
    """Items 5 and 8: a binary secret that is not UTF-8, numbers in a JSON secret."""
    blob = params.secret(event["binary_id"])
    document = params.secret(event["json_id"], transform="json")
    print("blob", blob)
    log.info("blob", blob=blob)
    log.info("pin", pin=document["pin"], account=document["account"])
    print(f"pin={document['pin']} account={document['account']}")
    raise RuntimeError(f"card {document['pin']} refused for {blob!r}")
