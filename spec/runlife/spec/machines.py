"""The registry of machines ``runlife explore --model NAME`` can explore."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from runlife.spec.checker import Machine
from runlife.spec.core import Bounds, CoreMachine

if TYPE_CHECKING:
    from runlife.spec.variants import Variant

MACHINES: dict[str, Callable[[], Machine[Any]]] = {
    "core": lambda: CoreMachine(Bounds()),
}
"""Each machine at its default bounds; ``core`` is the default."""


def SUBMACHINE_VARIANTS() -> Iterator[Variant]:
    """The weakened specs of the smaller machines (dispatch, gates, cache, loop)."""
    return iter(())
