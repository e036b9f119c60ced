from __future__ import annotations

import json
import math
import re

from hypothesis import given
from hypothesis import strategies as st

from lambdaops._render import exception_fields, iso_timestamp, render

LIMIT = 4096


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
    assert len(line) <= 256 * 1024
    out = json.loads(line)
    assert out["small"] == "keep"
    assert re.search(r"…\[truncated \d+ chars\]$", out["big"])


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
