"""The X-Ray trace header (``_X_AMZN_TRACE_ID``): reading it and taking it apart.

At the bottom of the import graph: the lifecycle, the X-Ray half of tracing and
the local runner all read the header through these functions.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["parse_trace_header", "sampled_ids", "trace_header", "trace_root"]

_TRACE_KEY = os.fsencode("_X_AMZN_TRACE_ID") if os.name != "nt" else "_X_AMZN_TRACE_ID"
_environ_data: Any = getattr(os.environ, "_data", None)


def trace_header() -> str | None:
    """This invocation's ``_X_AMZN_TRACE_ID`` (the runtime sets it per invocation).

    Reads os.environ's underlying dict: the same data, a tenth of the cost.
    """
    if _environ_data is None:  # pragma: no cover - not CPython's os.environ
        return os.environ.get("_X_AMZN_TRACE_ID")
    raw = _environ_data.get(_TRACE_KEY)
    if raw is None:
        return None
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def trace_root(header: str) -> str | None:
    """The ``Root=`` value, on the fast path when Root comes first (as Lambda sends it)."""
    if header.startswith("Root="):
        end = header.find(";")
        return header[5:] if end < 0 else header[5:end]
    return parse_trace_header(header).get("Root")


def parse_trace_header(raw: str | None) -> dict[str, str]:
    """``Root=...;Parent=...;Sampled=1`` as a dict; tolerant of junk."""
    if not raw:
        return {}
    out: dict[str, str] = {}
    for part in raw.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def sampled_ids(header: str) -> tuple[str, str] | None:
    """(Root, Parent) of a sampled header; None if not sampled or incomplete.

    Lambda's own header (``Root=..;Parent=..;Sampled=1``) is read without building a dict.
    """
    parts = header.split(";")
    if (
        len(parts) == 3
        and parts[2] == "Sampled=1"
        and parts[0][:5] == "Root="
        and parts[1][:7] == "Parent="
        and " " not in header
    ):
        root, parent = parts[0][5:], parts[1][7:]
    else:
        fields = parse_trace_header(header)
        if fields.get("Sampled") != "1":
            return None
        root, parent = fields.get("Root", ""), fields.get("Parent", "")
    if not root or not parent:
        return None
    return root, parent
