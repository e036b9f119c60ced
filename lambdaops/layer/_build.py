"""What goes into the layer and how it is put together: ``build``."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from lambdaops.layer._model import (
    ARCHITECTURES,
    DEFAULT_PYTHON,
    FALLBACK_REQUIREMENTS,
    PACKAGE,
    PROVIDED,
    PYTHON_RE,
    TOOLING,
    WRAPPER_NAME,
    LayerBuild,
    LayerEntry,
    LayerError,
    default_cache_dir,
    default_output,
    last_line,
    wrapper_script,
)
from lambdaops.layer._wheels import download, wheel_files, wheel_name, wheel_tags

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
_PACKAGE_SUFFIXES = (".py", ".typed")


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
    if not PYTHON_RE.fullmatch(python):
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
        for wheel in download(_requirements(), python, arch, cache, Path(tmp), refresh):
            name, version = wheel_name(wheel)
            if name in PROVIDED:
                continue
            distributions.append(f"{name} {version} ({wheel_tags(wheel)})")
            _add_all(files, wheel_files(wheel), wheel.name)
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
    for path in sorted(PACKAGE.rglob("*")):
        rel = path.relative_to(PACKAGE)
        if not path.is_file() or rel.parts[0] in TOOLING:
            continue
        if any(part == "__pycache__" or part.startswith(".") for part in rel.parts):
            continue
        if path.suffix not in _PACKAGE_SUFFIXES:
            continue  # *.pyc, editor and merge leftovers
        yield f"python/lambdaops/{rel.as_posix()}", path.read_bytes(), 0o644


def _version() -> str:
    text = (PACKAGE / "_version.py").read_text(encoding="utf-8")
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
    pyproject = PACKAGE.parent / "pyproject.toml"
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
            raise LayerError(f"cannot compile the layer with {compiler}: {last_line(done.stderr)}")
        return [
            (path.relative_to(root).as_posix(), path.read_bytes(), 0o644)
            for path in sorted(root.rglob("__pycache__/*.pyc"))
        ]


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
