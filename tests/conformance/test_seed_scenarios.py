"""Family 4 (seed scenarios): it passes on every correct store we have, and each broken store
below, re-creating one seed bug in the store, fails exactly the story that seed tells."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import server_url

from runlife.conformance.families.seeds import FAMILY, SCENARIOS
from runlife.conformance.kit import Kit, Outcome
from runlife.conformance.report import Report, check
from runlife.conformance.target import Target, resolve
from runlife.spec import variants
from runlife.spec.contract import Capability, RunStore
from runlife.spec.records import LoopSession, NodeResult
from runlife.spec.reference import ModelStore
from runlife.spec.results import Invalidated, InvalidInput, RunNotFound
from runlife.spec.rules import CORRECT

MEMORY = "examples.memory_store:make_store"


def run_family(target: Target) -> dict[str, Outcome]:
    kit = Kit(target, "quick")
    try:
        report: Report = check(kit, [FAMILY])
    finally:
        kit.close()
    return {entry.case.name: entry.verdict.outcome for entry in report.entries}


def on(factory: Callable[[], RunStore], name: str = "test store") -> dict[str, Outcome]:
    return run_family(Target(name, factory, "factory"))


def not_passed(outcomes: Mapping[str, Outcome]) -> dict[str, Outcome]:
    return {name: o for name, o in outcomes.items() if o is not Outcome.PASSED}


def named(fragment: str) -> str:
    [name] = [s.name for s in SCENARIOS if fragment in s.name]
    return name


# --- correct stores ------------------------------------------------------------------------


def test_every_seed_scenario_passes_on_the_spec_as_a_store() -> None:
    outcomes = on(ModelStore)
    assert len(outcomes) == len(SCENARIOS) == 23
    assert not_passed(outcomes) == {}


def test_every_seed_scenario_passes_on_the_example_memory_store() -> None:
    if not (Path(__file__).parents[2] / "examples" / "memory_store.py").exists():
        pytest.fail("examples/memory_store.py is missing; family 4 must be checked on it")
    assert not_passed(run_family(resolve(MEMORY))) == {}


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", id="mysql", marks=pytest.mark.mysql),
    ],
)
def test_every_seed_scenario_passes_on_the_sql_store(backend: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seeds.db'}" if backend == "sqlite" else server_url(backend)
    outcomes = run_family(resolve(url))
    assert len(outcomes) == len(SCENARIOS)
    assert not_passed(outcomes) == {}


class WithoutClock(ModelStore):
    """A correct store whose clock cannot be moved by the kit."""

    capabilities = frozenset({Capability.RESET})


def test_stories_that_need_time_to_pass_are_not_exercised_without_the_clock() -> None:
    outcomes = not_passed(on(WithoutClock))
    assert outcomes == {
        named("stale running orphan"): Outcome.NOT_EXERCISED,
        named("never sends an expired session"): Outcome.NOT_EXERCISED,
    }


# --- broken stores: each re-creates a seed bug in the store ------------------------------------


def with_rule(**rules: Any) -> Callable[[], RunStore]:
    return lambda: ModelStore(rules=replace(CORRECT, **rules))


class InvalidatesOnlyTheNamedNode(ModelStore):
    """Seed 002: ``--downstream`` is ignored; consumers of a bad output stay cached."""

    def invalidate_nodes(
        self, run_id: str, node_id: str, downstream: bool = False
    ) -> Invalidated | RunNotFound | InvalidInput:
        return super().invalidate_nodes(run_id, node_id, False)


class SessionsLookFresh(ModelStore):
    """Seed 004: the loop session's save time is reported as now, so an expired session looks
    valid and is sent again."""

    def loop_session(self, run_id: str) -> LoopSession | RunNotFound | InvalidInput | None:
        session = super().loop_session(run_id)
        return (
            replace(session, saved_at=self.now()) if isinstance(session, LoopSession) else session
        )


class ForgetsNodeResults(ModelStore):
    """Seed 002, the other way: recorded node results are not kept, so nothing is reused."""

    def node_results(self, run_id: str) -> Mapping[str, NodeResult] | RunNotFound | InvalidInput:
        results = super().node_results(run_id)
        return {} if isinstance(results, Mapping) else results


@pytest.mark.parametrize(
    ("store", "fails"),
    [
        pytest.param(
            with_rule(abandon_run=variants.abandon_refusing_failed),
            ["abandon of a failed run"],
            id="seed-000-abandon-refuses-failed",
        ),
        pytest.param(
            with_rule(resume_run=variants.resume_without_status_guard),
            ["second concurrent resumer", "stale running orphan"],
            id="seed-001-resume-without-cas",
        ),
        pytest.param(
            with_rule(cancel_run=variants.cancel_without_terminal_guard),
            ["cancel of a completed run"],
            id="seed-001-cancel-resurrects",
        ),
        pytest.param(
            InvalidatesOnlyTheNamedNode,
            ["downstream-of re-runs its consumers"],
            id="seed-002-downstream-ignored",
        ),
        pytest.param(
            ForgetsNodeResults,
            ["skipped as prior success", "invalidate a node", "live web parent"],
            id="seed-002-results-forgotten",
        ),
        pytest.param(
            SessionsLookFresh,
            ["never sends an expired session"],
            id="seed-004-sessions-look-fresh",
        ),
    ],
)
def test_a_broken_store_fails_the_story_of_its_seed(
    store: Callable[[], RunStore], fails: list[str]
) -> None:
    failed = {name for name, o in not_passed(on(store)).items() if o is Outcome.FAILED}
    for fragment in fails:
        assert any(fragment in name for name in failed), (fragment, failed)
    assert len(failed) < len(SCENARIOS)
