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
