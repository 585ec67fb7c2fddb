"""The run-management commands, driven as a person would: exit codes, the prompt, the hint,
one-line refusals, no tracebacks; and ``make demo``'s script runs and exits 0."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runlife.conformance.cli import main
from runlife.impl import SqlRunStore
from runlife.spec.results import Claimed

ROOT = Path(__file__).resolve().parents[2]


class Shell:
    """``runlife ...`` against one store, capturing what a person would see."""

    def __init__(self, url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.url, self.capsys = url, capsys

    def __call__(self, *argv: str) -> tuple[int, str, str]:
        code = main([*argv, "--store", self.url])
        out, err = self.capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    def runs(self, status: str | None = None) -> list[dict[str, Any]]:
        code, out, _ = self("runs", "list", "--json", *(["--status", status] if status else []))
        assert code == 0
        runs: list[dict[str, Any]] = json.loads(out)
        return runs

    def only(self, status: str) -> str:
        [run] = self.runs(status)
        run_id: str = run["id"]
        return run_id


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


@pytest.fixture
def runlife(url: str, capsys: pytest.CaptureFixture[str]) -> Shell:
    return Shell(url, capsys)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_fresh_run_beside_a_failed_one_prompts_and_runs_nothing(runlife: Shell) -> None:
    code, out, _ = runlife("run", "demo-edit", "fix typo")
    assert code == 1 and "failed at parse-args" in out
    failed = runlife.only("failed")
    code, out, err = runlife("run", "demo-edit", 'notes.py drop "x" and `y`')
    assert code == 1 and err == ""
    assert f"({failed}) failed; nothing was started" in out
    assert f"runlife resume {failed}" in out and f"runlife abandon {failed}" in out
    assert 'runlife run demo-edit --force "notes.py drop \\"x\\" and \\`y\\`"' in out
    assert len(runlife.runs()) == 1


def test_force_and_abandon_escape_the_prompt(runlife: Shell) -> None:
    runlife("run", "demo-edit", "fix typo")
    failed = runlife.only("failed")
    code, out, _ = runlife("run", "demo-edit", "notes.py tidy", "--force")
    assert code == 0 and "paused at review" in out
    assert runlife.only("failed") == failed
    code, out, _ = runlife("abandon", failed[:6])
    assert code == 0 and f"run {failed}: abandoned (cancelled)" in out
    code, out, err = runlife("abandon", failed)
    assert code == 1
    assert one_line(err) == (
        f"runlife abandon: run {failed} cannot be abandoned (status: cancelled):"
        " it has already finished"
    )


def test_approving_a_cli_started_run_names_the_resume_command(runlife: Shell) -> None:
    runlife("run", "demo-edit", "notes.py tidy")
    waiting = runlife.only("paused")
    code, out, _ = runlife("approve", waiting)
    assert code == 0
    assert f"not resumed (no_parent): Run `runlife resume {waiting}`" in out
    code, out, err = runlife("approve", waiting)
    assert code == 1 and "has no open gate to decide (status: paused)" in one_line(err)
    code, out, _ = runlife("resume", waiting)
    assert code == 0 and "completed: done: edited notes.py: tidy" in out


def test_a_web_parent_resumes_by_itself_and_a_chat_parent_gets_the_hint(runlife: Shell) -> None:
    runlife("run", "demo-edit", "notes.py a", "--conversation", "w1", "--platform", "web")
    code, out, _ = runlife("approve", runlife.only("paused"), "--message", "lgtm")
    assert code == 0 and "resumed by itself" in out and "completed" in out
    runlife("run", "demo-edit", "notes.py b", "--conversation", "c1", "--platform", "chat-other")
    chat = runlife.only("paused")
    code, out, _ = runlife("reject", chat, "--reason", "too long")
    assert code == 0 and "rejected, 1 rejection(s)" in out
    assert "not resumed (non_web_parent)" in out and f"`runlife resume {chat}`" in out
    code, out, _ = runlife("resume", chat, "--message", "too long")
    assert code == 0 and "reworked  on-reject prompt ran with 'too long'" in out


def test_resuming_a_run_someone_else_holds_is_one_clear_refusal(runlife: Shell, url: str) -> None:
    runlife("run", "demo-edit", "fix typo")
    failed = runlife.only("failed")
    with SqlRunStore.from_url(url) as store:
        assert isinstance(store.resume_run(failed, "web-button"), Claimed)
    code, out, err = runlife("resume", failed[:10])
    assert code == 1 and out == ""
    assert one_line(err) == (
        f"runlife resume: run {failed} is not resumable (status: running):"
        " someone else is already resuming it"
    )


def test_cancel_is_truthful_about_finished_runs(runlife: Shell) -> None:
    runlife("run", "demo-edit", "notes.py tidy")
    waiting = runlife.only("paused")
    code, out, _ = runlife("cancel", waiting)
    assert code == 0 and out.strip() == f"run {waiting}: cancelled"
    code, out, _ = runlife("cancel", waiting)
    assert code == 0 and "nothing to cancel, it is cancelled already (cancelled = false)" in out


def test_invalidate_then_resume_reruns_the_cached_producer(
    runlife: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.json").write_text("[1, 2", encoding="utf-8")
    code, out, _ = runlife("run", "demo-pipeline", "data.json")
    assert code == 1 and "failed at consume" in out
    run_id = runlife.only("failed")
    (tmp_path / "data.json").write_text("[1, 2]", encoding="utf-8")
    code, out, _ = runlife("resume", run_id)
    assert code == 1 and "produce  skipped   prior_success" in out
    code, out, _ = runlife("invalidate", run_id, "produce", "--downstream")
    assert code == 0 and f"run {run_id}: invalidated produce" in out
    code, out, _ = runlife("resume", run_id)
    assert code == 0 and "produce  ran       invalidated" in out and "2 entries" in out
    code, _, err = runlife("invalidate", run_id, "nosuch")
    assert code == 2 and "has no node 'nosuch'; its nodes: produce, consume, notify" in err


def test_runs_list_and_show(runlife: Shell) -> None:
    code, out, _ = runlife("runs", "list")
    assert code == 0 and out.strip() == "no runs"
    runlife("run", "demo-edit", "notes.py tidy")
    waiting = runlife.only("paused")
    code, out, _ = runlife("runs", "list", "--status", "paused")
    assert code == 0 and out.startswith(waiting) and "gate review:open" in out
    code, out, _ = runlife("runs", "show", waiting[:8])
    assert code == 0 and "node parse-args: 'notes.py: tidy'" in out
    code, out, _ = runlife("runs", "show", waiting, "--json")
    assert json.loads(out)["gate"] == {"node": "review", "state": "open", "rejections": 0}
    code, _, err = runlife("runs", "show", "0" * 32)
    assert code == 1 and "not found" in one_line(err)


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (("run", "nope", "x"), "no workflow named 'nope'; known workflows: demo-edit"),
        (("run", "demo-edit", "x", "--platform", "web"), "--platform needs --conversation"),
        (("resume", "a b"), "run_id is not a run id"),
        (("run", "demo-edit", "x", "--conversation", "a\tb"), "conversation must not contain"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    runlife: Shell, argv: tuple[str, ...], complaint: str
) -> None:
    code, out, err = runlife(*argv)
    assert code == 2 and out == ""
    line = one_line(err)
    assert line.startswith(f"runlife {argv[0]}: error: ") and complaint in line


def test_a_store_that_cannot_be_opened_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["runs", "list", "--store", f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}"])
    _, err = capsys.readouterr()
    assert code == 2 and "directory" in one_line(err) and "does not exist" in err


def test_make_demo_tells_its_five_stories_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    story = done.stdout
    assert "status=running)" in story and "someone else is already resuming it" in story
    assert "nothing was started" in story and "untouched" in story
    assert "not resumed (no_parent)" in story
    assert "produce  ran       invalidated" in story
    assert "kept session session-1" in story and "fresh session (expired)" in story
    assert story.rstrip().endswith("every story ended as its seed requires.")


def test_the_store_defaults_to_runlife_store_then_runlife_db(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RUNLIFE_STORE", raising=False)
    assert main(["run", "demo-edit", "fix typo"]) == 1
    assert (tmp_path / "runlife.db").exists()
    monkeypatch.setenv("RUNLIFE_STORE", f"sqlite:///{tmp_path / 'other.db'}")
    assert main(["runs", "list"]) == 0
    assert capsys.readouterr().out.endswith("no runs\n")
