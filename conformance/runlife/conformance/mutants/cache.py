"""Mutants of the node cache (seed 002)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import mysql, postgresql, sqlite

from runlife.conformance.mutants.base import Mutant
from runlife.impl.schema import node_results


def _first_write_wins(dialect_name: str) -> Insert:
    """Insert a node result unless one is already recorded under its node id."""
    if dialect_name == "mysql":
        return mysql.insert(node_results).prefix_with("IGNORE")
    native = (
        postgresql.insert(node_results)
        if dialect_name == "postgresql"
        else sqlite.insert(node_results)
    )
    return native.on_conflict_do_nothing(index_elements=list(node_results.primary_key))


class NodeIdCacheKey(Mutant):
    """The node cache is keyed by node id alone: a new identity never replaces the old result.

    Seed 002 (Archon #1391): a producer that exited 0 with bad output stays cached across
    resumes however its definition changes; the only escape was renaming the node. Here the
    store keeps the first result recorded under a node id and drops every later one, so a
    changed definition (a new identity) or a re-run after invalidation is answered from the
    stale entry.
    """

    name = "node-id-cache-key"
    origin = "seed 002"

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._upsert_node = _first_write_wins(self.engine.dialect.name)
