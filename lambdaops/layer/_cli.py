"""``lambdaops layer build`` on the command line."""

from __future__ import annotations

import argparse
from typing import Any

from lambdaops._errors import UsageError
from lambdaops.layer._build import build
from lambdaops.layer._model import (
    ARCHITECTURES,
    BUDGET_BYTES,
    DEFAULT_PYTHON,
    LayerBuild,
    LayerError,
)


def add_parser(sub: Any) -> None:
    layer = sub.add_parser(
        "layer",
        help="build the lambdaops Lambda layer",
        description="Build and inspect the shared Lambda layer.",
    )
    actions = layer.add_subparsers(dest="layer_command", required=True)
    build_cmd = actions.add_parser(
        "build",
        help="build the layer zip (python/ and the /opt/lambdaops-wrapper exec wrapper)",
        description="Build the layer zip from manylinux wheels for the target Python and "
        "architecture: reproducible (two builds are byte-identical) and without boto3.",
    )
    build_cmd.add_argument(
        "--output", metavar="PATH", help="the zip to write (default: dist/lambdaops-layer-…)"
    )
    build_cmd.add_argument(
        "--python", default=DEFAULT_PYTHON, help=f"target Python version (default {DEFAULT_PYTHON})"
    )
    build_cmd.add_argument(
        "--arch", choices=tuple(ARCHITECTURES), default="x86_64", help="target architecture"
    )
    build_cmd.add_argument(
        "--cache-dir", metavar="DIR", help="wheel cache (default ~/.cache/lambdaops/wheels)"
    )
    build_cmd.add_argument(
        "--refresh", action="store_true", help="resolve wheels on PyPI even if cached ones fit"
    )
    build_cmd.add_argument(
        "--no-bytecode",
        dest="bytecode",
        action="store_false",
        help="leave out the compiled .pyc files (Lambda then compiles at every cold start)",
    )
    build_cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        result = build(
            args.output,
            python=args.python,
            arch=args.arch,
            cache_dir=args.cache_dir,
            refresh=args.refresh,
            bytecode=args.bytecode,
        )
    except LayerError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot build the layer: {exc}") from None
    print(format_summary(result))
    return 0


def format_summary(result: LayerBuild) -> str:
    verdict = "within" if result.size <= BUDGET_BYTES else "OVER"
    lines = [
        f"wrote {result.path} for Python {result.python} on {result.arch} "
        f"in {result.seconds:.1f} s",
        f"size: {_kib(result.size)} zipped, {verdict} the {_kib(BUDGET_BYTES)} budget; "
        f"{_kib(sum(e.size for e in result.entries))} unzipped in {len(result.entries)} files",
        f"contains: {', '.join(result.distributions)}",
    ]
    if any(d.startswith("wrapt ") and d.endswith("-none-any)") for d in result.distributions):
        lines.append(
            f"note: wrapt has no compiled wheel for Python {result.python}: the layer carries "
            "its slower pure-Python version"
        )
    if result.bytecode is not None:
        lines.append(
            f"bytecode: compiled by Python {result.bytecode} (checked-hash .pyc: Lambda's /opt "
            "is read-only, so Python could not cache it there)"
        )
    else:
        lines.append(
            f"bytecode: none (no python{result.python} here, or --no-bytecode): Python compiles "
            "the layer at every cold start, ~25 ms"
        )
    lines.append("biggest contributors (zipped):")
    lines += [f"  {_kib(size):>10}  {name}" for name, size in result.contributors()[:6]]
    lines.append("biggest files (zipped):")
    lines += [f"  {_kib(e.compressed):>10}  {e.name}" for e in result.biggest_files(5)]
    return "\n".join(lines)


def _kib(size: int) -> str:
    return f"{size / 1024:,.1f} KiB"
