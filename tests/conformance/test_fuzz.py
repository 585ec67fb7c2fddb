"""Family 2, stateful differential fuzzing, and the spec-guided shrinking of what it finds."""

from __future__ import annotations

from typing import Any

import pytest
from tests.conformance.kit_helpers import BROKEN, MEMORY, MODEL, opened, outcomes, report

from runlife.conformance.families import fuzz
from runlife.conformance.kit import Outcome, Verdict
from runlife.conformance.lockstep import Divergence, Step
from runlife.conformance.shrink import Shrinker


def fuzzed(store: str, group: str, seed: int = 1) -> Verdict:
    with opened(store, seed) as kit:
        return kit.run(fuzz.cases(kit)[list(fuzz.GROUPS).index(group)])


def rerun(program: str) -> Divergence:
    """Run a printed counterexample program; return the divergence it raises."""
    namespace: dict[str, Any] = {}
    exec(program, namespace)
    test = next(value for name, value in namespace.items() if name.startswith("test_"))
    with pytest.raises(Divergence) as raised:
        test()
    return raised.value


@pytest.mark.parametrize("store", [MODEL, MEMORY])
def test_fuzzing_passes_on_a_correct_store(store: str) -> None:
    assert set(outcomes(report(store, fuzz.FAMILY)).values()) == {Outcome.PASSED}


@pytest.mark.parametrize(
    ("store", "minimal"),
    [("unguarded_resume", 2), ("resurrecting_cancel", 3)],
)
def test_a_failure_is_a_short_program_that_fails_the_same_way_again(
    store: str, minimal: int
) -> None:
    verdict = fuzzed(f"{BROKEN}:{store}", "lifecycle")
    assert verdict.outcome is Outcome.FAILED
    assert verdict.trace is not None
    steps = verdict.trace["steps"]
    assert len(steps) <= minimal + 1
    program = verdict.trace["program"]
    calls = [line for line in program.splitlines() if "p." in line and "Program(" not in line]
    assert len(calls) == len(steps) + 1  # one call per step, then p.close()
    assert program in verdict.message
    assert str(rerun(program)) == verdict.message.splitlines()[0]


def test_a_store_handing_out_an_id_twice_is_caught() -> None:
    verdict = fuzzed(f"{BROKEN}:DedupingCreate", "lifecycle")
    assert verdict.outcome is Outcome.FAILED
    assert "create_run" in verdict.message.splitlines()[0]
    assert "the spec says a run id not issued before" in verdict.message


def test_a_store_that_raises_is_broken_and_the_program_shows_where() -> None:
    verdict = fuzzed(f"{BROKEN}:RaisingStart", "lifecycle")
    assert verdict.outcome is Outcome.BROKEN
    assert verdict.message.startswith("start_run raised RuntimeError: connection reset by peer")
    assert verdict.trace is not None and verdict.trace["steps"][-1]["op"] == "start_run"


def test_the_spec_finds_a_shorter_path_than_dropping_steps_can() -> None:
    recovered_then_cancelled = [
        Step("user", "create_run", "r0"),
        Step("a0", "start_run", "r0"),
        Step("clock", "tick", None, (60,)),
        Step("a1", "resume_run", "r0"),
        Step("a1", "complete_run", "r0"),
        Step("user", "cancel_run", "r0"),
    ]
    with opened(f"{BROKEN}:resurrecting_cancel") as kit:
        shrinker = Shrinker(kit.lockstep, kit.timing)
        found = shrinker.failure(recovered_then_cancelled)
        assert found == (("cancel_run", "result"), 5)
        for index in range(5):
            shorter = recovered_then_cancelled[:index] + recovered_then_cancelled[index + 1 :]
            assert shrinker.failure(shorter) != found
        minimal = shrinker.minimise(recovered_then_cancelled, found[0])
    assert [(s.actor, s.op) for s in minimal] == [
        ("user", "create_run"),
        ("a0", "start_run"),
        ("a0", "complete_run"),
        ("user", "cancel_run"),
    ]
