"""JSON-safe copies cut to a size, at a cost that follows the size kept, not the value.

A 3 MB value in a log line or a trace document is never walked whole: :func:`measure`
says whether a value fits as it is, stopping as soon as it knows, and :func:`clip` keeps
what fits and marks what it cut. Cycles, NaN, depth and huge ints are named as it goes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from itertools import islice
from typing import Any

from lambdaops import _redact

#: Marker appended to shortened strings; says how much was cut.
TRUNCATED = "…[truncated {} chars]"
MAX_DEPTH = 32
MAX_INT_BITS = 14_000  # ~4,200 decimal digits: below Python's int-to-text limit
#: A str as a JSON string literal, ASCII-only (C-accelerated).
quote: Callable[[str], str] = json.encoder.encode_basestring_ascii

#: Escaped length of the :data:`TRUNCATED` marker with its quotes, less the count's digits.
_MARK = len(quote(TRUNCATED.format("")))
#: Smallest fair share worth cutting each member of a container to (see :func:`clip`).
_MIN_SHARE = 64
_MAX_KEY = 1024
_Clipped = tuple[Any, int, bool]  # (copy, length of its JSON, nothing was cut)


def clip(obj: object, budget: int, default: Callable[[Any], object]) -> Any:
    """A JSON-safe copy of ``obj`` whose JSON is at most ``budget`` characters.

    One walk that stops where the budget runs out, so the cost follows the budget, not
    the value. Objects it does not know are converted by ``default``. What does not fit
    is cut with a marker: a string's end (:data:`TRUNCATED`), a list's last items
    (``…[N more items]``), a mapping's last keys (``"…": "[N more keys]"``). A
    container's members share its budget: those that fit a fair share stay whole and
    the others, in order, take what is left (so one large field does not push out the
    small ones, and a value that fits is copied whole).
    """
    return _clip(obj, budget, default, set(), 0, True)[0]


def _clip(
    obj: object,
    budget: int,
    default: Callable[[Any], object],
    seen: set[int],
    depth: int,
    fair: bool,
) -> _Clipped:
    if obj is None or obj is True:
        return obj, 4, True
    if obj is False:
        return obj, 5, True
    if isinstance(obj, int):
        bits = obj.bit_length()
        if bits <= MAX_INT_BITS:
            return obj, len(int.__repr__(obj)), True
        obj = f"<int of {bits} bits>"
    elif isinstance(obj, float):
        if math.isfinite(obj):
            return obj, len(float.__repr__(obj)), True
        obj = str(obj)
    if isinstance(obj, str):
        return _clip_str(obj, budget)
    if depth > MAX_DEPTH:
        return _clip_str("<too deep>", budget)
    if isinstance(obj, (Mapping, list, tuple, set, frozenset)):
        if id(obj) in seen:
            return _clip_str("<cycle>", budget)
        seen.add(id(obj))
        try:
            return _clip_members(obj, budget, default, seen, depth + 1, fair)
        finally:
            seen.discard(id(obj))
    return _clip(default(obj), budget, default, seen, depth + 1, fair)


def _clip_str(text: str, budget: int) -> _Clipped:
    n = len(text)
    if n + 2 <= budget:  # never quote more than the budget
        size = len(quote(text))
        if size <= budget:
            return text, size, True
    if _redact.armed:  # before the cut, which could leave a secret's first characters
        text = _redact.redact(text)
        if len(text) + 2 <= budget and len(quote(text)) <= budget:
            return text, len(quote(text)), True
        n = len(text)
    room = budget - _MARK - len(str(n))  # for the kept part, escaped
    keep = size = 0
    if room > 0:
        keep = min(n, room)
        while True:
            size = len(quote(text[:keep])) - 2
            if size <= room:
                break
            keep = min(keep - 1, keep * room // size)
    return text[:keep] + TRUNCATED.format(n - keep), size + _MARK + len(str(n - keep)), False


def _key(key: object) -> str:
    """A member's name: a str as it is (cut past :data:`_MAX_KEY`), anything else its repr."""
    if not isinstance(key, str):
        try:
            key = repr(key)
        except Exception:
            key = None
        if not isinstance(key, str):
            return "<unrepresentable key>"
    return key if len(key) <= _MAX_KEY else _clip_str(key, _MAX_KEY)[0]


def _clip_members(
    obj: Any, budget: int, default: Callable[[Any], object], seen: set[int], depth: int, fair: bool
) -> _Clipped:
    mapping = isinstance(obj, Mapping)
    members: Iterator[Any] = iter(obj.items()) if mapping else iter(obj)
    n = len(obj)
    if fair and 0 < n <= (budget - 2) // _MIN_SHARE:
        head = list(islice(members, n))
        keys = [_key(key) for key, _ in head] if mapping else []
        values = [value for _, value in head] if mapping else head
        over = len(values) - 1 + sum([len(quote(key)) + 1 for key in keys])
        share = (budget - 2 - over) // max(len(values), 1)
        if share >= _MIN_SHARE:
            # Members that fit a fair share stay whole; the others, in order, take what is
            # left but a share for each after them (so a line that fits is kept whole).
            done: list[_Clipped] = []
            for value in values:
                size = measure(value, share, depth)
                if size == -2:  # not plain JSON (NaN, a cycle, an object): convert to know
                    done.append(_clip(value, share, default, seen, depth, False))
                else:
                    done.append((value, size, size >= 0))
            cut = [i for i, got in enumerate(done) if not got[2]]
            spare = budget - 2 - over - sum([got[1] for got in done if got[2]])
            for left, i in enumerate(cut, 1):
                alloc = spare - share * (len(cut) - left)
                got = done[i] = _clip(values[i], alloc, default, seen, depth, True)
                spare -= got[1]
            copies = [got[0] for got in done]
            whole = all([got[2] for got in done])
            size = 2 + over + sum([got[1] for got in done])
            return (dict(zip(keys, copies, strict=True)) if mapping else copies), size, whole
        members = iter(head)
    # In order: members whole while they fit, the first that does not cut, the rest counted.
    out_keys: list[str] = []
    out: list[Any] = []
    sizes: list[int] = []
    used, whole = 2, True
    for member in members:
        over = 1 if out else 0
        if mapping:
            key = _key(member[0])
            over += len(quote(key)) + 1
            member = member[1]
        avail = budget - used - over
        size = measure(member, avail, depth)
        if size < 0:  # cut (leaving room to count the members after it), or converted
            more = _marker(n, mapping)[1] + 1 if len(out) < n - 1 else 0
            got = _clip(member, avail - more if size == -1 else avail, default, seen, depth, fair)
            if more and size == -2 and not got[2]:
                got = _clip(member, avail - more, default, seen, depth, fair)
            member, size, whole = got
            if size > avail - (0 if whole else more):
                whole = False
                break
        if mapping:
            out_keys.append(key)
        out.append(member)
        sizes.append(over + size)
        used += over + size
        if not whole:
            break
    if not whole and len(out) < n:
        while out and used + 1 + _marker(n - len(out), mapping)[1] > budget:
            used -= sizes.pop()  # only whole members that filled the budget to the brim
            out.pop()
            del out_keys[len(out) :]
        marker, size = _marker(n - len(out), mapping)
        used += (1 if out else 0) + size
        if mapping:
            out_keys.append("…")
        out.append(marker)
    return (dict(zip(out_keys, out, strict=True)) if mapping else out), used, whole


def _marker(rest: int, mapping: bool) -> tuple[str, int]:
    """The value counting ``rest`` members left out, and what it adds (key included)."""
    if mapping:
        text = f"[{rest} more keys]"
        return text, len(text) + 11  # "\\u2026":"..."
    text = f"…[{rest} more items]"
    return text, len(text) + 7  # … is \\u2026


def measure(obj: Any, budget: int, depth: int = 0) -> int:
    """The length of ``obj``'s JSON when it is plain JSON data (dicts with str keys, lists,
    tuples, str, int, finite float, bool, None) of at most ``budget`` characters; -1 when
    longer, -2 when not plain. Stops once it knows, so its cost follows the budget."""
    kind = type(obj)
    if kind is not dict and kind is not list and kind is not tuple:
        return _measure_scalar(obj, budget)
    if depth > MAX_DEPTH:
        return -2
    mapping = kind is dict
    size = 1  # "{" or "["; each member adds its separator or the closing one
    for value in obj.items() if mapping else obj:
        if mapping:
            key, value = value
            if type(key) is not str:
                return -2
            if len(key) + 3 > budget - size:
                return -1
            size += len(quote(key)) + 2
        else:
            size += 1
        kind = type(value)  # the usual members inline: a call less each
        if kind is str and len(value) + 2 <= budget - size:
            size += len(quote(value))
        elif kind is int and value.bit_length() <= MAX_INT_BITS:
            size += len(int.__repr__(value))
        else:
            got = measure(value, budget - size, depth + 1)
            if got < 0:
                return got
            size += got
        if size > budget:
            return -1
    if size == 1:  # empty: "{}" or "[]"
        size = 2
    return size if size <= budget else -1


def _measure_scalar(obj: Any, budget: int) -> int:
    kind = type(obj)
    if kind is str:
        if len(obj) + 2 > budget:
            return -1
        size = len(quote(obj))
    elif kind is int:
        if obj.bit_length() > MAX_INT_BITS:
            return -2
        size = len(int.__repr__(obj))
    elif kind is float:
        if obj - obj != 0:  # NaN, infinities
            return -2
        size = len(float.__repr__(obj))
    elif obj is None or kind is bool:
        size = 5 if obj is False else 4
    else:
        return -2
    return size if size <= budget else -1
