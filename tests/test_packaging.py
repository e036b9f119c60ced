"""The distributions: an sdist and the wheel built from it install into clean virtual
environments and import, with their data files, entry point and an SPDX license."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.e2e

#: What the check in each clean environment prints, run from outside the source tree.
CHECK = """
import importlib.resources, lambdaops, lambdaops.layer, lambdaops.report
files = importlib.resources.files("lambdaops")
print(lambdaops.__version__, lambdaops.__file__.startswith(%r),
      files.joinpath("py.typed").is_file(), files.joinpath("_wrapper_script.sh").is_file())
"""


def run(*argv: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{argv}\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def venv(path: Path) -> Path:
    run(sys.executable, "-m", "venv", path, cwd=path.parent)
    return path / "bin" / "python"


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(sdist, wheel, the build's output), built from a copy of the source tree."""
    root = tmp_path_factory.mktemp("packaging")
    src = root / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "lambdaops", src / "lambdaops", ignore=ignore)
    builder = venv(root / "builder")
    run(builder, "-m", "pip", "install", "-q", "build", "setuptools>=77", cwd=root)
    # sdist first, then the wheel from the sdist: a file missing from the sdist fails here
    out = run(builder, "-m", "build", "--no-isolation", "--outdir", root / "dist", src, cwd=root)
    (sdist,) = (root / "dist").glob("lambdaops-*.tar.gz")
    (wheel,) = (root / "dist").glob("lambdaops-*.whl")
    return sdist, wheel, out


def test_build_names_the_license_by_its_spdx_expression(dists: tuple[Path, Path, str]) -> None:
    sdist, wheel, out = dists
    assert [line for line in out.lower().splitlines() if "license" in line] == [], out
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read("lambdaops-0.1.0.dist-info/METADATA").decode()
        names = zf.namelist()
    assert "License-Expression: Apache-2.0" in metadata.splitlines()
    assert {"lambdaops/py.typed", "lambdaops/_wrapper_script.sh"} <= set(names)
    assert not [n for n in names if n.startswith("tests/") or n.endswith(".pyc")]
    with tarfile.open(sdist) as tf:
        assert "lambdaops-0.1.0/lambdaops/_wrapper_script.sh" in tf.getnames()


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_installs_and_imports_in_a_clean_venv(
    kind: str, dists: tuple[Path, Path, str], tmp_path: Path
) -> None:
    sdist, wheel, _ = dists
    python = venv(tmp_path / "venv")
    run(python, "-m", "pip", "install", "-q", wheel if kind == "wheel" else sdist, cwd=tmp_path)
    site = run(
        python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path
    )
    printed = run(python, "-c", CHECK % site.strip(), cwd=tmp_path)
    assert printed.split() == ["0.1.0", "True", "True", "True"]
    usage = run(tmp_path / "venv" / "bin" / "lambdaops", "--help", cwd=tmp_path)
    assert "usage: lambdaops" in usage
