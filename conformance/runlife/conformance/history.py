"""Histories of concurrent store calls, as plain data a checker can judge now or years later.

An :class:`Operation` is one call as a client saw it: what it asked (a :class:`Call`), what it
was answered, and when it was invoked and answered (``time.monotonic_ns``, which is one clock
for every thread and process of a machine). An answer that never came (a timeout, a dropped
connection, an exception) is :class:`Unknown`: the call may or may not have taken effect.

A :class:`History` is the operations of one race, the store's :class:`Timing`, and how many
leading operations only prepared the race. It round-trips through JSON (:meth:`History.to_json`,
:meth:`History.from_json`), so ``runlife replay`` can judge a history recorded elsewhere.

The actions a call may name are listed once, in :data:`ACTIONS`: each says how the spec
answers it (:func:`apply_spec`) and how a store is asked it (:func:`invoke`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from enum import Enum
from typing import Any, Generic, TypeVar, cast, get_args, get_type_hints

from runlife.spec import results
from runlife.spec import store as spec
from runlife.spec.contract import ClockControl, RunStore
from runlife.spec.records import Conversation, GateSpec, NewRun, Timing
from runlife.spec.results import Created, GateDecision, Platform, Result
from runlife.spec.store import StoreState

In = TypeVar("In")
Json = str | int | float | bool | None


class HistoryFormatError(ValueError):
    """A history document is malformed; the message names the offending field."""


@dataclass(frozen=True, slots=True)
class Unknown:
    """The answer of a call whose outcome was never learned: it may or may not have happened."""

    reason: str = ""


UNKNOWN = Unknown()


@dataclass(frozen=True, slots=True)
class Call:
    """A store operation as invoked: the action's name, the run it targets, its arguments.

    For ``create_run`` the store chooses the id, so ``run`` is the id it answered (``None`` if
    it never answered). ``advance_clock`` and ``find_resumable`` target no single run.
    """

    action: str
    run: str | None = None
    args: tuple[tuple[str, Json], ...] = ()

    @classmethod
    def of(cls, action: str, run: str | None = None, **args: Json) -> Call:
        return cls(action, run, tuple(sorted(args.items())))

    def arg(self, name: str) -> Json:
        for key, value in self.args:
            if key == name:
                return value
        raise HistoryFormatError(f"{self.action} call lacks argument {name!r}")

    def text(self, name: str) -> str:
        return str(self.arg(name))

    def number(self, name: str) -> int:
        value = self.arg(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise HistoryFormatError(f"{self.action} argument {name!r} must be an integer")
        return value

    def target(self) -> str:
        """The run id, for actions that need one."""
        if self.run is None:
            raise HistoryFormatError(f"{self.action} call lacks its run id")
        return self.run

    def __str__(self) -> str:
        parts = ([self.run] if self.run is not None else []) + [f"{k}={v!r}" for k, v in self.args]
        return f"{self.action}({', '.join(parts)})"


@dataclass(frozen=True, slots=True)
class Operation(Generic[In]):
    """One call as a client saw it. ``call`` and ``return_`` are monotonic nanoseconds.

    When ``output`` is :class:`Unknown`, ``return_`` is only when the client gave up waiting;
    checkers treat the call as possibly taking effect at any time after ``call``.
    """

    client: str
    input: In
    output: object
    call: int
    return_: int

    @property
    def unknown(self) -> bool:
        return isinstance(self.output, Unknown)


@dataclass(frozen=True)
class History:
    """The operations of one race against one store; the first ``setup`` prepared it."""

    operations: tuple[Operation[Call], ...]
    timing: Timing
    setup: int = 0
    label: str = ""

    def to_data(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "timing": {"lease_ttl": self.timing.lease_ttl, "stale_after": self.timing.stale_after},
            "setup": self.setup,
            "operations": [_operation_data(op) for op in self.operations],
        }

    @classmethod
    def from_data(cls, data: object) -> History:
        """The history a :meth:`to_data` document describes; raises HistoryFormatError."""
        document = _mapping(data, "history")
        timing = _mapping(document.get("timing"), "timing")
        try:
            parsed = Timing(float(timing["lease_ttl"]), float(timing["stale_after"]))
        except (KeyError, TypeError, ValueError) as error:
            raise HistoryFormatError(f"timing: {error}") from None
        operations = document.get("operations")
        if not isinstance(operations, list):
            raise HistoryFormatError("operations: must be a list")
        setup = document.get("setup", 0)
        if not isinstance(setup, int) or not 0 <= setup <= len(operations):
            raise HistoryFormatError(f"setup: must be an integer from 0 to {len(operations)}")
        ops = tuple(_operation(op, f"operations[{i}]") for i, op in enumerate(operations))
        return cls(ops, parsed, setup, str(document.get("label", "")))

    def to_json(self) -> str:
        return json.dumps(self.to_data(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> History:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise HistoryFormatError(f"not JSON: {error}") from None
        return cls.from_data(data)


# --- the actions ---------------------------------------------------------------------------


SpecStep = tuple[StoreState, Result | None]
"""The spec's next state and answer (``None`` for ``advance_clock``, which answers nothing)."""


@dataclass(frozen=True)
class Action:
    """How the spec answers a call, and how a store is asked it."""

    spec: Callable[[StoreState, Call, Timing], SpecStep]
    store: Callable[[RunStore, Call], object]


UNISSUED = "unissued"
"""The run id the spec is given for a create the store refused (so no id was answered)."""


def _new_run(call: Call) -> NewRun:
    conversation_id = call.arg("conversation")
    conversation = None
    if conversation_id is not None:
        conversation = Conversation(str(conversation_id), Platform(call.text("platform")))
    return NewRun(
        workflow=call.text("workflow"),
        user_message=call.text("user_message"),
        codebase=call.text("codebase"),
        conversation=conversation,
    )


def _gate(call: Call) -> GateSpec:
    return GateSpec(call.text("gate"), bool(call.arg("on_reject")), call.number("max_attempts"))


def _advance_clock(store: RunStore, call: Call) -> None:
    cast(ClockControl, store).advance_clock(float(cast(float, call.arg("seconds"))))


ACTIONS: Mapping[str, Action] = {
    "create_run": Action(
        lambda s, c, t: spec.create_run(s, _new_run(c), c.run or UNISSUED),
        lambda store, c: store.create_run(_new_run(c)),
    ),
    "start_run": Action(
        lambda s, c, t: spec.start_run(s, c.target(), c.text("holder"), t),
        lambda store, c: store.start_run(c.target(), c.text("holder")),
    ),
    "resume_run": Action(
        lambda s, c, t: spec.resume_run(s, c.target(), c.text("holder"), t),
        lambda store, c: store.resume_run(c.target(), c.text("holder")),
    ),
    "heartbeat": Action(
        lambda s, c, t: spec.heartbeat(s, c.target(), c.number("epoch"), t),
        lambda store, c: store.heartbeat(c.target(), c.number("epoch")),
    ),
    "pause_at_gate": Action(
        lambda s, c, t: spec.pause_at_gate(s, c.target(), c.number("epoch"), _gate(c)),
        lambda store, c: store.pause_at_gate(c.target(), c.number("epoch"), _gate(c)),
    ),
    "resolve_gate": Action(
        lambda s, c, t: spec.resolve_gate(s, c.target(), GateDecision(c.text("decision"))),
        lambda store, c: store.resolve_gate(c.target(), GateDecision(c.text("decision"))),
    ),
    "complete_run": Action(
        lambda s, c, t: spec.complete_run(s, c.target(), c.number("epoch")),
        lambda store, c: store.complete_run(c.target(), c.number("epoch")),
    ),
    "fail_run": Action(
        lambda s, c, t: spec.fail_run(s, c.target(), c.number("epoch"), c.text("error")),
        lambda store, c: store.fail_run(c.target(), c.number("epoch"), c.text("error")),
    ),
    "cancel_run": Action(
        lambda s, c, t: spec.cancel_run(s, c.target()),
        lambda store, c: store.cancel_run(c.target()),
    ),
    "abandon_run": Action(
        lambda s, c, t: spec.abandon_run(s, c.target()),
        lambda store, c: store.abandon_run(c.target()),
    ),
    "find_resumable": Action(
        lambda s, c, t: spec.find_resumable(
            s, c.text("workflow"), _optional(c.arg("conversation")), c.text("codebase"), t
        ),
        lambda store, c: store.find_resumable(
            c.text("workflow"), _optional(c.arg("conversation")), c.text("codebase")
        ),
    ),
    "advance_clock": Action(
        lambda s, c, t: (spec.tick(s, float(cast(float, c.arg("seconds")))), None),
        _advance_clock,
    ),
}
"""Every action a history may hold. ``advance_clock`` needs the store's CLOCK capability."""


def _optional(value: Json) -> str | None:
    return None if value is None else str(value)


def _action(call: Call) -> Action:
    action = ACTIONS.get(call.action)
    if action is None:
        raise HistoryFormatError(f"unknown action {call.action!r}; known: {', '.join(ACTIONS)}")
    return action


def apply_spec(state: StoreState, call: Call, timing: Timing) -> SpecStep:
    """The spec's next state and answer for ``call``."""
    return _action(call).spec(state, call, timing)


def invoke(store: RunStore, call: Call) -> object:
    """Ask ``store`` the call and return its answer."""
    return _action(call).store(store, call)


def record(store: RunStore, client: str, call: Call) -> Operation[Call]:
    """Invoke ``call`` on ``store``, timing it. An exception is recorded as :class:`Unknown`
    (the contract says stores answer with values, so the caller reports it as a breakage)."""
    started = time.monotonic_ns()
    try:
        output = invoke(store, call)
    except Exception as error:  # a broken store or a lost connection: the outcome is unknown
        output = Unknown(f"{type(error).__name__}: {error}")
    returned = time.monotonic_ns()
    if call.action == "create_run" and isinstance(output, Created):
        call = Call(call.action, output.run_id, call.args)
    return Operation(client, call, output, started, returned)


# --- JSON ----------------------------------------------------------------------------------

RESULT_TYPES: Mapping[str, type] = {cls.__name__: cls for cls in get_args(Result)}


def encode_output(value: object) -> Json | dict[str, Any]:
    """A result (or Unknown, or None) as JSON data: ``{"kind": "Claimed", "epoch": 2, ...}``."""
    if value is None:
        return None
    if not is_dataclass(value) or isinstance(value, type):
        raise HistoryFormatError(f"cannot encode output {value!r}")
    data: dict[str, Any] = {"kind": type(value).__name__}
    for field in fields(value):
        item = getattr(value, field.name)
        data[field.name] = (
            item.value
            if isinstance(item, Enum)
            else list(item)
            if isinstance(item, tuple)
            else item
        )
    return data


def decode_output(data: object, where: str = "output") -> object:
    """The value :func:`encode_output` encoded; raises HistoryFormatError naming ``where``."""
    if data is None:
        return None
    document = _mapping(data, where)
    kind = document.get("kind")
    if kind == "Unknown":
        return Unknown(str(document.get("reason", "")))
    cls = RESULT_TYPES.get(str(kind))
    if cls is None:
        raise HistoryFormatError(f"{where}: unknown result kind {kind!r}")
    hints = get_type_hints(cls, vars(results))
    values: dict[str, object] = {}
    for field in fields(cls):
        if field.name not in document:
            raise HistoryFormatError(f"{where}: {kind} lacks field {field.name!r}")
        values[field.name] = _decode_field(document[field.name], hints[field.name], where)
    return cls(**values)


def _decode_field(value: object, hint: object, where: str) -> object:
    if isinstance(value, list):
        return tuple(value)
    enums = [a for a in (get_args(hint) or (hint,)) if isinstance(a, type) and issubclass(a, Enum)]
    if isinstance(value, str) and enums:
        try:
            return enums[0](value)
        except ValueError:
            raise HistoryFormatError(f"{where}: {value!r} is not a {enums[0].__name__}") from None
    return value


def _operation_data(op: Operation[Call]) -> dict[str, Any]:
    return {
        "client": op.client,
        "action": op.input.action,
        "run": op.input.run,
        "args": dict(op.input.args),
        "output": encode_output(op.output),
        "call": op.call,
        "return": op.return_,
    }


def _operation(data: object, where: str) -> Operation[Call]:
    document = _mapping(data, where)
    args = _mapping(document.get("args", {}), f"{where}.args")
    call, returned = document.get("call"), document.get("return")
    if not isinstance(call, int) or not isinstance(returned, int) or returned < call:
        raise HistoryFormatError(f"{where}: call and return must be integers, call <= return")
    run = document.get("run")
    action = Call.of(str(document.get("action")), None if run is None else str(run), **args)
    _action(action)
    output = decode_output(document.get("output"), f"{where}.output")
    return Operation(str(document.get("client", "")), action, output, call, returned)


def _mapping(data: object, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise HistoryFormatError(f"{where}: must be a JSON object")
    return cast(Mapping[str, Any], data)
