"""Family 1, the transition matrix: every action from every situation, against the spec."""

from __future__ import annotations

import pytest
from tests.conformance.kit_helpers import BROKEN, MEMORY, MODEL, outcomes, report

from runlife.conformance.families import matrix
from runlife.conformance.kit import Outcome


@pytest.mark.parametrize("store", [MODEL, MEMORY])
def test_every_cell_passes_on_a_correct_store(store: str) -> None:
    result = report(store, matrix.FAMILY)
    assert len(result.entries) == 258
    assert set(outcomes(result).values()) == {Outcome.PASSED}


def test_the_matrix_lists_the_status_changes_the_spec_allows() -> None:
    result = report(MODEL, matrix.FAMILY)
    lines = matrix.summarize([(e.case, e.verdict) for e in result.entries])
    assert lines == [
        "pending -> running: start_run",
        "pending -> cancelled: abandon_run, cancel_run",
        "running -> paused: pause_at_gate",
        "running -> failed: fail_run",
        "running -> completed: complete_run",
        "running -> cancelled: abandon_run, cancel_run",
        "paused -> running: resume_run",
        "paused -> cancelled: abandon_run, cancel_run, resolve_gate",
        "failed -> running: resume_run",
        "failed -> cancelled: abandon_run, cancel_run",
    ]


def test_the_matrix_catches_abandon_refusing_a_failed_run() -> None:
    result = report(f"{BROKEN}:abandon_refusing_failed", matrix.FAMILY)
    failed = [name for name, o in outcomes(result).items() if o is Outcome.FAILED]
    assert failed == ["abandon_run[from failed]"]
    message = result.failures()[0].verdict.message
    assert "RunAlreadyTerminal" in message and "Transitioned" in message


def test_a_refusal_must_leave_the_run_exactly_as_it_was() -> None:
    result = report(f"{BROKEN}:TouchyHeartbeat", matrix.FAMILY)
    failed = {e.case.name: e.verdict.message for e in result.failures()}
    assert "heartbeat[previous epoch, from running, orphaned]" in failed
    assert all(name.startswith("heartbeat[") for name in failed)
    message = failed["heartbeat[previous epoch, from running, orphaned]"]
    assert "r0 unchanged" in message and "started_at=60" in message


def test_unknown_and_malformed_run_ids_are_tried_with_every_action() -> None:
    names = set(outcomes(report(MODEL, matrix.FAMILY)))
    for method in ("start_run", "cancel_run", "get_run", "heartbeat"):
        assert any(n.startswith(method) and "unknown run id" in n for n in names)
        assert any(n.startswith(method) and "malformed run id" in n for n in names)
