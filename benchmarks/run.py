"""The benchmark suite: lambdaops against its peers, warm and cold, bytes and memory.

Run: ``make bench`` (``make bench QUICK=1`` for the short CI version), or
``python benchmarks/run.py [--quick] [--out DIR] [--gate]``. Writes
``results.json``, ``benchmarks.md`` and ``benchmarks.png`` to ``--out``
(default ``docs/``) and prints the README's performance table
(``benchmarks/readme_table.py``; ``tests/test_figures.py`` checks the README
against results.json). ``--render`` measures nothing: it rewrites
``benchmarks.md`` from the ``results.json`` already in ``--out``. With
``--gate`` it exits 1 when lambdaops' warm overhead (all signals, unsampled)
is not below Powertools' full stack in the same run — a ratio, never an
absolute time, so a slow machine cannot fail it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cold  # noqa: E402
import readme_table  # noqa: E402
from _harness import measure, overheads, precompile  # noqa: E402
from trace_bench import start_drain  # noqa: E402

ALL = "lambdaops all, unsampled"
ALL_SAMPLED = "lambdaops all, sampled"
PT = "powertools full, unsampled"
PT_SAMPLED = "powertools full, sampled"
PT_SAME = "powertools full + outcome record (same work)"
NO_OUTCOME = "lambdaops all, no outcome record"


def warm(quick: bool) -> dict[str, Any]:
    """Interleaved warm rounds in this process; overheads relative to bare."""
    import scenarios

    rounds, batch = (9, 200) if quick else (31, 1000)
    drain, address = start_drain()
    scenarios.prepare_environment(address)
    real_stdout = sys.stdout
    scenarios.silence_stdout()
    try:
        calls = {
            name: scenarios.invoker(build(), sampled)
            for name, (build, sampled) in scenarios.WARM.items()
        }
        results = measure(calls, rounds=rounds, batch=batch)
    finally:
        sys.stdout = real_stdout
        drain.kill()
        drain.wait()
    over = overheads(results)
    return {
        "rounds": rounds,
        "batch": batch,
        "median_us": {k: round(r.median_us, 2) for k, r in results.items()},
        "spread_us": {k: round(r.spread_us, 2) for k, r in results.items()},
        "overhead_us": {k: round(v, 2) for k, v in over.items()},
        "ratio_unsampled": round(over[PT] / over[ALL], 1) if over[ALL] > 0 else None,
        "ratio_sampled": round(over[PT_SAMPLED] / over[ALL_SAMPLED], 1)
        if over[ALL_SAMPLED] > 0
        else None,
    }


_BYTES_PROBE = """
import sys
sys.path.insert(0, {here!r})
import scenarios
print(len(scenarios.capture_warm({name!r}, 100).encode()) / 100)
"""


def stdout_bytes() -> dict[str, float]:
    """Bytes written to stdout per warm invocation (CloudWatch bills ingestion per GB)."""
    out = {}
    for name in (
        "bare",
        ALL,
        NO_OUTCOME,
        PT,
        PT_SAME,
        "powertools Logger",
        "aws-embedded-metrics metric_scope",
    ):
        proc = subprocess.run(
            [sys.executable, "-c", _BYTES_PROBE.format(here=str(HERE), name=name)],
            capture_output=True,
            text=True,
            check=True,
        )
        out[name] = float(proc.stdout.strip().splitlines()[-1])
    return out


_RSS_PROBE = """
import resource, sys
sys.path.insert(0, {here!r})
import scenarios
scenarios.prepare_environment("127.0.0.1:9")
scenarios.silence_stdout()
build, sampled = scenarios.WARM[{name!r}]
call = scenarios.invoker(build(), sampled)
for _ in range(2000):
    call()
import gc, os
gc.collect()
with open("/proc/self/statm") as fh:
    resident_kb = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
sys.stderr.write("\\nRSS " + str(resident_kb))
"""


def rss() -> dict[str, float]:
    """Resident memory (MB) after 2,000 invocations in a fresh process; overhead vs bare.

    Current RSS, not the peak: interpreter start-up peaks higher than any of this."""
    peak = {}
    for name in ("bare", ALL, PT):
        proc = subprocess.run(
            [sys.executable, "-c", _RSS_PROBE.format(here=str(HERE), name=name)],
            capture_output=True,
            text=True,
            check=True,
        )
        marker = [ln for ln in proc.stderr.splitlines() if ln.startswith("RSS ")][-1]
        peak[name] = int(marker.split()[1]) / 1024
    return {k: round(v - peak["bare"], 1) for k, v in peak.items()}


def import_breakdown(top: int = 12) -> list[tuple[str, float]]:
    """What ``import lambdaops`` costs and its slowest parts (-X importtime, cumulative ms).

    Only modules imported on lambdaops' behalf count: those awslambdaric's bootstrap (or
    site) already loaded are not lambdaops' cost in a Lambda process.
    """
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import awslambdaric.bootstrap, awslambdaric.lambda_runtime_client; import lambdaops",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, LAMBDA_TASK_ROOT="/var/task"),
    )
    entries = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            entries.append((m.group(4), int(m.group(2)) / 1000, len(m.group(3))))
    # -X importtime lists children before their parent: lambdaops' subtree is the run of
    # deeper-indented lines just before its own top-level line.
    end = next(i for i, (mod, _, depth) in enumerate(entries) if mod == "lambdaops" and depth == 1)
    start = end
    while start > 0 and entries[start - 1][2] > 1:
        start -= 1
    subtree = sorted(((m, ms) for m, ms, _ in entries[start:end]), key=lambda r: -r[1])
    return [("lambdaops (total)", entries[end][1]), *subtree[:top]]


def layer_size() -> dict[str, Any] | None:
    try:
        from lambdaops import layer
    except ImportError:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "layer.zip"
        try:
            built = layer.build(output=out, python=f"{sys.version_info[0]}.{sys.version_info[1]}")
        except Exception as exc:  # network or toolchain: report, don't fail the suite
            return {"error": str(exc)}
        return {
            "bytes": out.stat().st_size,
            "python": built.python if hasattr(built, "python") else None,
        }


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    over = results["warm"]["overhead_us"]
    names = [n for n in over if n != "bare"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    colors = ["#2a9d4b" if n.startswith("lambdaops") else "#999999" for n in names]
    left.barh(names, [over[n] for n in names], color=colors)
    left.invert_yaxis()
    left.set_xlabel("warm overhead per invocation (µs, lower is better)")
    coldr = results["cold"]["overhead_ms"]
    cnames = [n for n in coldr if n != "bare"]
    right.bar(
        cnames,
        [coldr[n] for n in cnames],
        color=["#2a9d4b" if n == "lambdaops" else "#999999" for n in cnames],
    )
    right.set_ylabel("cold-start overhead (ms, init + first invocation)")
    fig.suptitle(results["machine"])
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def goals(results: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The benchmark issue's goals against this run: (goal, measured, met)."""
    over = results["warm"]["overhead_us"]
    cold_over = results["cold"]["overhead_ms"]
    size = results["bytes"]
    ratio = over[PT] / over[ALL] if over[ALL] > 0 else 0.0
    ratio_sampled = over[PT_SAMPLED] / over[ALL_SAMPLED] if over[ALL_SAMPLED] > 0 else 0.0
    cold_ratio = cold_over["lambdaops"] / cold_over["powertools"] if cold_over["powertools"] else 9
    out = [
        ("warm overhead, unsampled ≤ 12 µs", f"{over[ALL]:.1f} µs", over[ALL] <= 12),
        ("≥ 8× below Powertools' full stack, unsampled", f"{ratio:.1f}×", ratio >= 8),
        ("≥ 3× below Powertools' full stack, sampled", f"{ratio_sampled:.1f}×", ratio_sampled >= 3),
        ("cold start ≤ 0.4× Powertools'", f"{cold_ratio:.2f}×", cold_ratio <= 0.4),
    ]
    if PT_SAME in size:
        same = size[ALL] / size[PT_SAME]
        out.append(
            (
                "stdout bytes ≤ Powertools doing the same work",
                f"{size[ALL]:.0f} vs {size[PT_SAME]:.0f} B ({same:.2f}×)",
                same <= 1,
            )
        )
    plain = size[ALL] / size[PT]
    out.append(
        (
            "stdout bytes ≤ Powertools without an outcome record",
            f"{size[ALL]:.0f} vs {size[PT]:.0f} B ({plain:.2f}×)",
            plain <= 1,
        )
    )
    return out


def markdown(results: dict[str, Any]) -> str:
    w = results["warm"]
    lines = [
        f"Machine: {results['machine']}. Command: `{results['command']}`.",
        "",
        "| goal (benchmark issue) | this run | met |",
        "|---|---:|:---:|",
        *[f"| {g} | {m} | {'yes' if ok else '**no**'} |" for g, m, ok in goals(results)],
        "",
        "| warm, per invocation | median µs | spread µs | overhead µs |",
        "|---|---:|---:|---:|",
    ]
    for name, med in w["median_us"].items():
        lines.append(
            f"| {name} | {med:.2f} | {w['spread_us'][name]:.2f} | {w['overhead_us'][name]:.2f} |"
        )
    lines += [
        "",
        f"Ratio, Powertools full stack ÷ lambdaops (same run): unsampled "
        f"**{w['ratio_unsampled']}×**, sampled **{w['ratio_sampled']}×**.",
        "",
        "| cold start (init + first invocation) | median ms | overhead ms |",
        "|---|---:|---:|",
    ]
    c = results["cold"]
    for name, med in c["median_ms"].items():
        lines.append(f"| {name} | {med} | {c['overhead_ms'][name]} |")
    pt = c["overhead_ms"].get("powertools") or 0
    if pt > 0:
        lines.append(
            f"\nlambdaops' cold-start overhead is **{c['overhead_ms']['lambdaops'] / pt:.2f}×** "
            "Powertools'."
        )
    lines += ["", "| stdout bytes per warm invocation | bytes |", "|---|---:|"]
    lines += [f"| {k} | {v:.0f} |" for k, v in results["bytes"].items()]
    lines += ["", "| resident memory over bare, after 2,000 invocations | MB |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in results["rss"].items()]
    lines += ["", "| import lambdaops: slowest modules (after awslambdaric) | ms |", "|---|---:|"]
    lines += [f"| {m} | {ms:.1f} |" for m, ms in results["imports"]]
    layer = results.get("layer")
    if layer and "bytes" in layer:
        lines += [
            "",
            f"Layer zip (`lambdaops layer build --python {layer['python']}`): "
            f"{layer['bytes']:,} bytes ({layer['bytes'] / 1024:.1f} KiB).",
        ]
    elif layer:
        lines += ["", f"Layer zip: not built ({layer.get('error')})."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds and samples")
    parser.add_argument("--out", default=str(HERE.parent / "docs"), help="output directory")
    parser.add_argument("--gate", action="store_true", help="fail unless lambdaops < Powertools")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite benchmarks.md from results.json"
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.render:
        results = json.loads((out / "results.json").read_text())
        (out / "benchmarks.md").write_text(markdown(results))
        print(readme_table.table(results))
        return 0
    started = time.time()
    precompile()
    results: dict[str, Any] = {
        "machine": f"Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} cores",
        "command": "make bench" + (" QUICK=1" if args.quick else ""),
        "quick": args.quick,
    }
    print("warm ...", file=sys.stderr)
    results["warm"] = warm(args.quick)
    print("cold ...", file=sys.stderr)
    results["cold"] = cold.measure(3 if args.quick else 15)
    print("bytes, memory, imports ...", file=sys.stderr)
    results["bytes"] = stdout_bytes()
    results["rss"] = rss()
    results["imports"] = import_breakdown()
    results["layer"] = None if args.quick else layer_size()
    results["seconds"] = round(time.time() - started, 1)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    md = markdown(results)
    (out / "benchmarks.md").write_text(md)
    try:
        chart(results, out / "benchmarks.png")
    except ImportError:
        pass
    print(md)
    print("README.md's performance table (python benchmarks/readme_table.py):\n")
    print(readme_table.table(results))
    if args.gate:
        over = results["warm"]["overhead_us"]
        if not over[ALL] < over[PT]:
            print(
                f"GATE FAILED: lambdaops {over[ALL]:.1f} µs >= Powertools {over[PT]:.1f} µs",
                file=sys.stderr,
            )
            return 1
        print(
            f"gate passed: lambdaops {over[ALL]:.1f} µs < Powertools {over[PT]:.1f} µs "
            f"({results['warm']['ratio_unsampled']}×)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
