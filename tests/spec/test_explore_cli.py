"""``runlife explore``: exit codes, one-line errors, and counterexamples drawn as pictures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runlife.conformance.cli import EXIT_BROKEN, EXIT_OK, EXIT_VIOLATION, main
from runlife.conformance.render import source_hash, stamped_hash
from runlife.spec import diagram
from runlife.spec.checker import explore
from runlife.spec.variants import find_variant

SMALL = ["--runs", "1", "--actors", "2", "--ticks", "2", "--epochs", "2"]


def test_a_variant_exits_1_and_draws_its_double_claim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = tmp_path / "double-claim.svg"
    code = main(
        ["explore", "--variant", "resume_without_status_guard", "--trace-svg", str(picture)]
    )
    assert code == EXIT_VIOLATION
    assert f"counterexample drawn as a sequence diagram: {picture}" in capsys.readouterr().out
    svg = picture.read_text()
    lanes = re.findall(r"<text [^>]*>(user|a0|a1|store)</text>", svg)
    assert lanes[:4] == ["user", "a0", "a1", "store"]
    assert svg.count("Claimed(run_id=&#39;r0&#39;, holder=&#39;a") == 2
    assert "no_double_claim" in svg
    variant = find_variant("resume_without_status_guard")
    assert variant is not None
    machine = variant.build()
    violation = next(
        v
        for v in explore(machine, stop_at=variant.violates).violations
        if v.property == variant.violates
    )
    dot = diagram.sequence_to_dot(diagram.counterexample(violation, machine.describe))
    assert stamped_hash(picture.read_bytes()) == source_hash(dot)


def test_the_correct_spec_draws_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    picture = tmp_path / "none.svg"
    assert main(["explore", *SMALL, "--trace-svg", str(picture)]) == EXIT_OK
    assert "properties hold" in capsys.readouterr().out
    assert not picture.exists()


def test_a_trace_svg_into_a_missing_directory_fails_before_exploring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = tmp_path / "missing" / "t.svg"
    code = main(["explore", "--variant", "cancel_always_true", "--trace-svg", str(picture)])
    assert code == EXIT_BROKEN
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "is not a directory" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--variant", "nope"], "no variant named 'nope'"),
        (["--model", "nope"], "no model named 'nope'"),
        (["--runs", "0"], "--runs must be a positive number"),
        (["--lease-ttl", "3", "--stale-after", "2"], "must be at least lease_ttl"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["explore", *args]) == EXIT_BROKEN
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_listing_variants_names_each_with_its_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--list-variants"]) == EXIT_OK
    out = capsys.readouterr().out
    assert re.search(r"^resume_without_status_guard .*\(seed 001\)$", out, re.M)
