"""For functions that already log with structlog: lambdaops' invocation fields as a processor.

lambdaops' own logger follows structlog's processor protocol without importing
structlog (its import cost: the README's dependency table, ``benchmarks/imports.py``).
Teams that keep structlog add :func:`add_invocation_fields` to their processor chain
and get the same ``request_id``, ``cold_start``, ``xray_trace_id``, ``correlation_id``
... on every line, from the same invocation lifecycle::

    structlog.configure(processors=[
        add_invocation_fields,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.JSONRenderer(),
    ])
"""

from __future__ import annotations

from typing import Any

from lambdaops._scope import current


def add_invocation_fields(
    logger: Any, method_name: str, event_dict: dict[str, Any]
) -> dict[str, Any]:
    """Add the current invocation's fields (service outside a handler); the caller's win."""
    for key, value in current().log_fields.items():
        event_dict.setdefault(key, value)
    return event_dict
