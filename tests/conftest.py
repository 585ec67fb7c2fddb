"""Shared fixtures: a database URL per backend, and fresh, isolated SQL run stores.

``store_url`` runs a test once per backend: ``sqlite`` (a file in the test's temporary
directory), ``postgres`` (``RUNLIFE_PG_URL``) and ``mysql`` (``RUNLIFE_MYSQL_URL``, MariaDB or
MySQL). On a server each test gets a private namespace (a PostgreSQL schema, a MySQL database)
that is dropped afterwards, so tests running at the same time never see each other's rows.

``make_store`` opens stores on a migrated private database that each test starts by emptying;
``store_url`` gives a new empty one (no tables) for tests of opening and migrating.

A server that cannot be reached skips the test with the reason, except when ``CI=true``: then
it fails, so a CI run can never pass without the databases.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import create_engine, text

from runlife.impl import ManualClock, SqlRunStore
from runlife.impl.dialects import first_line, parse_url
from runlife.impl.isolation import drop_isolated, isolated_url

SERVERS: dict[str, tuple[str, str]] = {
    "postgres": ("RUNLIFE_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mysql": ("RUNLIFE_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
"""Backend -> (the environment variable naming its URL, the URL used when it is unset)."""

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", id="mysql", marks=pytest.mark.mysql),
]

StoreFactory = Callable[..., SqlRunStore]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


@functools.cache
def _unreachable(url: str) -> str | None:
    """Why the server behind ``url`` cannot be used, or None (asked once per session)."""
    engine = create_engine(parse_url(url), connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except Exception as error:
        return first_line(error)
    finally:
        engine.dispose()


def server_url(backend: str) -> str:
    """The base URL of ``backend``'s server; skips (fails under CI=true) when it is down."""
    variable, default = SERVERS[backend]
    url = os.environ.get(variable, default)
    problem = _unreachable(url)
    if problem is not None:
        message = f"{backend} at {variable}={url} is not reachable: {problem}"
        if in_ci():
            pytest.fail(f"{message} (CI=true: the database tests must run)")
        pytest.skip(f"{message}; start it or set {variable}")
    return url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The backend under test: ``sqlite``, ``postgres`` or ``mysql``."""
    name: str = request.param
    return name


def _private_url(backend: str, directory: Path, drops: list[tuple[str, str]]) -> str:
    """A URL to a new, empty private database of ``backend``; servers' are listed in ``drops``."""
    if backend == "sqlite":
        return f"sqlite:///{directory / f'runs-{uuid4().hex[:8]}.db'}"
    base = server_url(backend)
    namespace = f"rl_{uuid4().hex[:20]}"
    url = isolated_url(base, namespace)
    drops.append((base, namespace))
    return url


class SharedDatabases:
    """One migrated private database per backend for the whole session.

    Stores made by ``make_store`` live there; each test starts by emptying it (``reset()``),
    which is much faster than creating and migrating a database per test.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.drops: list[tuple[str, str]] = []
        self.urls: dict[str, str] = {}

    def url(self, backend: str) -> str:
        if backend not in self.urls:
            url = _private_url(backend, self.directory, self.drops)
            SqlRunStore.from_url(url).close()
            self.urls[backend] = url
        return self.urls[backend]


@pytest.fixture(scope="session")
def shared_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedDatabases]:
    shared = SharedDatabases(tmp_path_factory.mktemp("shared"))
    yield shared
    for base, namespace in shared.drops:
        drop_isolated(base, namespace)


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL to a new, empty, private database of ``backend`` (no tables), dropped afterwards."""
    drops: list[tuple[str, str]] = []
    try:
        yield _private_url(backend, tmp_path, drops)
    finally:
        for base, namespace in drops:
            drop_isolated(base, namespace)


@pytest.fixture
def make_store(backend: str, shared_databases: SharedDatabases) -> Iterator[StoreFactory]:
    """Open stores on an emptied private database of ``backend``: ``make_store(clock=...)``.

    Options are those of ``SqlRunStore.from_url``. All stores of one test share the database
    (as separate clients would); the first one empties it. All are closed after the test.
    """
    url = shared_databases.url(backend)
    opened: list[SqlRunStore] = []

    def make(**options: Any) -> SqlRunStore:
        options.setdefault("migrate", False)
        store = SqlRunStore.from_url(url, **options)
        if not opened:
            store.reset()
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: StoreFactory) -> SqlRunStore:
    """A fresh store on each backend, on a manual clock starting at 0, default timing."""
    return make_store(clock=ManualClock())


@pytest.fixture
def memory_store() -> Iterator[SqlRunStore]:
    """An in-memory SQLite store on a manual clock (fast; this process only)."""
    with SqlRunStore.from_url("sqlite://", clock=ManualClock()) as store:
        yield store
