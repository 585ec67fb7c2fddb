"""An executor process killed or frozen after claiming its run, on every database.

The scenarios live in :mod:`runlife.conformance.faults`; here they run against the SQL store
with real one-second leases on the database's clock (a SQLite file, PostgreSQL, MariaDB), and
against a mutant whose stale holder can still write, to show they can fail.
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

import pytest
from tests.conftest import StoreFactory
from tests.faults.conftest import FAULT_TIMING, under_test

from runlife.conformance.concurrency import StoreUnderTest
from runlife.conformance.faults import SCENARIOS, FaultStatus, frozen_executor
from runlife.conformance.mutants.faults import UnfencedSideWrites
from runlife.conformance.post_run import Invariant


def test_a_killed_and_a_frozen_executor_at_once(make_store: StoreFactory) -> None:
    """The killed executor's run waits for its lease, then is recovered once; the frozen one,
    thawed after its run was recovered, is refused every write. Both race on one database."""
    sut = under_test(make_store(timing=FAULT_TIMING))
    with ThreadPoolExecutor(2) as pool:
        killed, frozen = pool.map(lambda scenario: scenario(sut), SCENARIOS)
    assert killed.status is FaultStatus.PASSED, str(killed)
    assert frozen.status is FaultStatus.PASSED, str(frozen)
    # Recovery needs stale_after (1.5 s) of silence; it must not take much longer either.
    assert 1.0 <= killed.figures["seconds_to_recovery"] < 1.5 + 3, str(killed)
    assert frozen.figures["refused_late_writes"] == 6, str(frozen)


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.breaks_invariants
def test_the_frozen_executor_catches_a_store_whose_stale_holder_can_write(
    make_store: StoreFactory,
) -> None:
    url = make_store(timing=FAULT_TIMING).connect_url()
    opened = functools.partial(UnfencedSideWrites.from_url, timing=FAULT_TIMING, migrate=False)
    result = frozen_executor(StoreUnderTest(functools.partial(opened, url), "mutant", opened))
    assert result.status is FaultStatus.FAILED
    accepted = {problem.split("'s ")[1].split(" ")[0] for problem in result.problems}
    assert accepted == {"record_node_result", "save_loop_session"}, str(result)
    assert not {b.invariant for b in result.breaches} - {Invariant.ACKNOWLEDGED_LOST}
