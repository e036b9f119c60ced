"""What the redaction tests share: a clean registry per test, and a secret's spellings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest

from lambdaops import _redact


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("LAMBDAOPS_REDACT_MIN_LENGTH", raising=False)
    monkeypatch.delenv("LAMBDAOPS_REDACT_STREAMS", raising=False)
    _redact.clear()
    yield
    _redact.clear()


def spellings_of(secret: str) -> set[str]:
    """Every form issue 15 found a secret leaking in, written out independently of
    lambdaops' own list (``_redact.spellings``)."""
    once = json.dumps(secret)[1:-1]
    return {
        secret,
        once,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(once)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
        repr(secret)[1:-1],
        repr(secret.encode("utf-8"))[2:-1],
    }
