"""Family 5, the mutant zoo (opt-in: ``runlife check STORE --mutants``).

One case per registered mutant: the kit's other families hunt it, at the quick profile and with
the check's ``--seed``, on a fresh private store of the same database (see
:mod:`runlife.conformance.mutants.zoo`). The case passes when a family
kills the mutant, fails when it survives them all, and is not exercised when the bug cannot
exist on this backend. The report adds the zoo's table: mutant, origin, seconds to kill,
killed by family and case, and "killed N of M". The correct store itself is checked by the
other families of the same ``runlife check``.
"""

from __future__ import annotations

from collections.abc import Callable

from runlife.conformance.kit import Case, Family, Kit, Outcome, Verdict
from runlife.conformance.mutants.base import Mutant
from runlife.conformance.mutants.registry import all_mutants
from runlife.conformance.mutants.zoo import Fate, ZooResult, hunt, table
from runlife.impl import SqlRunStore

VERDICTS = {
    Fate.KILLED: Outcome.PASSED,
    Fate.SURVIVED: Outcome.FAILED,
    Fate.NOT_APPLICABLE: Outcome.NOT_EXERCISED,
    Fate.ERROR: Outcome.BROKEN,
}

NEEDS_A_DATABASE = (
    "not exercised: the mutants are SqlRunStore variants; give STORE as a database URL"
)


def database_url(kit: Kit) -> str | None:
    """The URL of the database the kit checks, when STORE names the SQL store."""
    store = getattr(kit.store, "inner", kit.store)
    if not isinstance(store, SqlRunStore):
        return None
    return store.engine.url.render_as_string(hide_password=False)


def verdict(result: ZooResult) -> Verdict:
    """The zoo's result as the case's verdict; the table reads it back from ``detail``."""
    if result.fate is Fate.KILLED:
        message = f"killed by {result.family}: {result.case} in {result.seconds:.2f} s"
    elif result.fate is Fate.SURVIVED:
        message = f"survived every family in {result.seconds:.1f} s: the kit misses this bug"
    else:
        message = f"{result.fate}: {result.message}"
    return Verdict(VERDICTS[result.fate], message, detail=result.to_data())


def _case(mutant: type[Mutant]) -> Callable[[Kit], Verdict]:
    def check(kit: Kit) -> Verdict:
        url = database_url(kit)
        if url is None:
            return Verdict(Outcome.NOT_EXERCISED, NEEDS_A_DATABASE)
        return verdict(hunt(mutant, url, seed=kit.seed, timeout=kit.timeout))

    return check


def cases(kit: Kit) -> list[Case]:
    return [Case(m.name, "mutant", _case(m)) for m in all_mutants()]


def summarize(results: list[tuple[Case, Verdict]]) -> list[str]:
    """The zoo's table, from the results the cases left in their verdicts."""
    found = [ZooResult.from_data(v.detail) for _, v in results if v.detail]
    return table(found) if found else []


FAMILY = Family(5, "mutants", "mutant zoo", cases, opt_in=True, unit="mutants", summarize=summarize)
