"""Log lines the report tests build: outcome records and awslambdaric's text error record."""

from __future__ import annotations

import json
from typing import Any

#: A log stream name as Lambda names them (YYYY/MM/DD/[VERSION]id).
STREAM = "2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef"


def rec(request: str, outcome: str, **fields: Any) -> str:
    """An outcome record line."""
    return json.dumps({"lambdaops": "outcome", "outcome": outcome, "request_id": request, **fields})


def runtime_error(error_type: str, message: str, *stack: str) -> list[str]:
    """awslambdaric's text ``log_error``: one event, its stack indented with no-break spaces."""
    return [
        f"[ERROR] {error_type}: {message}",
        "Traceback (most recent call last):",
        *(line.replace("  ", "\u00a0\u00a0") for line in stack),
    ]
