"""The registry of mutants, in the order the zoo hunts them.

Each entry is ``module:Class`` naming a :class:`~runlife.conformance.mutants.base.Mutant`.
Adding a mutant is writing its class and adding one line here.
"""

from __future__ import annotations

import importlib

from runlife.conformance.mutants.base import Mutant

REGISTRY: tuple[str, ...] = (
    "runlife.conformance.mutants.claims:UnguardedResume",
    "runlife.conformance.mutants.claims:ReadThenWriteResume",
    "runlife.conformance.mutants.claims:UnboundStaleThreshold",
    "runlife.conformance.mutants.claims:SplitThresholds",
    "runlife.conformance.mutants.finishes:ResurrectingCancel",
    "runlife.conformance.mutants.finishes:CancelAlwaysTrue",
    "runlife.conformance.mutants.finishes:AbandonRefusesFailed",
    "runlife.conformance.mutants.claims:UnguardedStart",
    "runlife.conformance.mutants.claims:UnfencedComplete",
    "runlife.conformance.mutants.claims:LeakyHeartbeat",
    "runlife.conformance.mutants.backends:DeferredSqliteBegin",
    "runlife.conformance.mutants.backends:AffectedRowsNodeWrite",
    "runlife.conformance.mutants.cache:NodeIdCacheKey",
    "runlife.conformance.mutants.claims:UnfencedHeartbeat",
    "runlife.conformance.mutants.claims:ClaimKeepsActivity",
    "runlife.conformance.mutants.faults:UnfencedSideWrites",
    "runlife.conformance.mutants.faults:WriteBehindFinish",
)


def all_mutants() -> list[type[Mutant]]:
    """Every registered mutant, in registry order."""
    found = []
    for entry in REGISTRY:
        module, _, name = entry.partition(":")
        found.append(getattr(importlib.import_module(module), name))
    return found
