"""A validator for CloudWatch Embedded Metric Format documents, from the published spec.

Two halves: :func:`validate`, written from the prose of AWS's "Specification: Embedded metric
format" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
and the CloudWatch API reference (``Dimension``, ``MetricDatum``: what the schema leaves out),
and :func:`schema_errors`, the JSON schema published on that same page, kept in
``tests/schemas/emf-schema.json`` (its source in ``tests/schemas/README.md``).
:func:`validate_line` applies both and refuses duplicate member names.

Also extracts what CloudWatch would record from a document, so two
serializers can be compared on meaning rather than on bytes.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).parent / "schemas"

UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
}  # fmt: skip


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def validate(doc: Any) -> list[str]:
    """Every way ``doc`` breaks the EMF specification; empty when valid."""
    errors: list[str] = []
    if not isinstance(doc, dict):
        return ["document is not a JSON object"]
    aws = doc.get("_aws")
    if not isinstance(aws, dict):
        return ["_aws is missing or not an object"]
    stamp = aws.get("Timestamp")
    if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp < 0:
        errors.append(f"_aws.Timestamp must be a non-negative integer (ms), got {stamp!r}")
    elif stamp < 10**12:
        errors.append(f"_aws.Timestamp {stamp} looks like seconds, not milliseconds")
    directives = aws.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*errors, "_aws.CloudWatchMetrics must be a non-empty array"]
    for i, directive in enumerate(directives):
        where = f"CloudWatchMetrics[{i}]"
        if not isinstance(directive, dict):
            errors.append(f"{where} is not an object")
            continue
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 255:
            errors.append(f"{where}.Namespace must be a string of 1-255 characters")
        dimension_sets = directive.get("Dimensions")
        if not isinstance(dimension_sets, list):
            errors.append(f"{where}.Dimensions must be an array")
            dimension_sets = []
        for j, dset in enumerate(dimension_sets):
            if not isinstance(dset, list):
                errors.append(f"{where}.Dimensions[{j}] is not an array")
                continue
            if len(dset) > 30:
                errors.append(f"{where}.Dimensions[{j}] has {len(dset)} > 30 dimensions")
            if len(set(dset)) != len(dset):
                errors.append(f"{where}.Dimensions[{j}] repeats a dimension")
            for name in dset:
                if not isinstance(name, str) or not 1 <= len(name) <= 250:
                    errors.append(f"dimension name {name!r} must be 1-250 characters")
                value = doc.get(name)
                if not isinstance(value, str):
                    errors.append(f"dimension {name!r} has no string member, got {value!r}")
                elif not 1 <= len(value) <= 1024 or not value.strip():
                    errors.append(f"dimension {name!r} value must be 1-1024 characters")
        metrics = directive.get("Metrics")
        if not isinstance(metrics, list):
            errors.append(f"{where}.Metrics must be an array")
            continue
        if len(metrics) > 100:
            errors.append(f"{where}.Metrics has {len(metrics)} > 100 metrics")
        names = [m.get("Name") for m in metrics if isinstance(m, dict)]
        if len(set(names)) != len(names):
            errors.append(f"{where}.Metrics defines a metric twice")
        for k, metric in enumerate(metrics):
            mwhere = f"{where}.Metrics[{k}]"
            if not isinstance(metric, dict):
                errors.append(f"{mwhere} is not an object")
                continue
            name = metric.get("Name")
            if not isinstance(name, str) or not 1 <= len(name) <= 255:
                errors.append(f"{mwhere}.Name must be a string of 1-255 characters")
                continue
            unit = metric.get("Unit", "None")
            if unit not in UNITS:
                errors.append(f"{mwhere}.Unit {unit!r} is not a CloudWatch unit")
            resolution = metric.get("StorageResolution", 60)
            if resolution not in (1, 60) or isinstance(resolution, bool):
                errors.append(f"{mwhere}.StorageResolution must be 1 or 60")
            value = doc.get(name)
            if isinstance(value, list):
                if not value or len(value) > 100:
                    errors.append(f"metric {name!r} must have 1-100 values, has {len(value)}")
                if not all(_is_number(v) for v in value):
                    errors.append(f"metric {name!r} has a non-numeric or non-finite value")
            elif not _is_number(value):
                errors.append(f"metric {name!r} member is not a finite number: {value!r}")
    return errors


@functools.cache
def _schema_validator() -> Any:
    import jsonschema

    schema = json.loads((SCHEMAS / "emf-schema.json").read_text())
    # The page's schema names no draft; its fragment ``$id``s are draft-07's style (2020-12,
    # jsonschema's default, refuses them), so it is read as draft-07.
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def schema_errors(doc: Any) -> list[str]:
    """Every way ``doc`` breaks the EMF JSON schema AWS publishes; empty when valid."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}"
        for e in _schema_validator().iter_errors(doc)
    ]


def duplicate_keys(line: str) -> list[str]:
    """Member names that occur twice in one object of ``line`` (CloudWatch keeps the last)."""
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                found.append(key)
            seen.add(key)
        return dict(items)

    json.loads(line, object_pairs_hook=pairs)
    return found


def validate_line(line: str) -> dict[str, Any]:
    """Parse one stdout line as an EMF document; assert it is valid by both halves."""
    assert len(line.encode()) <= 1024 * 1024, "over CloudWatch's 1 MB event limit"
    assert duplicate_keys(line) == [], duplicate_keys(line)
    doc = json.loads(line)
    errors = validate(doc) + schema_errors(doc)
    assert not errors, errors
    return doc  # type: ignore[no-any-return]


def datapoints(docs: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    """What CloudWatch records: (namespace, dimensions, name, unit, resolution, value)."""
    out: Counter[tuple[Any, ...]] = Counter()
    for doc in docs:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for dset in directive["Dimensions"]:
                dims = tuple(sorted((name, doc[name]) for name in dset))
                for metric in directive["Metrics"]:
                    name = metric["Name"]
                    values = doc[name] if isinstance(doc[name], list) else [doc[name]]
                    for value in values:
                        out[
                            (
                                directive["Namespace"],
                                dims,
                                name,
                                metric.get("Unit", "None"),
                                metric.get("StorageResolution", 60),
                                float(value),
                            )
                        ] += 1
    return out


def reference_docs(
    namespace: str,
    dimensions: dict[str, str],
    metrics: list[tuple[str, float, str, int]],
    properties: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The same metrics serialized by aws-embedded-metrics, the AWS reference library."""
    from aws_embedded_metrics.logger.metrics_context import MetricsContext
    from aws_embedded_metrics.serializers.log_serializer import LogSerializer
    from aws_embedded_metrics.storage_resolution import StorageResolution

    context = MetricsContext.empty()
    context.namespace = namespace
    context.set_dimensions([dict(dimensions)], use_default=False)
    for key, value in (properties or {}).items():
        context.set_property(key, value)
    for name, value, unit, resolution in metrics:
        res = StorageResolution.HIGH if resolution == 1 else StorageResolution.STANDARD
        context.put_metric(name, value, unit, res)
    return [json.loads(line) for line in LogSerializer.serialize(context)]


def emf_docs(lines: list[str]) -> list[dict[str, Any]]:
    """The EMF documents among lambdaops' output lines, each validated."""
    return [validate_line(line) for line in lines if '"_aws"' in line]
