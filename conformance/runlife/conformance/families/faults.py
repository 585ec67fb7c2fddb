"""Family 6, faults: a holder that goes silent and wakes up fenced out, a client that drops its
connection right after a write was acknowledged (:mod:`runlife.conformance.faults`).

Every case ends with the post-run invariant check (:mod:`runlife.conformance.post_run`) over the
runs it made and every answer its clients were given. The scenarios that kill and freeze real
executor processes need the store's own clock shared between processes; they run from the test
suite (``tests/faults``) with a :class:`~runlife.conformance.concurrency.StoreUnderTest`.
"""

from __future__ import annotations

from collections.abc import Callable

from runlife.conformance import faults
from runlife.conformance.faults import FaultResult, FaultStatus
from runlife.conformance.guard import guarded
from runlife.conformance.kit import Case, Family, Kit, Outcome, Verdict
from runlife.spec.contract import Capability, RunStore

OUTCOMES = {
    FaultStatus.PASSED: Outcome.PASSED,
    FaultStatus.FAILED: Outcome.FAILED,
    FaultStatus.NOT_EXERCISED: Outcome.NOT_EXERCISED,
}


def verdict(result: FaultResult) -> Verdict:
    """The kit's verdict on a fault scenario: its problems and breaches are the message."""
    found = Verdict(OUTCOMES[result.status], detail=dict(result.figures))
    if result.status is FaultStatus.NOT_EXERCISED:
        found.message = f"not exercised: {result.reason}"
    elif result.status is FaultStatus.FAILED:
        found.message = "\n".join([*result.problems, *map(str, result.breaches)])
    return found


def _stale_holder(kit: Kit) -> Verdict:
    return verdict(faults.stale_holder_fenced(kit.fresh()))


def _reconnect(kit: Kit) -> Verdict:
    kit.fresh()

    def reopen() -> RunStore:
        """Another connection to the store under test, watched like the kit's own."""
        return guarded(kit.watch.call(f"{kit.target.name}()", kit.target.open), kit.watch)

    return verdict(faults.reconnect_keeps_acknowledged(reopen))


CASES: tuple[tuple[str, str, Callable[[Kit], Verdict], frozenset[Capability]], ...] = (
    ("stale_holder_fenced", "complete_run", _stale_holder, frozenset({Capability.CLOCK})),
    ("reconnect_keeps_acknowledged", "get_run", _reconnect, frozenset()),
)


def cases(kit: Kit) -> list[Case]:
    return [Case(name, method, check, needs) for name, method, check, needs in CASES]


FAMILY = Family(6, "faults", "faults and recovery", cases, core=True, unit="scenarios")
