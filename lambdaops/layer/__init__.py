"""``lambdaops layer build``: the shared Lambda layer, built reproducibly.

The zip holds ``python/`` (lambdaops and its runtime dependencies, installed from
manylinux wheels for the target Python version and architecture, so any target can be
built on any machine) and ``lambdaops-wrapper`` at its root, the exec wrapper that lands at
``/opt/lambdaops-wrapper``. What the Lambda runtime already provides (boto3 and its
dependencies) is left out, as are tests, stray caches, RECORD files and lambdaops'
command-line tooling. Bytecode compiled for the target Python goes in when an interpreter
of that version is at hand, because Lambda's /opt is read-only and Python would otherwise
compile the layer at every cold start. Entries are sorted and carry fixed timestamps and
permissions, and the bytecode is hash-based, so two builds from the same sources and wheels
are byte-identical.

Wheels are kept in a cache (``--cache-dir``, default ``~/.cache/lambdaops/wheels``) and
resolved from it first, without the network; PyPI is asked only when the cache cannot
satisfy the requirements (or with ``--refresh``).
"""

from __future__ import annotations

from lambdaops.layer._build import build
from lambdaops.layer._cli import add_parser, format_summary, run
from lambdaops.layer._model import (
    ARCHITECTURES,
    BUDGET_BYTES,
    DEFAULT_PYTHON,
    LayerBuild,
    LayerEntry,
    LayerError,
    default_cache_dir,
    default_output,
    wrapper_script,
)
from lambdaops.layer._wheels import runtime_python

__all__ = [
    "ARCHITECTURES",
    "BUDGET_BYTES",
    "DEFAULT_PYTHON",
    "LayerBuild",
    "LayerEntry",
    "LayerError",
    "add_parser",
    "build",
    "default_cache_dir",
    "default_output",
    "format_summary",
    "run",
    "runtime_python",
    "wrapper_script",
]
