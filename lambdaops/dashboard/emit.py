"""A CloudFormation template as YAML text, without a YAML library.

lambdaops depends on wrapt alone, and a template needs little of YAML: block mappings and
sequences, numbers, booleans, and strings. Every string is written as a JSON string (a
valid YAML double-quoted scalar) or, when it spans lines, as a literal block (``|-``) so
the dashboard body stays readable; intrinsic functions use their long form (``Fn::Sub``),
which needs no tags.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_:]*$")
_INDENT = "  "


def dump(document: dict[str, Any]) -> str:
    """The document as YAML, ending with a newline."""
    return "\n".join(_mapping(document, 0)) + "\n"


def _key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) and not key.endswith(":") else json.dumps(key)


def _mapping(node: dict[str, Any], depth: int) -> list[str]:
    pad = _INDENT * depth
    lines: list[str] = []
    for key, value in node.items():
        head = f"{pad}{_key(str(key))}:"
        lines.extend(_value(head, value, depth))
    return lines


def _sequence(node: list[Any], depth: int) -> list[str]:
    pad = _INDENT * depth
    lines: list[str] = []
    for item in node:
        if isinstance(item, dict) and item:
            inner = _mapping(item, depth + 1)
            lines.append(f"{pad}- {inner[0].lstrip()}")
            lines.extend(inner[1:])
        else:
            lines.extend(_value(f"{pad}-", item, depth))
    return lines


def _value(head: str, value: Any, depth: int) -> list[str]:
    if isinstance(value, dict) and value:
        return [head, *_mapping(value, depth + 1)]
    if isinstance(value, list) and value:
        return [head, *_sequence(value, depth + 1)]
    if isinstance(value, str) and _block(value):
        pad = _INDENT * (depth + 1)
        return [f"{head} |-", *(f"{pad}{line}" if line else "" for line in value.split("\n"))]
    return [f"{head} {_scalar(value)}"]


def _block(text: str) -> bool:
    """A literal block keeps the text exactly: several lines, printable, no edge spaces."""
    lines = text.split("\n")
    return (
        len(lines) > 1
        and all(line.isprintable() and line == line.rstrip() for line in lines)
        and not lines[0].startswith(" ")
        and lines[-1] != ""
    )


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # no exponent: YAML 1.1 reads 6e-05 as a string
        text = format(Decimal(repr(value)), "f")
        return text if "." in text else f"{text}.0"
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return json.dumps(str(value), ensure_ascii=False)
