"""The one EMF writer: a scope's pending metrics as CloudWatch Embedded Metric Format documents.

Everything between ``metrics.add`` and stdout goes through :func:`take_documents`,
which returns each document as JSON members without braces, so the invocation's last
one can be merged into its outcome record. :func:`single` is the same document for the
most common invocation of all (one metric, one value), with everything but the
timestamp, the ids and the value cached.
"""

from __future__ import annotations

import threading
import time
from types import MappingProxyType
from typing import Any

from lambdaops import _scope
from lambdaops._config import Config
from lambdaops._render import encode, quote, render
from lambdaops._scope import Invocation, Scope

MAX_METRICS = 100  # metric definitions per document
MAX_VALUES = 100  # values per metric per document
_MAX_PROPS = 256 * 1024


class Metric:
    __slots__ = ("resolution", "unit", "values")

    def __init__(self, unit: str, resolution: int) -> None:
        self.unit = unit
        self.resolution = resolution
        self.values: list[float] = []


class MetricSet:
    """One scope's pending metrics, dimensions and properties."""

    __slots__ = ("dimensions", "metrics", "properties", "warned")

    def __init__(self) -> None:
        self.metrics: dict[str, Metric] = {}
        #: Read-only and shared until the first dimension/property: most sets have none.
        self.dimensions: dict[str, str] = NONE
        self.properties: dict[str, Any] = NONE
        #: Names already warned about (made by the first warning).
        self.warned: set[str] | None = None


#: The shared empty default; writing to it raises, so writers swap in a dict first.
NONE: Any = MappingProxyType({})
swap_lock = threading.Lock()


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
        store.metrics.setdefault(name, Metric("Count", 60)).values.append(value)
    config = scope.config
    dims = _default_dimensions(config)
    names, own, merged = dims.names, dims.own, dims.merged
    if store.dimensions:
        both = {**dims.mapping, **store.dimensions}
        names = tuple(both)
        own = encode(both)[1:-1]
        merged = encode({k: v for k, v in both.items() if k != "service"})[1:-1]
    props = render(store.properties, _MAX_PROPS)[1:-1] if store.properties else ""
    bodies = _bodies(config.namespace, names, store.metrics)
    last = len(bodies) - 1
    ids = _ids(scope)
    return [
        # the outcome record has service, request_id and xray_trace_id already
        _join(aws, merged, props, values)
        if for_outcome and i == last
        else _join(aws, own, ids, props, values)
        for i, (aws, values) in enumerate(bodies)
    ]


class _Single:
    """``single``'s cached text for one metric name; slotted (the hot path reads it)."""

    __slots__ = ("aws", "config", "member", "merged", "own", "resolution", "unit")

    def __init__(self, config: Config, name: str, unit: str, resolution: int) -> None:
        dims = _default_dimensions(config)
        directive = _directive(config.namespace, dims.names, ((name, unit, resolution),))
        self.config = config
        self.unit = unit
        self.resolution = resolution
        #: after the timestamp: the directive, up to where the value goes
        self.aws = f',"CloudWatchMetrics":{directive}}}'
        self.member = f"{quote(name)}:"
        self.own = dims.own
        #: what follows the timestamp in an outcome record, up to the value
        self.merged = f"{self.aws},{dims.merged + ',' if dims.merged else ''}{self.member}"


_single_cache: dict[str, _Single] = {}


def single(config: Config, name: str, metric: Metric, scope: Scope | None = None) -> str:
    """The document of one metric with one value: merged into the outcome record, or,
    given the invocation's ``scope``, a document of its own that names its dimensions,
    request id and trace id."""
    cached = _single_cache.get(name)
    if (
        cached is None
        or cached.config is not config
        or cached.unit != metric.unit
        or cached.resolution != metric.resolution
    ):
        if len(_single_cache) >= 256:
            _single_cache.clear()
        cached = _single_cache[name] = _Single(config, name, metric.unit, metric.resolution)
    value = metric.values[0]
    number = str(value) if type(value) is int else repr(value)
    stamp = time.time_ns() // 1_000_000
    if scope is None:
        return f'"_aws":{{"Timestamp":{stamp}{cached.merged}{number}'
    context = _join(cached.own, _ids(scope), cached.member)
    return f'"_aws":{{"Timestamp":{stamp}{cached.aws},{context}{number}'


def _ids(scope: Scope) -> str:
    """An invocation's request and trace ids as JSON members (a document of its own)."""
    if not isinstance(scope, Invocation):
        return ""
    ids = f'"request_id":{quote(scope.request_id)}'
    if scope.xray_trace_id:
        ids += f',"xray_trace_id":{quote(scope.xray_trace_id)}'
    return ids


def _join(*members: str) -> str:
    return ",".join([m for m in members if m])


class _Dimensions:
    """A config's default dimensions, encoded once."""

    __slots__ = ("config", "mapping", "merged", "names", "own")

    def __init__(self, config: Config) -> None:
        self.config = config
        self.mapping = dict(config.default_dimensions)
        self.names = tuple(self.mapping)
        #: as JSON members, for a document of its own
        self.own = encode(self.mapping)[1:-1]
        #: without ``service``, which the outcome record carries already
        self.merged = encode({k: v for k, v in self.mapping.items() if k != "service"})[1:-1]


_dimension_cache: dict[int, _Dimensions] = {}


def _default_dimensions(config: Config) -> _Dimensions:
    cached = _dimension_cache.get(id(config))
    if cached is None or cached.config is not config:
        cached = _dimension_cache[id(config)] = _Dimensions(config)
    return cached


def _merge(first: MetricSet, second: MetricSet | None) -> MetricSet:
    if second is None:
        return first
    for name, metric in second.metrics.items():
        into = first.metrics.setdefault(name, Metric(metric.unit, metric.resolution))
        into.values.extend(metric.values)
    if second.dimensions:
        first.dimensions = {**first.dimensions, **second.dimensions}
    if second.properties:
        first.properties = {**first.properties, **second.properties}
    return first


_directives: dict[tuple[Any, ...], str] = {}


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
    namespace: str, dim_keys: tuple[str, ...], metrics: dict[str, Metric]
) -> list[tuple[str, str]]:
    """The ``_aws`` member and the metric members of each EMF document for ``metrics``.

    At most 100 metrics and 100 values per metric go in one document; the
    dimension, id and property members are added by the caller.
    """
    stamp = int(time.time() * 1000)
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
