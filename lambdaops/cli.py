"""The ``lambdaops`` command: ``local``, ``report``, ``dashboard`` and ``layer``.

Each subcommand imports what it needs when it runs, so ``lambdaops --help``
stays instant. User mistakes (a missing file, a bad handler) print one
``lambdaops: ...`` line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lambdaops._errors import UsageError

__all__ = ["UsageError", "build_parser", "main"]


def _read(paths: list[str]) -> list[str]:
    """The lines of log files, as ``report`` and ``dashboard`` read them."""
    lines: list[str] = []
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines.extend(fh)
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return lines


def _report(args: argparse.Namespace) -> int:
    from lambdaops import report

    result = report.build(_read(args.files), function=args.function)
    if args.format == "json":
        import json

        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(report.format_table(result))
    if args.plot:
        try:
            report.plot(result, args.plot)
        except ImportError:
            raise UsageError("--plot needs matplotlib: pip install 'lambdaops[local]'") from None
    if args.html:
        try:
            report.write_html(result, args.html)
        except OSError as exc:
            raise UsageError(f"cannot write {args.html}: {exc.strerror or exc}") from None
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lambdaops", description="Observability for AWS Lambda Python handlers."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser("report", help="availability, latency, cold starts and cost from logs")
    rep.add_argument("files", nargs="+", help="log files: JSON lines or CloudWatch exports")
    rep.add_argument("--format", choices=("table", "json"), default="table")
    rep.add_argument("--plot", metavar="PNG", help="draw latency and availability to a PNG")
    rep.add_argument("--html", metavar="FILE", help="write the figures as one self-contained page")
    rep.add_argument(
        "--function",
        metavar="NAME",
        help="count only this function's invocations, for a log of several: outcome records by"
        " their function_name; Lambda's platform records by their log stream, known from its"
        " name in a shared log group (YYYY/MM/DD/NAME[...]) or from the outcome records in it."
        " Records in streams the log does not tie to a function (no stream names, or a stream"
        " of the default log group with no outcome record) are left out and counted",
    )
    rep.set_defaults(run=_report)

    from lambdaops.dashboard import cli as dashboard_cli

    dashboard_cli.add_parser(sub, _read)

    from lambdaops.local import _cli as local_cli

    local_cli.add_parser(sub)

    from lambdaops.local import _tune

    _tune.add_parser(sub)

    from lambdaops import layer

    layer.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"lambdaops: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # piped into head: stop quietly, as Unix tools do
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
