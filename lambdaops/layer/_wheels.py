"""Wheels for the target runtime: resolved from the cache, else PyPI, and unpacked."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from lambdaops.layer._model import ARCHITECTURES, LayerError, default_cache_dir, last_line

_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def wheel_name(wheel: Path) -> tuple[str, str]:
    name, version = wheel.name.split("-")[:2]
    return re.sub(r"[-_.]+", "-", name).lower(), version


def wheel_tags(wheel: Path) -> str:
    """``cp312-cp312-manylinux2014_x86_64`` (the first platform tag) or ``py3-none-any``."""
    python_tag, abi, platform = wheel.stem.split("-")[-3:]
    return f"{python_tag}-{abi}-{platform.split('.')[0]}"


def wheel_files(wheel: Path) -> Iterator[tuple[str, bytes, int]]:
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


def download(
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
        failure = last_line(done.stderr) or last_line(done.stdout) or f"exit {done.returncode}"
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
            raise LayerError(f"cannot get {', '.join(requirements)}: {last_line(done.stderr)}")
    install = [*pip, "--python", str(python), "install", "--no-index", "--find-links", str(wheels)]
    done = subprocess.run([*install, *requirements], capture_output=True, text=True)
    if done.returncode:
        raise LayerError(f"cannot install {', '.join(requirements)}: {last_line(done.stderr)}")
    return python
