"""Fault tests: real leases in seconds, the database's clock, and a post-run check after each.

Every test here that opens stores with ``make_store`` ends with the post-run invariant check
over the whole tables of its backend (:func:`runlife.impl.post_run_sql.breaches`), unless it is
marked ``breaks_invariants`` (it corrupts rows on purpose to see the checker catch them).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
from tests.conftest import SharedDatabases

from runlife.conformance.concurrency import StoreUnderTest
from runlife.impl import SqlRunStore
from runlife.impl.post_run_sql import breaches
from runlife.spec.records import Timing

FAULT_TIMING = Timing(lease_ttl=1, stale_after=1.5)
"""Short real leases: a killed executor's run is recoverable 1.5 s after its last activity."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "restarts_database: restarts the PostgreSQL server (breaks concurrent database tests; "
        "CI runs tests one at a time)",
    )
    config.addinivalue_line(
        "markers", "breaks_invariants: corrupts rows on purpose; no post-run check afterwards"
    )


@pytest.fixture(autouse=True)
def post_run_check(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the test: the post-run invariants hold over every run of its backend's tables."""
    checked = "make_store" in request.fixturenames and not request.node.get_closest_marker(
        "breaks_invariants"
    )
    if checked:
        backend: str = request.getfixturevalue("backend")
        shared: SharedDatabases = request.getfixturevalue("shared_databases")
    yield
    if checked:
        url = shared.url(backend)
        with SqlRunStore.from_url(url, timing=FAULT_TIMING, migrate=False) as store:
            found = breaches(store)
        assert not found, "post-run check:\n" + "\n".join(map(str, found))


def under_test(store: SqlRunStore, name: str = "sql") -> StoreUnderTest:
    """``store``'s database as the fault scenarios reach it: new connections and processes."""
    url = store.connect_url()
    return StoreUnderTest(
        functools.partial(SqlRunStore.from_url, url, timing=store.timing, migrate=False),
        name,
        functools.partial(SqlRunStore.from_url, timing=store.timing, migrate=False),
    )
