"""What each stdout line of one warm benchmark invocation weighs, in bytes.

Run: ``python benchmarks/line_bytes.py``. ``make bench`` counts bytes per invocation
(docs/results.json, "bytes"); this splits them by line for the scenarios the README and
docs/performance.md talk about — the info line, the outcome record with its EMF document
merged in, Powertools' lines — each in a fresh process, the second invocation of the
suite's handler (the first carries the cold-start metric). Byte counts include the newline.
A few bytes move with the length of a duration or cost figure; nothing is timed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

SCENARIOS = (
    "lambdaops all, unsampled",
    "lambdaops all, no outcome record",
    "powertools full, unsampled",
    "powertools full + outcome record (same work)",
)

_PROBE = """
import json, sys
sys.path.insert(0, {here!r})
import scenarios
print(json.dumps(scenarios.capture_warm({name!r}, 1).splitlines(keepends=True)))
"""


def kind(line: str) -> str:
    """A short name for a line: the outcome record, an EMF document or a log line."""
    if line.startswith('{"lambdaops":"outcome"'):
        return "outcome record" + (" + EMF document" if '"_aws"' in line else "")
    if '"_aws"' in line:
        return "EMF document"
    return "log line"


def lines(name: str) -> list[str]:
    """The stdout lines of the second invocation of scenario ``name``, in a fresh process."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE.format(here=str(HERE), name=name)],
        capture_output=True,
        text=True,
        check=True,
    )
    found: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


def main() -> int:
    print("| scenario | line | bytes |\n|---|---|---:|")
    for name in SCENARIOS:
        written = lines(name)
        for line in written:
            print(f"| {name} | {kind(line)} | {len(line.encode())} |")
        print(f"| {name} | **all** | {sum(len(line.encode()) for line in written)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
