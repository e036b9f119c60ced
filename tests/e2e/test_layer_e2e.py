"""The layer end to end: built here, unzipped into an /opt-like folder, and run by the real
awslambdaric in a Python that has only what Lambda's runtime has (awslambdaric and boto3),
for a handler that never imports lambdaops: once by handler redirection, and by the exec
wrapper as container images and as managed runtimes start it.
"""

from __future__ import annotations

import os
import platform
import stat
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from lambdaops import layer
from lambdaops.local import Environment
from tests.e2e.conftest import json_lines

pytestmark = pytest.mark.e2e

PLAIN_APP = '''\
"""A handler that knows nothing of lambdaops."""
import logging

logger = logging.getLogger("plain")


def handler(event, context):
    logger.warning("plain handler ran")
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {"echo": event, "request_id": context.aws_request_id, "answer": 42}
'''

DECORATED_APP = """\
from lambdaops import instrument


@instrument(service="decorated")
def handler(event, context):
    return {"decorated": True}
"""

# Stands for /var/runtime/bootstrap.py of Lambda's managed Python runtimes, which take the
# handler from _HANDLER rather than from their command line.
MANAGED_BOOTSTRAP = """\
import os
import sys

from awslambdaric.__main__ import main

main([sys.argv[0], os.environ["_HANDLER"]])
"""


class Sandbox(NamedTuple):
    root: Path
    opt: Path  # the unzipped layer, as Lambda lays it out under /opt
    python: Path  # a venv with awslambdaric and boto3 only
    task: Path  # the function's code, as in /var/task


def _host_arch() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine
    )
    if arch is None or not sys.platform.startswith("linux"):
        pytest.skip(f"Lambda layers run on Linux x86_64 or arm64, not {sys.platform} {machine}")
    return arch


def unzip_layer(zip_path: Path, dest: Path) -> None:
    """Unzip with the permissions recorded in the zip, as Lambda does (zipfile drops them)."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    root = tmp_path_factory.mktemp("layer-e2e")
    python_version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    built = layer.build(root / "layer.zip", python=python_version, arch=_host_arch())
    opt = root / "opt"
    unzip_layer(built.path, opt)
    python = layer.runtime_python(root / "runtime")
    bare = subprocess.run([python, "-c", "import lambdaops"], capture_output=True, env={}, cwd=root)
    assert bare.returncode != 0, "the runtime's Python must not see this machine's lambdaops"
    task = root / "task"
    task.mkdir()
    (task / "plain_app.py").write_text(PLAIN_APP)
    (task / "decorated_app.py").write_text(DECORATED_APP)
    (root / "bootstrap.py").write_text(MANAGED_BOOTSTRAP)
    return Sandbox(root, opt, python, task)


@pytest.fixture
def envs() -> Iterator[list[Environment]]:
    started: list[Environment] = []
    yield started
    for env in started:
        env.stop()


def launcher(sandbox: Sandbox, style: str) -> Path:
    """An executable standing for the runtime's start command, run through the wrapper.

    ``container``: ``wrapper python -m awslambdaric HANDLER`` (what lambdaops.local runs, with
    _HANDLER set too); ``managed``: ``wrapper python bootstrap.py``, the handler in _HANDLER.
    """
    wrapper = sandbox.opt / "lambdaops-wrapper"
    path = sandbox.root / f"launch-{style}"
    if style == "container":
        body = f'exec "{wrapper}" "{sandbox.python}" "$@"\n'
    else:
        # lambdaops.local asks the interpreter for its version with -c first.
        body = (
            f'case $1 in -c) exec "{sandbox.python}" "$@" ;; esac\n'
            f'exec "{wrapper}" "{sandbox.python}" -u "{sandbox.root / "bootstrap.py"}"\n'
        )
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def check_invocations(env: Environment) -> None:
    """The plain handler, instrumented: responses unchanged, outcome records and JSON logs."""
    ok = env.invoke({"n": 1})
    failed = env.invoke({"fail": True})
    assert env.init_error is None
    assert ok.status == "success", ok.error
    assert ok.json() == {"echo": {"n": 1}, "request_id": ok.request_id, "answer": 42}
    assert failed.status == "error"
    assert failed.error is not None
    assert failed.error["errorType"] == "ValueError"
    assert failed.error["errorMessage"] == "asked to fail"

    records = json_lines(env.lines_since(0))
    outcomes = [r for r in records if r.get("lambdaops") == "outcome"]
    assert [(o["outcome"], o["request_id"]) for o in outcomes] == [
        ("success", ok.request_id),
        ("error", failed.request_id),
    ]
    assert [o["cold_start"] for o in outcomes] == [True, False]
    assert outcomes[1]["error_type"] == "ValueError"
    assert {o["function_name"] for o in outcomes} == {"layer-fn"}
    logs = [r for r in records if r.get("message") == "plain handler ran"]
    assert [(r["level"], r["logger"], r["request_id"]) for r in logs] == [
        ("WARNING", "plain", ok.request_id),
        ("WARNING", "plain", failed.request_id),
    ]


def redirected(sandbox: Sandbox, envs: list[Environment], original: str) -> Environment:
    """The handler redirect: Lambda's managed runtimes have /opt/python on the path."""
    env = Environment(
        "lambdaops.wrapper.handler",
        code_dir=sandbox.task,
        function_name="layer-fn",
        python=str(sandbox.python),
        env={
            "LAMBDAOPS_HANDLER": original,
            "PYTHONPATH": os.pathsep.join([str(sandbox.task), str(sandbox.opt / "python")]),
        },
    )
    envs.append(env)
    return env


def wrapped(sandbox: Sandbox, envs: list[Environment], handler: str, style: str) -> Environment:
    """The exec wrapper: only the function's code on the path, the wrapper adds python/."""
    env = Environment(
        handler,
        code_dir=sandbox.task,
        function_name="layer-fn",
        python=str(launcher(sandbox, style)),
        env={"PYTHONPATH": str(sandbox.task)},
    )
    envs.append(env)
    return env


def test_handler_redirection(sandbox: Sandbox, envs: list[Environment]) -> None:
    env = redirected(sandbox, envs, "plain_app.handler")
    check_invocations(env)


@pytest.mark.parametrize("style", ["container", "managed"])
def test_exec_wrapper(sandbox: Sandbox, envs: list[Environment], style: str) -> None:
    env = wrapped(sandbox, envs, "plain_app.handler", style)
    check_invocations(env)
    assert not any("lambdaops-wrapper:" in text for _, _, text in env.lines)


def test_exec_wrapper_keeps_a_decorated_handler_as_it_is(
    sandbox: Sandbox, envs: list[Environment]
) -> None:
    env = wrapped(sandbox, envs, "decorated_app.handler", "container")
    result = env.invoke({})
    assert result.status == "success" and result.json() == {"decorated": True}
    outcomes = [r for r in json_lines(env.lines_since(0)) if r.get("lambdaops") == "outcome"]
    assert len(outcomes) == 1  # one lifecycle: instrumented once, not twice
    assert outcomes[0]["service"] == "decorated"


def test_redirection_names_a_handler_that_cannot_be_imported(
    sandbox: Sandbox, envs: list[Environment]
) -> None:
    env = redirected(sandbox, envs, "missing_app.handler")
    result = env.invoke({})
    assert result.status == "init_error"
    error: dict[str, Any] = env.init_error or {}
    assert error.get("errorType") == "Runtime.ImportModuleError"
    assert "'missing_app.handler'" in error.get("errorMessage", "")
    assert "LAMBDAOPS_HANDLER" in error.get("errorMessage", "")


def test_layer_files_are_executable_and_readable(sandbox: Sandbox) -> None:
    wrapper = sandbox.opt / "lambdaops-wrapper"
    assert stat.S_IMODE(wrapper.stat().st_mode) == 0o755
    assert (sandbox.opt / "python" / "lambdaops" / "wrapper.py").is_file()
