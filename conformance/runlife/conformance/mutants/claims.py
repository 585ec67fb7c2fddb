"""Mutants of claiming and holding a run: resume, start, heartbeat, and the fence on writes."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Double, bindparam, true, update

from runlife.conformance.mutants.base import Mutant, rebound, with_guard, without
from runlife.impl import statements as sql
from runlife.impl.dialects import AnyRow, Cas
from runlife.impl.schema import runs
from runlife.impl.sql_store import Lookup
from runlife.spec.limits import check_name
from runlife.spec.records import Run
from runlife.spec.results import Claimed, RunNotResumable, Status
from runlife.spec.store import resumable

UNGUARDED_RESUME = with_guard(sql.RESUME, true())
"""``UPDATE runs SET <claim> WHERE id = ?``: resume with no status guard."""


class UnguardedResume(Mutant):
    """Resume flips any run to running: ``UPDATE ... WHERE id = ?`` with no status guard.

    Seed 001 (Archon #1830, the code before the fix): two callers racing the same run both
    succeed and both execute it in one worktree; a completed run can be resumed again.
    """

    name = "unguarded-resume"
    origin = "seed 001, before the CAS fix"
    swaps = {"resume": UNGUARDED_RESUME}


class ReadThenWriteResume(Mutant):
    """Resume reads the run, decides in Python, then updates it by id: a race window.

    Seed 001's race in its most common form (and the classic time-of-check-to-time-of-use
    bug of job queues that ``SELECT`` a job, then ``UPDATE`` it): every single call answers as
    the spec does, but two resumers that both read "failed" both claim the run.
    """

    name = "read-then-write-resume"
    origin = "seed 001 race; TOCTOU claim in job queues"
    swaps = {"resume": UNGUARDED_RESUME}

    def resume_run(
        self, run_id: str, holder: str, expected_epoch: int | None = None
    ) -> Claimed | RunNotResumable | Lookup:
        run = self.get_run(run_id)
        if isinstance(run, Run) and check_name("holder", holder) is None:
            moved = expected_epoch is not None and run.epoch != expected_epoch
            if moved or not resumable(run, self.now(), self.timing.stale_after):
                return RunNotResumable(run_id, run.status)
        return super().resume_run(run_id, holder, expected_epoch)


class UnboundStaleThreshold(Mutant):
    """The orphan arm of resume compares ``last_activity_at`` with an unbound parameter.

    Seed 001, review finding C1: the resume CAS interpolated ``nowMinusDays($3)`` but bound only
    the run id; SQLite's adapter bound the missing ``$3`` as NULL, so ``last_activity_at <
    NULL`` is never true and a stale orphan can never be recovered (failed and paused still
    resume, which is why the unit tests passed).
    """

    name = "unbound-stale-threshold"
    origin = "seed 001 review, C1"
    swaps = {
        "resume": rebound(
            sql.RESUME, "stale_after", bindparam("stale_days", type_=Double(), required=False)
        )
    }


class SplitThresholds(Mutant):
    """Find-resumable and resume judge staleness with different thresholds.

    Seed 001, C1 note: ``findResumableRun`` bound 1 day while the resume CAS was written for 3,
    so a run found as a resumable orphan is then refused by resume for two days. Here resume
    waits three times ``stale_after`` while find-resumable uses ``stale_after``.
    """

    name = "split-thresholds"
    origin = "seed 001 review, C1 (1 vs 3 days)"
    swaps = {"resume": rebound(sql.RESUME, "stale_after", 3 * sql.STALE_AFTER)}


class ClaimKeepsActivity(Mutant):
    """A resume that does not refresh ``last_activity_at``.

    Seed 001: the CAS is safe only "because it refreshes last_activity_at": without that, a
    resumed orphan still looks stale, and a second resumer takes it from the first.
    """

    name = "claim-keeps-activity"
    origin = "seed 001 (#1830: the refresh excludes a second resumer)"
    swaps = {"resume": without(sql.RESUME, runs.c.last_activity_at)}


class UnguardedStart(Mutant):
    """Start claims the run whatever its status: pending -> running overwrites a cancel.

    Seed 001's missing guard on the other claim: a run cancelled while it waited to start is
    started anyway (the cancel is lost), as in queues whose worker marks a dequeued job
    running without checking it was not revoked meanwhile.
    """

    name = "unguarded-start"
    origin = "seed 001 family; revoked jobs that still run"
    swaps = {"start": with_guard(sql.START, true())}


class UnfencedComplete(Mutant):
    """Complete checks the status but not the epoch: recovery without fencing.

    Seed 001's orphan recovery is only safe with fencing tokens (Kleppmann, "How to do
    distributed locking"): without them, the executor that went silent wakes up and
    completes a run that a new holder is running.
    """

    name = "unfenced-complete"
    origin = "fencing tokens; seed 001 orphan recovery"
    swaps = {"complete": with_guard(sql.COMPLETE, runs.c.status == Status.RUNNING.value)}


class UnfencedHeartbeat(Mutant):
    """A heartbeat extends the lease of whoever holds the run, whatever epoch it names.

    The lease-renewal bug of job systems that renew by job id rather than by lock token: a
    zombie executor's heartbeat keeps succeeding after its run was recovered, so it never
    learns it lost the claim.
    """

    name = "unfenced-heartbeat"
    origin = "lease renewal by job id, not lock token"
    swaps = {"heartbeat": with_guard(sql.HEARTBEAT, runs.c.status == Status.RUNNING.value)}


TOUCH_ACTIVITY = (
    update(runs).where(sql.THE_RUN).ordered_values((runs.c.last_activity_at, sql.NOW), *sql.TOUCHED)
)


@dataclass(frozen=True)
class TouchFirst(Cas):
    """A guarded update preceded by an unguarded write of the run's activity time."""

    def run(self, conn: Connection, params: dict[str, object]) -> AnyRow | None:
        conn.execute(TOUCH_ACTIVITY, params)
        return super().run(conn, params)


class LeakyHeartbeat(Mutant):
    """A heartbeat whose refused CAS still writes: it touches the activity time first.

    A failed compare-and-swap must change nothing. This heartbeat is two statements (record
    the activity, then extend the lease if the epoch still holds), so a fenced-out executor's
    heartbeat is refused yet keeps refreshing ``last_activity_at``: its orphan never turns
    stale, and a recovered run looks busy because of its old holder.
    """

    name = "leaky-heartbeat"
    origin = "a failed CAS that leaks a partial write"
    swaps = {"heartbeat": TouchFirst(**vars(sql.HEARTBEAT))}
