"""``lambdaops report --function NAME``: one function's invocations from a log of several.

A log group shared by functions, or exports of several concatenated, hold other
functions' invocations, which would count as this one's. Outcome records name
their function (``function_name``); Lambda's platform records do not, and belong
to a function only through their log stream, which is one execution environment
of one function. A stream's function is known from its name in a custom log
group (``YYYY/MM/DD/NAME[VERSION]…``, docs.aws.amazon.com/lambda/latest/dg/
monitoring-cloudwatchlogs-loggroups.html) or from the outcome records in it.
Unknown: a stream of a default log group (``YYYY/MM/DD/[$LATEST]…``) with no
outcome record in it (every invocation died first, or the function does not use
lambdaops), and, in a log that names no streams (raw, CloudWatch export), any
invocation without an outcome record. Those are left out and counted, never
guessed: the report says how many.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, NamedTuple

from lambdaops._platform_records import InitReport
from lambdaops._reconcile import Invocation, Reconciled

_NAMED_STREAM = re.compile(r"\d{4}/\d{2}/\d{2}/([^\[\]\s/]+)\[")


class Selection(NamedTuple):
    """The function's invocations and failed inits, and how many were left out."""

    invocations: list[Invocation]
    init_failures: list[InitReport]
    other: int  # invocations of other functions
    unknown: int  # invocations the log does not tie to any function


class Owners:
    """Which function each stream, invocation and EMF document of a log belongs to."""

    def __init__(self, found: Reconciled) -> None:
        names: dict[str, set[str]] = defaultdict(set)
        for inv in found.invocations:
            if inv.stream is not None:
                names[inv.stream].update(_names(inv.records))
        self._by_stream = {s: next(iter(n)) for s, n in names.items() if len(n) == 1}

    def stream(self, stream: str | None) -> str | None:
        """The function a stream is an environment of, if its name or records say."""
        if stream is None:
            return None
        named = _NAMED_STREAM.match(stream)
        return named.group(1) if named else self._by_stream.get(stream)

    def invocation(self, inv: Invocation) -> str | None:
        own = _names(inv.records)
        return next(iter(own)) if len(own) == 1 else self.stream(inv.stream)

    def document(self, stream: str | None, doc: dict[str, Any]) -> str | None:
        name = doc.get("function_name")
        return name if isinstance(name, str) and name else self.stream(stream)


def _names(records: list[dict[str, Any]]) -> set[str]:
    return {
        rec["function_name"]
        for rec in records
        if isinstance(rec.get("function_name"), str) and rec["function_name"]
    }


def select(found: Reconciled, owners: Owners, function: str) -> Selection:
    """The invocations and failed inits of ``function``; the rest counted by why they went."""
    mine: list[Invocation] = []
    other = unknown = 0
    for inv in found.invocations:
        owner = owners.invocation(inv)
        if owner == function:
            mine.append(inv)
        elif owner is None:
            unknown += 1
        else:
            other += 1
    inits = [f.report for f in found.init_failures if owners.stream(f.stream) == function]
    return Selection(mine, inits, other, unknown)
