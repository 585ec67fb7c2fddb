"""Family 3, races: the concurrency family (:mod:`runlife.conformance.concurrency`) as cases.

Each named scenario is one case: ``--concurrency K`` clients race on shared runs for the
profile's rounds, and every race's history is judged for linearizability against the spec and
for double claims, overlapping holders and fenced-out writes. A failing race's history goes to
``trace.json`` (``kind: concurrent``), where ``runlife replay`` judges it again offline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from runlife.conformance.concurrency import (
    SCENARIOS,
    Scenario,
    ScenarioResult,
    ScenarioStatus,
    StoreUnderTest,
    run_family,
)
from runlife.conformance.kit import Case, Family, Kit, Outcome, Verdict
from runlife.spec.contract import Capability, RunStore

OUTCOMES = {
    ScenarioStatus.PASSED: Outcome.PASSED,
    ScenarioStatus.FAILED: Outcome.FAILED,
    ScenarioStatus.BROKEN: Outcome.BROKEN,
    ScenarioStatus.NOT_EXERCISED: Outcome.NOT_EXERCISED,
    ScenarioStatus.INCONCLUSIVE: Outcome.NOT_EXERCISED,
}
"""An inconclusive race (the checker's time ran out) is not a pass: it is not exercised."""


class Connection:
    """The kit's store as one client's connection: shared, so ``close`` leaves it open."""

    def __init__(self, store: RunStore) -> None:
        self._store = store
        self.capabilities = store.capabilities
        self.timing = store.timing

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def close(self) -> None:
        """The kit closes the store when it is done."""


def race(kit: Kit, scenario: Scenario) -> Verdict:
    store = kit.fresh()
    sut = StoreUnderTest(lambda: cast(RunStore, Connection(store)), name=kit.target.name)
    [result] = run_family(
        sut,
        kit.concurrency,
        kit.profile.race_rounds,
        time_limit=kit.profile.race_seconds,
        scenarios=(scenario,),
    )
    return verdict(result)


def verdict(result: ScenarioResult) -> Verdict:
    """The kit's verdict on one scenario's result; a failure carries the race's history."""
    outcome = OUTCOMES[result.status]
    message = result.reason
    if result.status is ScenarioStatus.INCONCLUSIVE:
        message = f"not decided: {result.reason or 'the checker ran out of time'}"
    found = Verdict(outcome, message, detail={"rounds": result.rounds})
    counterexample = result.counterexample
    if result.status is ScenarioStatus.FAILED and counterexample is not None:
        explanation = "\n".join(counterexample.explanation)
        found.message = f"{result.reason or 'a race the spec cannot explain'}\n{explanation}"
        found.trace = {
            "kind": "concurrent",
            "family": "races",
            "case": result.name,
            "failure": found.message.splitlines()[0],
            "history": counterexample.history.to_data(),
            "explanation": list(counterexample.explanation),
        }
    return found


def _case(scenario: Scenario) -> Callable[[Kit], Verdict]:
    return lambda kit: race(kit, scenario)


def cases(kit: Kit) -> list[Case]:
    clock = frozenset({Capability.CLOCK})
    return [
        Case(s.name, "race", _case(s), clock if s.needs_clock else frozenset()) for s in SCENARIOS
    ]


FAMILY = Family(3, "races", "concurrent races", cases, core=True, unit="scenarios")
