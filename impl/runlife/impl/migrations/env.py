"""Alembic environment: migrations run on the connection :mod:`runlife.impl.migrate` passes in.

SQLite runs in batch mode (it cannot ALTER most things in place). A batch migration re-creates
the table, so one that touches ``runs`` must re-create the event triggers of revision 0001.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from runlife.impl.schema import metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            "runlife migrations run through runlife.impl.migrate.upgrade(engine), "
            "or SqlRunStore.from_url(url) / create_schema()"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("runlife migrations need a live connection (offline SQL is not supported)")
run_migrations_online()
