"""A function whose module raises at import: Lambda fails each invocation and retries init."""

from __future__ import annotations

from typing import Any

from lambdaops import instrument

raise RuntimeError("GIZMOS_TABLE is not set")


@instrument(service="availability")
def handler(event: Any, context: Any) -> Any:  # never reached
    return None
