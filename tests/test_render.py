from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambdaops._clip import clip as clip_with
from lambdaops._clip import measure
from lambdaops._render import _default, exception_fields, iso_timestamp, render
from tests.render_support import count_encodings

LIMIT = 4096


def clip(value: object, budget: int) -> Any:
    """Cut as a log line's fields are (objects it does not know by their safe repr)."""
    return clip_with(value, budget, _default)


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr for you")


def test_plain_event_round_trips() -> None:
    event = {"message": "hi", "n": 1, "f": 1.5, "ok": True, "none": None, "list": [1, "a"]}
    assert json.loads(render(event, LIMIT)) == event


def test_unserialisable_values_fall_back_to_safe_repr() -> None:
    event = {"obj": object(), "bad": BadRepr(), "b": b"\xffbytes", "s": {3}}
    out = json.loads(render(event, LIMIT))
    assert out["obj"].startswith("<object object at")
    assert out["bad"] == "<unrepresentable BadRepr>"
    assert out["b"] == "\\xffbytes"
    assert out["s"] == [3]


def test_nan_and_cycles_are_cut() -> None:
    cyclic: dict[str, object] = {"a": 1}
    cyclic["self"] = cyclic
    lst: list[object] = [1]
    lst.append(lst)
    out = json.loads(render({"c": cyclic, "l": lst, "n": math.nan, "i": -math.inf}, LIMIT))
    assert out["c"] == {"a": 1, "self": "<cycle>"}
    assert out["l"] == [1, "<cycle>"]
    assert out["n"] == "nan"
    assert out["i"] == "-inf"


def test_deep_nesting_is_cut() -> None:
    # Deeper than the C encoder goes on any version (3.13's writes 5,000 levels whole, where
    # 3.11's gives up near 1,000), so the slow path takes it and cuts at 32 levels.
    deep: dict[str, object] = {}
    node = deep
    for _ in range(100_000):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    out = render({"deep": deep}, 1 << 20)
    assert out == '{"deep":' + '{"x":' * 32 + '"<too deep>"' + "}" * 33
    json.loads(out)


def test_long_lines_are_shortened_with_a_marker() -> None:
    event = {"message": "m", "big": "x" * 2_000_000, "small": "keep"}
    line = render(event, 256 * 1024)
    # Exactly the limit: 22 characters before the x's, 31 of marker, 17 after.
    assert line == (
        '{"message":"m","big":"'
        + "x" * 262_074
        + '\\u2026[truncated 1737926 chars]","small":"keep"}'
    )
    assert len(line) == 256 * 1024


def test_a_large_list_keeps_its_first_items_and_the_fields_after_it() -> None:
    event = {
        "timestamp": "2024-05-01T12:00:00.000Z",
        "level": "INFO",
        "message": "m",
        "request_id": "r-1",
        "body": [{"id": i, "name": f"n{i:04d}"} for i in range(10_000)],
        "after": "kept",
    }
    line = render(event, 1024)
    # 1,003 characters: item 35 and its comma (25 more) would not fit.
    items = ",".join(f'{{"id":{i},"name":"n{i:04d}"}}' for i in range(35))
    assert line == (
        '{"timestamp":"2024-05-01T12:00:00.000Z","level":"INFO","message":"m","request_id":"r-1",'
        f'"body":[{items},"\\u2026[9965 more items]"],"after":"kept"}}'
    )


def test_large_fields_share_the_line_in_order() -> None:
    """Small fields stay whole; the large ones take what is left, each leaving a fair
    share (249 here) for those after it. Escapes count as written (é is 6 characters)."""
    line = render({"message": "m", "a": "é" * 5000, "b": "x" * 5000, "n": 1}, 1024)
    assert line == (
        '{"message":"m","a":"' + "\\u00e9" * 119 + '\\u2026[truncated 4881 chars]",'
        '"b":"' + "x" * 219 + '\\u2026[truncated 4781 chars]","n":1}'
    )
    assert len(line) == 1024


def test_clip_is_whole_when_it_fits_and_says_what_it_cut() -> None:
    value = {"a": [1, 2.5, None, True, "é"], "b": {"c": "x" * 50}}
    assert clip(value, 1000) == value
    assert measure(value, 1000) == len(json.dumps(value, separators=(",", ":")))
    assert measure(value, 10) == -1  # longer than the budget
    assert measure([], 1) == measure({}, 1) == -1 and measure([], 2) == measure({}, 2) == 2
    assert measure({"n": math.nan}, 1000) == measure({1: 1}, 1000) == measure({3}, 1000) == -2
    assert clip({f"k{i}": i for i in range(100)}, 100) == {
        **{f"k{i}": i for i in range(10)},
        "…": "[90 more keys]",
    }
    # 49 characters as JSON: room is kept for the three digits of 100.
    assert clip("y" * 100, 50) == "y" * 21 + "…[truncated 79 chars]"
    assert clip([[1] * 100], 60) == [[1] * 16 + ["…[84 more items]"]]
    assert len(json.dumps(clip([[1] * 100], 60), separators=(",", ":"))) == 59  # one more: 61


class Counted(list[object]):
    """A list that counts the items read from it (the C encoder reads none this way)."""

    read = 0

    def __iter__(self) -> Iterator[object]:
        for item in super().__iter__():
            Counted.read += 1
            yield item


def test_rendering_a_large_value_costs_what_the_line_holds(monkeypatch: Any) -> None:
    """Proportional, counted: the value is encoded once whole (to learn it is too long) and
    its copy once (within the limit), and the copy reads only the items the line holds."""
    from lambdaops import _render

    encoded = count_encodings(monkeypatch)
    body = Counted({"id": i, "name": f"n{i:04d}"} for i in range(100_000))
    line = render({"message": "m", "body": body}, 1024)
    assert len(encoded) == 2 and encoded[0] > 2_300_000  # the fast path's one attempt
    assert encoded[1] == len(line) == 1016
    assert json.loads(line)["body"][-1] == "…[99961 more items]"  # 39 items kept

    # When the caller's own encoding already showed the fields too long (the logger's
    # fast path), the line is not encoded whole again; the copy reads 62 of 100,000 items:
    # a look at the field's fair share (502 characters: 21 items) and then at the rest of
    # the line (1,001: 41 items, the last of which did not fit).
    assert len(_render.encode({"body": body})) > 2_300_000
    encoded.clear()
    Counted.read = 0
    assert render({"message": "m", "body": body}, 1024) == line
    assert encoded == [len(line)]
    assert Counted.read == 21 + 41


def test_surrogates_are_escaped() -> None:
    line = render({"s": "bad \udc80 surrogate", "e": "é"}, LIMIT)
    line.encode("utf-8")  # would raise on a raw lone surrogate
    assert json.loads(line)["e"] == "é"


def test_timestamp_is_iso_utc_milliseconds() -> None:
    assert iso_timestamp(0.5) == "1970-01-01T00:00:00.500Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso_timestamp())


def test_exception_fields() -> None:
    try:
        try:
            raise KeyError("inner")
        except KeyError as inner:
            raise ValueError("outer") from inner
    except ValueError as exc:
        fields = exception_fields(exc)
    assert fields["type"] == "ValueError"
    assert fields["message"] == "outer"
    assert fields["stack"][-1]["function"] == "test_exception_fields"
    assert fields["cause"]["type"] == "KeyError"


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text() | st.binary(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


@given(st.dictionaries(st.text(max_size=20), json_values, max_size=8))
def test_render_never_raises_and_is_valid_json(event: dict[str, object]) -> None:
    line = render(event, 2048)
    assert len(line) <= 2048
    assert isinstance(json.loads(line), dict)


@given(json_values, st.integers(64, 4096))
def test_clip_fits_its_budget_and_is_whole_when_the_value_fits(value: object, budget: int) -> None:
    text = json.dumps(clip(value, budget), separators=(",", ":"), allow_nan=False)
    assert len(text) <= budget
    try:
        whole = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return  # bytes, NaN: converted, so not comparable
    assert measure(value, budget) == (len(whole) if len(whole) <= budget else -1)
    if len(whole) <= budget:
        assert text == whole


def test_a_line_that_cannot_fit_is_still_valid_json() -> None:
    """Found by `make fuzz`: a contract key holding a big structure, a small limit."""
    fields = {
        "\x10«C": None,
        "request_id": {"": None, "\U00079a46G¡": 3.99e16, "0\x07𐀀": [None, 1e16]},
        "message": "m" * 500,
    }
    for limit in (256, 294):
        line = render(fields, limit)
        assert len(line) <= limit
        assert isinstance(json.loads(line), dict)  # shortened, never cut mid-JSON
        assert "truncated" in line


def test_an_int_too_long_for_text_is_named_not_lost() -> None:
    line = json.loads(render({"message": "m", "big": 10**5000, "small": 10**40}, 256 * 1024))
    assert line["message"] == "m" and line["small"] == 10**40
    assert line["big"].startswith("<int of ") and line["big"].endswith(" bits>")


# -- mutation testing (issue 14, docs/mutation.md): exact values ------------------------------


class Repr:
    def __init__(self, text: object) -> None:
        self.text = text

    def __repr__(self) -> Any:
        return self.text


class BadStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


def test_safe_repr_keeps_2048_characters() -> None:
    from lambdaops._render import safe_repr

    assert safe_repr(BadRepr()) == "<unrepresentable BadRepr>"
    assert safe_repr(Repr(42)) == "<unrepresentable Repr>"  # a repr that is not a str
    assert safe_repr(Repr("r" * 2048)) == "r" * 2048
    assert safe_repr(Repr("r" * 2049)) == "r" * 2048 + "…[truncated 1 chars]"


def test_default_converts_what_the_encoder_does_not_know() -> None:
    import datetime

    class BadIsoformat:
        def isoformat(self) -> str:
            raise RuntimeError("no date")

        def __repr__(self) -> str:
            return "bad-iso"

    class NotCallable:
        isoformat = "2024"

        def __repr__(self) -> str:
            return "not-callable"

    assert _default(b"\xffa") == "\\xffa"
    assert _default(bytearray(b"\xffb")) == "\\xffb"
    assert _default(memoryview(b"c\xff")) == "c\\xff"
    assert _default({7}) == [7] and _default(frozenset([8])) == [8]
    assert _default(ValueError("x")) == "ValueError: x"
    assert _default(BadStr("y")) == "BadStr: BadStr('y')"  # its repr, when str fails
    assert _default(datetime.date(2024, 1, 2)) == "2024-01-02"
    assert _default(BadIsoformat()) == "bad-iso"
    assert _default(NotCallable()) == "not-callable"
    assert _default(Repr("r" * 3000)) == "r" * 2048 + "…[truncated 952 chars]"


def test_made_encoders_are_compact_ascii_in_order_and_strict() -> None:
    import pytest

    from lambdaops._render import make_chunk_encoder, make_encoder

    encode = make_encoder(_default)
    value = {"b": [1, "é", None, True, 1.5], "a": b"\xff", 1: {3}}
    assert encode(value) == '{"b":[1,"\\u00e9",null,true,1.5],"a":"\\\\xff","1":[3]}'
    assert "".join(make_chunk_encoder(_default)(value, 0)) == encode(value)
    with pytest.raises(ValueError, match="Out of range float values"):
        encode({"n": math.nan})
    with pytest.raises(TypeError, match="keys must be str"):
        encode({(1, 2): 1})
    cyclic: list[object] = []
    cyclic.append(cyclic)
    with pytest.raises(RecursionError):  # no markers: a cycle is a recursion
        encode(cyclic)
    assert make_encoder(lambda obj: "default")({"o": object()}) == '{"o":"default"}'


def test_long_encodings_are_noted_by_their_members_ids(monkeypatch: Any) -> None:
    from lambdaops import _render

    monkeypatch.setattr(_render, "_long", None)
    text = "a" * 4088
    assert len(_render.encode({"k": text})) == 4096
    assert _render._long is None
    assert len(_render.encode(["a" * 5000])) == 5004  # only a dict's members are noted
    assert _render._long is None
    longer = text + "a"
    assert _render.encode({"k": longer}) == '{"k":"' + longer + '"}'
    assert _render._long == (4095, (("k", id(longer)),))

    monkeypatch.setattr(_render, "_long", None)
    value = "b" * 4089
    assert _render.encode_members({"k": value}) == ',"k":"' + value + '"'  # 4,096
    assert _render._long is None
    value += "b"
    assert _render.encode_members({"k": value, "n": 1}) == ',"k":"' + value + '","n":1'
    assert _render._long == (4102, (("k", id(value)), ("n", id(1))))


def test_encode_members_formats_each_plain_kind_and_declines_the_rest() -> None:
    from enum import IntEnum

    from lambdaops._render import encode_members

    class Number(IntEnum):
        ONE = 1

    fields = {"s": "é\n", "i": -3, "f": 1.5, "z": 0.0, "n": None, "t": True, "F": False}
    assert encode_members(fields) == (
        ',"s":"\\u00e9\\n","i":-3,"f":1.5,"z":0.0,"n":null,"t":true,"F":false'
    )
    assert encode_members({}) == ""
    for odd in (math.inf, -math.inf, math.nan, Number.ONE, [1], b"x", 1j):
        assert encode_members({"a": 1, "b": odd}) is None, odd
    assert encode_members({1: "a"}) is None
    assert encode_members({"é": 1}) == ',"\\u00e9":1'


def test_a_known_long_line_goes_straight_to_the_cut(monkeypatch: Any) -> None:
    from lambdaops import _render

    encoded: list[object] = []
    chunks = _render._encode_chunks

    def counting(obj: object, level: int) -> Any:
        encoded.append(obj)
        return chunks(obj, level)

    monkeypatch.setattr(_render, "_encode_chunks", counting)
    value = "v" * 5000
    event = {"message": "m", "value": value}
    monkeypatch.setattr(_render, "_long", (5008, (("value", id(value)),)))
    line = _render.render(event, 1024)
    assert encoded == [json.loads(line)]  # only the cut copy was encoded
    assert _render._long is None  # a note is read once
    assert line == '{"message":"m","value":"' + "v" * 970 + '\\u2026[truncated 4030 chars]"}'

    # Members 1,023 characters long (braces make 1,025): known too long for 1,024.
    encoded.clear()
    monkeypatch.setattr(_render, "_long", (1023, (("value", id(value)),)))
    assert _render.render(event, 1024) == line
    assert encoded == [json.loads(line)]

    # A note about other values (or a member the event lacks, though it noted None), or
    # short enough for the line, is ignored: the event is encoded whole first.
    for note in (
        (5008, (("value", id(event)),)),
        (5008, (("value", id(value)), ("gone", id(None)))),
        (1022, (("value", id(value)),)),
    ):
        encoded.clear()
        monkeypatch.setattr(_render, "_long", note)
        assert _render.render(event, 1024) == line
        assert encoded[0] is event and len(encoded) == 2
        assert _render._long is None

    # A line of exactly the limit is the fast path's: encoded once.
    encoded.clear()
    whole = json.dumps(event, separators=(",", ":"))
    assert _render.render(event, len(whole)) == whole
    assert encoded == [event]


def test_when_even_the_cut_copy_is_too_long_the_identifying_fields_are_kept(
    monkeypatch: Any,
) -> None:
    from lambdaops import _render

    monkeypatch.setattr(_render, "clip", lambda event, limit, default: event)  # cuts nothing
    event = {
        "timestamp": "2024-05-01T12:00:00.000Z",
        "level": "INFO",
        "request_id": "r" * 100,
        "service": "svc",
        "message": "m" * 300,
        "body": "x" * 1000,
    }
    assert render(event, 512) == json.dumps(
        {
            "timestamp": "2024-05-01T12:00:00.000Z",
            "level": "INFO",
            "request_id": "r" * 64,
            "service": "svc",
            "message": "m" * 64 + "…[truncated 236 chars]",  # an eighth of the limit
            "truncated": True,
        },
        separators=(",", ":"),
    )
    assert render({"message": ["m"] * 100, "x": "y" * 100}, 100) == json.dumps(
        {"message": "['m', 'm', 'm', \u2026[truncated 484 chars]", "truncated": True},
        separators=(",", ":"),
    )  # 16 characters of the message's repr at least
    assert render({"message": "m" * 100, "x": "y" * 100}, 60) == '{"truncated":true}'
    assert render({"x": "y" * 100}, 60) == '{"message":"","truncated":true}'  # none to keep
    not_str = {"timestamp": 1, "level": 20, "request_id": 7, "service": ["s"]}  # left out
    assert render({**not_str, "message": "m" * 100, "x": "y" * 100}, 100) == (
        '{"message":"' + "m" * 16 + '\\u2026[truncated 84 chars]","truncated":true}'
    )
    exactly = '{"message":"' + "m" * 16 + '\\u2026[truncated 2984 chars]","truncated":true}'
    assert len(exactly) == 75
    assert render({"message": "m" * 3000, "x": "y" * 3000}, 75) == exactly

    def broken(event: object, limit: int, default: object) -> object:
        raise RuntimeError("clip broke")

    monkeypatch.setattr(_render, "clip", broken)
    assert render({"x": "y" * 100}, 60) == (
        '{"level":"ERROR","message":"lambdaops could not render a line","error":"RuntimeError"}'
    )


def test_a_long_repr_is_redacted_before_it_is_cut() -> None:
    from lambdaops import _redact
    from lambdaops._render import safe_repr

    secret = "hunter2-secret"
    _redact.register(secret)
    assert _redact.MASK == "***"
    # Redacted, 2,053 characters still need the cut; 2,044 fit whole.
    assert safe_repr(Repr("a" * 2040 + secret + "b" * 10)) == (
        "a" * 2040 + "***" + "b" * 5 + "…[truncated 5 chars]"
    )
    assert safe_repr(Repr("a" * 2031 + secret + "b" * 10)) == "a" * 2031 + "***" + "b" * 10
    assert safe_repr(Repr("a" * 2045 + secret)) == "a" * 2045 + "***"  # 2,048 exactly


def test_timestamps_from_a_given_time_and_from_the_clock(monkeypatch: Any) -> None:
    from lambdaops import _render

    assert iso_timestamp(86400.9999) == "1970-01-02T00:00:00.999Z"
    assert iso_timestamp(86401.0) == "1970-01-02T00:00:01.000Z"  # the next second's text
    assert iso_timestamp(1.0) == "1970-01-01T00:00:01.000Z"
    assert iso_timestamp(1.25) == "1970-01-01T00:00:01.250Z"  # the same second, cached
    monkeypatch.setattr(_render.time, "time_ns", lambda: 1_767_225_600_123_999_999)
    assert iso_timestamp() == "2026-01-01T00:00:00.123Z"
    assert _render.THREE_DIGITS[0] == "000" and _render.THREE_DIGITS[999] == "999"


def test_frame_fields_name_file_line_and_function() -> None:
    import traceback

    from lambdaops._render import frame_fields

    frames = [traceback.FrameSummary("a.py", 3, "f"), traceback.FrameSummary("b.py", 9, "g")]
    assert frame_fields(frames) == [
        {"file": "a.py", "line": 3, "function": "f"},
        {"file": "b.py", "line": 9, "function": "g"},
    ]


def _recurse(n: int) -> None:
    if n == 0:
        raise ValueError("deep")
    _recurse(n - 1)


def test_exception_fields_keep_the_innermost_frames_and_the_cause(monkeypatch: Any) -> None:
    import traceback

    try:
        _recurse(60)
    except ValueError as exc:
        deep = exception_fields(exc)
        few = exception_fields(exc, max_frames=3)
    line = _recurse.__code__.co_firstlineno
    inner = {"file": __file__, "line": line + 2, "function": "_recurse"}
    calls = {"file": __file__, "line": line + 3, "function": "_recurse"}
    assert deep == {"type": "ValueError", "message": "deep", "stack": [calls] * 49 + [inner]}
    assert few == {"type": "ValueError", "message": "deep", "stack": [calls] * 2 + [inner]}

    def fields(raise_it: Any) -> dict[str, Any]:
        try:
            raise_it()
        except Exception as exc:
            out = exception_fields(exc)
        del out["stack"]
        return out

    def caused() -> None:
        raise ValueError("outer") from KeyError("inner")

    def during() -> None:
        try:
            raise KeyError("first")
        except KeyError:
            raise ValueError("second") from None

    def implicit() -> None:
        try:
            raise KeyError("first")
        except KeyError:
            raise ValueError("second")  # noqa: B904 - the implicit context is the subject

    def own_cause() -> None:
        exc = ValueError("self")
        exc.__cause__ = exc
        raise exc

    def bad_str() -> None:
        raise BadStr("q")

    assert fields(caused) == {
        "type": "ValueError",
        "message": "outer",
        "cause": {"type": "KeyError", "message": "'inner'"},
    }
    assert fields(during) == {"type": "ValueError", "message": "second"}
    assert fields(implicit) == {
        "type": "ValueError",
        "message": "second",
        "cause": {"type": "KeyError", "message": "'first'"},
    }
    assert fields(own_cause) == {"type": "ValueError", "message": "self"}
    assert fields(bad_str) == {"type": "BadStr", "message": "BadStr('q')"}

    def broken(tb: object) -> object:
        raise RuntimeError("no frames")

    monkeypatch.setattr(traceback, "extract_tb", broken)
    try:
        raise KeyError("k")
    except KeyError as exc:
        assert exception_fields(exc) == {"type": "KeyError", "message": "'k'", "stack": []}


def test_the_date_part_is_formatted_once_a_second(monkeypatch: Any) -> None:
    import time

    from lambdaops import _render

    formatted: list[tuple[int, ...]] = []
    strftime = time.strftime

    def counting(fmt: str, when: Any) -> str:
        formatted.append(tuple(when)[:6])
        return strftime(fmt, when)

    monkeypatch.setattr(time, "strftime", counting)
    monkeypatch.setattr(_render, "_ts", (-1, ""))
    stamps = [iso_timestamp(t) for t in (7200.001, 7200.5, 7200.999, 7201.0, 7201.2)]
    assert stamps == [
        "1970-01-01T02:00:00.001Z",
        "1970-01-01T02:00:00.500Z",
        "1970-01-01T02:00:00.999Z",
        "1970-01-01T02:00:01.000Z",
        "1970-01-01T02:00:01.200Z",
    ]
    assert formatted == [(1970, 1, 1, 2, 0, 0), (1970, 1, 1, 2, 0, 1)]


def _nest(depth: int, value: object = 1) -> object:
    for _ in range(depth):
        value = [value]
    return value


def test_clip_sizes_each_scalar_exactly() -> None:
    from lambdaops._clip import _clip

    def one(value: object, budget: int = 100) -> Any:
        return _clip(value, budget, _default, set(), 0, True)

    assert one(None) == (None, 4, True) and one(True) == (True, 4, True)
    assert one(False) == (False, 5, True)
    assert one(-12) == (-12, 3, True) and one(1.5) == (1.5, 3, True)
    widest = 2**13999  # 14,000 bits: the widest int written as a number
    assert one(widest) == (widest, 4215, True)
    assert one(widest * 2) == ("<int of 14001 bits>", 21, True)


def test_clip_str_at_its_bounds() -> None:
    from lambdaops._clip import _clip_str

    assert _clip_str("abc", 5) == ("abc", 5, True)
    assert _clip_str("abc", 4) == ("…[truncated 3 chars]", 27, False)
    assert _clip_str("é", 8) == ("é", 8, True)  # "\u00e9" and its quotes
    assert _clip_str("é", 7) == ("…[truncated 1 chars]", 27, False)
    # The marker takes 26 characters and the count's digits: room for 0, 1 and 2 x's.
    assert _clip_str("x" * 100, 29) == ("…[truncated 100 chars]", 29, False)
    assert _clip_str("x" * 100, 30) == ("x…[truncated 99 chars]", 29, False)
    assert _clip_str("x" * 100, 31) == ("xx…[truncated 98 chars]", 30, False)
    # Escapes count as written: 11 é's are 66 characters, a 12th would make 72 of 71.
    assert _clip_str("é" * 100, 100) == ("é" * 11 + "…[truncated 89 chars]", 94, False)


def test_clip_str_redacts_before_it_measures_and_cuts() -> None:
    from lambdaops import _redact
    from lambdaops._clip import _clip_str

    secret = "hunter2-secret"
    _redact.register(secret)
    assert _clip_str("a" * 10 + secret, 15) == ("a" * 10 + "***", 15, True)
    assert _clip_str("a" * 10 + secret, 14) == ("…[truncated 13 chars]", 28, False)
    # Redacted, 8 characters but 35 escaped: cut, not kept whole.
    assert _clip_str("é" * 5 + secret, 12) == ("…[truncated 8 chars]", 27, False)


def test_markers_and_keys_have_exact_sizes() -> None:
    from lambdaops._clip import _key, _marker

    assert _marker(5, True) == ("[5 more keys]", len('"\\u2026":"[5 more keys]"'))
    assert _marker(5, False) == ("…[5 more items]", len('"\\u2026[5 more items]"'))
    assert _key("k" * 1024) == "k" * 1024
    assert _key("k" * 1025) == "k" * 994 + "…[truncated 31 chars]"
    assert _key(3) == "3" and _key(("a", 1)) == "('a', 1)"
    assert clip({"k" * 1025: 1}, 2000) == {"k" * 994 + "…[truncated 31 chars]": 1}


def test_measure_at_its_bounds() -> None:
    assert measure([1], 3) == 3 and measure([1], 2) == -1
    assert measure("ab", 4) == 4 and measure("abc", 4) == -1
    assert measure(1, 1) == 1 and measure(10, 1) == -1
    assert measure(2**13999, 10**5) == 4215 and measure(2**14000, 10**5) == -2
    assert measure({"s": 2**13999}, 10**5) == 4221
    assert measure(_nest(20), 1000) == 41
    assert measure(_nest(33), 1000) == 67 and measure(_nest(34), 1000) == -2
    assert measure(_nest(34), 1000, depth=0) == -2 and measure(_nest(2), 10, depth=31) == 5
    assert measure(_nest(2), 10, depth=32) == -2


def test_clip_converts_unknown_objects_by_the_default_it_is_given() -> None:
    class Chain:
        def __init__(self, left: int) -> None:
            self.left = left

    class Pair:
        pass

    class Fields:
        pass

    def default(obj: object) -> object:
        if isinstance(obj, Chain):
            return Chain(obj.left - 1) if obj.left else "end"
        if isinstance(obj, Pair):
            return [Repr("inner"), {"n": [1, 2]}]
        if isinstance(obj, Fields):
            return {"a": "x" * 200, "b": "y" * 200}
        return _default(obj)

    assert clip_with({"o": Repr("obj")}, 100, default) == {"o": "obj"}
    assert clip_with(Pair(), 100, default) == ["inner", {"n": [1, 2]}]
    # What a default gives is cut as any value is: in fair shares.
    assert clip_with(Fields(), 150, default) == {
        "a": "x" * 41 + "…[truncated 159 chars]",
        "b": "y" * 40 + "…[truncated 160 chars]",
    }
    # Each conversion is a level deeper: 33 conversions end at the depth limit.
    assert clip_with(Chain(32), 100, default) == "end"
    assert clip_with(Chain(33), 100, default) == "<too deep>"


def test_clip_shares_and_cuts_mixed_values_exactly() -> None:
    """Each case tells apart clip and some of the mutants of its sharing and cutting that
    survived the suite (found by comparing them on random values; docs/mutation.md)."""
    cases: list[tuple[object, int, object]] = [
        (
            {
                "k0": [
                    {
                        "k0": 12345,
                        "k1": 0,
                        "k2": 12345,
                        "k3": Repr("odd"),
                        "k4": 12345,
                        "k5": '"',
                        "k6": "x" * 30,
                        "k7": "é" * 60,
                        "k8": 1.5,
                        "k9": 1,
                        "k10": 12345,
                        "k11": 0,
                    }
                ],
                "k1": {"k0": []},
            },
            100,
            {
                "k0": [{"k0": 12345, "k1": 0, "k2": 12345, "k3": "odd", "…": "[8 more keys]"}],
                "…": "[1 more keys]",
            },
        ),
        (
            [{"k0": '"' * 30, "k1": 0, "k2": ['"', "ééé", "x"]}],
            64,
            [{"k0": '"…[truncated 29 chars]', "…": "[2 more keys]"}],
        ),
        ([[math.nan], '"'], 100, [["nan"], '"']),
        ({"k0": [], "k1": Repr("odd")}, 20, {"k0": [], "k1": "odd"}),
        ({"k0": [-5, None], "k1": '"' * 10}, 40, {"…": "[2 more keys]"}),
        (["é" * 60, [-5], []], 200, ["ééééééééééééééééééééééééééé…[truncated 33 chars]", [-5], []]),
        (
            [12345, 12345, 1, [{"k0": -5, "k1": Repr("odd" * 12)}, '"' * 10, "é" * 30], 12345],
            200,
            [
                12345,
                12345,
                1,
                [
                    {"k0": -5, "k1": "oddoddoddoddoddoddoddoddoddoddoddodd"},
                    '"' * 10,
                    "ééééééééé…[truncated 21 chars]",
                ],
                "…[1 more items]",
            ],
        ),
        (
            [
                Repr("odd"),
                {"k0": {"k0": "", "k1": "é" * 10, "k2": "xxx", "k3": 0, "k4": Repr("odd" * 12)}},
                Repr("odd" * 12),
                "é" * 30,
                [{"k0": ""}],
            ],
            64,
            ["odd", {"k0": {"…": "[5 more keys]"}}, "…[3 more items]"],
        ),
        (
            [
                {
                    "k0": 12345,
                    "k1": ["é" * 100, "x" * 30],
                    "k2": "x",
                    "k3": {"k0": Repr("odd" * 12)},
                    "k4": {"k0": math.nan, "k1": Repr("odd"), "k2": "xxx", "k3": "", "k4": None},
                }
            ],
            200,
            [
                {
                    "k0": 12345,
                    "k1": ["ééééééééééééééé…[truncated 85 chars]", "x" * 30],
                    "…": "[3 more keys]",
                }
            ],
        ),
        (
            {
                "k0": {
                    "k0": {},
                    "k1": [],
                    "k2": Repr("odd"),
                    "k3": {"k0": 0, "k1": True, "k2": "xxx"},
                    "k4": "x" * 100,
                },
                "k1": [[], [], {"k0": Repr("odd")}, Repr("odd" * 12), [-5, "x" * 100]],
            },
            200,
            {
                "k0": {
                    "k0": {},
                    "k1": [],
                    "k2": "odd",
                    "k3": {"k0": 0, "k1": True, "k2": "xxx"},
                    "…": "[1 more keys]",
                },
                "k1": [
                    [],
                    [],
                    {"k0": "odd"},
                    "oddoddoddoddoddoddoddoddoddoddoddodd",
                    [-5, "xxxxx…[truncated 95 chars]"],
                ],
            },
        ),
        (
            [
                {
                    "k0": {
                        "k0": Repr("odd" * 12),
                        "k1": 12345,
                        "k2": '"' * 60,
                        "k3": "é" * 60,
                        "k4": Repr("odd"),
                        "k5": Repr("odd" * 12),
                        "k6": 12345,
                        "k7": 1,
                        "k8": "x" * 60,
                        "k9": 12345,
                        "k10": '"' * 100,
                        "k11": "é" * 10,
                    },
                    "k1": 12345,
                },
                Repr("odd"),
                None,
                "x" * 10,
                {
                    "k0": {"k0": "xxx"},
                    "k1": {
                        "k0": Repr("odd"),
                        "k1": Repr("odd"),
                        "k2": "",
                        "k3": "é" * 60,
                        "k4": Repr("odd" * 12),
                        "k5": "",
                        "k6": "x" * 10,
                        "k7": "x" * 100,
                        "k8": math.nan,
                        "k9": 0,
                        "k10": 0,
                        "k11": '"' * 30,
                    },
                    "k2": Repr("odd" * 12),
                },
            ],
            200,
            [
                {
                    "k0": {
                        "k0": "oddoddoddoddoddoddoddoddoddoddoddodd",
                        "k1": 12345,
                        "k2": '""""""""""""""""""""…[truncated 40 chars]',
                        "…": "[9 more keys]",
                    },
                    "k1": 12345,
                },
                "…[4 more items]",
            ],
        ),
        (
            {
                "k0": math.nan,
                "k1": [0],
                "k2": "é" * 60,
                "k3": {"k0": 12345, "k1": "é" * 30, "k2": {"k0": ""}},
                "k4": {
                    "k0": "x" * 60,
                    "k1": "ééé",
                    "k2": {"k0": -5, "k1": "x" * 30, "k2": "é" * 10},
                },
                "k5": [Repr("odd" * 12), 0],
                "k6": '"' * 30,
                "k7": 1,
                "k8": "x" * 10,
                "k9": {},
                "k10": [
                    "x" * 100,
                    None,
                    1.5,
                    {"k0": '"' * 60},
                    Repr("odd" * 12),
                    0,
                    -5,
                    '"',
                    "é",
                    Repr("odd"),
                    [
                        math.nan,
                        '"',
                        "é" * 10,
                        '"' * 100,
                        "é" * 60,
                        "x" * 100,
                        "é" * 30,
                        -5,
                        "é" * 100,
                        '"' * 10,
                        None,
                        "é" * 10,
                    ],
                    math.nan,
                ],
                "k11": {"k0": {}},
            },
            80,
            {"k0": "nan", "k1": [0], "…": "[10 more keys]"},
        ),
    ]
    for value, budget, expected in cases:
        assert clip(value, budget) == expected, (value, budget)


def test_clip_at_the_fair_share_and_depth_bounds() -> None:
    # Two members of 72 characters in 131: a share of exactly 64 each, so both are cut.
    assert clip(["x" * 70, "x" * 70], 131) == ["x" * 36 + "…[truncated 34 chars]"] * 2
    # Depth counts from the top of the line, not from the member being measured.
    assert clip({"a": {"b": _nest(32)}}, 100) == {"a": {"b": _nest(31, "<too deep>")}}
    assert clip([[_nest(32), 1, 2, 3]], 100) == [[_nest(31, "<too deep>"), 1, 2, 3]]
    # Too long before the NaN is reached: -1 (cut), not -2 (convert).
    assert measure([["x" * 16, math.nan]], 20) == -1


def test_the_last_resort_keeps_a_short_message_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bug found by mutation testing: the fallback wrote "short…[truncated -11 chars]".

    The last resort runs when even the cut copy is too long; a cutter that cuts nothing
    stands in for that rare case."""
    from lambdaops import _render

    monkeypatch.setattr(_render, "clip", lambda event, limit, default: dict(event))
    event = {"message": "short", "level": "INFO", "blob": "x" * 5000}
    assert json.loads(render(event, 60)) == {"level": "INFO", "message": "short", "truncated": True}
    event["message"] = "m" * 30  # longer than the fallback's cap of max(60 // 8, 16)
    assert json.loads(render(event, 100))["message"] == "m" * 16 + "…[truncated 14 chars]"
