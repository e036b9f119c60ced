"""The layer: a reproducible, small build; the exec wrapper's rewriting; handler redirection;
and the SAM example's least privilege."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lambdaops import instrument, layer
from lambdaops._decorator import is_instrumented
from lambdaops.layer import _build

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "examples" / "gizmos" / "template.yaml"


# -- the build ----------------------------------------------------------------------------


HOST = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, layer.LayerBuild]:
    """Python 3.12 without bytecode for both architectures, x86_64 twice; this Python's
    version with bytecode, twice. Wheels come from the shared cache."""
    out = tmp_path_factory.mktemp("layers")
    plain = {"python": "3.12", "bytecode": False}
    return {
        "first": layer.build(out / "first.zip", arch="x86_64", **plain),
        "second": layer.build(out / "second.zip", arch="x86_64", **plain),
        "arm64": layer.build(out / "arm64.zip", arch="arm64", **plain),
        "compiled": layer.build(out / "compiled.zip", python=HOST, arch="x86_64"),
        "compiled again": layer.build(out / "compiled2.zip", python=HOST, arch="x86_64"),
    }


def names(build: layer.LayerBuild) -> list[str]:
    with zipfile.ZipFile(build.path) as zf:
        return zf.namelist()


def test_two_builds_are_byte_identical(builds: dict[str, layer.LayerBuild]) -> None:
    assert builds["first"].path.read_bytes() == builds["second"].path.read_bytes()
    assert builds["compiled"].path.read_bytes() == builds["compiled again"].path.read_bytes()


def test_builds_in_processes_with_different_hash_seeds_are_byte_identical(
    tmp_path: Path,
) -> None:
    """Set and dict order, and frozenset constants in bytecode, can follow the hash seed:
    one process building twice cannot see that; two processes with different seeds can."""
    zips = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}.zip"
        argv = ["layer", "build", "--output", str(out), "--python", HOST, "--arch", "x86_64"]
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-m", "lambdaops", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        zips.append(out.read_bytes())
    assert zips[0] == zips[1]


def test_bytecode_is_checked_hash_pyc_for_the_target_only(
    builds: dict[str, layer.LayerBuild],
) -> None:
    compiled = builds["compiled"]
    assert compiled.bytecode is not None and compiled.bytecode.startswith(HOST + ".")
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(compiled.path) as zf:
        found = zf.namelist()
        pycs = [n for n in found if n.endswith(".pyc")]
        sources = [n for n in found if n.endswith(".py")]
        assert sorted(pycs) == sorted(
            f"{n.rpartition('/')[0]}/__pycache__/{n.rpartition('/')[2][:-3]}.{tag}.pyc"
            for n in sources
        )
        for name in pycs:
            header = zf.read(name)[:16]
            assert header[:4] == importlib.util.MAGIC_NUMBER
            assert int.from_bytes(header[4:8], "little") == 0b11  # hash-based, checked
    for name in ("first", "arm64"):
        assert builds[name].bytecode is None
        assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names(builds[name]))


def test_size_is_within_budget(builds: dict[str, layer.LayerBuild]) -> None:
    for build in builds.values():
        assert build.size == build.path.stat().st_size
        assert build.size <= layer.BUDGET_BYTES


def test_entries_are_sorted_with_fixed_times_and_permissions(
    builds: dict[str, layer.LayerBuild],
) -> None:
    with zipfile.ZipFile(builds["first"].path) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_type == zipfile.ZIP_DEFLATED
        mode = info.external_attr >> 16
        if info.filename == "lambdaops-wrapper":
            assert mode == 0o100755
        elif info.filename.endswith(".so"):
            assert mode in (0o100644, 0o100755)  # as the wheel has it
        else:
            assert mode == 0o100644, info.filename


def test_contents_python_dir_and_wrapper_only(builds: dict[str, layer.LayerBuild]) -> None:
    found = names(builds["first"])
    assert "lambdaops-wrapper" in found
    assert all(n.startswith("python/") for n in found if n != "lambdaops-wrapper")
    assert "python/lambdaops/__init__.py" in found
    assert "python/lambdaops/wrapper.py" in found
    assert "python/lambdaops/py.typed" in found
    assert "python/lambdaops-0.1.0.dist-info/METADATA" in found
    assert any(n.startswith("python/wrapt/_wrappers.cpython-312-x86_64") for n in found)
    assert any(n.startswith("python/wrapt-") and n.endswith("LICENSE") for n in found)


def test_no_boto3_tests_caches_or_leftovers(builds: dict[str, layer.LayerBuild]) -> None:
    tag = sys.implementation.cache_tag
    for build in builds.values():
        for name in names(build):
            parts = name.split("/")
            assert not {"boto3", "botocore", "s3transfer", "urllib3"} & {
                p.split("-")[0] for p in parts
            }, name
            if name.endswith((".pyc", ".pyo")) or "__pycache__" in parts:
                # only the bytecode compiled for the target (checked above)
                assert build.bytecode and parts[-2] == "__pycache__", name
                assert name.endswith(f".{tag}.pyc"), name
            assert not parts[-1].startswith("RECORD"), name
            assert "tests" not in parts and "bin" not in parts, name
            assert not name.startswith(
                ("python/lambdaops/local/", "python/lambdaops/cli.py", "python/lambdaops/demo.py")
            ), name
            assert not name.startswith("python/lambdaops/layer"), name


def test_wrapper_in_the_zip_is_the_packaged_script(builds: dict[str, layer.LayerBuild]) -> None:
    with zipfile.ZipFile(builds["first"].path) as zf:
        assert zf.read("lambdaops-wrapper") == layer.wrapper_script()
    assert layer.wrapper_script().startswith(b"#!/bin/sh\n")


def test_arm64_build_carries_the_aarch64_extension(builds: dict[str, layer.LayerBuild]) -> None:
    found = names(builds["arm64"])
    assert any(n.startswith("python/wrapt/_wrappers.cpython-312-aarch64") for n in found)
    assert not any("x86_64" in n for n in found)


def test_summary_names_size_and_biggest_contributors(
    builds: dict[str, layer.LayerBuild],
) -> None:
    build = builds["first"]
    contributors = build.contributors()
    assert {name for name, _ in contributors} >= {"python/wrapt/", "python/lambdaops/"}
    assert sum(size for _, size in contributors) == sum(e.compressed for e in build.entries)
    assert [s for _, s in contributors] == sorted((s for _, s in contributors), reverse=True)
    text = layer.format_summary(build)
    assert f"{build.size / 1024:,.1f} KiB zipped, within" in text
    assert "python/wrapt/" in text and "biggest files" in text
    assert "wrapt 1." in text and "cp312-cp312-manylinux" in text
    assert "bytecode: none" in text
    assert f"bytecode: compiled by Python {HOST}." in layer.format_summary(builds["compiled"])


@pytest.mark.parametrize("python", ["3.14"])  # 3.12 and this Python: the builds fixture
@pytest.mark.parametrize(
    ("arch", "platform"), [("x86_64", "x86_64"), ("arm64", "aarch64")], ids=["x86_64", "arm64"]
)
def test_every_lambda_python_gets_its_own_wheels(
    tmp_path: Path, python: str, arch: str, platform: str
) -> None:
    """Lambda's Python runtimes, 3.14 the newest (no interpreter here for its bytecode): the
    compiled extension must be the one that runtime's CPython loads."""
    built = layer.build(tmp_path / "l.zip", python=python, arch=arch, bytecode=False)
    tag = "cp" + python.replace(".", "")
    (wrapt,) = [d for d in built.distributions if d.startswith("wrapt ")]
    assert wrapt.endswith(f"({tag}-{tag}-{wrapt.rsplit('-', 1)[1]}")
    assert wrapt.rsplit("-", 1)[1].startswith("manylinux") and wrapt.endswith(f"_{platform})")
    extensions = [n for n in names(built) if n.endswith(".so")]
    assert extensions == [f"python/wrapt/_wrappers.cpython-{tag[2:]}-{platform}-linux-gnu.so"]


def test_requirements_come_from_pyproject() -> None:
    assert any(req.replace(" ", "").startswith("wrapt") for req in _build._requirements())


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lambdaops")
    layer.add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_command_line_build_prints_the_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["layer", "build", "--output", str(tmp_path / "l.zip"), "--arch", "arm64"]
    args = parse([*argv, "--no-bytecode"])
    assert args.python == layer.DEFAULT_PYTHON and args.bytecode is False
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {tmp_path / 'l.zip'} for Python 3.12 on arm64")
    assert "biggest contributors" in out
    assert (tmp_path / "l.zip").is_file()
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--python", "312"], "--python must look like 3.12, not '312'"),
        (["--python", "3.9"], "lambdaops needs Python 3.10 or newer, not 3.9"),
    ],
)
def test_command_line_mistakes_are_usage_errors(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    from lambdaops.cli import UsageError

    args = parse(["layer", "build", "--output", str(tmp_path / "l.zip"), *argv])
    with pytest.raises(UsageError) as caught:
        args.run(args)
    assert str(caught.value) == message
    with pytest.raises(SystemExit):
        parse(["layer", "build", "--arch", "mips"])


def test_unavailable_wheels_fail_in_one_line_after_cache_then_pypi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []

    def fake_run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        calls.append(command)
        return subprocess.CompletedProcess(
            command, 1, "", "ERROR: No matching distribution found for wrapt>=99\n"
        )

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(_build, "_requirements", lambda: ("wrapt>=99",))
    with pytest.raises(layer.LayerError) as caught:
        layer.build(tmp_path / "l.zip", cache_dir=tmp_path / "cache")
    assert str(caught.value) == (
        "cannot get wheels of wrapt>=99 for Python 3.12 on x86_64: "
        "ERROR: No matching distribution found for wrapt>=99"
    )
    assert ["--no-index" in c for c in calls] == [True, False]  # the cache first, then PyPI
    assert not (tmp_path / "l.zip").exists()


# -- the exec wrapper ---------------------------------------------------------------------

SHOW = (
    "import json, os, sys; print(json.dumps({'argv': sys.argv[1:], "
    "'_HANDLER': os.environ.get('_HANDLER'), "
    "'LAMBDAOPS_HANDLER': os.environ.get('LAMBDAOPS_HANDLER'), "
    "'PYTHONPATH': os.environ.get('PYTHONPATH')}))"
)


@pytest.fixture
def opt(tmp_path: Path) -> Path:
    opt = tmp_path / "opt"
    (opt / "python").mkdir(parents=True)
    script = opt / "lambdaops-wrapper"
    script.write_bytes(layer.wrapper_script())
    script.chmod(0o755)
    return opt


def wrapped(opt: Path, args: list[str], **env: str) -> tuple[dict[str, Any], str]:
    """Run ``/opt/lambdaops-wrapper python -c SHOW ARGS`` and see what the command received."""
    done = subprocess.run(
        [str(opt / "lambdaops-wrapper"), sys.executable, "-c", SHOW, *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout), done.stderr


REDIRECT = "lambdaops.wrapper.handler"


def test_wrapper_redirects_the_last_argument_and_handler_variable(opt: Path) -> None:
    seen, err = wrapped(opt, ["-m", "awslambdaric", "app.handler"], _HANDLER="app.handler")
    assert seen["argv"] == ["-m", "awslambdaric", REDIRECT]
    assert seen["_HANDLER"] == REDIRECT and seen["LAMBDAOPS_HANDLER"] == "app.handler"
    assert seen["PYTHONPATH"] == f"{opt}/python" and err == ""


def test_wrapper_takes_the_last_argument_without_handler_variable(opt: Path) -> None:
    seen, _ = wrapped(opt, ["two words", "-m", "awslambdaric", "src/pkg.app.handler"])
    assert seen["argv"] == ["two words", "-m", "awslambdaric", REDIRECT]
    assert seen["_HANDLER"] is None and seen["LAMBDAOPS_HANDLER"] == "src/pkg.app.handler"


def test_wrapper_prefers_the_argument_the_runtime_will_load(opt: Path) -> None:
    seen, _ = wrapped(opt, ["-m", "awslambdaric", "other.fn"], _HANDLER="app.handler")
    assert seen["argv"] == ["-m", "awslambdaric", REDIRECT]
    assert seen["LAMBDAOPS_HANDLER"] == "other.fn" and seen["_HANDLER"] == "app.handler"


def test_wrapper_takes_the_handler_variable_of_managed_runtimes(opt: Path) -> None:
    seen, _ = wrapped(
        opt, ["/var/runtime/bootstrap.py"], _HANDLER="app.handler", PYTHONPATH=f"/a:{opt}/python"
    )
    assert seen["argv"] == ["/var/runtime/bootstrap.py"]
    assert seen["_HANDLER"] == REDIRECT and seen["LAMBDAOPS_HANDLER"] == "app.handler"
    assert seen["PYTHONPATH"] == f"/a:{opt}/python"  # already there: not added twice


def test_wrapper_appends_the_layer_to_an_existing_path(opt: Path) -> None:
    seen, _ = wrapped(opt, ["bootstrap.py"], _HANDLER="app.handler", PYTHONPATH="/var/task")
    assert seen["argv"] == ["bootstrap.py"]
    assert seen["PYTHONPATH"] == f"/var/task:{opt}/python"


def test_wrapper_leaves_a_redirected_function_alone(opt: Path) -> None:
    seen, err = wrapped(opt, ["bootstrap.py"], _HANDLER=REDIRECT, LAMBDAOPS_HANDLER="app.handler")
    assert seen["_HANDLER"] == REDIRECT and seen["LAMBDAOPS_HANDLER"] == "app.handler"
    assert err == ""


def test_wrapper_runs_the_command_as_is_when_no_handler_is_found(opt: Path) -> None:
    seen, err = wrapped(opt, ["print(1)", "--flag", "bootstrap.py"])
    assert seen["argv"] == ["print(1)", "--flag", "bootstrap.py"]
    assert seen["LAMBDAOPS_HANDLER"] is None
    assert err.startswith("lambdaops-wrapper: no handler in _HANDLER")


@pytest.mark.parametrize(
    ("last", "is_handler"),
    [
        ("app.handler", True),
        ("pkg.mod.fn", True),
        ("dir/app.handler", True),
        ("app", False),
        ("-u", False),
        ("/var/runtime/bootstrap.py", False),
        ("bootstrap.py", False),
        ("app.", False),
        (".app", False),
        ("a..b", False),
        ("x = 1.5", False),
    ],
)
def test_wrapper_recognises_handlers(opt: Path, last: str, is_handler: bool) -> None:
    seen, _ = wrapped(opt, [last])
    assert (seen["argv"] == [REDIRECT]) is is_handler
    assert seen["LAMBDAOPS_HANDLER"] == (last if is_handler else None)


def test_wrapper_without_a_command_is_a_usage_error(opt: Path) -> None:
    done = subprocess.run([str(opt / "lambdaops-wrapper")], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.startswith("usage: lambdaops-wrapper")


# -- handler redirection ------------------------------------------------------------------


def write(folder: Path, name: str, source: str) -> None:
    path = folder / f"{name}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


@pytest.fixture
def handlers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for handler modules; their modules are forgotten afterwards.

    lambdaops.wrapper resolves LAMBDAOPS_HANDLER when imported, so it is imported (afresh)
    with one that exists, and forgotten afterwards too.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    write(tmp_path, "redir_base", "def handler(event, context):\n    return event\n")
    sys.modules.pop("lambdaops.wrapper", None)
    with monkeypatch.context() as patch:
        patch.setenv("LAMBDAOPS_HANDLER", "redir_base.handler")
        importlib.import_module("lambdaops.wrapper")
    yield tmp_path
    for name in list(sys.modules):
        if name.startswith(("redir_", "lambdaops.wrapper")):
            del sys.modules[name]


def test_wrap_instruments_a_plain_handler(
    handlers: Path, lambda_context: Any, lambdaops_capture: Any
) -> None:
    from lambdaops import wrapper

    write(handlers, "redir_plain", "def handler(event, context):\n    return {'got': event}\n")
    instrumented = wrapper.wrap("redir_plain.handler")
    assert is_instrumented(instrumented)
    assert instrumented.__name__ == "handler"
    assert instrumented({"n": 1}, lambda_context) == {"got": {"n": 1}}
    outcomes = [r for r in lambdaops_capture.records if r.get("lambdaops") == "outcome"]
    assert [o["outcome"] for o in outcomes] == ["success"]


def test_wrap_keeps_an_instrumented_handler_as_it_is(handlers: Path) -> None:
    from lambdaops import wrapper

    write(
        handlers,
        "redir_decorated",
        """
        from lambdaops import instrument

        @instrument(service="mine")
        def handler(event, context):
            return event
        """,
    )
    module = importlib.import_module("redir_decorated")
    assert wrapper.wrap("redir_decorated.handler") is module.handler
    assert instrument(module.handler) is module.handler


def test_load_accepts_paths_like_the_runtime(handlers: Path) -> None:
    from lambdaops import wrapper

    write(handlers / "redir_pkg", "__init__", "")
    write(handlers / "redir_pkg", "app", "def run(event, context):\n    return 1\n")
    assert wrapper.load("redir_pkg/app.run")(None, None) == 1
    assert wrapper.load("redir_pkg.app.run")(None, None) == 1


@pytest.mark.parametrize(
    ("spec", "source", "message"),
    [
        (
            "redir_missing.handler",
            None,
            "cannot import the handler 'redir_missing.handler' named by LAMBDAOPS_HANDLER: "
            "No module named 'redir_missing'",
        ),
        (
            "redir_noattr.handler",
            "x = 1\n",
            "cannot load the handler 'redir_noattr.handler' named by LAMBDAOPS_HANDLER: "
            "module 'redir_noattr' has no attribute 'handler'",
        ),
        (
            "redir_value.handler",
            "handler = 42\n",
            "the handler 'redir_value.handler' named by LAMBDAOPS_HANDLER is not callable: "
            "it is of type int",
        ),
        (
            "handler",
            None,
            "LAMBDAOPS_HANDLER='handler' is not a handler: expected module.function, "
            "e.g. app.handler",
        ),
        (
            REDIRECT,
            None,
            "LAMBDAOPS_HANDLER names lambdaops.wrapper.handler itself: set it to the "
            "function's own handler, e.g. app.handler",
        ),
    ],
)
def test_load_errors_name_the_handler(
    handlers: Path, spec: str, source: str | None, message: str
) -> None:
    from lambdaops import wrapper

    if source is not None:
        write(handlers, spec.rpartition(".")[0], source)
    with pytest.raises(ImportError) as caught:
        wrapper.load(spec)
    assert isinstance(caught.value, wrapper.HandlerImportError)
    assert str(caught.value) == message


def test_load_reports_a_syntax_error_as_an_import_error(handlers: Path) -> None:
    from lambdaops import wrapper

    write(handlers, "redir_broken", "def handler(:\n")
    with pytest.raises(wrapper.HandlerImportError) as caught:
        wrapper.load("redir_broken.handler")
    assert str(caught.value).startswith(
        "cannot import the handler 'redir_broken.handler' named by LAMBDAOPS_HANDLER: "
        "syntax error in "
    )
    assert "redir_broken.py, line 1" in str(caught.value)


def test_module_resolves_lambdaops_handler_once_at_import(
    handlers: Path, monkeypatch: pytest.MonkeyPatch, lambda_context: Any
) -> None:
    write(
        handlers,
        "redir_counted",
        """
        loads = []
        loads.append(1)

        def handler(event, context):
            return len(loads)
        """,
    )
    monkeypatch.setenv("LAMBDAOPS_HANDLER", "redir_counted.handler")
    sys.modules.pop("lambdaops.wrapper", None)
    module = importlib.import_module("lambdaops.wrapper")
    assert is_instrumented(module.handler)
    assert module.handler({}, lambda_context) == 1
    assert module.handler({}, lambda_context) == 1


def test_module_import_without_lambdaops_handler_says_what_to_set(
    handlers: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAMBDAOPS_HANDLER", raising=False)
    sys.modules.pop("lambdaops.wrapper", None)
    with pytest.raises(ImportError, match=r"^LAMBDAOPS_HANDLER is not set: with the handler "):
        importlib.import_module("lambdaops.wrapper")


# -- the SAM example ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    from cfnlint.decode import decode

    decoded, matches = decode(str(TEMPLATE))
    assert not matches, matches
    assert isinstance(decoded, dict)
    return decoded


def test_template_passes_cfn_lint() -> None:
    from cfnlint.api import lint_file

    matches = lint_file(TEMPLATE)
    assert [str(m) for m in matches] == []


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def test_template_grants_no_wildcard_action(template: dict[str, Any]) -> None:
    actions: list[str] = []
    for key, value in walk(template["Resources"]):
        assert key != "NotAction"
        if key == "Action":
            actions.extend([value] if isinstance(value, str) else value)
    assert actions and all(isinstance(a, str) and "*" not in a for a in actions), actions
    assert "kms:Decrypt" in actions and "ssm:GetParameter" in actions
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= set(actions)


def statement(template: dict[str, Any], sid: str) -> dict[str, Any]:
    for key, value in walk(template["Resources"]):
        if key == "Statement":
            for item in value:
                if item.get("Sid") == sid:
                    return item  # type: ignore[no-any-return]
    raise AssertionError(f"no statement {sid}")


def test_template_scopes_the_parameter_and_its_key(template: dict[str, Any]) -> None:
    arn = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
    read = statement(template, "ReadThePaymentApiKey")
    assert read["Resource"] == {"Fn::Sub": arn + "${PaymentApiKeyParameterName}"}
    decrypt = statement(template, "DecryptThePaymentApiKeyThroughSsm")
    assert decrypt["Condition"]["StringEquals"] == {
        "kms:ViaService": {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"},
        "kms:EncryptionContext:PARAMETER_ARN": {"Fn::Sub": arn + "${PaymentApiKeyParameterName}"},
    }
    logs = statement(template, "WriteItsOwnLogs")
    assert logs["Resource"] == {"Fn::GetAtt": ["GizmosLogGroup", "Arn"]}


def test_template_function_uses_the_layer_wrapper_and_kill_switch(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    props = resources["GizmosFunction"]["Properties"]
    assert props["Runtime"] == "python3.12" and props["Handler"] == "app.handler"
    assert props["Tracing"] == "Active"
    assert props["Layers"] == [{"Ref": "LambdaopsLayer"}]
    variables = props["Environment"]["Variables"]
    assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/lambdaops-wrapper"
    assert variables["LAMBDAOPS_SERVICE"] == "gizmos"
    assert props["ReservedConcurrentExecutions"] == {"Ref": "ReservedConcurrency"}
    assert template["Parameters"]["ReservedConcurrency"]["MinValue"] == 0
    assert "Kill switch: 0 reserved concurrency" in TEMPLATE.read_text()

    content = resources["LambdaopsLayer"]["Properties"]["ContentUri"]
    built = (TEMPLATE.parent / content).resolve()
    assert built == (REPO / layer.default_output("3.12", "x86_64")).resolve()
