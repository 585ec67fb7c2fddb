"""Reports: the human summary, JSON and JUnit XML, on passing and failing stores."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

from tests.conformance.kit_helpers import BROKEN, MEMORY, opened, report

from runlife.conformance.families import matrix, tours
from runlife.conformance.progress import progress_for
from runlife.conformance.report import Report, check


def failing() -> Report:
    return report(f"{BROKEN}:resurrecting_cancel", tours.FAMILY, matrix.FAMILY)


def test_the_summary_is_a_table_then_the_failures_then_the_verdict() -> None:
    text = failing().summary()
    lines = text.splitlines()
    assert lines[0] == f"runlife check {BROKEN}:resurrecting_cancel  (profile quick, seed 7)"
    assert any(line.startswith("  0 transition tours") and "edges" in line for line in lines)
    assert any(line.startswith("  1 transition matrix") for line in lines)
    assert "failures:" in lines
    assert "- tours cancel_run[completed -> CancelOutcome, completed] (failed):" in lines
    assert lines[-1].startswith("FAILED: the store violates the spec in ")
    assert "not run (--families): 2 fuzz, 3 races" in text
    assert "partial check: core families left out" in text


def test_json_holds_every_case_and_every_counterexample() -> None:
    result = failing()
    data = json.loads(json.dumps(result.to_json()))
    assert data["exit_code"] == 1
    assert [f["name"] for f in data["families"]] == ["tours", "matrix"]
    cases = [c for f in data["families"] for c in f["cases"]]
    assert len(cases) == len(result.entries)
    assert {c["outcome"] for c in cases} == {"passed", "failed"}
    assert data["failures"] and all(f["steps"] and f["program"] for f in data["failures"])
    failed = sum(f["counts"]["failed"] for f in data["families"])
    assert failed == len(data["failures"])


def test_junit_has_one_testcase_per_case_named_after_the_method() -> None:
    result = failing()
    root = ET.fromstring(result.junit_xml())
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["runlife.tours", "runlife.matrix"]
    cases = root.iter("testcase")
    names = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(names) == len(result.entries)
    assert ("runlife.matrix.cancel_run", "cancel_run[from completed]") in names
    failures = [c for c in root.iter("testcase") if c.find("failure") is not None]
    assert len(failures) == sum(int(s.get("failures", "0")) for s in suites) > 0
    assert all(c.get("classname", "").endswith(".cancel_run") for c in failures)


def test_a_passing_report_says_so_and_exits_0() -> None:
    result = report(MEMORY, tours.FAMILY)
    assert result.exit_code == 0
    assert result.summary().splitlines()[-1].startswith("PASSED: 80 of 80 cases passed")
    root = ET.fromstring(result.junit_xml())
    assert not list(root.iter("failure")) and not list(root.iter("error"))


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    with opened(MEMORY) as kit:
        lines, bars = io.StringIO(), Terminal()
        check(kit, [tours.FAMILY], progress_for(lines))
        check(kit, [tours.FAMILY], progress_for(bars))
    assert lines.getvalue().splitlines()[0] == "0 transition tours: 80 edges"
    assert lines.getvalue().splitlines()[-1].startswith("0 transition tours: 80/80 edges done in")
    drawn = bars.getvalue()
    assert drawn.count("\r") == 1 + 80 + 1 and drawn.endswith("\n")  # start, cases, finish
    assert "[##############################] 80/80 edges" in drawn
