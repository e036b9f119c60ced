"""``lambdaops tune``: a handler's duration and cost at each memory size, with Lambda's CPU share.

Lambda offers one control, memory, and gives CPU in proportion: one full vCPU at 1,769 MB,
up to six at 10,240 MB. A CPU-bound handler can therefore be cheaper with more memory.
This runs the handler under ``lambdaops local`` at each size with that share enforced on
the runtime process: a CFS quota on a ``cpu`` cgroup (v1 ``cpu.cfs_quota_us`` or v2
``cpu.max``) where the machine lets us make one, else a SIGSTOP/SIGCONT duty cycle of the
process group (which undershoots: said when used). The share is capped at the machine's
cores. Durations are the warm invocations' (the cold one is run first and left out).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

#: Memory at which a function has one full vCPU, and the most vCPUs Lambda gives.
FULL_VCPU_MB = 1769
MAX_VCPUS = 6
#: 20 ms: short enough that a short invocation sees its share, long enough for 128 MB's
#: quota (1.45 ms) to stay above the kernel's 1 ms minimum.
_PERIOD_US = 20_000
_V1 = Path("/sys/fs/cgroup/cpu")
_V2 = Path("/sys/fs/cgroup")


def vcpus(memory_mb: int) -> float:
    """Lambda's CPU share for ``memory_mb``, capped at this machine's cores."""
    return min(memory_mb / FULL_VCPU_MB, MAX_VCPUS, float(os.cpu_count() or 1))


class Row(NamedTuple):
    memory_mb: int
    duration_p50_ms: float
    duration_p95_ms: float
    cost_per_invocation_usd: float
    cost_per_million_usd: float


class CpuLimit:
    """The CPU share of one memory size, put on each runtime process the environment spawns."""

    def __init__(self, memory_mb: int) -> None:
        self.share = vcpus(memory_mb)
        self.group: Path | None = None
        self.mode = "cgroup"
        quota = max(1000, int(self.share * _PERIOD_US))
        name = f"lambdaops-tune-{os.getpid()}-{memory_mb}"
        try:
            if (_V1 / "cpu.cfs_quota_us").exists():
                group = _V1 / name
                group.mkdir(exist_ok=True)
                (group / "cpu.cfs_period_us").write_text(str(_PERIOD_US))
                (group / "cpu.cfs_quota_us").write_text(str(quota))
            elif "cpu" in (_V2 / "cgroup.controllers").read_text().split():
                group = _V2 / name
                group.mkdir(exist_ok=True)
                (group / "cpu.max").write_text(f"{quota} {_PERIOD_US}")
            else:
                raise OSError("no cpu controller")
            self.group = group
        except OSError:
            self.mode = "duty cycle"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def join(self, pid: int) -> None:
        """Put ``pid`` (a runtime just spawned) under the limit."""
        if self.group is not None:
            (self.group / "cgroup.procs").write_text(str(pid))
            return
        thread = threading.Thread(target=self._duty, args=(pid,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _duty(self, pid: int) -> None:
        run_s = min(1.0, self.share) * _PERIOD_US / 1e6
        pause_s = _PERIOD_US / 1e6 - run_s
        while not self._stop.is_set() and pause_s > 0:
            try:
                time.sleep(run_s)
                os.killpg(pid, signal.SIGSTOP)
                time.sleep(pause_s)
                os.killpg(pid, signal.SIGCONT)
            except (ProcessLookupError, PermissionError):
                return

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(1.0)
        if self.group is not None:
            try:
                self.group.rmdir()
            except OSError:
                pass


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (the value at rank ceil(fraction * n))."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def measure(
    handler: str,
    code_dir: str,
    event: Any,
    memory_mb: int,
    invocations: int,
    architecture: str = "x86_64",
    timeout_s: float = 60.0,
    on_limit: Callable[[CpuLimit], None] | None = None,
    env: Mapping[str, str] | None = None,
) -> Row:
    """Run ``handler`` once cold, then ``invocations`` times warm, at ``memory_mb``."""
    from lambdaops._outcome import estimated_cost
    from lambdaops.local._environment import Environment

    limit = CpuLimit(memory_mb)
    if on_limit is not None:
        on_limit(limit)
    environment = Environment(
        handler,
        code_dir=code_dir,
        memory_mb=memory_mb,
        timeout_s=timeout_s,
        env=env,
        on_spawn=limit.join,
    )
    try:
        environment.invoke(event)  # the cold start, left out
        durations = []
        for _ in range(invocations):
            result = environment.invoke(event)
            if result.status != "success":
                raise RuntimeError(f"invocation at {memory_mb} MB: {result.status} {result.error}")
            durations.append(result.duration_ms)
    finally:
        environment.stop()
        limit.close()
    costs = [estimated_cost(math.ceil(ms), memory_mb, architecture) for ms in durations]
    per_invocation = statistics.mean(costs)
    return Row(
        memory_mb,
        round(percentile(durations, 0.5), 2),
        round(percentile(durations, 0.95), 2),
        round(per_invocation, 12),
        round(per_invocation * 1_000_000, 6),
    )


def table(rows: Sequence[Row]) -> str:
    cheapest = min(rows, key=lambda r: r.cost_per_invocation_usd)
    fastest = min(rows, key=lambda r: r.duration_p50_ms)
    lines = [
        "| memory | duration p50 | p95 | cost per invocation | per million | |",
        "|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        marks = ", ".join(
            m for m, hit in (("cheapest", row is cheapest), ("fastest", row is fastest)) if hit
        )
        lines.append(
            f"| {row.memory_mb} MB | {row.duration_p50_ms:.1f} ms | {row.duration_p95_ms:.1f} ms"
            f" | ${row.cost_per_invocation_usd:.9f} | ${row.cost_per_million_usd:.4f} | {marks} |"
        )
    return "\n".join(lines)


def plot(rows: Sequence[Row], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(7, 4))
    sizes = [r.memory_mb for r in rows]
    left.plot(sizes, [r.duration_p50_ms for r in rows], marker="o", label="duration p50 (ms)")
    left.set_xlabel("memory (MB)")
    left.set_ylabel("duration p50 (ms)")
    right = left.twinx()
    right.plot(sizes, [r.cost_per_million_usd for r in rows], marker="s", color="tab:red")
    right.set_ylabel("cost per million ($)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def add_parser(sub: Any) -> None:
    tune = sub.add_parser(
        "tune", help="duration and cost at each memory size, with Lambda's CPU share enforced"
    )
    tune.add_argument("handler", help="module.function")
    tune.add_argument("--code-dir", default=".", help="directory holding the handler module")
    tune.add_argument("--event", required=True, help="event JSON file")
    tune.add_argument("--memory", default="128,256,512,1024,1769,3008", help="sizes in MB")
    tune.add_argument("--invocations", type=int, default=10, help="warm invocations per size")
    tune.add_argument("--format", choices=("table", "json"), default="table")
    tune.add_argument("--plot", help="also draw duration and cost against memory to this PNG")
    tune.add_argument("--architecture", choices=("x86_64", "arm64"), default="x86_64")
    tune.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lambdaops._errors import UsageError

    try:
        sizes = [int(part) for part in str(args.memory).split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--memory {args.memory!r}: sizes in MB, separated by commas") from None
    if not sizes or any(not 128 <= size <= 10_240 for size in sizes):
        raise UsageError(f"--memory {args.memory!r}: each size must be 128..10240 MB")
    if args.invocations < 1:
        raise UsageError("--invocations must be at least 1")
    event = json.loads(Path(args.event).read_text(encoding="utf-8"))
    said: set[str] = set()

    def note(limit: CpuLimit) -> None:
        if limit.mode != "cgroup" and limit.mode not in said:
            said.add(limit.mode)
            print(
                "lambdaops tune: no cpu cgroup here; a SIGSTOP/SIGCONT duty cycle stands in "
                "and undershoots the share",
                file=sys.stderr,
            )

    rows = [
        measure(
            args.handler,
            args.code_dir,
            event,
            size,
            args.invocations,
            args.architecture,
            on_limit=note,
        )
        for size in sizes
    ]
    if args.format == "json":
        print(json.dumps([row._asdict() for row in rows], indent=2))
    else:
        print(table(rows))
    if args.plot:
        plot(rows, args.plot)
    return 0
