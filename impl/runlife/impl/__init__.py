"""runlife.impl: the SQL reference run store (SQLAlchemy Core) and the reference orchestrator."""

from runlife.impl.clock import ManualClock
from runlife.impl.errors import StoreBusy, StoreConfigError, StoreError, StoreUnavailable
from runlife.impl.sql_store import SqlRunStore

__all__ = [
    "ManualClock",
    "SqlRunStore",
    "StoreBusy",
    "StoreConfigError",
    "StoreError",
    "StoreUnavailable",
]
