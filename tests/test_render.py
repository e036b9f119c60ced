from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from lambdaops._clip import clip as clip_with
from lambdaops._clip import measure
from lambdaops._render import _default, exception_fields, iso_timestamp, render

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

    encoded: list[int] = []
    chunks = _render._encode_chunks

    def counting(obj: object, level: int) -> Any:
        out = chunks(obj, level)
        encoded.append(sum(map(len, out)))
        return out

    monkeypatch.setattr(_render, "_encode_chunks", counting)
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
    assert _render.render(event, len(json.dumps(event))) == json.dumps(event, separators=(",", ":"))
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
        "service": 5,  # not a str: left out
        "message": "m" * 300,
        "body": "x" * 1000,
    }
    assert render(event, 512) == json.dumps(
        {
            "timestamp": "2024-05-01T12:00:00.000Z",
            "level": "INFO",
            "request_id": "r" * 64,
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
