"""The SQL reference run store: :class:`runlife.spec.contract.RunStore` over SQLAlchemy Core.

One store serves SQLite (embedded default), PostgreSQL and MySQL/MariaDB. Every operation that
changes a run is one guarded UPDATE of the run's row (see :mod:`runlife.impl.statements`); when
it matches nothing, the refusal reports the run's current status, read in the same transaction.
Arguments are checked with :mod:`runlife.spec.limits` before anything is sent to the database.

The transition rules are written here in SQL, independently of :mod:`runlife.spec.store`, so
comparing this store with the spec (the differential tests, the conformance kit) means something.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import TypedDict, TypeVar, Unpack
from uuid import uuid4

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from runlife.impl import statements as sql
from runlife.impl.clock import ManualClock
from runlife.impl.dialects import (
    READ_ONLY,
    AnyRow,
    Cas,
    describe_url,
    first_line,
    is_conflict,
    is_memory,
    make_engine,
    parse_url,
    unavailable,
)
from runlife.impl.errors import StoreBusy, StoreConfigError, StoreUnavailable
from runlife.impl.migrate import upgrade
from runlife.spec.contract import Capability
from runlife.spec.limits import (
    check_count,
    check_gate,
    check_name,
    check_new_run,
    check_run_id,
    check_text,
)
from runlife.spec.records import (
    Claim,
    Conversation,
    Gate,
    GateSpec,
    LoopSession,
    NewRun,
    NodeResult,
    Run,
    Timing,
)
from runlife.spec.results import (
    CancelOutcome,
    Claimed,
    Created,
    Found,
    GateDecision,
    GateNotOpen,
    GateResolved,
    GateState,
    Invalidated,
    InvalidInput,
    Platform,
    Recorded,
    Renewed,
    RunAlreadyTerminal,
    RunNotFound,
    RunNotResumable,
    RunNotStartable,
    StaleClaim,
    Status,
    Transitioned,
)

DEFAULT_TIMING = Timing(lease_ttl=30, stale_after=60)
"""Seconds: a claim lasts 30 s after a claim or heartbeat; a run idle 60 s is an orphan."""

CONFLICT_ATTEMPTS = 8
"""How often a transaction aborted by a concurrent one (serialization failure, deadlock) runs."""

ISSUED_ID = re.compile(r"[0-9a-f]{32}")
"""The shape of every id this store issues (uuid4 hex); no other id can name a stored run."""

INT64 = range(-(2**63), 2**63)

Lookup = RunNotFound | InvalidInput
Won = TypeVar("Won")
Lost = TypeVar("Lost")
Answer = TypeVar("Answer")


class StoreOptions(TypedDict, total=False):
    """The keyword options of :class:`SqlRunStore` and :meth:`SqlRunStore.from_url`."""

    timing: Timing | None
    clock: ManualClock | None
    migrate: bool
    isolation_level: str | None
    connect_timeout: int


class SqlRunStore:
    """A persistent, concurrency-safe run store in a SQL database, opened from a URL.

    ``sqlite:///path.db`` (embedded), ``sqlite://`` (in memory, one process),
    ``postgresql+psycopg://user@host/db``, ``mysql+pymysql://user@host/db`` (MySQL, MariaDB).
    Times are the database's clock in seconds unless a :class:`ManualClock` is given.
    Opening runs the schema migrations unless ``migrate=False``. A bad URL raises
    :class:`~runlife.impl.errors.StoreConfigError`, an unreachable database
    :class:`~runlife.impl.errors.StoreUnavailable`; both say what to fix in one line.
    """

    def __init__(
        self,
        url: str,
        *,
        timing: Timing | None = None,
        clock: ManualClock | None = None,
        migrate: bool = True,
        isolation_level: str | None = None,
        connect_timeout: int = 10,
    ) -> None:
        self.timing = timing or DEFAULT_TIMING
        self._clock = clock
        self._url = parse_url(url)
        self.engine = make_engine(
            self._url, isolation_level=isolation_level, connect_timeout=connect_timeout
        )
        """The SQLAlchemy engine, for tools and tests that inspect the tables."""
        memory = is_memory(self._url)
        # An in-memory database is one shared connection: its transactions must take turns.
        self._serial: AbstractContextManager[object] = (
            threading.RLock() if memory else nullcontext()
        )
        self._upsert_node = sql.UPSERT_NODE[self.engine.dialect.name]
        capabilities = {Capability.RESET}
        if clock is not None:
            capabilities.add(Capability.CLOCK)
        if not memory:
            capabilities.add(Capability.PROCESSES)
        self.capabilities = frozenset(capabilities)
        try:
            with self.engine.connect():
                pass
        except OperationalError as error:
            self.engine.dispose()
            raise unavailable(self._url, error) from error
        if migrate:
            self.create_schema()

    @classmethod
    def from_url(cls, url: str, **options: Unpack[StoreOptions]) -> SqlRunStore:
        """Open the store at ``url`` (the constructor, under the name the contract docs use)."""
        return cls(url, **options)

    # --- lifecycle ---------------------------------------------------------------------------

    def create_run(self, new: NewRun) -> Created | InvalidInput:
        conversation = new.conversation
        bad = check_new_run(new)
        if bad is not None:
            return bad
        run_id = uuid4().hex
        params = self._params(
            run_id,
            action="create",
            workflow=new.workflow,
            user_message=new.user_message,
            codebase=new.codebase,
            conversation_id=None if conversation is None else conversation.id,
            conversation_platform=None if conversation is None else str(conversation.platform),
            working_path=new.working_path,
        )
        self._transact(lambda conn: conn.execute(sql.CREATE, params))
        return Created(run_id)

    def get_run(self, run_id: str) -> Run | Lookup:
        if bad := _lookup(run_id):
            return bad
        rows = self._transact(
            lambda conn: conn.execute(sql.GET_RUN, {"target_run": run_id}).all(), read_only=True
        )
        return _run(rows) if rows else RunNotFound(run_id)

    def find_resumable(
        self, workflow: str, conversation_id: str | None, codebase: str
    ) -> Found | InvalidInput:
        wanted = [("workflow", workflow), ("codebase", codebase)]
        if conversation_id is not None:
            wanted.append(("conversation", conversation_id))
        if any(check_name(field, value) for field, value in wanted):
            return Found(None)  # every stored run passed these checks, so none can match
        params = self._params(
            None, workflow=workflow, codebase=codebase, conversation_id=conversation_id
        )
        found = self._transact(
            lambda conn: conn.execute(sql.FIND_RESUMABLE, params).scalar(), read_only=True
        )
        return Found(found)

    def start_run(self, run_id: str, holder: str) -> Claimed | RunNotStartable | Lookup:
        return self._decide(
            run_id,
            sql.START,
            _claimed(run_id, holder),
            lambda now: RunNotStartable(run_id, Status(now.status)),
            check_name("holder", holder),
            holder=holder,
            action="start",
        )

    def resume_run(
        self, run_id: str, holder: str, expected_epoch: int | None = None
    ) -> Claimed | RunNotResumable | Lookup:
        return self._decide(
            run_id,
            sql.RESUME,
            _claimed(run_id, holder),
            lambda now: RunNotResumable(run_id, Status(now.status)),
            check_name("holder", holder),
            holder=holder,
            expected_epoch=expected_epoch,
            action="resume",
        )

    def heartbeat(self, run_id: str, epoch: int) -> Renewed | StaleClaim | Lookup:
        return self._decide(
            run_id,
            sql.HEARTBEAT,
            lambda conn, row: Renewed(run_id, row.epoch, row.lease_expires),
            _stale(run_id, epoch),
            None,
            fence_epoch=_fence(epoch),
            action="heartbeat",
        )

    def pause_at_gate(
        self, run_id: str, epoch: int, gate: GateSpec
    ) -> Transitioned | StaleClaim | Lookup:
        bad = check_gate(gate)
        return self._decide(
            run_id,
            sql.PAUSE,
            _transitioned(run_id, Status.PAUSED),
            _stale(run_id, epoch),
            bad,
            fence_epoch=_fence(epoch),
            gate_node_id=gate.node_id,
            on_reject=bool(gate.on_reject),
            max_attempts=gate.max_attempts,
            action="pause",
        )

    def complete_run(self, run_id: str, epoch: int) -> Transitioned | StaleClaim | Lookup:
        return self._decide(
            run_id,
            sql.COMPLETE,
            _transitioned(run_id, Status.COMPLETED),
            _stale(run_id, epoch),
            None,
            fence_epoch=_fence(epoch),
            action="complete",
        )

    def fail_run(self, run_id: str, epoch: int, error: str) -> Transitioned | StaleClaim | Lookup:
        return self._decide(
            run_id,
            sql.FAIL,
            _transitioned(run_id, Status.FAILED),
            _stale(run_id, epoch),
            check_text("error", error),
            fence_epoch=_fence(epoch),
            error_text=error,
            action="fail",
        )

    def cancel_run(self, run_id: str) -> CancelOutcome | Lookup:
        return self._decide(
            run_id,
            sql.CANCEL,
            lambda conn, row: CancelOutcome(run_id, True, Status.CANCELLED),
            lambda now: CancelOutcome(run_id, False, Status(now.status)),
            None,
            action="cancel",
        )

    def abandon_run(self, run_id: str) -> Transitioned | RunAlreadyTerminal | Lookup:
        return self._decide(
            run_id,
            sql.CANCEL,
            _transitioned(run_id, Status.CANCELLED),
            lambda now: RunAlreadyTerminal(run_id, Status(now.status)),
            None,
            action="abandon",
        )

    # --- approval gates (seed 003) -----------------------------------------------------------

    def resolve_gate(
        self, run_id: str, decision: GateDecision
    ) -> GateResolved | GateNotOpen | Lookup:
        bad: InvalidInput | None
        try:
            decided = GateDecision(decision)
        except ValueError:
            decided, bad = (
                GateDecision.REJECT,
                InvalidInput("decision", "must be approve or reject"),
            )
        else:
            bad = None
        approve = decided is GateDecision.APPROVE

        def resolved(conn: Connection, row: AnyRow) -> GateResolved:
            status = Status(row.status)
            gate = None if status is Status.CANCELLED else GateState(row.gate_state)
            return GateResolved(run_id, decided, gate, status, row.gate_rejections)

        return self._decide(
            run_id,
            sql.APPROVE if approve else sql.REJECT,
            resolved,
            lambda now: GateNotOpen(
                run_id,
                Status(now.status),
                None if now.gate_state is None else GateState(now.gate_state),
            ),
            bad,
            action="approve" if approve else "reject",
        )

    # --- node cache (seed 002) and loop sessions (seed 004) ----------------------------------

    def record_node_result(
        self, run_id: str, epoch: int, result: NodeResult
    ) -> Recorded | StaleClaim | Lookup:
        def recorded(conn: Connection, row: AnyRow) -> Recorded:
            conn.execute(
                self._upsert_node,
                {
                    "run_id": run_id,
                    "node_id": result.node_id,
                    "identity": json.dumps(result.identity),
                    "output": result.output,
                    "depends_on": json.dumps(list(result.depends_on)),
                    "invalidated": False,
                },
            )
            return Recorded(run_id, result.node_id)

        return self._decide(
            run_id,
            sql.LOCK_HELD,
            recorded,
            _stale(run_id, epoch),
            check_name("node_id", result.node_id) or check_text("output", result.output),
            fence_epoch=_fence(epoch),
            action="record_node",
        )

    def node_results(self, run_id: str) -> Mapping[str, NodeResult] | Lookup:
        run = self.get_run(run_id)
        return {node.node_id: node for node in run.nodes} if isinstance(run, Run) else run

    def invalidate_nodes(
        self, run_id: str, node_id: str, downstream: bool = False
    ) -> Invalidated | Lookup:
        def invalidated(conn: Connection, row: AnyRow) -> Invalidated:
            links = {
                link.node_id: tuple(json.loads(link.depends_on))
                for link in conn.execute(sql.NODE_LINKS, {"target_run": run_id})
            }
            hit = _reached(links, node_id, downstream)
            if hit:
                conn.execute(sql.INVALIDATE, {"target_run": run_id, "nodes": list(hit)})
            return Invalidated(run_id, hit)

        return self._decide(
            run_id,
            sql.LOCK_ANY,  # taking the row lock orders this after any concurrent node write
            invalidated,
            _never,
            check_name("node_id", node_id),
            action="invalidate",
        )

    def save_loop_session(
        self, run_id: str, epoch: int, node_id: str, iteration: int, session_id: str
    ) -> Recorded | StaleClaim | Lookup:
        return self._decide(
            run_id,
            sql.SAVE_LOOP,
            lambda conn, row: Recorded(run_id, node_id),
            _stale(run_id, epoch),
            check_name("node_id", node_id)
            or check_name("session_id", session_id)
            or check_count("iteration", iteration, 0),
            fence_epoch=_fence(epoch),
            loop_node_id=node_id,
            iteration=iteration,
            session_id=session_id,
            action="save_loop",
        )

    def loop_session(self, run_id: str) -> LoopSession | Lookup | None:
        run = self.get_run(run_id)
        return run.loop if isinstance(run, Run) else run

    # --- time, capabilities, housekeeping ----------------------------------------------------

    def now(self) -> float:
        """The store's time: the manual clock if one was given, else the database's clock."""
        if self._clock is not None:
            return self._clock.now()
        return float(self._transact(lambda conn: conn.execute(sql.CLOCK).scalar_one()))

    def advance_clock(self, seconds: float) -> None:
        """Move the manual clock (capability ``clock``)."""
        if self._clock is None:
            raise StoreConfigError(
                "advance_clock needs a store opened with clock=ManualClock(); "
                "this one reads the database's clock"
            )
        self._clock.advance(seconds)

    def reset(self) -> None:
        """Delete every row of this store's tables (capability ``reset``)."""

        def empty(conn: Connection) -> None:
            for statement in sql.RESET:
                conn.execute(statement)

        self._transact(empty)

    def connect_url(self) -> str:
        """A URL another process can open this same store with (capability ``processes``)."""
        if Capability.PROCESSES not in self.capabilities:
            raise StoreConfigError(
                "an in-memory SQLite store lives in this process only; "
                "open sqlite:///path.db to share it with other processes"
            )
        return self._url.render_as_string(hide_password=False)

    def create_schema(self) -> None:
        """Create or upgrade the tables (what opening does unless ``migrate=False``)."""
        try:
            upgrade(self.engine)
        except DBAPIError as error:
            raise StoreUnavailable(
                f"cannot create or upgrade the run store's tables ({describe_url(self._url)}): "
                f"{first_line(error)}; check the user's rights to create tables and triggers"
            ) from error

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> SqlRunStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # --- the machinery -----------------------------------------------------------------------

    def _params(self, run_id: str | None, **arguments: object) -> dict[str, object]:
        """Bind values for a statement: the run, the time and the thresholds, and ``arguments``."""
        return {
            "target_run": run_id,
            "now": None if self._clock is None else self._clock.now(),
            "lease_ttl": self.timing.lease_ttl,
            "stale_after": self.timing.stale_after,
            **arguments,
        }

    def _statement(self, action: str, cas: Cas) -> Cas:
        """The guarded statement ``action`` runs: ``cas`` itself. The mutant zoo swaps it."""
        return cas

    def _decide(
        self,
        run_id: str,
        cas: Cas,
        won: Callable[[Connection, AnyRow], Won],
        lost: Callable[[AnyRow], Lost],
        bad: InvalidInput | None,
        **arguments: object,
    ) -> Won | Lost | Lookup:
        """Run one guarded transition of ``run_id`` and answer as the spec does.

        A malformed id is refused without a query; an unknown run beats a bad argument (the
        spec looks the run up first); otherwise the guarded update decides. When it matches
        nothing, ``lost`` builds the refusal from the run as it is now, in the same transaction.
        """
        if missing := _lookup(run_id):
            return missing
        if bad is not None:
            return self._unless_missing(run_id, bad)
        params = self._params(run_id, **arguments)
        cas = self._statement(str(arguments.get("action")), cas)

        def transition(conn: Connection) -> Won | Lost | RunNotFound:
            row = cas.run(conn, params)
            if row is not None:
                return won(conn, row)
            current = conn.execute(sql.PROBE, params).first()
            return RunNotFound(run_id) if current is None else lost(current)

        return self._transact(transition)

    def _unless_missing(self, run_id: str, bad: InvalidInput) -> Lookup:
        exists = self._transact(
            lambda conn: conn.execute(sql.PROBE, {"target_run": run_id}).first(), read_only=True
        )
        return bad if exists is not None else RunNotFound(run_id)

    def _transact(self, work: Callable[[Connection], Answer], read_only: bool = False) -> Answer:
        """Run ``work`` in one transaction; run it again if a concurrent transaction aborted it,
        or if the connection broke before the commit was sent (then nothing was changed).

        A database that cannot be reached, or a connection lost while committing (the change
        may or may not have been made), raises :class:`StoreUnavailable`.
        """
        attempt = 0
        while True:
            stage = "connecting"
            try:
                with self._serial, self.engine.connect() as conn:
                    stage = "working"
                    if read_only:
                        conn.execution_options(**{READ_ONLY: True})
                    with conn.begin():
                        answer = work(conn)
                        stage = "committing"
                return answer
            except DBAPIError as error:
                if stage == "connecting":
                    raise unavailable(self._url, error) from error
                if error.connection_invalidated and stage == "committing":
                    raise StoreUnavailable(
                        f"lost the connection to the run store ({describe_url(self._url)}) "
                        f"while committing: {first_line(error)}; the change may or may not have "
                        "been made: read the run before retrying"
                    ) from error
                if not (error.connection_invalidated or is_conflict(error)):
                    raise
                attempt += 1
                if attempt == CONFLICT_ATTEMPTS:
                    raise StoreBusy(
                        f"the database aborted this operation {attempt} times over concurrent "
                        "transactions or lost connections; retry it later"
                    ) from error
                time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))


# --- answers -----------------------------------------------------------------------------------


def _claimed(run_id: str, holder: str) -> Callable[[Connection, AnyRow], Claimed]:
    return lambda conn, row: Claimed(run_id, holder, row.epoch, row.lease_expires)


def _transitioned(run_id: str, status: Status) -> Callable[[Connection, AnyRow], Transitioned]:
    return lambda conn, row: Transitioned(run_id, status)


def _stale(run_id: str, epoch: int) -> Callable[[AnyRow], StaleClaim]:
    return lambda now: StaleClaim(run_id, epoch, now.epoch, Status(now.status))


def _never(now: AnyRow) -> RunNotFound:
    raise AssertionError(f"an update guarded only by the run's id missed run {now}")


def _run(rows: Sequence[AnyRow]) -> Run:
    """The :class:`Run` held in ``rows`` (one per node result, or one with no node result)."""
    r = rows[0]
    nodes = sorted(
        (
            NodeResult(
                row.node_id,
                json.loads(row.identity),
                row.output,
                tuple(json.loads(row.depends_on)),
                bool(row.invalidated),
            )
            for row in rows
            if row.node_id is not None
        ),
        key=lambda node: node.node_id,
    )
    return Run(
        id=r.id,
        workflow=r.workflow,
        user_message=r.user_message,
        codebase=r.codebase,
        conversation=(
            None
            if r.conversation_id is None
            else Conversation(r.conversation_id, Platform(r.conversation_platform))
        ),
        working_path=r.working_path,
        status=Status(r.status),
        created_at=r.created_at,
        started_at=r.started_at,
        last_activity_at=r.last_activity_at,
        completed_at=r.completed_at,
        error=r.error,
        claim=None
        if r.claim_holder is None
        else Claim(r.claim_holder, r.claim_epoch, r.lease_expires),
        epoch=r.epoch,
        gate=(
            None
            if r.gate_node is None
            else Gate(
                GateSpec(r.gate_node, bool(r.gate_on_reject), r.gate_max_attempts),
                GateState(r.gate_state),
                r.gate_rejections,
            )
        ),
        nodes=tuple(nodes),
        loop=(
            None
            if r.loop_node is None
            else LoopSession(r.loop_node, r.loop_iteration, r.loop_session_id, r.loop_saved_at)
        ),
    )


def _reached(links: Mapping[str, Iterable[str]], node_id: str, downstream: bool) -> tuple[str, ...]:
    """The recorded nodes invalidating ``node_id`` reaches: itself, and with ``downstream``
    every recorded node that depends on a reached one, transitively (sorted)."""
    targets = {node_id}
    grew = downstream
    while grew:
        consumers = {node for node, needs in links.items() if targets.intersection(needs)}
        grew = not consumers <= targets
        targets |= consumers
    return tuple(sorted(node for node in links if node in targets))


# --- input ---------------------------------------------------------------------------------------


def _lookup(run_id: str) -> Lookup | None:
    """Refuse a malformed id; answer RunNotFound for one this store can never have issued."""
    if bad := check_run_id(run_id):
        return bad
    return None if ISSUED_ID.fullmatch(run_id) else RunNotFound(run_id)


def _fence(epoch: int) -> int:
    """The epoch to compare with the claim's; one no database integer can hold never matches."""
    return int(epoch) if isinstance(epoch, int) and epoch in INT64 else -1
