"""Mutants of ending a run: cancel and abandon."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import true

from runlife.conformance.mutants.base import Mutant, with_guard
from runlife.impl import statements as sql
from runlife.impl.schema import runs
from runlife.impl.sql_store import Lookup
from runlife.spec.results import ABANDONABLE, CancelOutcome, Status


class ResurrectingCancel(Mutant):
    """Cancel with no terminal guard: ``UPDATE ... WHERE id = ?``.

    Seed 001 (Archon #1830, before the fix): cancelling a completed run turns it into a
    cancelled one and re-stamps ``completed_at``; a finished run is resurrected.
    """

    name = "resurrecting-cancel"
    origin = "seed 001, before the CAS fix"
    swaps = {"cancel": with_guard(sql.CANCEL, true())}


class CancelAlwaysTrue(Mutant):
    """Cancel reports that it cancelled even when the run was already finished.

    Seed 001, review finding I1: ``cancelWorkflowRun`` returned nothing whether it cancelled
    a row or no-op'd on a finished one, and the route answered "Cancelled" either way.
    """

    name = "cancel-always-true"
    origin = "seed 001 review, I1"

    def cancel_run(self, run_id: str) -> CancelOutcome | Lookup:
        outcome = super().cancel_run(run_id)
        return replace(outcome, cancelled=True) if isinstance(outcome, CancelOutcome) else outcome


class AbandonRefusesFailed(Mutant):
    """Abandon refuses a failed run as if it were already terminal.

    Seed 000: ``/workflow abandon`` rejected failed runs as "already terminal", so a user whose
    fresh run kept resuming a failed one could not get out of it.
    """

    name = "abandon-refuses-failed"
    origin = "seed 000"
    swaps = {
        "abandon": with_guard(
            sql.CANCEL, runs.c.status.in_(sorted(s.value for s in ABANDONABLE - {Status.FAILED}))
        )
    }
