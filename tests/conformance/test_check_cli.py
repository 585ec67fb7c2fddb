"""``runlife check`` and ``runlife replay``: exit codes 0/1/2, one-line errors, trace files."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from tests.conformance.kit_helpers import BROKEN, MEMORY

from runlife.conformance.cli import main
from runlife.conformance.families import all_families, select

QUICK = ("--profile", "quick", "--seed", "3", "--quiet")


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_conforming_store_exits_0(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    trace = str(tmp_path / "trace.json")
    code, out, _ = check(
        capsys, MEMORY, *QUICK, "--families", "tours,matrix,fuzz", "--trace", trace
    )
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("PASSED:")
    assert not (tmp_path / "trace.json").exists()


def test_a_violating_store_exits_1_and_replay_reproduces_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trace = tmp_path / "trace.json"
    code, out, _ = check(
        capsys,
        f"{BROKEN}:resurrecting_cancel",
        *QUICK,
        "--families",
        "tours",
        "--trace",
        str(trace),
    )
    assert code == 1
    assert "FAILED: the store violates the spec" in out
    failures = json.loads(trace.read_text())["failures"]
    assert failures and all(f["kind"] == "sequential" for f in failures)

    case = failures[0]["case"]
    assert main(["replay", str(trace), "--case", case]) == 1
    assert "reproduced" in capsys.readouterr().out
    assert main(["replay", str(trace), "--case", case, "--store", MEMORY]) == 0
    assert ": fixed: " in capsys.readouterr().out


def test_a_failed_race_is_judged_again_offline_by_replay(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trace = tmp_path / "trace.json"
    options = ("--families", "races", "--trace", str(trace))
    code, out, _ = check(capsys, f"{BROKEN}:unguarded_resume", *QUICK, *options)
    assert code == 1, out
    failures = json.loads(trace.read_text())["failures"]
    assert failures and {f["kind"] for f in failures} == {"concurrent"}
    assert main(["replay", str(trace), "--case", failures[0]["case"]]) == 1
    assert ": reproduced: the recorded race is still judged" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("store", "reason"),
    [
        ("ftp://example.com/runs", "unsupported store URL scheme 'ftp://'"),
        ("postgresql+psycopg://postgres@127.0.0.1:1/test", "cannot use postgresql"),
        ("no_such_module_anywhere:make", "cannot import 'no_such_module_anywhere'"),
        (f"{BROKEN}:missing_factory", "has no attribute 'missing_factory'"),
        (f"{BROKEN}:not_a_store", "not_a_store() returned dict, which is not a run store"),
        (f"{BROKEN}:exploding_factory", "exploding_factory() raised ConnectionError"),
        ("just-a-word", "is neither a database URL"),
    ],
)
def test_a_store_that_cannot_be_used_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], store: str, reason: str
) -> None:
    code, out, err = check(capsys, store, *QUICK)
    assert code == 2
    assert reason in one_line_error(err)
    assert out == ""


def test_a_module_that_fails_to_import_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "half_written_store.py").write_text("import os\nraise ValueError('oops')\n")
    monkeypatch.chdir(tmp_path)
    code, _, err = check(capsys, "half_written_store:make_store", *QUICK)
    assert code == 2
    assert "importing 'half_written_store' raised ValueError: oops" in one_line_error(err)


def test_a_store_method_that_raises_is_broken(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trace = str(tmp_path / "trace.json")
    code, out, _ = check(
        capsys, f"{BROKEN}:RaisingStart", *QUICK, "--families", "tours", "--trace", trace
    )
    assert code == 2
    last = out.strip().splitlines()[-1]
    assert (
        last
        == "BROKEN: the store is broken: start_run raised RuntimeError: connection reset by peer"
    )


def test_a_store_that_hangs_is_broken_and_the_method_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    options = ("--families", "matrix", "--timeout", "0.3", "--trace", str(tmp_path / "t.json"))
    code, out, _ = check(capsys, f"{BROKEN}:HangingResume", *QUICK, *options)
    assert code == 2
    last = out.strip().splitlines()[-1]
    assert (
        last
        == "BROKEN: the store is broken: resume_run did not return within 0.3 s (the store hangs)"
    )
    assert "not run: resume_run did not return" in out


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (("--families", "tours,nonsense"), "--families: unknown family nonsense"),
        (("--concurrency", "1"), "--concurrency must be at least 2"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], reason: str
) -> None:
    code, _, err = check(capsys, MEMORY, *argv)
    assert code == 2
    assert reason in one_line_error(err)


def test_replay_of_a_file_that_is_not_a_trace_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bogus = tmp_path / "trace.json"
    bogus.write_text(textwrap.dedent('{"hello": 1}'))
    assert main(["replay", str(bogus)]) == 2
    assert "is not a runlife trace" in one_line_error(capsys.readouterr().err)


def test_replay_against_a_store_that_hangs_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    steps = [
        {"actor": "user", "op": "create_run", "run": "r0"},
        {"actor": "a1", "op": "resume_run", "run": "r0"},
    ]
    failure = {"kind": "sequential", "family": "matrix", "case": "resume", "steps": steps}
    trace = tmp_path / "trace.json"
    store = f"{BROKEN}:HangingResume"
    trace.write_text(json.dumps({"runlife_trace": 1, "store": store, "failures": [failure]}))
    assert main(["replay", str(trace), "--timeout", "0.3"]) == 2
    out = capsys.readouterr().out
    assert (
        out == "matrix resume: broken: resume_run did not return within 0.3 s (the store hangs)\n"
    )


def test_opt_in_families_run_only_with_mutants() -> None:
    everything = all_families()
    assert [f for f in select(None) if f.opt_in] == []
    assert [f.number for f in select(None, opt_in=True)] == [f.number for f in everything]
    assert [f.name for f in select("tours")] == ["tours"]
