"""Create or upgrade the SQL run store's schema by running its Alembic migrations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

from runlife.impl.dialects import migration_lock

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection) -> Config:
    """An Alembic configuration that migrates over ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    with engine.connect() as connection, migration_lock(connection), connection.begin():
        step(alembic_config(connection), revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database behind ``engine`` to ``revision``, safely under concurrent callers."""
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database behind ``engine`` back to ``revision`` (``"base"``: no tables)."""
    _migrate(engine, command.downgrade, revision)
