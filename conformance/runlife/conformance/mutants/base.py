"""What a mutant is: the SQL run store with one statement or one method changed.

A :class:`Mutant` is a :class:`~runlife.impl.SqlRunStore` subclass. Most swap the guarded
UPDATE of one operation (:attr:`Variant.swaps`); the statement helpers here derive the swapped
statement from the store's own (:func:`with_guard`, :func:`rebound`, :func:`without`), so a
mutant states only what it changes. A few override one method instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, cast

from sqlalchemy import BindParameter, Column, ColumnElement, and_
from sqlalchemy.sql.visitors import replacement_traverse

from runlife.impl import statements as sql
from runlife.impl.dialects import Cas, guarded_update
from runlife.impl.schema import runs
from runlife.impl.sql_store import SqlRunStore

BACKENDS = frozenset({"sqlite", "postgresql", "mysql"})
"""Every backend runlife supports, by SQLAlchemy backend name."""

BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MySQL/MariaDB"}


class Variant(SqlRunStore):
    """The SQL run store with the guarded UPDATE of some operations swapped.

    ``swaps`` maps an operation's action name (as the store names it in its event log:
    ``resume``, ``cancel``, ``heartbeat``...) to the statement it runs instead.
    """

    swaps: ClassVar[Mapping[str, Cas]] = {}

    def _statement(self, action: str, cas: Cas) -> Cas:
        return self.swaps.get(action, cas)


class Mutant(Variant):
    """A deliberately broken SQL run store. The docstring names the bug and where it is from.

    ``name`` is how tables and tests call it, ``origin`` the short citation, and
    ``applies_to`` the backends where the bug can exist at all (elsewhere the zoo reports it
    "not applicable here").
    """

    name: ClassVar[str]
    origin: ClassVar[str]
    applies_to: ClassVar[frozenset[str]] = BACKENDS


def assignments(cas: Cas) -> list[tuple[Column[Any], Any]]:
    """The SET clause of ``cas``'s UPDATE, in order."""
    values = cas.update._values
    assert values is not None
    return [(cast(Column[Any], column), value) for column, value in values.items()]


def guard(cas: Cas) -> ColumnElement[bool]:
    """The guard of ``cas``'s UPDATE (its WHERE clause without the run's key)."""
    _key, *guards = cas.update._where_criteria
    return and_(*guards)


def answer(cas: Cas) -> list[Column[Any]]:
    """The columns ``cas`` answers with."""
    return [runs.c[column.name] for column in cas.read_back.selected_columns]


def with_guard(cas: Cas, new_guard: ColumnElement[bool]) -> Cas:
    """``cas`` guarded by ``new_guard`` instead: the same row, the same SET, the same answer."""
    return guarded_update(runs, sql.THE_RUN, new_guard, assignments(cas), answer(cas))


def rebound(cas: Cas, parameter: str, replacement: ColumnElement[Any]) -> Cas:
    """``cas`` with ``replacement`` wherever its guard reads the bind parameter ``parameter``."""

    def swap(element: Any, **_: Any) -> Any:
        return (
            replacement if isinstance(element, BindParameter) and element.key == parameter else None
        )

    return with_guard(cas, replacement_traverse(guard(cas), {}, swap))


def without(cas: Cas, column: Column[Any]) -> Cas:
    """``cas`` no longer assigning ``column``: the same guard, the rest of the SET, the answer."""
    kept = [(target, value) for target, value in assignments(cas) if target is not column]
    return guarded_update(runs, sql.THE_RUN, guard(cas), kept, answer(cas))
