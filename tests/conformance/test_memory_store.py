"""The example third-party store passes the whole kit, and is written like a third party's."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from examples.memory_store import MemoryRunStore, make_store

from runlife.conformance.cli import main
from runlife.spec.contract import Capability, missing_methods

SOURCE = Path(__file__).parents[2] / "examples" / "memory_store.py"
ALLOWED = {
    "runlife.spec.results",
    "runlife.spec.records",
    "runlife.spec.contract",
    "runlife.spec.limits",
}


def test_runlife_check_passes_on_the_memory_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["check", "examples.memory_store:make_store", "--profile", "quick", "--quiet"]
    code = main([*argv, "--seed", "11", "--json", str(tmp_path / "report.json")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1].startswith("PASSED: ")


def test_it_uses_only_the_shared_vocabulary_of_runlife() -> None:
    tree = ast.parse(SOURCE.read_text())
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("runlife")
    }
    imported |= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("runlife")
    }
    assert imported <= ALLOWED, imported - ALLOWED


def test_the_factory_makes_a_complete_store_with_a_clock_and_reset() -> None:
    store = make_store()
    assert isinstance(store, MemoryRunStore)
    assert missing_methods(store) == []
    assert store.capabilities == {Capability.CLOCK, Capability.RESET}
