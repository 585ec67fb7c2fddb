"""The registry of test families, in the order they run.

Each entry names a module that defines ``FAMILY`` (a :class:`runlife.conformance.kit.Family`).
Adding a family is adding one line here. Modules are imported only when the kit runs, so the
pytest plugin costs nothing when it is not used.
"""

from __future__ import annotations

import importlib

from runlife.conformance.kit import Family

REGISTRY: tuple[str, ...] = (
    "runlife.conformance.families.tours",
    "runlife.conformance.families.matrix",
    "runlife.conformance.families.fuzz",
    "runlife.conformance.families.races",
    "runlife.conformance.families.seeds",
    "runlife.conformance.families.faults",
    "runlife.conformance.mutants.family",
)


def all_families() -> list[Family]:
    """Every registered family, by number."""
    families = [importlib.import_module(name).FAMILY for name in REGISTRY]
    return sorted(families, key=lambda f: f.number)


def select(names: str | None, opt_in: bool = False) -> list[Family]:
    """The families a ``--families`` list names (by name or number), or every family that is
    not opt-in; ``opt_in`` adds the opt-in ones (the mutant zoo).

    Raises ``ValueError`` naming an unknown family and the known ones.
    """
    families = all_families()
    if not names:
        return [f for f in families if opt_in or not f.opt_in]
    by_name = {f.name: f for f in families} | {str(f.number): f for f in families}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in by_name]
    if unknown:
        known = ", ".join(f"{f.number}={f.name}" for f in families)
        raise ValueError(f"unknown family {', '.join(unknown)}; known families: {known}")
    chosen = {by_name[n].number: by_name[n] for n in wanted}
    chosen |= {f.number: f for f in families if opt_in and f.opt_in}
    return [chosen[k] for k in sorted(chosen)]
