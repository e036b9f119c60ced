"""The one-pass search behind redaction when many secrets are registered."""

from __future__ import annotations

import sys
from typing import Any

#: window -> the spellings indexed by it. Tuples, replaced whole: readers take no lock.
Table = dict[int, tuple[str, ...]]


class Index:
    """Every spelling by a few windows of its UTF-8 bytes, read as integers.

    A line's bytes are cut into aligned blocks read as integers by ``memoryview.cast``
    (in C): one pass looks them all up, whatever the number of spellings. An
    occurrence at least ``stride + width - 1`` bytes long contains a whole
    ``stride``-aligned block, starting within its first ``stride`` bytes: the
    spelling is indexed by those ``stride`` windows. Spellings of 23 bytes and more
    (most tokens and generated passwords) meet every other 8-byte block, 15 to 22
    bytes every 8-byte block, 7 to 14 every 4-byte block; shorter ones are searched
    for one by one.
    """

    def __init__(self) -> None:
        self.by16: Table = {}
        self.by8: Table = {}
        self.by4: Table = {}
        self.short: tuple[str, ...] = ()

    def _place(self, form: str) -> tuple[Table | None, int, int]:
        """The table for ``form``, its window width and stride."""
        size = len(form.encode("utf-8", "surrogatepass"))
        if size >= 23:
            return self.by16, 8, 16
        if size >= 15:
            return self.by8, 8, 8
        if size >= 7:
            return self.by4, 4, 4
        return None, 0, 0

    @staticmethod
    def _keys(form: str, width: int, stride: int) -> set[int]:
        data = form.encode("utf-8", "surrogatepass")
        order = sys.byteorder
        return {int.from_bytes(data[i : i + width], order) for i in range(stride)}

    def add(self, form: str) -> None:
        table, width, stride = self._place(form)
        if table is None:
            self.short = (*self.short, form)
            return
        for key in self._keys(form, width, stride):
            table[key] = (*table.get(key, ()), form)

    def discard(self, form: str) -> None:
        table, width, stride = self._place(form)
        if table is None:
            self.short = tuple(s for s in self.short if s != form)
            return
        for key in self._keys(form, width, stride):
            kept = tuple(s for s in table.get(key, ()) if s != form)
            if kept:
                table[key] = kept
            else:
                table.pop(key, None)

    def clear(self) -> None:
        self.by16, self.by8, self.by4, self.short = {}, {}, {}, ()

    def present(self, text: str) -> list[str]:
        """The spellings that occur in ``text``, longest first."""
        data = text.encode("utf-8", "surrogatepass")
        found: set[str] = set()
        by16 = self.by16
        if by16:  # the usual table, its common case inlined: ~0.3 µs of a line's ~0.6
            unpack = _unpackers.get((len(data) + 8) >> 4)
            blocks = unpack(data) if unpack is not None else _every_other_block(data)
            if not by16.keys().isdisjoint(blocks):
                _hits(by16, blocks, found)
        if self.by8 or self.by4:
            size = len(data)
            view = memoryview(data)
            if self.by8:
                blocks = view[: size - size % 8].cast("Q")
                if not self.by8.keys().isdisjoint(blocks):
                    _hits(self.by8, blocks, found)
            if self.by4:
                blocks = view[: size - size % 4].cast("I")
                if not self.by4.keys().isdisjoint(blocks):
                    _hits(self.by4, blocks, found)
        short = self.short
        if not found and not short:
            return []  # the usual line
        found.update(short)
        return sorted((form for form in found if form in text), key=len, reverse=True)


#: Lines up to this many 16-byte blocks are read by a cached ``struct`` format that takes
#: every other 8-byte block at once (~40% faster than casting and slicing a memoryview).
_CACHED_BLOCKS = 64
_unpackers: dict[int, Any] = {}


def _every_other_block(data: bytes) -> Any:
    """The 8-byte blocks of ``data`` at offsets 0, 16, 32, ... as integers."""
    count = (len(data) + 8) >> 4
    if count > _CACHED_BLOCKS:
        size = len(data)
        return memoryview(data)[: size - size % 8].cast("Q")[::2]
    unpack = _unpackers.get(count)
    if unpack is None:
        import struct  # only once many secrets are registered

        layout = "=" + "Q8x" * (count - 1) + "Q" if count else "="
        unpack = _unpackers[count] = struct.Struct(layout).unpack_from
    return unpack(data)


def _hits(table: Table, blocks: Any, found: set[str]) -> None:
    for block in blocks:
        hit = table.get(block)
        if hit:
            found.update(hit)
