"""The registry of machines ``runlife explore --model NAME`` can explore.

``core`` (the default) is where concurrency lives: runs, claims, leases, a clock and racing
executors. The others are smaller machines over the same store rules, one per seed concern,
each at its own default bounds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from runlife.spec.checker import Machine
from runlife.spec.core import Bounds, CoreMachine

if TYPE_CHECKING:
    from runlife.spec.variants import Variant


def _dispatch() -> Machine[Any]:
    from runlife.spec.dispatch import DispatchMachine

    return DispatchMachine()


def _gates() -> Machine[Any]:
    from runlife.spec.gates import GatesMachine

    return GatesMachine()


def _cache() -> Machine[Any]:
    from runlife.spec.cache import CacheMachine

    return CacheMachine()


def _loop() -> Machine[Any]:
    from runlife.spec.loop import LoopMachine

    return LoopMachine()


def _all() -> Machine[Any]:
    from runlife.spec.system import SystemMachine

    return SystemMachine()


MACHINES: dict[str, Callable[[], Machine[Any]]] = {
    "core": lambda: CoreMachine(Bounds()),
    "dispatch": _dispatch,
    "gates": _gates,
    "cache": _cache,
    "loop": _loop,
    "all": _all,
}
"""Each machine at its default bounds; ``core`` is the default."""


def SUBMACHINE_VARIANTS() -> Iterator[Variant]:
    """The weakened specs of the smaller machines (dispatch, gates, cache, loop) and of all
    of them together.

    Imported here, not at the top, because those modules build on :mod:`runlife.spec.variants`.
    """
    from runlife.spec import cache, dispatch, gates, loop, system

    for module in (dispatch, gates, cache, loop, system):
        yield from module.VARIANTS
