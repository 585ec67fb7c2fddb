"""Weakened specs: each re-creates one historical bug as a rule swapped into a machine.

``runlife explore --variant NAME`` explores one of them and must find its violation; the test
suite proves that for every variant, and that the correct spec has none. A variant is the
smallest change to the correct rule that brings the bug back, written beside its origin.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from runlife.spec import store
from runlife.spec.checker import Machine
from runlife.spec.core import Bounds, CoreMachine
from runlife.spec.records import Timing
from runlife.spec.results import CancelOutcome, RunAlreadyTerminal, Status
from runlife.spec.rules import CORRECT, Rules
from runlife.spec.store import Step, StoreState


@dataclass(frozen=True)
class Variant:
    """A named weakened spec: the bug it re-creates, where it came from, how to build it."""

    name: str
    description: str
    seed: str
    violates: str
    """The property whose violation shows this bug."""
    build: Callable[[], Machine[Any]]


# --- the weakened rules ----------------------------------------------------------------------


def resume_without_status_guard(
    s: StoreState, run_id: str, holder: str, t: Timing, expected_epoch: int | None = None
) -> Step:
    """Seed 001 before the fix: ``UPDATE ... SET status='running' WHERE id = $1``."""
    run = s.get(run_id)
    if run is None:
        return store.resume_run(s, run_id, holder, t)
    return store._claim(s, run, holder, t)


def resume_with_unbound_threshold(
    s: StoreState, run_id: str, holder: str, t: Timing, expected_epoch: int | None = None
) -> Step:
    """Seed 001, review C1: the day parameter was never bound, so ``last_activity_at < NULL``
    is never true and a stale orphan never matches."""
    return store.resume_run(s, run_id, holder, replace(t, stale_after=math.inf), expected_epoch)


def find_with_unbound_threshold(
    s: StoreState, workflow: str, conversation: str | None, codebase: str, t: Timing
) -> Step:
    """Seed 001, review C1, on the find side: the same unbound parameter."""
    return store.find_resumable(
        s, workflow, conversation, codebase, replace(t, stale_after=math.inf)
    )


def find_with_shorter_threshold(
    s: StoreState, workflow: str, conversation: str | None, codebase: str, t: Timing
) -> Step:
    """Seed 001: find bound one day while resume used three, so find offers orphans that
    resume then refuses."""
    shorter = Timing(lease_ttl=t.stale_after / 2, stale_after=t.stale_after / 2)
    return store.find_resumable(s, workflow, conversation, codebase, shorter)


def cancel_without_terminal_guard(s: StoreState, run_id: str) -> Step:
    """Seed 001 before the fix: cancel was ``WHERE id = $1`` and re-stamped finished runs."""
    run = s.get(run_id)
    if run is None or run.status not in (Status.COMPLETED, Status.CANCELLED):
        return store.cancel_run(s, run_id)
    after, _ = store.abandon_run(s.put(replace(run, status=Status.FAILED)), run_id)
    return after, CancelOutcome(run_id, True, Status.CANCELLED)


def cancel_always_reports_true(s: StoreState, run_id: str) -> Step:
    """Seed 001, review I1: the cancel route said "Cancelled" even when nothing changed."""
    after, result = store.cancel_run(s, run_id)
    if isinstance(result, CancelOutcome):
        return after, replace(result, cancelled=True)
    return after, result


def abandon_refusing_failed(s: StoreState, run_id: str) -> Step:
    """Seed 000: abandon rejected failed runs as "already terminal", leaving no escape."""
    run = s.get(run_id)
    if run is not None and run.status is Status.FAILED:
        return s, RunAlreadyTerminal(run_id, run.status)
    return store.abandon_run(s, run_id)


def start_overwriting_cancel(s: StoreState, run_id: str, holder: str, t: Timing) -> Step:
    """A pending->running update without a status guard: a cancel that won first is lost."""
    run = s.get(run_id)
    if run is None or run.status is not Status.CANCELLED:
        return store.start_run(s, run_id, holder, t)
    return store.start_run(s.put(replace(run, status=Status.PENDING)), run_id, holder, t)


def complete_without_fencing(s: StoreState, run_id: str, epoch: int) -> Step:
    """Orphan recovery without fencing: a recovered run's old executor can still complete it."""
    run = s.get(run_id)
    if run is None or run.claim is None:
        return store.complete_run(s, run_id, epoch)
    return store.complete_run(s, run_id, run.claim.epoch)


# --- the registry ----------------------------------------------------------------------------


def _core(rules: Rules, bounds: Bounds | None = None) -> Callable[[], Machine[Any]]:
    return lambda: CoreMachine(bounds, rules)


CORE_VARIANTS: tuple[Variant, ...] = (
    Variant(
        "resume_without_status_guard",
        "resume is UPDATE ... WHERE id = ?: two racing resumers both claim the run",
        "001",
        "no_double_claim",
        _core(replace(CORRECT, resume_run=resume_without_status_guard)),
    ),
    Variant(
        "stale_threshold_unbound",
        "the orphan threshold parameter is never bound, so a stale running run never matches",
        "001",
        "orphan_recoverable",
        _core(
            replace(
                CORRECT,
                resume_run=resume_with_unbound_threshold,
                find_resumable=find_with_unbound_threshold,
            )
        ),
    ),
    Variant(
        "find_resume_thresholds_differ",
        "find uses a shorter orphan threshold than resume, so resume refuses what find offered",
        "001",
        "find_and_resume_agree",
        _core(replace(CORRECT, find_resumable=find_with_shorter_threshold)),
    ),
    Variant(
        "cancel_without_terminal_guard",
        "cancel is UPDATE ... WHERE id = ?: it resurrects and re-stamps finished runs",
        "001",
        "terminal_is_final",
        _core(replace(CORRECT, cancel_run=cancel_without_terminal_guard)),
    ),
    Variant(
        "cancel_always_true",
        "cancel reports cancelled=true even when the run had already finished",
        "001",
        "cancel_is_truthful",
        _core(replace(CORRECT, cancel_run=cancel_always_reports_true)),
    ),
    Variant(
        "abandon_refuses_failed",
        "abandon rejects failed runs as terminal, so a failed run cannot be discarded",
        "000",
        "abandon_escapes",
        _core(replace(CORRECT, abandon_run=abandon_refusing_failed)),
    ),
    Variant(
        "start_overwrites_cancel",
        "pending->running has no status guard: a start after a cancel brings the run back",
        "001",
        "cancel_sticks",
        _core(replace(CORRECT, start_run=start_overwriting_cancel)),
    ),
    Variant(
        "recovery_without_fencing",
        "a recovered run's old, frozen executor can still complete it (no epoch check)",
        "001",
        "no_stale_write",
        _core(replace(CORRECT, complete_run=complete_without_fencing)),
    ),
)


def all_variants() -> Iterator[Variant]:
    """The core variants, then each smaller machine's."""
    yield from CORE_VARIANTS
    from runlife.spec.machines import SUBMACHINE_VARIANTS

    yield from SUBMACHINE_VARIANTS()


def find_variant(name: str) -> Variant | None:
    return next((v for v in all_variants() if v.name == name), None)
