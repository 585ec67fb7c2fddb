"""The SQL run store's tables: the one ``MetaData`` every statement and migration is built from.

A run's gate and loop session are columns of its row, not tables of their own: a run has at most
one of each, and keeping them on the row makes every transition (a gate rejection that cancels
the run, say) one guarded UPDATE of one row. Node results are many per run, so they have a table.

``run_events`` is the append-only transition log. Database triggers (created by the migrations,
see ``migrations/versions/0001_initial.py``) append a row for every insert and update of
``runs``, inside the same transaction as the transition itself. Each update sets ``version``,
``last_action`` and ``updated_at`` for its event; a claim's event carries ``claimed_epoch``, and
the unique key on ``(run_id, claimed_epoch)`` makes issuing one epoch twice impossible.

On MySQL and MariaDB every table is utf8mb4 with a binary, no-pad collation, so text is compared
exactly as it is in PostgreSQL and SQLite (``"wf"``, ``"WF"`` and ``"wf "`` are three names).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.mysql import LONGTEXT

from runlife.spec.limits import MAX_NAME

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

RUN_ID_LENGTH = 32
"""Run ids are uuid4 hex strings."""

Name = String(MAX_NAME)
LongText = Text().with_variant(LONGTEXT(), "mysql", "mariadb")
Status = String(16)
Counter = BigInteger()
Ordinal = BigInteger().with_variant(Integer(), "sqlite")
"""An insertion-order key; SQLite only autoincrements an INTEGER PRIMARY KEY."""

TABLE_OPTIONS: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mariadb_engine": "InnoDB",
    "mariadb_charset": "utf8mb4",
}
"""MySQL and MariaDB table options. The binary no-pad collation is chosen by the migrations,
which know the server: MariaDB calls it ``utf8mb4_nopad_bin``, MySQL ``utf8mb4_0900_bin``."""

runs = Table(
    "runs",
    metadata,
    Column("seq", Ordinal, primary_key=True, autoincrement=True),
    Column("id", String(RUN_ID_LENGTH), nullable=False),
    Column("workflow", Name, nullable=False),
    Column("user_message", LongText, nullable=False),
    Column("codebase", Name, nullable=False),
    Column("conversation_id", Name),
    Column("conversation_platform", String(16)),
    Column("working_path", LongText, nullable=False),
    Column("status", Status, nullable=False),
    Column("created_at", Double, nullable=False),
    Column("started_at", Double),
    Column("last_activity_at", Double, nullable=False),
    Column("completed_at", Double),
    Column("error", LongText),
    Column("claim_holder", Name),
    Column("claim_epoch", Counter),
    Column("lease_expires", Double),
    Column("epoch", Counter, nullable=False),
    Column("gate_node", Name),
    Column("gate_on_reject", Boolean),
    Column("gate_max_attempts", Counter),
    Column("gate_state", Status),
    Column("gate_rejections", Counter),
    Column("loop_node", Name),
    Column("loop_iteration", Counter),
    Column("loop_session_id", Name),
    Column("loop_saved_at", Double),
    Column("version", Counter, nullable=False),
    Column("last_action", String(32), nullable=False),
    Column("updated_at", Double, nullable=False),
    UniqueConstraint("id"),
    Index(None, "workflow", "codebase", "conversation_id"),
    **TABLE_OPTIONS,
)
"""One row per run: its fields, its claim, its gate and its loop session."""

node_results = Table(
    "node_results",
    metadata,
    Column("run_id", String(RUN_ID_LENGTH), ForeignKey(runs.c.id, ondelete="CASCADE")),
    Column("node_id", Name, nullable=False),
    Column("identity", LongText, nullable=False),
    Column("output", LongText, nullable=False),
    Column("depends_on", LongText, nullable=False),
    Column("invalidated", Boolean, nullable=False),
    PrimaryKeyConstraint("run_id", "node_id"),
    **TABLE_OPTIONS,
)
"""A node's recorded output per run. ``identity`` and ``depends_on`` are JSON text: the spec
accepts any string there (even NUL), and JSON keeps every one of them exactly."""

run_events = Table(
    "run_events",
    metadata,
    Column("seq", Ordinal, primary_key=True, autoincrement=True),
    Column("run_id", String(RUN_ID_LENGTH), nullable=False),
    Column("version", Counter, nullable=False),
    Column("action", String(32), nullable=False),
    Column("status", Status, nullable=False),
    Column("epoch", Counter, nullable=False),
    Column("claimed_epoch", Counter),
    Column("happened_at", Double, nullable=False),
    UniqueConstraint("run_id", "version"),
    UniqueConstraint("run_id", "claimed_epoch"),
    **TABLE_OPTIONS,
)
"""The append-only transition log, written by triggers on ``runs``."""

TABLES: tuple[Table, ...] = (run_events, node_results, runs)
"""Children first: the order to empty them in."""
