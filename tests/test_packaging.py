"""The wheel holds every package of the three source roots, and nothing shadows them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
LAYERS = {"spec": "runlife.spec", "impl": "runlife.impl", "conformance": "runlife.conformance"}


def source_packages() -> set[str]:
    """Every folder with an ``__init__.py`` under the three roots, as a dotted name."""
    found = set()
    for root in LAYERS:
        for init in (ROOT / root).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT / root).parts))
    return found


def test_every_package_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    assert source_packages() == listed, "add new subpackages to [tool.setuptools] packages"


def test_no_root_holds_a_runlife_init() -> None:
    """``runlife`` is a namespace spread over three roots; an __init__.py would hide two."""
    assert not [r for r in LAYERS if (ROOT / r / "runlife" / "__init__.py").exists()]


@pytest.mark.slow
def test_the_wheel_ships_every_module_the_migrations_and_the_markers(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("runlife-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for root in LAYERS:
        for source in (ROOT / root).rglob("*.py"):
            assert str(source.relative_to(ROOT / root)) in names
    for layer in LAYERS.values():
        assert f"{layer.replace('.', '/')}/py.typed" in names
    assert any(n.endswith("migrations/script.py.mako") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "runlife = runlife.conformance.cli:main" in text
    assert "runlife = runlife.conformance.pytest_plugin" in text
