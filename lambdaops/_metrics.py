"""EMF business metrics: ``metrics.add("GizmosProcessed", 3)``.

Metrics are kept per invocation and written as CloudWatch Embedded Metric
Format documents when it ends (success, error or timeout) or on
``metrics.flush()``. The invocation's last document is merged into its
outcome record, so a typical invocation writes one line for both.

EMF is written natively: ``aws_embedded_metrics`` costs ~160 ms of import
(it pulls in aiohttp) and serves as the reference serializer in the tests.
"""

from __future__ import annotations

import threading
import time
from types import MappingProxyType
from typing import Any

from lambdaops import _output, _scope
from lambdaops._config import Config
from lambdaops._errors import LambdaopsError
from lambdaops._render import encode, quote, render, safe_repr
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
MAX_METRICS = 100  # metric definitions per document
MAX_VALUES = 100  # values per metric per document
MAX_DIMENSIONS = 30  # dimensions per dimension set
MAX_DIMENSION_VALUE = 1024
MAX_NAME = 255

#: Top-level keys of the outcome record; a metric, dimension or property may not take them.
RESERVED = frozenset(
    [
        "_aws",
        "lambdaops",
        "outcome",
        "supersedes",
        "status_code",
        "request_id",
        "service",
        "function_name",
        "cold_start",
        "duration_ms",
        "billed_duration_ms",
        "memory_limit_mb",
        "max_memory_used_mb",
        "estimated_cost_usd",
        "trigger",
        "attempt",
        "correlation_id",
        "xray_trace_id",
        "error_type",
        "error_message",
        "items",
        "items_failed",
        "stuck_in",
        "stack",
    ]
)


class MetricError(LambdaopsError, ValueError):
    """A metric, dimension or property was used wrongly (bad unit, empty name, ...)."""


class _Metric:
    __slots__ = ("resolution", "unit", "values")

    def __init__(self, unit: str, resolution: int) -> None:
        self.unit = unit
        self.resolution = resolution
        self.values: list[float] = []


class MetricSet:
    """One scope's pending metrics, dimensions and properties."""

    __slots__ = ("dimensions", "metrics", "properties", "warned")

    def __init__(self) -> None:
        self.metrics: dict[str, _Metric] = {}
        #: Read-only and shared until the first dimension/property: most sets have none.
        self.dimensions: dict[str, str] = _NONE
        self.properties: dict[str, Any] = _NONE
        #: Names already warned about (made by the first warning).
        self.warned: set[str] | None = None


#: The shared empty default; writing to it raises, so writers swap in a dict first.
_NONE: Any = MappingProxyType({})
_swap_lock = threading.Lock()


def _store(scope: Scope) -> MetricSet:
    store: MetricSet | None = scope.metrics
    if store is None:
        store = scope.metrics = MetricSet()
    return store


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise MetricError(f"{kind} name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME:
        raise MetricError(f"{kind} name {name[:40]!r}… is longer than {MAX_NAME} characters")
    if name in RESERVED:
        raise MetricError(f"{kind} name {name!r} is reserved for the outcome record")
    return name


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
        scope = _scope._current.get() or current()
        store = scope.metrics
        if store is None:
            store = scope.metrics = MetricSet()
        if (type(value) is not int and type(value) is not float) and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            _warn(store, name, f"metric {name!r}: value {_short(value)} is not a number; dropped")
            return
        if value - value != 0:  # NaN or infinite
            _warn(store, name, f"metric {name!r}: value {_short(value)} is not finite; dropped")
            return
        metric = store.metrics.get(name)
        if metric is None:
            metric = store.metrics.setdefault(name, _Metric(unit, resolution))
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
        if isinstance(value, str):
            text = value
        else:
            try:
                text = str(value)
            except Exception:
                text = safe_repr(value)
        if not text:
            _warn(store, name, f"dimension {name!r}: empty value; dropped")
            return
        if len(text) > MAX_DIMENSION_VALUE:
            _warn(
                store,
                name,
                f"dimension {name!r}: value longer than {MAX_DIMENSION_VALUE} "
                "characters; shortened",
            )
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
        if store.dimensions is _NONE:
            with _swap_lock:  # two threads of one invocation must not each swap in a dict
                if store.dimensions is _NONE:
                    store.dimensions = {}
        store.dimensions[name] = text

    def property(self, key: str, value: Any) -> None:
        """Attach searchable context (not a metric) to this invocation's EMF documents."""
        _check_name("property", key)
        store = _store(current())
        if store.properties is _NONE:
            with _swap_lock:
                if store.properties is _NONE:
                    store.properties = {}
        store.properties[key] = value

    def flush(self) -> None:
        """Write the pending metrics now (they are written at the end of the invocation anyway)."""
        self.flush_scope(current())

    @staticmethod
    def flush_scope(scope: Scope) -> None:
        for doc in take_documents(scope):
            _output.write("{" + doc + "}")


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


def take_documents(
    scope: Scope, *, extra: dict[str, float] | None = None, for_outcome: bool = False
) -> list[str]:
    """Drain ``scope``'s pending metrics into EMF documents, as JSON members (no braces).

    Metrics added outside any invocation (at import) ride along with the next
    invocation's. ``extra`` adds lambdaops' own Count metrics (ColdStart,
    Timeout). With ``for_outcome`` the last document is to be merged into the
    outcome record, which already carries request id, trace id and service.
    """
    store: MetricSet | None = scope.metrics
    scope.metrics = None
    outside = _scope._process
    if outside is not None and outside is not scope and outside.metrics is not None:
        store = _merge(outside.metrics, store)
        outside.metrics = None
    if store is None:
        if not extra:
            return []
        store = MetricSet()
    elif not store.metrics and not extra:
        return []
    for name, value in (extra or {}).items():
        store.metrics.setdefault(name, _Metric("Count", 60)).values.append(value)
    config = scope.config
    if not store.dimensions and not store.properties:
        fast = _one_document(config, store.metrics, scope, for_outcome)
        if fast is not None:
            return [fast]
    dims, dims_json, tail_dims_json = _default_dimensions(config)
    if store.dimensions:
        dims = {**dims, **store.dimensions}
        dims_json = encode(dims)[1:-1]
        tail_dims_json = encode({k: v for k, v in dims.items() if k != "service"})[1:-1]
    props = store.properties
    props_json = render(props, _MAX_PROPS)[1:-1] if props else ""
    bodies = _bodies(config.namespace, tuple(dims), store.metrics)
    if for_outcome:
        # the outcome record has service, request_id and xray_trace_id already
        last_aws, last_values = bodies.pop()
        last = _join(last_aws, tail_dims_json, props_json, last_values)
    if bodies:
        context = ""
        if isinstance(scope, Invocation):
            ids = {"request_id": scope.request_id}
            if scope.xray_trace_id:
                ids["xray_trace_id"] = scope.xray_trace_id
            context = encode(ids)[1:-1] if not (props.keys() & ids.keys()) else ""
        docs = [_join(aws, dims_json, context, props_json, vals) for aws, vals in bodies]
    else:
        docs = []
    if for_outcome:
        docs.append(last)
    return docs


def _single(config: Config, name: str, metric: _Metric, scope: Scope | None = None) -> str:
    """The most common invocation of all: one business metric with one value, merged into
    the outcome record (or, given the invocation's ``scope``, a document of its own that
    names its dimensions, request id and trace id). Everything but the timestamp, the ids
    and the value is cached, by name (checked against the config, unit and resolution
    it was made for)."""
    cached = _single_cache.get(name)
    if (
        cached is None
        or cached[0] is not config
        or cached[1] != metric.unit
        or cached[2] != metric.resolution
    ):
        dims, dims_json, tail_dims_json = _default_dimensions(config)
        directive = _directive(
            config.namespace, tuple(dims), ((name, metric.unit, metric.resolution),)
        )
        tail = f"{tail_dims_json}," if tail_dims_json else ""
        aws = f',"CloudWatchMetrics":{directive}}}'
        member = f"{quote(name)}:"
        cached = (
            config,
            metric.unit,
            metric.resolution,
            f"{aws},{tail}{member}",
            aws,
            dims_json,
            member,
        )
        if len(_single_cache) >= 256:
            _single_cache.clear()
        _single_cache[name] = cached
    value = metric.values[0]
    number = str(value) if type(value) is int else repr(value)
    stamp = time.time_ns() // 1_000_000
    if scope is None:
        return f'"_aws":{{"Timestamp":{stamp}{cached[3]}{number}'
    context = cached[5]
    if isinstance(scope, Invocation):
        context += f',"request_id":{quote(scope.request_id)}'
        if scope.xray_trace_id:
            context += f',"xray_trace_id":{quote(scope.xray_trace_id)}'
    context = context.lstrip(",")
    sep = "," if context else ""
    return f'"_aws":{{"Timestamp":{stamp}{cached[4]},{context}{sep}{cached[6]}{number}'


def _one_document(
    config: Config, metrics: dict[str, _Metric], scope: Scope, for_outcome: bool
) -> str | None:
    """The common case on its own short path: default dimensions, no properties, and
    one document (≤100 metrics, ≤100 values each). ``None`` when it does not apply."""
    if len(metrics) > MAX_METRICS:
        return None
    if len(metrics) == 1 and for_outcome:
        ((name, metric),) = metrics.items()
        if len(metric.values) == 1:
            return _single(config, name, metric)
    shape = []
    members = []
    for name, metric in metrics.items():
        values = metric.values
        count = len(values)
        if count > MAX_VALUES:
            return None
        shape.append((name, metric.unit, metric.resolution))
        members.append(
            f"{quote(name)}:{_number(values[0])}"
            if count == 1
            else f"{quote(name)}:[{','.join(map(_number, values))}]"
        )
    dims, dims_json, tail_dims_json = _default_dimensions(config)
    directive = _directive(config.namespace, tuple(dims), tuple(shape))
    head = f'"_aws":{{"Timestamp":{int(time.time() * 1000)},"CloudWatchMetrics":{directive}}}'
    if for_outcome:
        # the outcome record has service, request_id and xray_trace_id already
        context = tail_dims_json
    else:
        context = dims_json
        if isinstance(scope, Invocation):
            context += f',"request_id":{quote(scope.request_id)}'
            if scope.xray_trace_id:
                context += f',"xray_trace_id":{quote(scope.xray_trace_id)}'
    if context:
        return f"{head},{context.lstrip(',')},{','.join(members)}"
    return f"{head},{','.join(members)}"


def _join(*members: str) -> str:
    return ",".join([m for m in members if m])


_MAX_PROPS = 256 * 1024
_dimension_cache: dict[int, tuple[Config, dict[str, str], str, str]] = {}


def _default_dimensions(config: Config) -> tuple[dict[str, str], str, str]:
    """A config's default dimensions: as a dict, as JSON members, and without ``service``."""
    cached = _dimension_cache.get(id(config))
    if cached is None or cached[0] is not config:
        dims = dict(config.default_dimensions)
        cached = (
            config,
            dims,
            encode(dims)[1:-1],
            encode({k: v for k, v in dims.items() if k != "service"})[1:-1],
        )
        _dimension_cache[id(config)] = cached
    return cached[1], cached[2], cached[3]


def _merge(first: MetricSet, second: MetricSet | None) -> MetricSet:
    if second is None:
        return first
    for name, metric in second.metrics.items():
        into = first.metrics.setdefault(name, _Metric(metric.unit, metric.resolution))
        into.values.extend(metric.values)
    if second.dimensions:
        first.dimensions = {**first.dimensions, **second.dimensions}
    if second.properties:
        first.properties = {**first.properties, **second.properties}
    return first


_directives: dict[tuple[Any, ...], str] = {}
_single_cache: dict[str, tuple[Config, str, int, str, str, str, str]] = {}


def _directive(
    namespace: str, dim_keys: tuple[str, ...], definitions: tuple[tuple[str, str, int], ...]
) -> str:
    """The ``CloudWatchMetrics`` array, encoded once per shape (it rarely changes)."""
    key = (namespace, dim_keys, definitions)
    text = _directives.get(key)
    if text is None:
        metrics_defs: list[dict[str, Any]] = []
        for name, unit, resolution in definitions:
            item: dict[str, Any] = {"Name": name, "Unit": unit}
            if resolution == 1:
                item["StorageResolution"] = 1
            metrics_defs.append(item)
        text = encode(
            [{"Namespace": namespace, "Dimensions": [list(dim_keys)], "Metrics": metrics_defs}]
        )
        if len(_directives) >= 256:
            _directives.clear()
        _directives[key] = text
    return text


def _number(value: float) -> str:
    return str(value) if type(value) is int else repr(value)


def _bodies(
    namespace: str,
    dim_keys: tuple[str, ...],
    metrics: dict[str, _Metric],
    timestamp_ms: int | None = None,
) -> list[tuple[str, str]]:
    """The ``_aws`` member and the metric members of each EMF document for ``metrics``.

    At most 100 metrics and 100 values per metric go in one document; the
    dimension and property members are added by the caller.
    """
    stamp = int(time.time() * 1000) if timestamp_ms is None else timestamp_ms
    bodies: list[tuple[str, str]] = []
    round_no = 0
    pending = list(metrics.items())
    while pending:
        lo, hi = round_no * MAX_VALUES, (round_no + 1) * MAX_VALUES
        for start in range(0, len(pending), MAX_METRICS):
            batch = pending[start : start + MAX_METRICS]
            directive = _directive(
                namespace, dim_keys, tuple([(n, m.unit, m.resolution) for n, m in batch])
            )
            values = []
            for name, metric in batch:
                chunk = metric.values[lo:hi]
                value = (
                    _number(chunk[0])
                    if len(chunk) == 1
                    else "[" + ",".join(map(_number, chunk)) + "]"
                )
                values.append(f"{quote(name)}:{value}")
            bodies.append(
                (
                    f'"_aws":{{"Timestamp":{stamp},"CloudWatchMetrics":{directive}}}',
                    ",".join(values),
                )
            )
        pending = [(n, m) for n, m in pending if len(m.values) > hi]
        round_no += 1
    return bodies


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
        self.merge_into_outcome = config.outcome

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
                            inv.emf = _single(inv.config, name, metric)
                        else:
                            _output.write_text("{" + _single(inv.config, name, metric, inv) + "}\n")
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
