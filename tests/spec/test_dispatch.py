"""Dispatch (seed 000): the policy on the reference store, and the machine with its variants."""

from __future__ import annotations

import pytest

from runlife.spec import store
from runlife.spec.checker import explore, format_counterexample
from runlife.spec.dispatch import (
    VARIANTS,
    AlreadyBeingResumed,
    ClaimOutcome,
    Continued,
    ContinueRun,
    DispatchBounds,
    DispatchDecision,
    DispatchMachine,
    DispatchRequest,
    PromptForFailedRun,
    StartFresh,
    decide_dispatch,
    dispatch_outcome_after_claim,
    format_outcome,
    format_prompt,
    preview,
    resume_request,
    shell_quote,
)
from runlife.spec.records import Conversation, GateSpec, NewRun, Run, Timing
from runlife.spec.reference import ModelStore
from runlife.spec.results import (
    CancelOutcome,
    Claimed,
    Created,
    Found,
    GateDecision,
    InvalidInput,
    Platform,
    RunNotFound,
    RunNotResumable,
    Status,
)
from runlife.spec.store import StoreState
from runlife.spec.variants import Variant

RACE_TIMING = Timing(lease_ttl=30, stale_after=60)

CHAT = Conversation("chat-1", Platform.WEB)


def request(message: str, **options: object) -> DispatchRequest:
    return DispatchRequest("fix", message, CHAT.id, **options)  # type: ignore[arg-type]


class Orchestrator:
    """The smallest orchestrator that follows the policy against the reference store."""

    def __init__(self) -> None:
        self.store = ModelStore(Timing(lease_ttl=30, stale_after=60))
        self.executed: list[tuple[str, str]] = []
        """(run id, message handed to it) for every run that was started or continued."""

    def dispatch(self, req: DispatchRequest) -> DispatchDecision | ClaimOutcome:
        found = self.store.find_resumable(req.workflow, req.conversation_id, req.codebase)
        assert isinstance(found, Found)
        candidate = self.get(found.run_id) if found.run_id is not None else None
        decision = decide_dispatch(req, candidate)
        match decision:
            case StartFresh(message=message):
                created = self.store.create_run(NewRun(req.workflow, message, conversation=CHAT))
                assert isinstance(created, Created)
                assert isinstance(self.store.start_run(created.run_id, "orchestrator"), Claimed)
                self.executed.append((created.run_id, message))
            case ContinueRun(run_id=run_id, message=message):
                claim = self.store.resume_run(run_id, "orchestrator")
                outcome = dispatch_outcome_after_claim(decision, claim)
                if isinstance(outcome, Continued):
                    self.executed.append((run_id, message))
                return outcome
        return decision

    def get(self, run_id: str) -> Run:
        run = self.store.get_run(run_id)
        assert isinstance(run, Run)
        return run

    def failed_run(self, message: str, force: bool = False) -> Run:
        self.dispatch(request(message, force=force))
        run_id, _ = self.executed[-1]
        self.store.fail_run(run_id, self.get(run_id).epoch, "parse-args failed")
        return self.get(run_id)

    def paused_run(self, message: str) -> Run:
        self.dispatch(request(message))
        run_id, _ = self.executed[-1]
        self.store.pause_at_gate(run_id, self.get(run_id).epoch, GateSpec("review"))
        return self.get(run_id)


# --- the seed's acceptance criteria --------------------------------------------------------


def test_fresh_run_with_prior_failed_run_prompts_and_keeps_new_message() -> None:
    o = Orchestrator()
    failed = o.failed_run("task A")
    decision = o.dispatch(request("task B"))
    assert isinstance(decision, PromptForFailedRun)
    assert (decision.run_id, decision.message, decision.preview) == (failed.id, "task B", "task A")
    assert o.executed == [(failed.id, "task A")], "nothing executed for task B"
    assert o.get(failed.id) == failed


def test_force_starts_fresh_and_leaves_failed_row_untouched() -> None:
    o = Orchestrator()
    failed = o.failed_run("task A")
    assert o.dispatch(request("task B", force=True)) == StartFresh("task B")
    fresh, message = o.executed[-1]
    assert fresh != failed.id and message == "task B"
    assert o.get(failed.id) == failed


def test_abandon_of_failed_run_cancels_and_next_run_does_not_prompt() -> None:
    o = Orchestrator()
    failed = o.failed_run("task A")
    abandoned = o.store.abandon_run(failed.id)
    assert o.get(failed.id).status is Status.CANCELLED, abandoned
    assert o.dispatch(request("task B")) == StartFresh("task B")
    assert o.executed[-1][1] == "task B"


def test_nl_approval_of_paused_gate_resumes_without_prompt() -> None:
    """Even with a newer failed run in the conversation, the approval resumes what it approved."""
    o = Orchestrator()
    paused = o.paused_run("task A")
    newer = o.failed_run("task B", force=True)
    o.store.resolve_gate(paused.id, GateDecision.APPROVE)
    outcome = o.dispatch(resume_request(o.get(paused.id)))
    assert isinstance(outcome, Continued) and outcome.run_id == paused.id
    assert o.get(newer.id).status is Status.FAILED


def test_explicit_resume_resumes_without_prompt_loop() -> None:
    o = Orchestrator()
    failed = o.failed_run("task A")
    outcome = o.dispatch(resume_request(failed))
    assert outcome == Continued(failed.id, failed.epoch + 1)
    assert o.executed[-1] == (failed.id, "task A"), "the prior run re-runs its own request"
    assert len(o.store.state.runs) == 1, "no fresh run"


def test_second_concurrent_resumer_gets_not_resumable_running() -> None:
    o = Orchestrator()
    failed = o.failed_run("task A")
    first = decide_dispatch(resume_request(failed), None)
    second = decide_dispatch(resume_request(failed), None)
    assert isinstance(first, ContinueRun) and isinstance(second, ContinueRun)
    won = o.store.resume_run(failed.id, "web")
    lost = o.store.resume_run(failed.id, "cli")
    assert isinstance(won, Claimed) and lost == RunNotResumable(failed.id, Status.RUNNING)
    assert dispatch_outcome_after_claim(second, lost) == AlreadyBeingResumed(
        failed.id, Status.RUNNING
    )
    assert len(o.store.state.runs) == 1, "a lost race never starts a fresh run"


def test_cancel_of_completed_run_reports_false_and_abandon_refuses_it() -> None:
    o = Orchestrator()
    o.dispatch(request("task A"))
    run_id, _ = o.executed[-1]
    o.store.complete_run(run_id, o.get(run_id).epoch)
    done = o.get(run_id)
    assert o.store.cancel_run(run_id) == CancelOutcome(run_id, False, Status.COMPLETED)
    assert o.store.abandon_run(run_id).status is Status.COMPLETED  # type: ignore[union-attr]
    assert o.get(run_id) == done


# --- the policy, branch by branch ----------------------------------------------------------


def run(status: Status, message: str = "task A", run_id: str = "r0") -> Run:
    return Run(run_id, "fix", message, conversation=CHAT, status=status)


def test_paused_candidate_is_continued_with_the_new_message_as_input() -> None:
    paused = run(Status.PAUSED)
    assert decide_dispatch(request("yes, go on"), paused) == ContinueRun(
        "r0", explicit=False, message="yes, go on", expected_epoch=paused.epoch
    )


def test_implicit_continue_refuses_a_run_claimed_and_failed_since_the_decision() -> None:
    """The race the dispatch machine found: decide on a pause, someone else resumes the run and
    it fails, then our claim arrives; it must be refused, not continue the failed run."""
    state, _ = store.create_run(StoreState(), NewRun("wf", "task A"), "r0")
    state, started = store.start_run(state, "r0", "executor", RACE_TIMING)
    assert isinstance(started, Claimed)
    state, _ = store.pause_at_gate(state, "r0", started.epoch, GateSpec("review"))
    paused = state.get("r0")
    assert paused is not None
    decision = decide_dispatch(request("yes, go on"), paused)
    assert isinstance(decision, ContinueRun)
    state, web = store.resume_run(state, "r0", "web", RACE_TIMING)
    assert isinstance(web, Claimed)
    state, _ = store.fail_run(state, "r0", web.epoch, "boom")
    _, answer = store.resume_run(state, "r0", "user", RACE_TIMING, decision.expected_epoch)
    assert answer == RunNotResumable("r0", Status.FAILED)
    assert isinstance(dispatch_outcome_after_claim(decision, answer), AlreadyBeingResumed)


def test_stale_running_orphan_found_implicitly_prompts() -> None:
    decision = decide_dispatch(request("task B"), run(Status.RUNNING))
    assert isinstance(decision, PromptForFailedRun) and decision.status is Status.RUNNING
    assert "stopped without finishing" in format_prompt(decision)


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.CANCELLED, Status.PENDING])
def test_candidate_that_cannot_be_resumed_starts_fresh(status: Status) -> None:
    assert decide_dispatch(request("task B"), run(status)) == StartFresh("task B")


def test_no_candidate_starts_fresh() -> None:
    assert decide_dispatch(request("task B"), None) == StartFresh("task B")


def test_force_ignores_a_paused_candidate_too() -> None:
    assert decide_dispatch(request("task B", force=True), run(Status.PAUSED)) == StartFresh(
        "task B"
    )


def test_explicit_resume_ignores_the_candidate() -> None:
    decision = decide_dispatch(request("x", resume_run_id="r7"), run(Status.FAILED))
    assert decision == ContinueRun("r7", explicit=True, message="x")


def test_force_with_a_run_id_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="cannot resume run r1; drop --force"):
        request("x", force=True, resume_run_id="r1")


def test_preview_is_cut_to_160_characters_with_an_ellipsis() -> None:
    assert preview("a" * 160) == "a" * 160
    cut = preview("a" * 161)
    assert len(cut) == 160 and cut.endswith("…")


def test_suggested_force_command_escapes_backslash_quote_backtick_and_dollar() -> None:
    message = 'fix `a` "b" \\c $HOME'
    decision = decide_dispatch(request(message), run(Status.FAILED))
    assert isinstance(decision, PromptForFailedRun)
    assert decision.escapes == (
        "runlife resume r0",
        "runlife abandon r0",
        'runlife run fix --conversation "chat-1" --force "fix \\`a\\` \\"b\\" \\\\c \\$HOME"',
    )
    assert "``" not in shell_quote("``"), "no two backticks side by side in a code span"


def test_prompt_text_names_all_three_escapes_and_both_messages() -> None:
    decision = decide_dispatch(request("task B"), run(Status.FAILED, "task A"))
    assert isinstance(decision, PromptForFailedRun)
    text = format_prompt(decision)
    assert "nothing was started" in text and "task A" in text and "task B" in text
    assert all(f"``{command}``" in text for command in decision.escapes)


def test_claim_outcomes_and_their_wording() -> None:
    decision = ContinueRun("r0", explicit=True, message="m")
    assert dispatch_outcome_after_claim(decision, Claimed("r0", "me", 2, 9)) == Continued("r0", 2)
    assert dispatch_outcome_after_claim(decision, RunNotFound("r0")) == RunNotFound("r0")
    bad = InvalidInput("run_id", "must be a non-empty string")
    assert dispatch_outcome_after_claim(decision, bad) == bad
    assert format_outcome(AlreadyBeingResumed("r0", Status.RUNNING)) == (
        "Run r0 is already being resumed; nothing new was started."
    )
    assert "it is completed now" in format_outcome(AlreadyBeingResumed("r0", Status.COMPLETED))
    assert format_outcome(Continued("r0", 2)) == "Resuming run r0."
    assert "No run r0" in format_outcome(RunNotFound("r0"))
    assert format_outcome(bad) == "run_id must be a non-empty string."


# --- the machine ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bounds",
    [DispatchBounds(), DispatchBounds(ticks=1, epochs=1)],
    ids=["default", "stale-orphans"],
)
def test_correct_dispatch_machine_has_no_violation(bounds: DispatchBounds) -> None:
    machine = DispatchMachine(bounds)
    ex = explore(machine)
    assert ex.ok, format_counterexample(machine, ex.violations[0])
    assert any(s.held is not None for s in ex.states), "prompts are reached"
    assert any(s.escaped == "abandon" for s in ex.states), "the abandon escape is reached"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_dispatch_variant_breaks_its_property(variant: Variant) -> None:
    machine = variant.build()
    ex = explore(machine, stop_at=variant.violates)
    assert variant.violates in {v.property for v in ex.violations}


def test_autocontinue_counterexample_is_the_seed_story() -> None:
    variant = next(v for v in VARIANTS if v.name == "dispatch_autocontinues_failed")
    ex = explore(variant.build(), stop_at=variant.violates)
    steps = ex.violations[0].steps
    assert [(s.name, s.args) for s in steps] == [
        ("run", ("A", False)),
        ("fail_run", ("r0",)),
        ("run", ("B", False)),
    ]


def test_force_escape_repeats_the_requests_conversation_and_codebase() -> None:
    candidate = Run(
        "r0",
        "wf",
        "task A",
        codebase="api",
        conversation=Conversation("c-1", Platform.CHAT),
        status=Status.FAILED,
    )
    ask = DispatchRequest("wf", 'say "hi"', "c-1", codebase="api")
    decision = decide_dispatch(ask, candidate)
    assert isinstance(decision, PromptForFailedRun)
    assert decision.escapes[2] == (
        'runlife run wf --conversation "c-1" --platform chat-other --codebase "api"'
        ' --force "say \\"hi\\""'
    )
