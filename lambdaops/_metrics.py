"""EMF business metrics: ``metrics.add("GizmosProcessed", 3)``.

Metrics are kept per invocation and written as CloudWatch Embedded Metric
Format documents when it ends (success, error or timeout) or on
``metrics.flush()``. The invocation's last document is merged into its
outcome record, so a typical invocation writes one line for both.

EMF is written natively (by :mod:`lambdaops._emf`): ``aws_embedded_metrics``
costs ~150 ms of import (it pulls in aiohttp; ``benchmarks/imports.py``) and serves
as the reference serializer in the tests.
"""

from __future__ import annotations

from typing import Any

from lambdaops import _output, _redact, _scope
from lambdaops._config import Config
from lambdaops._emf import NONE, Metric, MetricSet, single, swap_lock, take_documents
from lambdaops._emf_limits import (
    MAX_DIMENSION_VALUE,
    MAX_DIMENSIONS,
    MAX_METRIC_NAME,
    MAX_PROPERTY_NAME,
    RECORD_FIELDS,
    check_default_dimensions,
    check_namespace,
    dimension_name_problem,
    merges_into_record,
    name_problem,
)
from lambdaops._errors import LambdaopsError
from lambdaops._render import safe_repr
from lambdaops._scope import Invocation, Scope, current

#: CloudWatch's unit names.
UNITS = frozenset(
    [
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ]
)
#: Names a metric, dimension or property may not take: the outcome record's fields.
RESERVED = RECORD_FIELDS


class MetricError(LambdaopsError, ValueError):
    """A metric, dimension or property was used wrongly (bad unit, empty name, ...)."""


def _store(scope: Scope) -> MetricSet:
    store: MetricSet | None = scope.metrics
    if store is None:
        store = scope.metrics = MetricSet()
    return store


def _check_name(kind: str, name: object) -> str:
    if kind == "dimension":
        problem = dimension_name_problem(name)
    else:
        limit = MAX_METRIC_NAME if kind == "metric" else MAX_PROPERTY_NAME
        problem = name_problem(kind, name, limit)
    if problem is not None:
        raise MetricError(problem)
    if name in RESERVED:
        raise MetricError(f"{kind} name {name!r} is reserved for the outcome record")
    return name  # type: ignore[return-value]  # a str: name_problem said so


def _clash(store: MetricSet, kind: str, name: str) -> None:
    """One member name, one meaning: refuse ``name`` if the invocation uses it otherwise
    (CloudWatch would silently keep the later of two members of one name)."""
    for other, names in (
        ("metric", store.metrics),
        ("dimension", store.dimensions),
        ("property", store.properties),
    ):
        if other != kind and name in names:
            raise MetricError(f"{kind} {name!r}: this invocation has a {other} of that name")


#: (name, unit, resolution) already checked: the warm path checks nothing twice.
_validated: set[tuple[str, str, int]] = set()


class Metrics:
    """The ``metrics`` object users import."""

    def add(self, name: str, value: float, unit: str = "Count", resolution: int = 60) -> None:
        """Record ``value`` for metric ``name`` in this invocation.

        An unknown unit, an empty name or a resolution other than 1/60 raises
        :class:`MetricError`; a NaN or infinite value is dropped with a warning.
        """
        key = (name, unit, resolution)
        if key not in _validated:
            _check_name("metric", name)
            if unit not in UNITS:
                raise MetricError(
                    f"metric {name!r}: unknown unit {unit!r}; use one of CloudWatch's units, "
                    "e.g. Count, Milliseconds, Bytes, Percent, None"
                )
            if resolution not in (1, 60) or isinstance(resolution, bool):
                raise MetricError(
                    f"metric {name!r}: resolution must be 1 or 60, got {resolution!r}"
                )
            if len(_validated) >= 4096:  # names built at run time must not grow it forever
                _validated.clear()
            _validated.add(key)
        scope = _scope._current.get() or current()  # current()'s first step, inline
        store = scope.metrics
        if store is None:
            store = scope.metrics = MetricSet()
        if type(value) is not int and type(value) is not float:  # the rare case, off the fast path
            number = _plain_number(value)
            if number is None:
                _warn(
                    store, name, f"metric {name!r}: value {_short(value)} is not a number; dropped"
                )
                return
            value = number
        # One chained comparison: False for NaN, the infinities, and values CloudWatch
        # rejects (|v| > 2^360) — an int of 5,000 digits would also fail to print in the document.
        if not -_LIMIT <= value <= _LIMIT:
            if value - value != 0:
                _warn(store, name, f"metric {name!r}: value {_short(value)} is not finite; dropped")
            else:
                _warn(
                    store,
                    name,
                    f"metric {name!r}: value {_short(value)} is outside CloudWatch's range"
                    " (±2^360); dropped",
                )
            return
        metric = store.metrics.get(name)
        if metric is None:
            # Both start as the shared NONE: they differ only once either was set.
            if store.dimensions is not store.properties:
                _clash(store, "metric", name)
            # Once per metric and invocation, against this handler's own defaults.
            for default, _ in scope.config.default_dimensions:  # ("service": reserved)
                if default == name:
                    raise MetricError(f"metric {name!r}: a default dimension has that name")
            metric = store.metrics.setdefault(name, Metric(unit, resolution))
        if metric.unit != unit or metric.resolution != resolution:
            raise MetricError(
                f"metric {name!r} was added with unit {metric.unit}/resolution "
                f"{metric.resolution}; it cannot change to {unit}/{resolution} in one flush"
            )
        metric.values.append(value)
        if scope.outcome is not None and scope.outcome != "timeout":
            # A thread still running after its invocation ended: its own document, now,
            # under that invocation (the next one's record is not its place).
            self.flush_scope(scope)

    def dimension(self, name: str, value: str) -> None:
        """Add a dimension to this invocation's metrics (on top of the default ones)."""
        _check_name("dimension", name)
        scope = current()
        store = _store(scope)
        _clash(store, "dimension", name)
        if isinstance(value, str):
            text = value
        else:
            try:
                text = str(value)
            except Exception:
                text = safe_repr(value)
        if not text.strip():  # CloudWatch wants one character that is not a space
            _warn(store, name, f"dimension {name!r}: empty value; dropped")
            return
        if len(text) > MAX_DIMENSION_VALUE:
            _warn(
                store,
                name,
                f"dimension {name!r}: value longer than {MAX_DIMENSION_VALUE} "
                "characters; shortened",
            )
            if _redact.armed:  # before the cut, which could leave a secret's first characters
                text = _redact.redact(text)
            text = text[:MAX_DIMENSION_VALUE]
        defaults = dict(scope.config.default_dimensions)
        if (
            name not in store.dimensions
            and name not in defaults
            and (len(defaults) + len(store.dimensions) >= MAX_DIMENSIONS)
        ):
            _warn(
                store,
                name,
                f"dimension {name!r}: a dimension set holds at most "
                f"{MAX_DIMENSIONS} dimensions; dropped",
            )
            return
        if store.dimensions is NONE:
            with swap_lock:  # two threads of one invocation must not each swap in a dict
                if store.dimensions is NONE:
                    store.dimensions = {}
        store.dimensions[name] = text

    def property(self, key: str, value: Any) -> None:
        """Attach searchable context (not a metric) to this invocation's EMF documents."""
        _check_name("property", key)
        scope = current()
        store = _store(scope)
        _clash(store, "property", key)
        if any(key == name for name, _ in scope.config.default_dimensions):
            raise MetricError(f"property {key!r}: a default dimension has that name")
        if store.properties is NONE:
            with swap_lock:
                if store.properties is NONE:
                    store.properties = {}
        store.properties[key] = value

    def flush(self) -> None:
        """Write the pending metrics now (they are written at the end of the invocation anyway)."""
        self.flush_scope(current())

    @staticmethod
    def flush_scope(scope: Scope) -> None:
        for doc in take_documents(scope):
            _output.write("{" + doc + "}")


#: PutMetricData: "Values must be in the range of -2^360 to 2^360".
_LIMIT = 2**360


def _plain_number(value: object) -> float | None:
    """An ``int``/``float`` subclass (an ``IntEnum``, whose repr is not JSON) or a
    ``Decimal`` (what boto3 reads from DynamoDB) as a plain int or float; None for what is
    not a real number (``bool`` included: ``True`` is a flag, not a count)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    import numbers  # only for values that are neither int nor float

    # Real: Fraction; a Number that is not Complex: Decimal. A complex number is neither.
    if isinstance(value, numbers.Real) or (
        isinstance(value, numbers.Number) and not isinstance(value, numbers.Complex)
    ):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return None
    return None


def _short(value: object) -> str:
    """A bad value as it may appear in a warning: never raising, never long."""
    text = safe_repr(value)
    return text if len(text) <= 80 else text[:80] + "…"


def _warn(store: MetricSet, name: str, message: str) -> None:
    """One warning line per metric name and scope; never the reason to fail."""
    if store.warned is None:
        store.warned = set()
    elif name in store.warned:
        return
    store.warned.add(name)
    from lambdaops._logger import log

    log.warning(message, metric=name)


#: The metrics object users import: ``from lambdaops import metrics``.
metrics = Metrics()


class MetricsSignal:
    """Writes an invocation's metrics when it ends, plus ColdStart and Timeout.

    Lambda's free built-in metrics (Invocations, Errors, Duration, Throttles)
    are not duplicated; lambdaops adds only what Lambda lacks, and only when
    it happens: ``ColdStart`` on a process's first invocation, ``Timeout``
    when the watchdog fires.
    """

    name = "metrics"

    def __init__(self, config: Config) -> None:
        """Built at decoration: the settings' names are checked here, once."""
        check_namespace(config.namespace, "namespace (by default the service)")
        dims = check_default_dimensions(config.default_dimensions, "default_dimensions")
        #: A default dimension named like a record field (``service`` of another value,
        #: ``function_name``) would be written twice there: such documents go on their own.
        self.merge_into_outcome = config.outcome and merges_into_record(dims, config.service)

    start = None

    def finish(self, inv: Invocation) -> None:
        store = inv.metrics
        outside = _scope._process
        if (
            not inv.cold_start
            and inv.outcome != "timeout"
            and inv.supersedes is None
            and (outside is None or outside.metrics is None)
        ):
            if store is None:
                return  # nothing to write: most invocations of most functions
            metrics = store.metrics
            if len(metrics) == 1 and not store.dimensions and not store.properties:
                for name, metric in metrics.items():
                    if len(metric.values) == 1:  # the common case, without the machinery
                        inv.metrics = None
                        if self.merge_into_outcome:
                            inv.emf = single(inv.config, name, metric)
                        else:
                            _output.write_text("{" + single(inv.config, name, metric, inv) + "}\n")
                        return
        extra: dict[str, float] | None = None
        if inv.supersedes is not None:
            # The handler finished in time after all: cancel the watchdog's Timeout count
            # (a sum over any period that holds both is 0); ColdStart was written then.
            extra = {"Timeout": -1}
        elif inv.cold_start or inv.outcome == "timeout":
            extra = {}
            if inv.cold_start:
                extra["ColdStart"] = 1
            if inv.outcome == "timeout":
                extra["Timeout"] = 1
        docs = take_documents(inv, extra=extra, for_outcome=self.merge_into_outcome)
        if not docs:
            return
        if self.merge_into_outcome:
            inv.emf = docs.pop()
        for doc in docs:
            _output.write("{" + doc + "}")
