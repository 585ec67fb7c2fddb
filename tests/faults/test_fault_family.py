"""Family 6 in the kit: the correct stores pass it, and it kills the fault mutants.

The mutant that loses a terminal state on reconnect (a write-behind store) passes every other
family: only a new connection, checked against what the first was told, can see what it lost.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conformance.kit_helpers import MEMORY, outcomes, report
from tests.conftest import server_url

from runlife.conformance.families.faults import FAMILY
from runlife.conformance.kit import Kit, Outcome
from runlife.conformance.mutants.faults import UnfencedSideWrites, WriteBehindFinish
from runlife.conformance.mutants.registry import all_mutants
from runlife.conformance.mutants.zoo import zoo_target
from runlife.conformance.report import check
from runlife.conformance.target import resolve
from runlife.impl import SqlRunStore


def _base_url(backend: str, directory: Path) -> str:
    return f"sqlite:///{directory / 'zoo.db'}" if backend == "sqlite" else server_url(backend)


def _outcomes(store_class: type[SqlRunStore], url: str) -> dict[str, tuple[Outcome, str]]:
    kit = Kit(zoo_target(store_class, url), "quick", seed=1)
    try:
        result = check(kit, [FAMILY])
    finally:
        kit.close()
    return {e.case.name: (e.verdict.outcome, e.verdict.message) for e in result.entries}


def test_a_store_of_its_own_passes_what_applies_to_it(tmp_path: Path) -> None:
    assert outcomes(report(MEMORY, FAMILY)) == {
        "stale_holder_fenced": Outcome.PASSED,
        "reconnect_keeps_acknowledged": Outcome.NOT_EXERCISED,
    }
    target = f"sqlite:///{tmp_path / 'checked.db'}"
    kit = Kit(resolve(target), "quick")
    try:
        assert set(outcomes(check(kit, [FAMILY])).values()) == {Outcome.PASSED}
    finally:
        kit.close()


def test_both_fault_mutants_are_in_the_zoo() -> None:
    assert {UnfencedSideWrites, WriteBehindFinish} <= set(all_mutants())


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "mysql"])
def test_the_fault_family_kills_the_fault_mutants_and_passes_the_store(
    backend: str, tmp_path: Path
) -> None:
    url = _base_url(backend, tmp_path)
    assert {outcome for outcome, _ in _outcomes(SqlRunStore, url).values()} == {Outcome.PASSED}
    lost = _outcomes(WriteBehindFinish, url)["reconnect_keeps_acknowledged"]
    assert lost[0] is Outcome.FAILED
    assert "acknowledged write lost" in lost[1] and "the run is running" in lost[1]
    stale = _outcomes(UnfencedSideWrites, url)["stale_holder_fenced"]
    assert stale[0] is Outcome.FAILED and "record_node_result after the recovery" in stale[1]
