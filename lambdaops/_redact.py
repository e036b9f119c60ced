"""Secret redaction: values lambdaops loaded as secrets never leave the process.

Secrets are registered as they are loaded (SecureString parameters, Secrets
Manager values). :func:`redact` replaces each registered value, and its
JSON-escaped spelling, wherever it appears in a line lambdaops writes. With
nothing registered the check is a single truthiness test.
"""

from __future__ import annotations

import json

#: Replacement text for a redacted value.
MASK = "***"
#: Values shorter than this are not redacted (they would mangle ordinary text).
MIN_LENGTH = 6

_needles: list[str] = []


def register(value: str, min_length: int | None = None) -> None:
    """Redact ``value`` from everything lambdaops writes from now on."""
    if not isinstance(value, str) or len(value) < (min_length or MIN_LENGTH):
        return
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    for form in sorted(forms, key=len, reverse=True):
        if form and form not in _needles:
            _needles.append(form)
    _needles.sort(key=len, reverse=True)  # longest first: no partial leftovers


def redact(text: str) -> str:
    """``text`` with every registered secret masked."""
    for needle in _needles:
        if needle in text:
            text = text.replace(needle, MASK)
    return text


def active() -> bool:
    return bool(_needles)


def clear() -> None:
    """Forget every registered secret (tests)."""
    _needles.clear()
