"""What the handler's wrapper itself costs per call: wrapt's FunctionWrapper vs a function.

Run: ``python benchmarks/wrappers.py [--rounds N]``. Each row wraps the bare benchmark
handler with a wrapper that only calls through, in the shape ``@instrument`` uses: wrapt's
``FunctionWrapper`` calling ``wrapper(wrapped, instance, args, kwargs)``, and a plain
function doing the same call. The difference is why ``@instrument`` gives handler
functions a plain wrapper and keeps wrapt for methods, where its binding is needed.
The last row is ``@trace.capture`` on a function called outside a sampled invocation
(what the README's Tracing section quotes).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

import scenarios
from _harness import measure, overheads


def _call_through(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    return wrapped(*args, **kwargs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=21)
    args = parser.parse_args(argv)
    import wrapt

    from lambdaops import trace

    bare = scenarios.bare()

    def plain(*args: Any, **kwargs: Any) -> Any:
        return _call_through(bare, None, args, kwargs)

    handlers = {
        "bare": bare,
        "wrapt FunctionWrapper": wrapt.FunctionWrapper(bare, _call_through),
        "plain function": plain,
        "@trace.capture, not sampled": trace.capture(bare),
    }
    results = measure(
        {name: scenarios.invoker(h) for name, h in handlers.items()},
        rounds=args.rounds,
        batch=2000,
    )
    print("| wrapper | overhead µs |\n|---|---:|")
    for name, over in overheads(results).items():
        print(f"| {name} | {over:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
