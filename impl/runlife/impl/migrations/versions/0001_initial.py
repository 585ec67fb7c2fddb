"""Runs, node results and the run event log, with the triggers that write the log.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.mysql import LONGTEXT

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _table_options() -> dict[str, Any]:
    """InnoDB, utf8mb4 and a binary no-pad collation (text compares exactly, as elsewhere)."""
    mariadb = getattr(op.get_bind().dialect, "is_mariadb", False)
    collation = "utf8mb4_nopad_bin" if mariadb else "utf8mb4_0900_bin"
    return {
        f"{prefix}_{option}": value
        for prefix in ("mysql", "mariadb")
        for option, value in (("engine", "InnoDB"), ("charset", "utf8mb4"), ("collate", collation))
    }


def _long_text() -> sa.types.TypeEngine[str]:
    return sa.Text().with_variant(LONGTEXT(), "mysql", "mariadb")


def _ordinal() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


EVENT_COLUMNS = "run_id, version, action, status, epoch, claimed_epoch, happened_at"


def _log_event(claimed_epoch: str) -> str:
    """The statement a trigger runs: append the row's new state to ``run_events``."""
    return (
        f"INSERT INTO run_events ({EVENT_COLUMNS}) VALUES (NEW.id, NEW.version, "
        f"NEW.last_action, NEW.status, NEW.epoch, {claimed_epoch}, NEW.updated_at)"
    )


TRIGGERS = {
    "runs_event_on_insert": ("INSERT", _log_event("NULL")),
    "runs_event_on_update": (
        "UPDATE",
        _log_event("CASE WHEN NEW.epoch <> OLD.epoch THEN NEW.epoch END"),
    ),
}
"""Trigger name -> (the event it fires after, the statement it runs)."""


def _create_triggers(dialect: str) -> None:
    for name, (event, statement) in TRIGGERS.items():
        if dialect == "postgresql":
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql "
                f"SET search_path FROM CURRENT AS $$ BEGIN {statement}; RETURN NULL; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON runs "
                f"FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        elif dialect == "sqlite":
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event} ON runs FOR EACH ROW BEGIN {statement}; END"
            )
        else:
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON runs FOR EACH ROW {statement}")


def _drop_triggers(dialect: str) -> None:
    for name in TRIGGERS:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER {name} ON runs")
            op.execute(f"DROP FUNCTION {name}()")
        else:
            op.execute(f"DROP TRIGGER {name}")


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("seq", _ordinal(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("workflow", sa.String(200), nullable=False),
        sa.Column("user_message", _long_text(), nullable=False),
        sa.Column("codebase", sa.String(200), nullable=False),
        sa.Column("conversation_id", sa.String(200)),
        sa.Column("conversation_platform", sa.String(16)),
        sa.Column("working_path", _long_text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("started_at", sa.Double()),
        sa.Column("last_activity_at", sa.Double(), nullable=False),
        sa.Column("completed_at", sa.Double()),
        sa.Column("error", _long_text()),
        sa.Column("claim_holder", sa.String(200)),
        sa.Column("claim_epoch", sa.BigInteger()),
        sa.Column("lease_expires", sa.Double()),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("gate_node", sa.String(200)),
        sa.Column("gate_on_reject", sa.Boolean()),
        sa.Column("gate_max_attempts", sa.BigInteger()),
        sa.Column("gate_state", sa.String(16)),
        sa.Column("gate_rejections", sa.BigInteger()),
        sa.Column("loop_node", sa.String(200)),
        sa.Column("loop_iteration", sa.BigInteger()),
        sa.Column("loop_session_id", sa.String(200)),
        sa.Column("loop_saved_at", sa.Double()),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("last_action", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_runs"),
        sa.UniqueConstraint("id", name="uq_runs_id"),
        **_table_options(),
    )
    op.create_index(
        "ix_runs_workflow_codebase_conversation_id",
        "runs",
        ["workflow", "codebase", "conversation_id"],
    )
    op.create_table(
        "node_results",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("node_id", sa.String(200), nullable=False),
        sa.Column("identity", _long_text(), nullable=False),
        sa.Column("output", _long_text(), nullable=False),
        sa.Column("depends_on", _long_text(), nullable=False),
        sa.Column("invalidated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "node_id", name="pk_node_results"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_node_results_run_id_runs", ondelete="CASCADE"
        ),
        **_table_options(),
    )
    op.create_table(
        "run_events",
        sa.Column("seq", _ordinal(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("claimed_epoch", sa.BigInteger()),
        sa.Column("happened_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_run_events"),
        sa.UniqueConstraint("run_id", "version", name="uq_run_events_run_id_version"),
        sa.UniqueConstraint("run_id", "claimed_epoch", name="uq_run_events_run_id_claimed_epoch"),
        **_table_options(),
    )
    _create_triggers(op.get_bind().dialect.name)


def downgrade() -> None:
    _drop_triggers(op.get_bind().dialect.name)
    op.drop_table("run_events")
    op.drop_table("node_results")
    op.drop_index("ix_runs_workflow_codebase_conversation_id", table_name="runs")
    op.drop_table("runs")
