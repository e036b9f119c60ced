"""``lambdaops local``: run a handler under the real runtime client, on this machine."""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lambdaops._errors import UsageError


def add_parser(sub: Any) -> None:
    local = sub.add_parser(
        "local",
        help="run a handler locally under awslambdaric, as Lambda would",
        description="Run HANDLER (module.function) in real awslambdaric processes against a "
        "local Lambda Runtime API, with deadlines, trace headers, cold starts and REPORT lines.",
    )
    local.add_argument("handler", help="module.function, e.g. app.handler")
    local.add_argument("--code-dir", default=".", help="directory holding the handler module")
    local.add_argument(
        "--event",
        action="append",
        default=[],
        metavar="PATH",
        help="event JSON file, or a directory of them (repeatable; default: {})",
    )
    local.add_argument("--times", type=int, default=1, help="invoke each event N times")
    local.add_argument("--concurrency", type=int, default=1, help="execution environments")
    local.add_argument("--timeout", type=float, default=3.0, help="function timeout, seconds")
    local.add_argument("--memory", type=int, default=128, help="memory size, MB")
    local.add_argument(
        "--sampling",
        type=float,
        default=0.0,
        help="trace sampling rate 0..1: the share of invocations whose trace header says "
        "Sampled=1; their X-Ray segments (UDP) or OpenTelemetry spans (OTLP/HTTP) are drawn "
        "as a waterfall",
    )
    local.add_argument(
        "--seed",
        metavar="JSON",
        help="seed Parameter Store / Secrets Manager (default: seed.json in the code directory)",
    )
    local.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="Lambda's log format: platform records as START/END/REPORT lines (text) or "
        "platform.* JSON records (json); also sets AWS_LAMBDA_LOG_FORMAT (default: text)",
    )
    local.add_argument("--log", metavar="FILE", help="also write every log line here")
    local.add_argument("--quiet", action="store_true", help="only REPORT lines and the summary")
    local.set_defaults(run=run)


def _events(paths: list[str]) -> list[tuple[str, Any]]:

    if not paths:
        return [("{}", {})]
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.glob("*.json")))
        elif path.exists():
            found.append(path)
        else:
            raise UsageError(f"event file {raw} does not exist")
    events = []
    for path in found:
        try:
            events.append((path.name, json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read event {path}: {exc}") from None
    if not events:
        raise UsageError(f"no *.json events in {', '.join(paths)}")
    return events


def check_handler(handler: str, code_dir: Path) -> None:
    """Fail early, in one line, for a handler the runtime could never load."""

    module, dot, function = handler.rpartition(".")
    if not dot or not module or not function:
        raise UsageError(f"handler {handler!r} must look like module.function")
    if not code_dir.is_dir():
        raise UsageError(f"code directory {code_dir} does not exist")
    base = code_dir.joinpath(*module.split("."))
    if not (base.with_suffix(".py").exists() or (base / "__init__.py").exists()):
        raise UsageError(f"handler module {module!r} not found in {code_dir}")


def run(args: argparse.Namespace) -> int:
    from lambdaops.local._runner import LocalRunner

    code_dir = Path(args.code_dir).resolve()
    check_handler(args.handler, code_dir)
    if args.times < 1 or args.concurrency < 1:
        raise UsageError("--times and --concurrency must be at least 1")
    if not 0.0 <= args.sampling <= 1.0:
        raise UsageError("--sampling must be between 0 and 1")
    if args.seed and not Path(args.seed).exists():
        raise UsageError(f"seed file {args.seed} does not exist")
    default_seed = code_dir / "seed.json"
    seed = args.seed or (str(default_seed) if default_seed.exists() else None)
    events = _events(args.event)
    plan = [(name, event) for _ in range(args.times) for name, event in events]
    log = open(args.log, "w", encoding="utf-8") if args.log else None  # noqa: SIM115
    printer = Printer(quiet=args.quiet)
    try:
        with LocalRunner(
            args.handler,
            code_dir,
            memory_mb=args.memory,
            timeout_s=args.timeout,
            sampling=args.sampling,
            concurrency=args.concurrency,
            seed=seed,
            log=log,
            log_format=args.log_format,
        ) as runner:
            for notice in runner.notices:
                print(f"lambdaops local: {notice}", file=sys.stderr)
            slots = list(range(args.concurrency))
            lock = threading.Lock()

            def one(item: tuple[str, Any]) -> Any:
                with lock:
                    slot = slots.pop()
                try:
                    return runner.invoke(item[1], environment=slot, label=item[0])
                finally:
                    with lock:
                        slots.append(slot)

            with (
                ThreadPoolExecutor(max_workers=args.concurrency) as pool,
                printer.progress(len(plan)) as advance,
            ):
                for local in pool.map(one, plan):
                    printer.invocation(local, runner.waterfall(local))
                    advance()
    finally:
        if log is not None:
            log.close()
    printer.summary()
    return 0


class Printer:
    """Progress and tables with rich when installed, plain text otherwise."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.rows: list[Any] = []
        try:
            from rich.console import Console

            self.console: Any = Console(highlight=False)
        except ImportError:  # pragma: no cover - rich is in the local extra
            self.console = None

    @contextmanager
    def progress(self, total: int) -> Iterator[Callable[[], None]]:
        """A progress bar over the invocations (rich, on a terminal); yields ``advance()``."""
        if self.console is None or not self.console.is_terminal:
            yield lambda: None
            return
        from rich.progress import Progress

        with Progress(console=self.console, transient=True) as bar:
            task = bar.add_task("invoking", total=total)
            yield lambda: bar.advance(task)

    def out(self, text: str, style: str | None = None) -> None:
        if self.console is not None:
            self.console.print(text, style=style, markup=False, soft_wrap=True)
        else:
            print(text)

    def invocation(self, local: Any, waterfall: str | None) -> None:
        """The invocation's log as Lambda writes it: platform records flush left, the
        function's events indented under them; with --quiet only the REPORT record."""
        self.rows.append(local)
        status = local.result.status
        style = {"success": "green", "error": "red", "timeout": "yellow"}.get(status, "red")
        report = local.report_line()
        if not self.quiet:
            for stream, text in local.events:
                if stream == "platform":
                    if text != report:
                        self.out(text, style="dim")
                elif text.strip():
                    for line in text.rstrip().split("\n"):
                        self.out("  " + line.rstrip())
        self.out(report, style=style)
        if waterfall:
            self.out(waterfall, style="cyan")

    def summary(self) -> None:
        if self.console is not None:
            from rich.table import Table

            table = Table(title="invocations")
            for column in ("#", "event", "env", "cold", "status", "duration ms", "request id"):
                table.add_column(column)
            for i, local in enumerate(self.rows, 1):
                table.add_row(
                    str(i),
                    local.label,
                    str(local.environment),
                    "yes" if local.cold else "",
                    local.result.status,
                    f"{local.result.duration_ms:.1f}",
                    local.request_id,
                )
            self.console.print(table)
        else:
            for i, local in enumerate(self.rows, 1):
                print(
                    i,
                    local.label,
                    local.environment,
                    local.cold,
                    local.result.status,
                    f"{local.result.duration_ms:.1f}",
                    local.request_id,
                )
