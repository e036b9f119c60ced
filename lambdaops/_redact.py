"""Secret redaction: values lambdaops loaded as secrets never leave the process.

Secrets are registered as they are loaded (decrypted SecureString parameters,
Secrets Manager values, every string and number inside a JSON secret).
:func:`redact` replaces each registered value, in every spelling a line can
carry it (:func:`spellings`), with :data:`MASK`. ``_output.write`` applies it to
every line lambdaops writes, the X-Ray emitter to every document; with nothing
registered the check there is one truthiness test of :data:`armed`.
:mod:`lambdaops._redact_streams` covers what lambdaops does not write itself.

The cost of a line does not grow with the number of secrets: past
:data:`_SMALL` spellings, a line is checked in one pass (:class:`_Index`). The
masked set follows the parameter cache: a value stays masked while the cache
holds it (each :func:`register_secret` returns a :data:`Lease` the cache gives
back with :func:`release`) and for :data:`RETAIN_S` after, the most that an
invocation which read it can still run, within a bound on how many such
values are kept (:data:`MAX_RELEASED`). Values shorter than
:func:`configured_min_length` are not redacted: masking every "true" or "prod"
would make logs unreadable.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lambdaops._redact_index import Index


#: Replacement text for a redacted value.
MASK = "***"
#: Default for ``LAMBDAOPS_REDACT_MIN_LENGTH``: shorter values are not redacted.
MIN_LENGTH = 6
#: A released value stays masked this long: Lambda's longest invocation (15 minutes).
RETAIN_S = 900.0
#: At most this many released values stay masked (the oldest leave first).
MAX_RELEASED = 4096
#: Up to this many spellings, a line is searched for each in turn (C substring searches,
#: ~30 ns each); past it, the one-pass index is cheaper.
_SMALL = 16

#: What :func:`register_secret` registered, for :func:`release`.
Lease = tuple[str, ...]

#: True while any value is registered: the one test the output paths make.
armed = False
#: Every spelling, longest first, while there are at most :data:`_SMALL`; else ``None``
#: and :data:`_index` decides. Replaced, never mutated: other threads read it unlocked.
_small: list[str] | None = []
#: Spellings that are numbers, handled apart (:func:`_numeric`).
_numbers: tuple[str, ...] = ()
_lock = threading.Lock()
#: Registered value -> how many holders (cache values, direct registrations) hold it.
_held: dict[str, int] = {}
#: Released value -> ``time.monotonic()`` of its release, oldest first.
_released: dict[str, float] = {}
#: Spelling -> how many registered values spell so (two values may share one).
_spelled: dict[str, int] = {}
#: Value -> its spellings, as they were added.
_forms: dict[str, tuple[str, ...]] = {}


def configured_min_length() -> int:
    """``LAMBDAOPS_REDACT_MIN_LENGTH``, else :data:`MIN_LENGTH` (read per registration; a bad
    value was refused when the handler was decorated)."""
    from lambdaops._settings import setting

    try:
        return int(setting("LAMBDAOPS_REDACT_MIN_LENGTH"))
    except ValueError:  # ConfigError, outside a decorated handler: not here, at a fetch
        return MIN_LENGTH


def _json_forms(text: str) -> list[str]:
    """``text`` between JSON quotes, with and without ASCII escapes."""
    return [json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]]


def spellings(value: str) -> set[str]:
    """How ``value`` can reach output: raw, JSON-escaped once and twice, ``repr``-escaped,
    URL-encoded (``%XX``, and ``+`` for spaces) and as the ``repr`` of its UTF-8 bytes."""
    from urllib.parse import quote, quote_plus  # loaded with boto3 by the first secret

    forms = {value}
    once = _json_forms(value)
    forms.update(once)
    for form in once:
        forms.update(_json_forms(form))  # a JSON document logged as a string field
    inner_repr = repr(value)[1:-1]
    forms.add(inner_repr)
    forms.update(_json_forms(inner_repr))
    encoded = value.encode("utf-8", "surrogatepass")
    forms.update((quote(encoded, safe=""), quote(encoded), quote_plus(encoded)))
    byte_repr = repr(encoded)[2:-1]  # an OSError's bytes filename, print(b"...")
    forms.add(byte_repr)
    forms.update(_json_forms(byte_repr))
    forms.discard("")
    return forms


def _bytes_spellings(value: bytes) -> set[str]:
    """Bytes that are not UTF-8: as lambdaops renders them, and as their ``repr``."""
    forms: set[str] = set()
    for text in (value.decode("utf-8", "backslashreplace"), repr(value)[2:-1]):
        forms.add(text)
        forms.update(_json_forms(text))
    forms.discard("")
    return forms


def register(value: str, min_length: int | None = None) -> bool:
    """Redact ``value`` from everything written from now on, for good (no lease).

    False when it is too short to be redacted or not a string.
    """
    if not isinstance(value, str):
        return False
    if len(value) < (min_length if min_length is not None else configured_min_length()):
        return False
    _hold({value: None})
    return True


def register_secret(value: Any) -> Lease:
    """Register a loaded secret and every string and number inside it; returns its lease.

    A Secrets Manager value is often a JSON document (``{"password": ...}``): the
    handler usually logs one field, so each leaf is registered too. Bytes are
    registered as the text they decode to, or, if they are not UTF-8, as written.
    """
    found: dict[str, bytes | None] = {}
    _collect(value, configured_min_length(), 0, found)
    if not found:
        return ()
    _hold(found)
    return tuple(found)


def _collect(value: Any, limit: int, depth: int, out: dict[str, bytes | None]) -> None:
    """Each value to register -> ``None``, or the bytes a non-UTF-8 value stands for."""
    if depth > 32:
        return
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            if len(raw) >= limit:
                out[raw.decode("latin-1")] = raw  # a str that names these bytes exactly
            return
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        value = repr(value)  # {"pin": 48213977} is written as 48213977
    if isinstance(value, str):
        if len(value) >= limit:
            out[value] = None
        text = value.strip()
        if depth == 0 and text[:1] in ("{", "[") and len(text) >= 2:
            try:
                parsed = json.loads(text)
            except ValueError:
                return
            _collect(parsed, limit, depth + 1, out)
    elif isinstance(value, dict):
        for item in value.values():
            _collect(item, limit, depth + 1, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect(item, limit, depth + 1, out)


def release(lease: Lease) -> None:
    """The holder of ``lease`` let go: its values stay masked for :data:`RETAIN_S`, then
    stop costing (unless registered again)."""
    if not lease:
        return
    now = time.monotonic()
    with _lock:
        for value in lease:
            count = _held.get(value, 0)
            if count > 1:
                _held[value] = count - 1
            elif count == 1:
                del _held[value]
                _released[value] = now
        _expire_locked(now)


def sweep() -> None:
    """Stop masking values released more than :data:`RETAIN_S` ago (cheap when none)."""
    if _released:
        now = time.monotonic()
        oldest = next(iter(_released.values()), now)
        if now - oldest >= RETAIN_S:
            with _lock:
                _expire_locked(now)


def _hold(found: dict[str, bytes | None]) -> None:
    global armed
    with _lock:
        for value, raw in found.items():
            if value in _held:
                _held[value] += 1
                continue
            if _released.pop(value, None) is None:  # else still masked: just released
                _add_forms_locked(value, spellings(value) if raw is None else _bytes_spellings(raw))
            _held[value] = 1
        _expire_locked(time.monotonic())
        armed = bool(_forms)
    if armed:
        from lambdaops import _redact_streams

        _redact_streams.protect(redact, streams=_streams_wanted())


def _add_forms_locked(value: str, forms: set[str]) -> None:
    ordered = tuple(forms)
    _forms[value] = ordered
    for form in ordered:
        count = _spelled.get(form, 0)
        _spelled[form] = count + 1
        if not count:
            _place_locked(form, add=True)
    _refresh_small_locked()


def _expire_locked(now: float) -> None:
    """Drop released values past their retention or past :data:`MAX_RELEASED`."""
    global armed
    changed = False
    while _released:
        value, at = next(iter(_released.items()))
        if now - at < RETAIN_S and len(_released) <= MAX_RELEASED:
            break
        del _released[value]
        for form in _forms.pop(value, ()):
            count = _spelled.pop(form, 1) - 1
            if count:
                _spelled[form] = count
            else:
                _place_locked(form, add=False)
        changed = True
    if changed:
        _refresh_small_locked()
        armed = bool(_forms)


def _place_locked(form: str, add: bool) -> None:
    """A spelling joins or leaves the index, or the numbers."""
    global _numbers
    if _numeric(form):
        kept = [n for n in _numbers if n != form] + ([form] if add else [])
        _numbers = tuple(sorted(kept, key=len, reverse=True))
    elif add:
        _the_index().add(form)
    else:
        _the_index().discard(form)


def _refresh_small_locked() -> None:
    """The short list while there are few spellings (past that, the index: no O(n) work)."""
    global _small
    if len(_spelled) - len(_numbers) > _SMALL:
        _small = None
        return
    words = [form for form in _spelled if not _numeric(form)]
    _small = sorted(words, key=len, reverse=True)


def _numeric(form: str) -> bool:
    """Written as a JSON number (``{"pin": 48213977}``): masked as ``"***"`` where it
    stands as a value, so the line stays valid JSON."""
    return form[-1:].isdigit() and all(c in "0123456789.-+e" for c in form)


#: Made by the first registration: ``import lambdaops`` does not load it (~0.1 ms).
_index: Index | None = None


def _the_index() -> Index:
    global _index
    if _index is None:
        from lambdaops._redact_index import Index

        _index = Index()
    return _index


def redact(text: str) -> str:
    """``text`` with every registered secret masked."""
    if _released:
        sweep()
    small = _small
    if small is not None:
        for needle in small:
            if needle in text:
                text = text.replace(needle, MASK)
    else:
        for needle in _the_index().present(text):
            if needle in text:  # a longer one masked may have taken it
                text = text.replace(needle, MASK)
    if _numbers:
        text = _mask_numbers(text)
    return text


def _mask_numbers(text: str) -> str:
    for number in _numbers:
        at = text.find(number)
        while at >= 0:
            end = at + len(number)
            before = text[:at].rstrip()[-1:]
            after = text[end:].lstrip()[:1]
            # A JSON value (`"pin":48213977,`) becomes a string; elsewhere the bare mask.
            mask = '"***"' if before in (":", ",", "[") and after in (",", "}", "]") else MASK
            text = text[:at] + mask + text[end:]
            at = text.find(number, at + len(mask))
    return text


def active() -> bool:
    return armed


def registered() -> int:
    """How many values are masked now (held or within their retention)."""
    return len(_forms)


def _streams_wanted() -> bool:
    from lambdaops._settings import setting

    try:
        return bool(setting("LAMBDAOPS_REDACT_STREAMS"))
    except ValueError:
        return True


def clear() -> None:
    """Forget every registered secret and undo the output wrappers (tests)."""
    global armed, _small, _numbers
    with _lock:
        _held.clear()
        _released.clear()
        _spelled.clear()
        _forms.clear()
        if _index is not None:
            _index.clear()
        _small = []
        _numbers = ()
        armed = False
    from lambdaops import _redact_streams

    _redact_streams.unprotect()
