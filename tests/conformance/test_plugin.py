"""The pytest plugin: ``--runlife-store`` turns the kit's cases into tests of the session."""

from __future__ import annotations

import pytest
from tests.conformance.kit_helpers import BROKEN, MEMORY, opened

from runlife.conformance.families import matrix, tours
from runlife.conformance.kit import Family

pytest_plugins = ["pytester"]

OWN_TEST = """
import sys

def test_the_authors_own_test():
    assert "runlife.conformance.kit" not in sys.modules
"""


def test_without_the_option_the_plugin_adds_and_imports_nothing(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_own=OWN_TEST)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def cases(*families: Family) -> int:
    with opened(MEMORY) as kit:
        return sum(len(family.cases(kit)) for family in families)


def test_the_option_runs_every_case_of_the_chosen_families(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_own="def test_own():\n    pass\n")
    result = pytester.runpytest(
        f"--runlife-store={MEMORY}", "--runlife-families=tours,matrix", "--runlife-seed=1", "-q"
    )
    result.assert_outcomes(passed=1 + cases(tours.FAMILY, matrix.FAMILY))


def test_cases_are_named_by_family_and_case_and_selectable(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        f"--runlife-store={MEMORY}",
        "--runlife-families=matrix",
        "-k",
        "abandon_run and failed",
        "--collect-only",
        "-q",
    )
    assert "runlife/matrix::abandon_run[from failed]" in result.outlines


def test_a_failing_store_fails_its_cases_with_a_program_to_rerun(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest(
        f"--runlife-store={BROKEN}:abandon_refusing_failed", "--runlife-families=matrix"
    )
    result.assert_outcomes(passed=cases(matrix.FAMILY) - 1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*runlife matrix abandon_run[[]from failed[]]",
            "failed: step 4, user: abandon_run('r0'): result: *RunAlreadyTerminal*",
            "*p.abandon_run(r0)*",
        ]
    )


def test_cases_a_store_cannot_support_are_skipped_with_the_reason(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest(
        f"--runlife-store={BROKEN}:WithoutClock", "--runlife-families=matrix", "-rs"
    )
    outcomes = result.parseoutcomes()
    assert outcomes["skipped"] > 0 and "failed" not in outcomes
    result.stdout.fnmatch_lines(["*not exercised: needs clock*"])


def test_the_store_can_be_named_in_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"[pytest]\nrunlife_store = {MEMORY}\n")
    result = pytester.runpytest("--runlife-families=tours", "-q")
    result.assert_outcomes(passed=80)


def test_a_store_that_cannot_be_opened_is_one_failing_test(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(f"--runlife-store={BROKEN}:not_a_store")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*runlife cannot check*not_a_store() returned dict*"])
