"""Opening a store from a URL: what it declares, and one clear line when the URL is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import StoreFactory
from tests.impl.store_helpers import claimed

from runlife.impl import ManualClock, SqlRunStore, StoreConfigError, StoreUnavailable
from runlife.impl.isolation import isolated_url
from runlife.spec.contract import Capability, RunStore, missing_methods
from runlife.spec.records import Timing

BAD_URLS = {
    "ftp://example.com/runs": "unsupported store URL scheme 'ftp://'",
    "postgres://u@h/db": "unsupported store URL scheme 'postgres://'",
    "postgresql+psycopg2://u@h/db": "driver 'psycopg2' is not supported for postgresql",
    "mysql+mysqldb://u@h/db": "driver 'mysqldb' is not supported for mysql",
    "runs.db": "is not a database URL",
}


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_url_with_a_wrong_scheme_is_a_one_line_config_error(url: str) -> None:
    with pytest.raises(StoreConfigError) as refused:
        SqlRunStore.from_url(url)
    message = str(refused.value)
    assert BAD_URLS[url] in message and "\n" not in message
    assert "sqlite:///path.db" in message or "use " in message  # it names the fix


UNREACHABLE = {
    "postgresql+psycopg://postgres@127.0.0.1:1/test": "postgresql at 127.0.0.1:1/test",
    "mysql+pymysql://root@127.0.0.1:1/test": "mysql at 127.0.0.1:1/test",
    "postgresql+psycopg://postgres@no-such-host.invalid/test": "no-such-host.invalid",
}


@pytest.mark.parametrize("url", UNREACHABLE)
def test_an_unreachable_server_is_a_one_line_unavailable_error(url: str) -> None:
    with pytest.raises(StoreUnavailable) as refused:
        SqlRunStore.from_url(url, connect_timeout=3)
    message = str(refused.value)
    assert UNREACHABLE[url] in message and "\n" not in message
    assert "check that the database is running and the URL is right" in message


def test_a_sqlite_file_in_a_missing_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="does not exist; create it"):
        SqlRunStore.from_url(f"sqlite:///{tmp_path / 'nope' / 'runs.db'}")


def test_sqlite_refuses_an_isolation_level() -> None:
    with pytest.raises(StoreConfigError, match="SQLite write transactions"):
        SqlRunStore.from_url("sqlite://", isolation_level="SERIALIZABLE")


def test_an_isolated_namespace_needs_a_server_and_a_plain_name() -> None:
    with pytest.raises(StoreConfigError, match="SQLite has no namespaces"):
        isolated_url("sqlite:///x.db", "abc")
    with pytest.raises(StoreConfigError, match="lowercase letters"):
        isolated_url("postgresql+psycopg://u@h/db", "Robert'); DROP TABLE students;--")


def test_an_in_memory_store_is_a_run_store_for_this_process_only() -> None:
    with SqlRunStore.from_url("sqlite://") as store:
        assert isinstance(store, RunStore) and missing_methods(store) == []
        assert store.capabilities == {Capability.RESET}
        assert store.timing == Timing(lease_ttl=30, stale_after=60)
        with pytest.raises(StoreConfigError, match="in-memory SQLite store"):
            store.connect_url()
        with pytest.raises(StoreConfigError, match="clock=ManualClock"):
            store.advance_clock(1)


def test_a_store_with_a_manual_clock_declares_it(make_store: StoreFactory) -> None:
    store = make_store(clock=ManualClock(), timing=Timing(lease_ttl=3, stale_after=5))
    assert store.capabilities == {Capability.CLOCK, Capability.RESET, Capability.PROCESSES}
    assert missing_methods(store) == []
    store.advance_clock(4)
    assert store.now() == 4
    run_id, _ = claimed(store)
    assert store.get_run(run_id).claim.lease_expires == 7  # type: ignore[union-attr]


def test_connect_url_opens_the_same_store(make_store: StoreFactory) -> None:
    store = make_store()
    run_id, _ = claimed(store)
    with SqlRunStore.from_url(store.connect_url(), migrate=False) as other:
        assert other.get_run(run_id) == store.get_run(run_id)
