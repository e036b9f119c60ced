"""End-to-end fixtures: handlers run by the real awslambdaric against our Runtime API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdaops.local import Environment

HANDLERS = Path(__file__).parent / "handlers"
REPO = Path(__file__).resolve().parents[2]


def lambda_env(**extra: str) -> dict[str, str]:
    """Environment for the function process: lambdaops importable, no inherited config."""
    env = {"PYTHONPATH": os.pathsep.join([str(REPO), str(HANDLERS)])}
    env.update(extra)
    return env


@pytest.fixture
def make_env() -> Iterator[Any]:
    envs: list[Environment] = []

    def make(handler: str, **kwargs: Any) -> Environment:
        extra = kwargs.pop("env", {})
        env = Environment(handler, code_dir=HANDLERS, env=lambda_env(**extra), **kwargs)
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.stop()


def json_lines(lines: list[str]) -> list[dict[str, Any]]:
    """The JSON objects among an environment's stdout lines."""
    out = []
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def lambdaops_local(*args: str) -> subprocess.CompletedProcess[str]:
    """``lambdaops local ARGS`` in a child process, from the repository's root."""
    return subprocess.run(
        [sys.executable, "-m", "lambdaops", "local", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
