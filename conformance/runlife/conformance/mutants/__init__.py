"""The mutant zoo: deliberately broken SQL run stores the conformance kit must kill.

Each mutant re-creates one real bug (from the seed reports, and from the same bug families in
other job systems) as the smallest change to :class:`runlife.impl.SqlRunStore`: one statement
or one method. ``runlife check STORE --mutants`` hunts them all (family 5,
:mod:`~runlife.conformance.mutants.family`); :func:`run_zoo` does the same from Python, and
:func:`kill_figures` / :func:`rows` give the benchmark's seconds-to-kill.

Adding a mutant: write its class (a docstring naming the bug and where it is from, ``name``,
``origin``, and the one change) and add it to :data:`~runlife.conformance.mutants.registry.
REGISTRY`.
"""

from runlife.conformance.mutants.base import Mutant, Variant
from runlife.conformance.mutants.bench import kill_figures, rows
from runlife.conformance.mutants.registry import REGISTRY, all_mutants
from runlife.conformance.mutants.zoo import (
    CONTROL,
    Fate,
    ZooFigures,
    ZooResult,
    figures,
    hunt,
    run_zoo,
    table,
    zoo_passed,
)

__all__ = [
    "CONTROL",
    "REGISTRY",
    "Fate",
    "Mutant",
    "Variant",
    "ZooFigures",
    "ZooResult",
    "all_mutants",
    "figures",
    "hunt",
    "kill_figures",
    "rows",
    "run_zoo",
    "table",
    "zoo_passed",
]
