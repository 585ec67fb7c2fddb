"""Why a SQL run store could not be opened or could not answer.

Refusals (a lost race, a stale epoch, bad input) are values, never these. These exceptions mean
the store itself cannot do its job; each message is one line naming the problem and the fix.
"""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot answer; ``str(error)`` is a one-line explanation with the fix."""


class StoreConfigError(StoreError, ValueError):
    """The URL or an option is wrong (unknown scheme, missing driver, bad schema name)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened (server down, wrong host, unwritable file)."""


class StoreBusy(StoreError):
    """The database kept aborting the transaction (serialization failures, deadlocks)."""
