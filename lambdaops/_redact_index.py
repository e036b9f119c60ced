"""The one-pass search behind redaction when many secrets are registered."""

from __future__ import annotations

import sys


class Index:
    """Every spelling by the 8-byte (or 4-byte) windows of its UTF-8 bytes.

    An occurrence of a spelling at least 15 bytes long contains one of a line's
    8-byte-aligned blocks whole, and the line's blocks are read as integers by
    ``memoryview.cast``, in C: one pass finds the candidates whatever their
    number. Spellings of 7 to 14 bytes use 4-byte blocks; shorter ones are
    searched for one by one.
    """

    def __init__(self) -> None:
        #: window -> spellings with it. Tuples, replaced whole: readers take no lock.
        self.by8: dict[int, tuple[str, ...]] = {}
        self.by4: dict[int, tuple[str, ...]] = {}
        self.short: tuple[str, ...] = ()

    def _table(self, form: str) -> dict[int, tuple[str, ...]] | None:
        size = len(form.encode("utf-8", "surrogatepass"))
        return self.by8 if size >= 15 else self.by4 if size >= 7 else None

    def add(self, form: str) -> None:
        table = self._table(form)
        if table is None:
            self.short = (*self.short, form)
            return
        for key in self._keys(form, 8 if table is self.by8 else 4):
            table[key] = (*table.get(key, ()), form)

    def discard(self, form: str) -> None:
        table = self._table(form)
        if table is None:
            self.short = tuple(s for s in self.short if s != form)
            return
        for key in self._keys(form, 8 if table is self.by8 else 4):
            kept = tuple(s for s in table.get(key, ()) if s != form)
            if kept:
                table[key] = kept
            else:
                table.pop(key, None)

    @staticmethod
    def _keys(form: str, size: int) -> set[int]:
        data = form.encode("utf-8", "surrogatepass")
        order = sys.byteorder
        return {int.from_bytes(data[i : i + size], order) for i in range(len(data) - size + 1)}

    def clear(self) -> None:
        self.by8 = {}
        self.by4 = {}
        self.short = ()

    def present(self, text: str) -> list[str]:
        """The spellings that occur in ``text``, longest first."""
        found: set[str] = set()
        data = memoryview(text.encode("utf-8", "surrogatepass"))
        size = len(data)
        for table, width in ((self.by8, 8), (self.by4, 4)):
            if table:
                blocks = data[: size - size % width].cast("Q" if width == 8 else "I")
                if not table.keys().isdisjoint(blocks):
                    for block in blocks:
                        hit = table.get(block)
                        if hit:
                            found.update(hit)
        found.update(self.short)
        return sorted((form for form in found if form in text), key=len, reverse=True)
