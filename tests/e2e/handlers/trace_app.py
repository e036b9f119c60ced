"""A handler for the end-to-end tracing tests, run by awslambdaric.

The S3 client is made at import, as functions usually do, and its calls go to
the moto server named by ``AWS_ENDPOINT_URL_S3``.
"""

from __future__ import annotations

import sys
from typing import Any

import boto3

from lambdaops import instrument, trace

s3 = boto3.client("s3")


@trace.capture
def list_buckets() -> list[str]:
    return [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]


@instrument(service="e2e-trace")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    kind = event.get("kind", "ok")
    with trace.subsegment("prepare") as sub:
        sub.annotate("kind", kind)
        sub.metadata("event", event)
    trace.annotate("order_id", event.get("order_id", "none"))
    buckets = list_buckets()
    if kind == "error":
        raise ValueError("requested failure")
    return {"kind": kind, "buckets": buckets, "sdk_loaded": "aws_xray_sdk" in sys.modules}
