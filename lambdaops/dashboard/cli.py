"""``lambdaops dashboard``: its arguments, and the run that writes the template.

Only argparse is imported when the parser is built (``lambdaops --help`` stays instant);
the rest when the command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from lambdaops._errors import UsageError


def add_parser(sub: Any, read: Callable[[list[str]], list[str]]) -> None:
    """Add the subcommand; ``read`` reads log files as ``lambdaops report`` does."""
    cmd = sub.add_parser(
        "dashboard",
        help="a CloudWatch dashboard and availability alarms (CloudFormation) from a log",
    )
    cmd.add_argument(
        "--from",
        dest="logs",
        metavar="LOG",
        action="append",
        required=True,
        help="the function's log: a `lambdaops local` log, a CloudWatch export or `aws logs"
        " tail` output (repeat for several)",
    )
    cmd.add_argument(
        "--function",
        metavar="NAME",
        help="read only this function's records and metrics (a log of several functions);"
        " also the default FunctionName parameter",
    )
    cmd.add_argument(
        "--slo",
        default="99.9",
        metavar="PCT",
        help="availability objective in percent of attempts (default 99.9)",
    )
    cmd.add_argument("--output", metavar="FILE", help="write the template here (default stdout)")
    cmd.add_argument(
        "--zero-alarm",
        metavar="METRIC",
        action="append",
        default=[],
        help="also alarm when this business metric is 0 or absent for an hour (repeatable)",
    )
    cmd.add_argument(
        "--target-function",
        metavar="SUB",
        help="the function's name inside a bigger template, as an Fn::Sub string (e.g."
        " '${AWS::StackName}-gizmos'); default: a FunctionName parameter",
    )
    cmd.add_argument(
        "--target-log-group",
        metavar="SUB",
        help="its log group there, as an Fn::Sub string (e.g. '${GizmosLogGroup}');"
        " default: a LogGroupName parameter",
    )
    cmd.set_defaults(run=lambda args: run(args, read(args.logs)))


def run(args: argparse.Namespace, lines: Iterable[str]) -> int:
    from lambdaops.dashboard import alarms, emit, template
    from lambdaops.dashboard.discover import discover

    slo = _objective(args.slo, alarms.lowest_objective())
    found = discover(lines, function=args.function)
    names = [m.name for m in found.metrics]
    for wanted in args.zero_alarm:
        if wanted not in names:
            known = ", ".join(names) or "none"
            raise UsageError(f"--zero-alarm {wanted}: the log has no such metric (it has {known})")
    if found.function is None and args.target_function is None:
        raise UsageError("the log names no function (no outcome records): pass --function NAME")
    if found.outcome_records == 0:
        print(
            "lambdaops: warning: the log has no lambdaops outcome records; the availability"
            " widgets and alarms read them, so instrument the handler first",
            file=sys.stderr,
        )
    options = template.Options(
        slo, tuple(args.zero_alarm), args.target_function, args.target_log_group
    )
    text = emit.dump(template.build(found, options))
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    return 0


def _objective(text: str, lowest: Decimal) -> Decimal:
    """``--slo``: a percentage the fast burn-rate alarm can still reach."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"--slo {text}: not a number") from None
    if not value.is_finite() or not lowest < value < 100:
        raise UsageError(
            f"--slo {text}: must be above {lowest:.4f} and below 100 (at a lower objective a"
            " 14.4x burn of the error budget is more than every attempt failing)"
        )
    return value
