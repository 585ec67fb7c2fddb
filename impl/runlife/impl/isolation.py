"""Private namespaces on a shared server, so concurrent tests and tools never see each other.

On PostgreSQL a namespace is a schema in the URL's database, selected through ``search_path``
in the returned URL; on MySQL and MariaDB it is a database of its own. SQLite has no such thing:
give each user its own file (or ``sqlite://``) instead.
"""

from __future__ import annotations

import re

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from runlife.impl.dialects import make_engine, parse_url, unavailable
from runlife.impl.errors import StoreConfigError

NAMESPACE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _checked(url: str, name: str) -> URL:
    if not NAMESPACE.fullmatch(name):
        raise StoreConfigError(
            f"namespace {name!r} must be 1-63 lowercase letters, digits or underscores, "
            "not starting with a digit"
        )
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        raise StoreConfigError(
            "SQLite has no namespaces; give each store its own file (sqlite:///path.db)"
        )
    return parsed


def _execute(url: URL, statement: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(statement))
    except OperationalError as error:
        raise unavailable(url, error) from error
    finally:
        engine.dispose()


def isolated_url(url: str, name: str) -> str:
    """The URL of namespace ``name`` on the server behind ``url``, created if missing."""
    parsed = _checked(url, name)
    if parsed.get_backend_name() == "postgresql":
        _execute(parsed, f"CREATE SCHEMA IF NOT EXISTS {name}")
        private = parsed.update_query_dict({"options": f"-csearch_path={name}"})
    else:
        _execute(parsed, f"CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4")
        private = parsed.set(database=name)
    return private.render_as_string(hide_password=False)


def drop_isolated(url: str, name: str) -> None:
    """Drop namespace ``name`` and everything in it (nothing happens if it does not exist)."""
    parsed = _checked(url, name)
    if parsed.get_backend_name() == "postgresql":
        _execute(parsed, f"DROP SCHEMA IF EXISTS {name} CASCADE")
    else:
        _execute(parsed, f"DROP DATABASE IF EXISTS {name}")
