"""Which business metrics a function emits, read from its log's EMF documents.

A dashboard can only chart metrics by their exact namespace, name and dimension values,
and those are in the log already: every EMF document names them. The log is read the way
``lambdaops report`` reads it (:mod:`lambdaops._platform_records`, and
:mod:`lambdaops._by_function` for ``--function``), so any log the report takes works here.
lambdaops' own ``ColdStart`` and ``Timeout`` are left out: the dashboard charts cold starts
and failures from the outcome records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any, NamedTuple

from lambdaops._by_function import Owners
from lambdaops._emf_limits import OWN_METRICS
from lambdaops._platform_records import Outcome, parse
from lambdaops._reconcile import reconcile
from lambdaops.report import documents

#: One concrete dimension combination: (name, value) pairs in the dimension set's order.
Series = tuple[tuple[str, str], ...]


class BusinessMetric(NamedTuple):
    """One metric as CloudWatch stores it: namespace, name, unit and the series seen."""

    namespace: str
    name: str
    unit: str
    #: The dimension sets it is published under, in the order first seen.
    dimension_sets: tuple[tuple[str, ...], ...]
    #: Every dimension combination seen (a dimension set with its values), first seen first.
    series: tuple[Series, ...]


class Discovery(NamedTuple):
    """What the log says about the function: its name and its business metrics."""

    function: str | None  # the most frequent function_name of the outcome records
    metrics: list[BusinessMetric]
    outcome_records: int


class _Found:
    """A metric while the log is read: first-seen order matters for a stable dashboard."""

    def __init__(self, namespace: str, name: str, unit: str) -> None:
        self.namespace, self.name, self.unit = namespace, name, unit
        self.sets: dict[tuple[str, ...], None] = {}
        self.series: dict[Series, None] = {}

    def frozen(self) -> BusinessMetric:
        return BusinessMetric(
            self.namespace, self.name, self.unit, tuple(self.sets), tuple(self.series)
        )


def discover(lines: Iterable[str], function: str | None = None) -> Discovery:
    """The business metrics of a log (of ``function``'s documents only, when given)."""
    parsed = list(parse(lines))
    owners = Owners(reconcile(parsed)) if function is not None else None
    found: dict[tuple[str, str], _Found] = {}
    names: Counter[str] = Counter()
    records = 0
    for event, doc in documents(parsed, owners, function):
        if isinstance(event, Outcome):
            records += 1
            name = doc.get("function_name")
            if isinstance(name, str) and name:
                names[name] += 1
        _add(found, doc)
    chosen = function or (names.most_common(1)[0][0] if names else None)
    return Discovery(chosen, [f.frozen() for f in found.values()], records)


def _add(found: dict[tuple[str, str], _Found], doc: dict[str, Any]) -> None:
    """The metrics of one EMF document; a malformed directive is skipped, as CloudWatch does."""
    aws = doc.get("_aws")
    directives = aws.get("CloudWatchMetrics") if isinstance(aws, dict) else None
    if not isinstance(directives, list):
        return
    for directive in directives:
        if not isinstance(directive, dict) or not isinstance(directive.get("Namespace"), str):
            continue
        sets = _dimension_sets(directive.get("Dimensions"), doc)
        for metric in directive.get("Metrics") or ():
            if not isinstance(metric, dict) or not isinstance(metric.get("Name"), str):
                continue
            name = metric["Name"]
            if name in OWN_METRICS:
                continue
            unit = metric.get("Unit")
            key = (directive["Namespace"], name)
            entry = found.setdefault(
                key, _Found(key[0], name, unit if isinstance(unit, str) else "None")
            )
            for dims, series in sets:
                entry.sets.setdefault(dims)
                entry.series.setdefault(series)


def _dimension_sets(value: object, doc: dict[str, Any]) -> list[tuple[tuple[str, ...], Series]]:
    """Each dimension set with the values the document gives it (a set missing one is dropped)."""
    out: list[tuple[tuple[str, ...], Series]] = []
    for names in value if isinstance(value, list) else ():
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            continue
        values = [doc.get(n) for n in names]
        if all(isinstance(v, str) for v in values):
            out.append((tuple(names), tuple(zip(names, [str(v) for v in values], strict=True))))
    return out or [((), ())]
