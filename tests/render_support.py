"""What the renderer tests share: counting the encoder's calls, to test proportionality
without timing anything."""

from __future__ import annotations

from typing import Any

import pytest


def count_encodings(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of each text ``_render._encode_chunks`` makes from now on, in order."""
    from lambdaops import _render

    encoded: list[int] = []
    chunks = _render._encode_chunks

    def counting(obj: object, level: int) -> Any:
        out = chunks(obj, level)
        encoded.append(sum(map(len, out)))
        return out

    monkeypatch.setattr(_render, "_encode_chunks", counting)
    return encoded
