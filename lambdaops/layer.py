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

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "ARCHITECTURES",
    "BUDGET_BYTES",
    "LayerBuild",
    "LayerEntry",
    "LayerError",
    "add_parser",
    "build",
    "default_cache_dir",
    "default_output",
    "format_summary",
    "runtime_python",
    "wrapper_script",
]

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
TOOLING = frozenset({"cli.py", "__main__.py", "demo.py", "layer.py", "local", "_wrapper_script.sh"})
#: Used when neither pyproject.toml nor installed metadata tells lambdaops' requirements.
FALLBACK_REQUIREMENTS = ("wrapt>=1.14,<2",)
WRAPPER_NAME = "lambdaops-wrapper"

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_PYTHON_RE = re.compile(r"3\.\d{1,2}")
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_PACKAGE_SUFFIXES = (".py", ".typed")
_PACKAGE = Path(__file__).resolve().parent


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
    return (_PACKAGE / "_wrapper_script.sh").read_bytes()


def build(
    output: str | os.PathLike[str] | None = None,
    *,
    python: str = DEFAULT_PYTHON,
    arch: str = "x86_64",
    cache_dir: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    bytecode: bool = True,
) -> LayerBuild:
    """Build the layer zip for ``python`` (``3.12``) and ``arch`` (``x86_64`` or ``arm64``).

    With ``bytecode`` (the default), the modules are compiled to checked-hash ``.pyc``
    files by an interpreter of the target version (this one, or ``python3.12`` on the
    PATH), if there is one: Lambda's /opt is read-only, so without them Python compiles
    the layer at every cold start.
    """
    started = time.perf_counter()
    if not _PYTHON_RE.fullmatch(python):
        raise LayerError(f"--python must look like 3.12, not {python!r}")
    if int(python.split(".")[1]) < 10:
        raise LayerError(f"lambdaops needs Python 3.10 or newer, not {python}")
    if arch not in ARCHITECTURES:
        raise LayerError(f"--arch must be one of {', '.join(ARCHITECTURES)}, not {arch!r}")
    out = Path(output) if output is not None else default_output(python, arch)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cache = cache / f"cp{python.replace('.', '')}-{arch}"

    files: dict[str, tuple[bytes, int]] = {}
    _add_all(files, _lambdaops_files(), "lambdaops")
    _add_all(files, [_lambdaops_metadata()], "lambdaops")
    distributions = [f"lambdaops {_version()}"]
    with tempfile.TemporaryDirectory(prefix="lambdaops-layer-") as tmp:
        for wheel in _download(_requirements(), python, arch, cache, Path(tmp), refresh):
            name, version = _wheel_name(wheel)
            if name in PROVIDED:
                continue
            distributions.append(f"{name} {version} ({_wheel_tags(wheel)})")
            _add_all(files, _wheel_files(wheel), wheel.name)
    files[WRAPPER_NAME] = (wrapper_script(), 0o755)
    compiled_by = None
    if bytecode:
        compiler = _find_compiler(python)
        if compiler is not None:
            compiled_by = compiler[1]
            _add_all(files, _compile(files, compiler[0]), "the bytecode compiler")

    entries = _write_zip(out, files)
    return LayerBuild(
        path=out,
        size=out.stat().st_size,
        python=python,
        arch=arch,
        distributions=tuple(distributions),
        entries=entries,
        seconds=time.perf_counter() - started,
        bytecode=compiled_by,
    )


# -- what goes in -------------------------------------------------------------------------


def _add_all(
    files: dict[str, tuple[bytes, int]], items: Iterable[tuple[str, bytes, int]], source: str
) -> None:
    for name, data, mode in items:
        if name in files:
            raise LayerError(f"{name} would be written twice (again by {source})")
        files[name] = (data, mode)


def _lambdaops_files() -> Iterator[tuple[str, bytes, int]]:
    """The package's modules and ``py.typed``, minus its tooling."""
    for path in sorted(_PACKAGE.rglob("*")):
        rel = path.relative_to(_PACKAGE)
        if not path.is_file() or rel.parts[0] in TOOLING:
            continue
        if any(part == "__pycache__" or part.startswith(".") for part in rel.parts):
            continue
        if path.suffix not in _PACKAGE_SUFFIXES:
            continue  # *.pyc, editor and merge leftovers
        yield f"python/lambdaops/{rel.as_posix()}", path.read_bytes(), 0o644


def _version() -> str:
    text = (_PACKAGE / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r"^__version__\s*=\s*[\"']([^\"']+)[\"']", text, re.MULTILINE)
    return match.group(1) if match else "0"


def _lambdaops_metadata() -> tuple[str, bytes, int]:
    """A minimal METADATA, so importlib.metadata knows the lambdaops of the layer."""
    lines = ["Metadata-Version: 2.1", "Name: lambdaops", f"Version: {_version()}"]
    lines += [f"Requires-Dist: {req}" for req in _requirements()]
    text = "\n".join(lines) + "\n"
    return f"python/lambdaops-{_version()}.dist-info/METADATA", text.encode(), 0o644


def _requirements() -> tuple[str, ...]:
    """lambdaops' runtime requirements: pyproject.toml beside the sources, else metadata."""
    pyproject = _PACKAGE.parent / "pyproject.toml"
    if pyproject.is_file() and sys.version_info >= (3, 11):
        import tomllib

        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except (OSError, ValueError):
            project = {}
        if project.get("name") == "lambdaops" and isinstance(project.get("dependencies"), list):
            return tuple(str(req) for req in project["dependencies"])
    try:
        from importlib import metadata

        declared = metadata.requires("lambdaops")
    except Exception:
        declared = None
    if declared is None:
        return FALLBACK_REQUIREMENTS
    return tuple(req for req in declared if not re.search(r"\bextra\s*==", req))


def _wheel_name(wheel: Path) -> tuple[str, str]:
    name, version = wheel.name.split("-")[:2]
    return re.sub(r"[-_.]+", "-", name).lower(), version


def _wheel_tags(wheel: Path) -> str:
    """``cp312-cp312-manylinux2014_x86_64`` (the first platform tag) or ``py3-none-any``."""
    python_tag, abi, platform = wheel.stem.split("-")[-3:]
    return f"{python_tag}-{abi}-{platform.split('.')[0]}"


def _wheel_files(wheel: Path) -> Iterator[tuple[str, bytes, int]]:
    """A wheel's files as pip would install them under python/, minus RECORD and caches."""
    with zipfile.ZipFile(wheel) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            parts = info.filename.split("/")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue  # scripts, headers, data: not importable, not needed
                parts = parts[2:]
            if parts[0].endswith(".dist-info") and parts[-1].startswith("RECORD"):
                continue
            if parts[0] in ("tests", "test") or "__pycache__" in parts:
                continue
            if parts[-1].endswith(_SKIPPED_SUFFIXES):
                continue
            mode = 0o755 if (info.external_attr >> 16) & 0o111 else 0o644
            yield "python/" + "/".join(parts), zf.read(info), mode


# -- bytecode ------------------------------------------------------------------------------

_COMPILE = """
import importlib.util, py_compile, sys
root = sys.argv[1]
for name in sys.argv[2:]:
    source = root + "/" + name
    py_compile.compile(
        source,
        cfile=importlib.util.cache_from_source(source),
        dfile="/opt/" + name,
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
    )
"""
_VERSION = "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])"


def _find_compiler(python: str) -> tuple[str, str] | None:
    """An interpreter of the target version: (its path, its x.y.z), or None."""
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == python:
        return sys.executable, platform.python_version()
    candidate = shutil.which(f"python{python}")
    if candidate is None:
        return None
    try:
        done = subprocess.run(
            [candidate, "-c", _VERSION], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = done.stdout.splitlines()
    if done.returncode == 0 and len(lines) == 2 and lines[1].startswith(python + "."):
        return lines[0], lines[1]
    return None  # e.g. a pyenv shim of a version that is installed but not selected


def _compile(files: dict[str, tuple[bytes, int]], compiler: str) -> list[tuple[str, bytes, int]]:
    """Checked-hash .pyc files for the layer's modules, the same bytes for the same sources.

    Hash-based, so no timestamp goes in; compiled with a fixed hash seed and a fixed
    source path (/opt/python/...), so nothing of this machine goes in either.
    """
    sources = sorted(n for n in files if n.startswith("python/") and n.endswith(".py"))
    with tempfile.TemporaryDirectory(prefix="lambdaops-layer-pyc-") as tmp:
        root = Path(tmp)
        for name in sources:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[name][0])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONHASHSEED"] = "0"
        done = subprocess.run(
            [compiler, "-c", _COMPILE, tmp, *sources], capture_output=True, text=True, env=env
        )
        if done.returncode != 0:
            raise LayerError(f"cannot compile the layer with {compiler}: {_last_line(done.stderr)}")
        return [
            (path.relative_to(root).as_posix(), path.read_bytes(), 0o644)
            for path in sorted(root.rglob("__pycache__/*.pyc"))
        ]


# -- wheels -------------------------------------------------------------------------------


def _download(
    requirements: Sequence[str], python: str, arch: str, cache: Path, dest: Path, refresh: bool
) -> list[Path]:
    """Resolve ``requirements`` to wheels for the target: from the cache, else from PyPI."""
    cache.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--only-binary=:all:",
        "--platform",
        ARCHITECTURES[arch],
        "--python-version",
        python,
        "--implementation",
        "cp",
        "--find-links",
        str(cache),
        "--dest",
        str(dest),
        *requirements,
    ]
    # The cache alone first (no network, and the same wheels as last time), then PyPI.
    attempts = ([["--no-index"]] if not refresh else []) + [[]]
    failure = ""
    for extra in attempts:
        for stale in dest.glob("*"):
            stale.unlink()
        done = subprocess.run([*command, *extra], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            break
        if "No module named pip" in done.stderr:
            raise LayerError(f"building the layer needs pip in {sys.executable}")
        failure = _last_line(done.stderr) or _last_line(done.stdout) or f"exit {done.returncode}"
    else:
        raise LayerError(
            f"cannot get wheels of {', '.join(requirements)} for Python {python} on "
            f"{arch}: {failure}"
        )
    wheels = sorted(dest.glob("*.whl"))
    for wheel in wheels:
        if not (cache / wheel.name).exists():
            shutil.copy2(wheel, cache / wheel.name)
    return wheels


def runtime_python(
    dest: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None
) -> Path:
    """A venv at ``dest`` with only what Lambda's Python runtime has: awslambdaric and boto3.

    For trying a layer locally, as the layer's tests and cold-start benchmark do: nothing of
    this machine's site-packages is visible to it. It has this Python's version and takes the
    versions of awslambdaric and boto3 installed here, if any, from the wheel cache (PyPI
    only when the cache lacks them). Returns the venv's python.
    """
    from importlib import metadata

    venv = Path(dest)
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--clear", str(venv)],
        check=True,
        capture_output=True,
    )
    python = venv / "bin" / "python"
    requirements = []
    for name in ("awslambdaric", "boto3"):
        try:
            requirements.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            requirements.append(name)
    tag = f"host-cp{sys.version_info[0]}{sys.version_info[1]}-{platform.machine()}"
    wheels = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / tag
    wheels.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "--quiet"]
    get = [*pip, "download", "--only-binary=:all:", "--find-links", str(wheels), "-d", str(wheels)]
    if subprocess.run([*get, "--no-index", *requirements], capture_output=True).returncode:
        done = subprocess.run([*get, *requirements], capture_output=True, text=True)
        if done.returncode:
            raise LayerError(f"cannot get {', '.join(requirements)}: {_last_line(done.stderr)}")
    install = [*pip, "--python", str(python), "install", "--no-index", "--find-links", str(wheels)]
    done = subprocess.run([*install, *requirements], capture_output=True, text=True)
    if done.returncode:
        raise LayerError(f"cannot install {', '.join(requirements)}: {_last_line(done.stderr)}")
    return python


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- the zip ------------------------------------------------------------------------------


def _write_zip(out: Path, files: dict[str, tuple[bytes, int]]) -> tuple[LayerEntry, ...]:
    """Sorted entries, fixed time and permissions, deflate level 9: the same bytes each time."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w") as zf:
        for name in sorted(files):
            data, mode = files[name]
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the permissions below are honoured
            info.external_attr = (0o100000 | mode) << 16
            zf.writestr(info, data, compresslevel=9)
        entries = tuple(LayerEntry(i.filename, i.file_size, i.compress_size) for i in zf.infolist())
    os.replace(partial, out)
    return entries


# -- command line -------------------------------------------------------------------------


def add_parser(sub: Any) -> None:
    layer = sub.add_parser(
        "layer",
        help="build the lambdaops Lambda layer",
        description="Build and inspect the shared Lambda layer.",
    )
    actions = layer.add_subparsers(dest="layer_command", required=True)
    build_cmd = actions.add_parser(
        "build",
        help="build the layer zip (python/ and the /opt/lambdaops-wrapper exec wrapper)",
        description="Build the layer zip from manylinux wheels for the target Python and "
        "architecture: reproducible (two builds are byte-identical) and without boto3.",
    )
    build_cmd.add_argument(
        "--output", metavar="PATH", help="the zip to write (default: dist/lambdaops-layer-…)"
    )
    build_cmd.add_argument(
        "--python", default=DEFAULT_PYTHON, help=f"target Python version (default {DEFAULT_PYTHON})"
    )
    build_cmd.add_argument(
        "--arch", choices=tuple(ARCHITECTURES), default="x86_64", help="target architecture"
    )
    build_cmd.add_argument(
        "--cache-dir", metavar="DIR", help="wheel cache (default ~/.cache/lambdaops/wheels)"
    )
    build_cmd.add_argument(
        "--refresh", action="store_true", help="resolve wheels on PyPI even if cached ones fit"
    )
    build_cmd.add_argument(
        "--no-bytecode",
        dest="bytecode",
        action="store_false",
        help="leave out the compiled .pyc files (Lambda then compiles at every cold start)",
    )
    build_cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lambdaops._errors import UsageError

    try:
        result = build(
            args.output,
            python=args.python,
            arch=args.arch,
            cache_dir=args.cache_dir,
            refresh=args.refresh,
            bytecode=args.bytecode,
        )
    except LayerError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot build the layer: {exc}") from None
    print(format_summary(result))
    return 0


def format_summary(result: LayerBuild) -> str:
    verdict = "within" if result.size <= BUDGET_BYTES else "OVER"
    lines = [
        f"wrote {result.path} for Python {result.python} on {result.arch} "
        f"in {result.seconds:.1f} s",
        f"size: {_kib(result.size)} zipped, {verdict} the {_kib(BUDGET_BYTES)} budget; "
        f"{_kib(sum(e.size for e in result.entries))} unzipped in {len(result.entries)} files",
        f"contains: {', '.join(result.distributions)}",
    ]
    if any(d.startswith("wrapt ") and d.endswith("-none-any)") for d in result.distributions):
        lines.append(
            f"note: wrapt has no compiled wheel for Python {result.python}: the layer carries "
            "its slower pure-Python version"
        )
    if result.bytecode is not None:
        lines.append(
            f"bytecode: compiled by Python {result.bytecode} (checked-hash .pyc: Lambda's /opt "
            "is read-only, so Python could not cache it there)"
        )
    else:
        lines.append(
            f"bytecode: none (no python{result.python} here, or --no-bytecode): Python compiles "
            "the layer at every cold start, ~25 ms"
        )
    lines.append("biggest contributors (zipped):")
    lines += [f"  {_kib(size):>10}  {name}" for name, size in result.contributors()[:6]]
    lines.append("biggest files (zipped):")
    lines += [f"  {_kib(e.compressed):>10}  {e.name}" for e in result.biggest_files(5)]
    return "\n".join(lines)


def _kib(size: int) -> str:
    return f"{size / 1024:,.1f} KiB"
