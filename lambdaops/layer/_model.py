"""The layer's constants and result types, and where things are: below every other part."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import NamedTuple

#: Lambda architecture -> the manylinux platform tag of its wheels.
ARCHITECTURES = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
DEFAULT_PYTHON = "3.12"
#: The size the layer should stay under, zipped.
BUDGET_BYTES = 2 * 1024 * 1024
#: Distributions every Python runtime of Lambda already has (boto3 and what it requires).
PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
)
#: Parts of the lambdaops package that are tooling for a developer's machine, not the function.
TOOLING = frozenset({"cli.py", "__main__.py", "demo.py", "layer", "local", "_wrapper_script.sh"})
#: Used when neither pyproject.toml nor installed metadata tells lambdaops' requirements.
FALLBACK_REQUIREMENTS = ("wrapt>=1.14,<2",)
WRAPPER_NAME = "lambdaops-wrapper"

PYTHON_RE = re.compile(r"3\.\d{1,2}")
#: The lambdaops package (this folder's parent).
PACKAGE = Path(__file__).resolve().parent.parent


class LayerError(Exception):
    """The layer cannot be built; the message says why, in one line."""


class LayerEntry(NamedTuple):
    name: str
    size: int
    compressed: int


class LayerBuild(NamedTuple):
    path: Path
    size: int
    python: str
    arch: str
    distributions: tuple[str, ...]
    entries: tuple[LayerEntry, ...]
    seconds: float
    #: The Python (x.y.z) that compiled the layer's bytecode, or None for a layer without it.
    bytecode: str | None = None

    def contributors(self) -> list[tuple[str, int]]:
        """Compressed bytes per top-level part (``python/wrapt/``, …), biggest first."""
        totals: dict[str, int] = {}
        for entry in self.entries:
            head, sep, rest = entry.name.partition("/")
            if sep and head == "python" and "/" in rest:
                key = f"python/{rest.split('/', 1)[0]}/"
            else:
                key = entry.name
            totals[key] = totals.get(key, 0) + entry.compressed
        return sorted(totals.items(), key=lambda item: (-item[1], item[0]))

    def biggest_files(self, count: int = 5) -> list[LayerEntry]:
        return sorted(self.entries, key=lambda e: (-e.compressed, e.name))[:count]


def default_output(python: str = DEFAULT_PYTHON, arch: str = "x86_64") -> Path:
    return Path("dist") / f"lambdaops-layer-python{python}-{arch}.zip"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lambdaops" / "wheels"


def wrapper_script() -> bytes:
    """The exec wrapper, as it goes into the layer."""
    return (PACKAGE / "_wrapper_script.sh").read_bytes()


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""
