"""Cold-start cost of the lambdaops layer, under the real runtime client.

Run: ``python benchmarks/layer_cold_start.py [--runs N] [--json PATH]``.

Builds the layer for this machine's Python and architecture, unzips it into an /opt-like
folder, and makes a Python environment with only what Lambda's runtime has (awslambdaric,
boto3). A plain handler that never imports lambdaops is then cold-started N times in each
way, rounds interleaved in shuffled order:

* ``bare``: no layer, ``python -m awslambdaric plain_app.handler``;
* ``exec wrapper``: the same command through ``/opt/lambdaops-wrapper``;
* ``redirect``: handler ``lambdaops.wrapper.handler`` with ``LAMBDAOPS_HANDLER``;
* ``exec wrapper, no bytecode``: the exec wrapper with a layer built ``--no-bytecode``.

Lambda's /opt is read-only, so Python cannot cache the bytecode of a layer built without
it: the function process runs with PYTHONDONTWRITEBYTECODE=1 to match, and the last row
shows what compiling at every cold start costs. Init is the time from spawning the runtime
to its first request for an event (Lambda's Init Duration, plus interpreter start); the
first invocation's duration is reported apart. Figures are medians over the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import zipfile
from pathlib import Path

from lambdaops import layer
from lambdaops.local import Environment

PLAIN_APP = """\
import logging

logger = logging.getLogger("plain")


def handler(event, context):
    logger.info("plain handler ran")
    return {"ok": True}
"""


def unzip(zip_path: Path, dest: Path) -> None:
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            os.chmod(zf.extract(info, dest), (info.external_attr >> 16) & 0o777)


def launcher(path: Path, opt: Path, python: Path) -> Path:
    """The runtime's command through the exec wrapper, as Lambda starts it."""
    path.write_text(f'#!/bin/sh\nexec "{opt}/lambdaops-wrapper" "{python}" "$@"\n')
    path.chmod(0o755)
    return path


def prepare(root: Path) -> tuple[dict[str, dict[str, object]], Path, layer.LayerBuild]:
    arch = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    built = layer.build(root / "layer.zip", python=version, arch=arch)
    plain = layer.build(root / "plain.zip", python=version, arch=arch, bytecode=False)
    unzip(built.path, root / "opt")
    unzip(plain.path, root / "opt-plain")
    python = layer.runtime_python(root / "runtime")
    task = root / "task"
    task.mkdir()
    (task / "plain_app.py").write_text(PLAIN_APP)

    no_pyc = {"PYTHONDONTWRITEBYTECODE": "1"}
    only_task = {**no_pyc, "PYTHONPATH": str(task)}
    specs: dict[str, dict[str, object]] = {
        "bare": {"handler": "plain_app.handler", "python": str(python), "env": only_task},
        "exec wrapper": {
            "handler": "plain_app.handler",
            "python": str(launcher(root / "launch", root / "opt", python)),
            "env": only_task,
        },
        "redirect": {
            "handler": "lambdaops.wrapper.handler",
            "python": str(python),
            "env": {
                **no_pyc,
                "LAMBDAOPS_HANDLER": "plain_app.handler",
                "PYTHONPATH": f"{task}{os.pathsep}{root / 'opt' / 'python'}",
            },
        },
        "exec wrapper, no bytecode": {
            "handler": "plain_app.handler",
            "python": str(launcher(root / "launch-plain", root / "opt-plain", python)),
            "env": only_task,
        },
    }
    return specs, task, built


def cold_start(task: Path, spec: dict[str, object]) -> tuple[float, float]:
    env = Environment(
        str(spec["handler"]),
        code_dir=task,
        python=str(spec["python"]),
        env=dict(spec["env"]),  # type: ignore[call-overload]
        function_name="layer-bench",
    )
    try:
        result = env.invoke({})
        if result.status != "success" or env.init_duration_ms is None:
            raise RuntimeError(f"{spec['handler']}: {result.status} {result.error}")
        return env.init_duration_ms, result.duration_ms
    finally:
        env.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="cold starts per scenario")
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lambdaops-layer-bench-") as tmp:
        root = Path(tmp)
        specs, task, built = prepare(root)
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in specs}
        for spec in specs.values():
            cold_start(task, spec)  # warm the page cache and the bytecode of the runtime
        order = list(specs)
        for _ in range(args.runs):
            random.shuffle(order)
            for name in order:
                samples[name].append(cold_start(task, specs[name]))

    init = {name: statistics.median(s[0] for s in runs) for name, runs in samples.items()}
    first = {name: statistics.median(s[1] for s in runs) for name, runs in samples.items()}
    print(
        f"layer {built.size / 1024:.1f} KiB for Python {built.python} on {built.arch} "
        f"(bytecode by {built.bytecode}); medians of {args.runs} cold starts each"
    )
    print(f"{'scenario':<28}{'init ms':>10}{'vs bare':>10}{'1st invoke ms':>16}")
    for name in specs:
        extra = init[name] - init["bare"]
        print(f"{name:<28}{init[name]:>10.1f}{extra:>+10.1f}{first[name]:>16.2f}")
    if args.json:
        figures = {
            "python": built.python,
            "arch": built.arch,
            "layer_bytes": built.size,
            "runs": args.runs,
            "init_ms": init,
            "first_invoke_ms": first,
        }
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
