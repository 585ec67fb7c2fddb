"""``runlife check`` on the SQL store: SQLite in memory, a SQLite file, PostgreSQL, MariaDB.

The servers come from tests/conftest.py (``store_url``): without them these tests skip, except
under ``CI=true``, where they fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runlife.conformance.cli import main


def checked(capsys: pytest.CaptureFixture[str], url: str, tmp_path: Path) -> tuple[int, str]:
    argv = ["check", url, "--profile", "quick", "--seed", "5", "--quiet"]
    code = main([*argv, "--trace", str(tmp_path / "trace.json")])
    return code, capsys.readouterr().out


def test_the_sql_store_in_memory_passes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out = checked(capsys, "sqlite://", tmp_path)
    assert code == 0, out
    assert out.splitlines()[-1].startswith("PASSED: ")


def test_the_sql_store_passes_on_every_backend(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    code, out = checked(capsys, store_url, tmp_path)
    assert code == 0, out
    last = out.splitlines()[-1]
    assert last.startswith("PASSED: ") and ", 0 not exercised" in last
