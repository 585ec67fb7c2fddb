"""Family 0, transition tours: every edge of the spec's reachable graph replayed on a store."""

from __future__ import annotations

import pytest
from tests.conformance import broken_stores
from tests.conformance.kit_helpers import BROKEN, MEMORY, MODEL, outcomes, report

from runlife.conformance.families import tours
from runlife.conformance.kit import Outcome
from runlife.spec.records import Timing


@pytest.mark.parametrize(
    ("timing", "ticks", "tick"),
    [
        (Timing(30, 60), Timing(1, 2), 30.0),
        (Timing(2, 2), Timing(1, 1), 2.0),
        (Timing(40, 60), Timing(2, 3), 20.0),
        (Timing(0.5, 1.5), Timing(1, 3), 0.5),
        (Timing(30, 86400), Timing(1, 3), 28800.0),
        (Timing(59, 60), Timing(3, 3), 20.0),
    ],
)
def test_the_tour_clock_expresses_the_store_timing_in_ticks(
    timing: Timing, ticks: Timing, tick: float
) -> None:
    assert tours.tour_clock(timing) == (ticks, tick)


@pytest.mark.parametrize("timing", [Timing(30, 86400), Timing(59, 60), Timing(0.5, 1.5)])
def test_coarse_ticks_answer_every_tour_as_the_spec_does_at_the_real_timing(
    timing: Timing,
) -> None:
    ticks, tick = tours.tour_clock(timing)
    tours.check_clock(ticks, tick, timing)


@pytest.mark.parametrize("store", [MODEL, MEMORY])
def test_every_edge_is_covered_on_a_correct_store(store: str) -> None:
    result = report(store, tours.FAMILY)
    edges = tours.tours(tours.tour_clock(Timing(30, 60))[0])
    assert len(result.entries) == len(edges) == 80
    assert set(outcomes(result).values()) == {Outcome.PASSED}
    assert result.exit_code == 0


def test_tours_catch_a_cancel_that_resurrects_finished_runs() -> None:
    result = report(f"{BROKEN}:resurrecting_cancel", tours.FAMILY)
    failed = [name for name, o in outcomes(result).items() if o is Outcome.FAILED]
    assert "cancel_run[completed -> CancelOutcome, completed]" in failed
    assert all(name.startswith("cancel_run[") for name in failed)
    assert result.exit_code == 1
    trace = next(e.verdict.trace for e in result.failures() if e.verdict.trace)
    assert trace["steps"][-1]["op"] == "cancel_run"


def test_edges_whose_tour_lets_time_pass_need_the_clock() -> None:
    result = report(f"{BROKEN}:WithoutClock", tours.FAMILY)
    verdicts = {e.case.name: e.verdict for e in result.entries}
    skipped = [n for n, v in verdicts.items() if v.outcome is Outcome.NOT_EXERCISED]
    assert skipped and all(verdicts[n].message == "not exercised: needs clock" for n in skipped)
    assert "tick[absent -> -, absent]" in skipped
    assert verdicts["cancel_run[pending -> CancelOutcome, cancelled]"].outcome is Outcome.PASSED
    assert result.exit_code == 0


def test_a_store_without_reset_is_opened_anew_for_every_case() -> None:
    before = broken_stores.WithoutReset.opened
    result = report(f"{BROKEN}:WithoutReset", tours.FAMILY)
    assert set(outcomes(result).values()) == {Outcome.PASSED}
    assert broken_stores.WithoutReset.opened - before > len(result.entries)
