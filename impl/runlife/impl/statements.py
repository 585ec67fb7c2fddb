"""Every statement the SQL run store executes, built once from the schema and reused.

Each operation that changes a run is one guarded UPDATE of its row (:class:`Cas`): the guard is
the spec's enabling condition, so the database decides the race and there is no read before the
write. Operations that also write node results take the run's row lock with such an UPDATE first.

Bind parameters, by name: ``target_run`` (the run id); ``now`` (the store's clock, or NULL for
the database clock); ``action`` (the operation, for the event log); ``lease_ttl`` and
``stale_after`` (the thresholds, always bound, never inlined); and the operation's own
arguments, named apart from the columns they are written to (SQLAlchemy reserves column names
in SET clauses).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Boolean,
    Column,
    ColumnElement,
    Double,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)

from runlife.impl.dialects import epoch_now, guarded_update, node_result_upsert
from runlife.impl.schema import TABLES, node_results, runs
from runlife.spec.results import ABANDONABLE, GateState, Status

RUN_ID = bindparam("target_run", type_=String())
NOW: ColumnElement[float] = func.coalesce(bindparam("now", type_=Double()), epoch_now())
ACTION = bindparam("action", type_=String())
LEASE_TTL: BindParameter[float] = bindparam("lease_ttl", type_=Double())
STALE_AFTER: BindParameter[float] = bindparam("stale_after", type_=Double())
EPOCH = bindparam("fence_epoch", type_=BigInteger())

THE_RUN = runs.c.id == RUN_ID


def status_in(*statuses: Status) -> ColumnElement[bool]:
    """``status`` is one of ``statuses`` (plain binds, so the statement compiles to one text)."""
    return or_(*(runs.c.status == status.value for status in statuses))


RESUMABLE = or_(
    status_in(Status.FAILED, Status.PAUSED),
    and_(runs.c.status == Status.RUNNING.value, runs.c.last_activity_at <= NOW - STALE_AFTER),
)
"""The one resumable predicate (seed 001), used by both find-resumable and resume: failed or
paused, or running with no activity for ``stale_after`` (an orphan whose executor died)."""

HOLDS_CLAIM = and_(runs.c.status == Status.RUNNING.value, runs.c.claim_epoch == EPOCH)
"""The fence: ``epoch`` still holds the running run."""

GATE_OPEN = and_(runs.c.status == Status.PAUSED.value, runs.c.gate_state == GateState.OPEN.value)

Assignments = list[tuple[Column[Any], Any]]

TOUCHED: Assignments = [
    (runs.c.version, runs.c.version + 1),
    (runs.c.last_action, ACTION),
    (runs.c.updated_at, NOW),
]
"""Every update: the event log's version, action and time (set last, read by the triggers)."""

RELEASED: Assignments = [
    (runs.c.claim_holder, None),
    (runs.c.claim_epoch, None),
    (runs.c.lease_expires, None),
    (runs.c.last_activity_at, NOW),
]

CLAIMED: Assignments = [
    (runs.c.claim_epoch, runs.c.epoch + 1),
    (runs.c.epoch, runs.c.epoch + 1),
    (runs.c.claim_holder, bindparam("holder", type_=String())),
    (runs.c.lease_expires, NOW + LEASE_TTL),
    (runs.c.status, Status.RUNNING.value),
    (runs.c.started_at, func.coalesce(runs.c.started_at, NOW)),
    (runs.c.last_activity_at, NOW),
    (runs.c.error, None),
    *TOUCHED,
]
"""A claim under the next epoch with a fresh lease; a resume keeps ``started_at``."""

CLAIM_ANSWER = (runs.c.epoch, runs.c.lease_expires)
GATE_ANSWER = (runs.c.status, runs.c.gate_state, runs.c.gate_rejections)
STATUS_ANSWER = (runs.c.status,)

START = guarded_update(runs, THE_RUN, runs.c.status == Status.PENDING.value, CLAIMED, CLAIM_ANSWER)
EXPECTED_EPOCH = bindparam("expected_epoch", type_=BigInteger())
SAME_INCARNATION = runs.c.epoch == func.coalesce(EXPECTED_EPOCH, runs.c.epoch)
"""With an ``expected_epoch``, the run is still in the incarnation the caller looked at: no
claim came between (seed 000: an implicit continue must not land on a run that failed since)."""

RESUME = guarded_update(runs, THE_RUN, and_(RESUMABLE, SAME_INCARNATION), CLAIMED, CLAIM_ANSWER)

HEARTBEAT = guarded_update(
    runs,
    THE_RUN,
    HOLDS_CLAIM,
    [(runs.c.lease_expires, NOW + LEASE_TTL), (runs.c.last_activity_at, NOW), *TOUCHED],
    CLAIM_ANSWER,
)

GATE_NODE = bindparam("gate_node_id", type_=String())
PAUSE = guarded_update(
    runs,
    THE_RUN,
    HOLDS_CLAIM,
    [
        # Pausing again at the gate a rework came from keeps its rejections (seed 003).
        (
            runs.c.gate_rejections,
            case((runs.c.gate_node == GATE_NODE, runs.c.gate_rejections), else_=0),
        ),
        (runs.c.gate_node, GATE_NODE),
        (runs.c.gate_on_reject, bindparam("on_reject", type_=Boolean())),
        (runs.c.gate_max_attempts, bindparam("max_attempts", type_=BigInteger())),
        (runs.c.gate_state, GateState.OPEN.value),
        (runs.c.status, Status.PAUSED.value),
        *RELEASED,
        *TOUCHED,
    ],
    STATUS_ANSWER,
)

COMPLETE = guarded_update(
    runs,
    THE_RUN,
    HOLDS_CLAIM,
    [
        (runs.c.status, Status.COMPLETED.value),
        (runs.c.completed_at, NOW),
        (runs.c.gate_node, None),
        (runs.c.gate_on_reject, None),
        (runs.c.gate_max_attempts, None),
        (runs.c.gate_state, None),
        (runs.c.gate_rejections, None),
        *RELEASED,
        *TOUCHED,
    ],
    STATUS_ANSWER,
)

FAIL = guarded_update(
    runs,
    THE_RUN,
    HOLDS_CLAIM,
    [
        (runs.c.status, Status.FAILED.value),
        (runs.c.error, bindparam("error_text", type_=String())),
        *RELEASED,
        *TOUCHED,
    ],
    STATUS_ANSWER,
)

CANCEL = guarded_update(
    runs,
    THE_RUN,
    status_in(*sorted(ABANDONABLE)),
    [
        (runs.c.status, Status.CANCELLED.value),
        (runs.c.completed_at, NOW),
        *RELEASED,
        *TOUCHED,
    ],
    STATUS_ANSWER,
)
"""Cancel and abandon: any run that is not completed or cancelled becomes cancelled."""

APPROVE = guarded_update(
    runs,
    THE_RUN,
    GATE_OPEN,
    [
        (runs.c.gate_state, GateState.APPROVED.value),
        (runs.c.gate_rejections, 0),
        (runs.c.last_activity_at, NOW),
        *TOUCHED,
    ],
    GATE_ANSWER,
)

REWORK_LEFT = and_(
    runs.c.gate_on_reject == true(), runs.c.gate_rejections + 1 < runs.c.gate_max_attempts
)
"""A rejection stages a rework (instead of cancelling) while attempts remain."""

REJECT = guarded_update(
    runs,
    THE_RUN,
    GATE_OPEN,
    [
        (runs.c.gate_state, case((REWORK_LEFT, GateState.REWORK.value), else_=runs.c.gate_state)),
        (runs.c.status, case((REWORK_LEFT, runs.c.status), else_=Status.CANCELLED.value)),
        (runs.c.completed_at, case((REWORK_LEFT, runs.c.completed_at), else_=NOW)),
        (runs.c.last_activity_at, NOW),
        (runs.c.gate_rejections, runs.c.gate_rejections + 1),
        *TOUCHED,
    ],
    GATE_ANSWER,
)

SAVE_LOOP = guarded_update(
    runs,
    THE_RUN,
    HOLDS_CLAIM,
    [
        (runs.c.loop_node, bindparam("loop_node_id", type_=String())),
        (runs.c.loop_iteration, bindparam("iteration", type_=BigInteger())),
        (runs.c.loop_session_id, bindparam("session_id", type_=String())),
        (runs.c.loop_saved_at, NOW),
        *TOUCHED,
    ],
    STATUS_ANSWER,
)

LOCK_HELD = guarded_update(runs, THE_RUN, HOLDS_CLAIM, TOUCHED, STATUS_ANSWER)
"""Take the run's row lock for the holder of ``epoch`` (before writing a node result)."""

LOCK_ANY = guarded_update(runs, THE_RUN, true(), TOUCHED, STATUS_ANSWER)
"""Take the run's row lock whatever its status (before invalidating node results)."""

CREATE = insert(runs).values(
    id=RUN_ID,
    status=Status.PENDING.value,
    created_at=NOW,
    last_activity_at=NOW,
    epoch=0,
    version=1,
    last_action=ACTION,
    updated_at=NOW,
)
"""Executed with the new run's fields as further parameters."""

PROBE = select(runs.c.status, runs.c.epoch, runs.c.gate_state).where(THE_RUN)
"""What a refusal reports after a guarded update matched nothing."""

GET_RUN = (
    select(
        runs,
        node_results.c.node_id,
        node_results.c.identity,
        node_results.c.output,
        node_results.c.depends_on,
        node_results.c.invalidated,
    )
    .select_from(runs.outerjoin(node_results, node_results.c.run_id == runs.c.id))
    .where(THE_RUN)
)
"""A run and its node results in one statement, so they come from one snapshot."""

FIND_RESUMABLE = (
    select(runs.c.id)
    .where(
        runs.c.workflow == bindparam("workflow", type_=String()),
        runs.c.codebase == bindparam("codebase", type_=String()),
        runs.c.conversation_id.is_not_distinct_from(bindparam("conversation_id", type_=String())),
        RESUMABLE,
    )
    .order_by(runs.c.seq.desc())
    .limit(1)
)

NODE_LINKS = select(node_results.c.node_id, node_results.c.depends_on).where(
    node_results.c.run_id == RUN_ID
)
INVALIDATE = (
    update(node_results)
    .where(
        node_results.c.run_id == RUN_ID,
        node_results.c.node_id.in_(bindparam("nodes", expanding=True)),
    )
    .values(invalidated=True)
)
UPSERT_NODE = {
    name: node_result_upsert(node_results, name) for name in ("sqlite", "postgresql", "mysql")
}
"""Per dialect: insert a node result or replace the one recorded under the same node id."""

CLOCK = select(epoch_now())
RESET = tuple(delete(table) for table in TABLES)
