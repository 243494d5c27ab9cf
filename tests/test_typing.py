"""The public API is typed: ``mypy --strict`` passes on it, and the package says so (py.typed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from regen_golden import REPO

import taintsigma

pytestmark = pytest.mark.skipif(
    shutil.which("mypy") is None and not (Path(sys.executable).parent / "mypy").exists(),
    reason="mypy is not installed (pip install -e '.[test]')",
)


def mypy(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", *args], cwd=cwd, capture_output=True, text=True,
        timeout=600, check=False,
    )  # fmt: skip


def test_the_public_api_modules_pass_mypy_strict() -> None:
    # The modules are listed in pyproject.toml ([tool.mypy] files): __init__.py and every
    # module it re-exports from.
    done = mypy("--config-file", str(REPO / "pyproject.toml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found in 15 source files" in done.stdout


def test_the_checked_modules_are_those_the_api_reexports() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["mypy"]
    checked = {
        path.removeprefix("src/").removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        for path in config["files"]
    }
    assert config["strict"] is True
    assert checked == {"taintsigma", *taintsigma._EXPORTS.values()}
    assert taintsigma.__all__ == sorted(taintsigma._EXPORTS)


def test_a_caller_sees_real_types_not_any(tmp_path: Path) -> None:
    # The lazy __getattr__ alone would make every name Any: a wrong use must be caught.
    use = tmp_path / "use.py"
    use.write_text(
        "import taintsigma\n"
        "scan = taintsigma.scan_paths('app.log', rules='rules/')\n"
        "count: int = scan.summary.lines\n"
        "wrong: str = taintsigma.load_rules()\n"
    )
    done = mypy("--strict", "--follow-imports=silent", str(use))
    assert done.returncode == 1
    assert (
        'use.py:4: error: Incompatible types in assignment (expression has type "LoadedRules"'
        in (done.stdout)
    )
    assert "use.py:3" not in done.stdout


def test_the_package_ships_py_typed() -> None:
    assert (Path(taintsigma.__file__).parent / "py.typed").is_file()
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "py.typed" in data["tool"]["setuptools"]["package-data"]["taintsigma"]
