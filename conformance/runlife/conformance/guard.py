"""Store calls under watch: a store that raises or hangs is reported as broken, by method.

The contract answers every refusal with a value, so an exception from a store method means the
store is broken (:class:`StoreRaised`). A call that does not return within the per-call
timeout is a hung store (:class:`StoreHung`): the kit makes its store calls on one worker
thread (:class:`KitThread`) while the calling thread watches the clock, so a hang is noticed
and named even though the stuck call can never be interrupted.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar, cast

from runlife.spec.contract import CAPABILITY_METHODS, CORE_METHODS, RunStore

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
"""Seconds one store call may take before the store counts as hung."""


class StoreRaised(Exception):
    """A store method raised instead of answering with a result or a refusal value."""

    def __init__(self, method: str, error: BaseException) -> None:
        self.method, self.error = method, error
        text = str(error).strip().splitlines()
        reason = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
        super().__init__(f"{method} raised {reason}")


class StoreHung(Exception):
    """A store call did not return within the timeout."""

    def __init__(self, method: str, seconds: float) -> None:
        self.method, self.seconds = method, seconds
        super().__init__(f"{method} did not return within {seconds:g} s (the store hangs)")


class Watch:
    """Which store method each thread is inside, and since when."""

    def __init__(self) -> None:
        self.calls: dict[int, tuple[str, float]] = {}

    def overdue(self, timeout: float) -> str | None:
        """The method of a call running longer than ``timeout`` seconds, if any."""
        now = time.monotonic()
        for method, started in list(self.calls.values()):
            if now - started > timeout:
                return method
        return None

    def call(self, method: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` as store method ``method``: timed, exceptions wrapped."""
        thread = threading.get_ident()
        self.calls[thread] = (method, time.monotonic())
        try:
            return fn(*args, **kwargs)
        except (StoreRaised, StoreHung):
            raise
        except Exception as error:
            raise StoreRaised(method, error) from error
        finally:
            self.calls.pop(thread, None)


class GuardedStore:
    """A store whose every method call goes through a :class:`Watch`.

    ``close`` is watched like the rest; ``inner`` is the store itself.
    """

    def __init__(self, store: RunStore, watch: Watch) -> None:
        self.inner = store
        self.capabilities = store.capabilities
        self.timing = store.timing
        names = [*CORE_METHODS, *(CAPABILITY_METHODS[c] for c in store.capabilities)]
        for name in names:
            setattr(self, name, self._watched(watch, name, getattr(store, name)))

    @staticmethod
    def _watched(watch: Watch, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            return watch.call(name, method, *args, **kwargs)

        call.__name__ = name
        return call


def guarded(store: RunStore, watch: Watch) -> RunStore:
    """``store`` with every method watched, typed as the contract."""
    return cast(RunStore, GuardedStore(store, watch))


class KitThread:
    """The one thread that makes the kit's store calls, watched from the calling thread.

    :meth:`run` waits for a function to finish on the worker thread; if a store call inside it
    runs past ``timeout`` it raises :class:`StoreHung`, and every later :meth:`run` raises it
    again at once (the worker is stuck in the store for good).
    """

    def __init__(self, watch: Watch, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.watch, self.timeout = watch, timeout
        self.hung: StoreHung | None = None
        self._tasks: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._work, name="runlife-kit", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            fn, future = task
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn())
                except BaseException as error:
                    future.set_exception(error)

    def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the kit thread and return its result (or raise its exception)."""
        if self.hung is not None:
            raise self.hung
        future: Future[T] = Future()
        self._tasks.put((fn, future))
        while True:
            try:
                return future.result(timeout=min(0.05, self.timeout))
            except TimeoutError:
                method = self.watch.overdue(self.timeout)
                if method is not None:
                    self.hung = StoreHung(method, self.timeout)
                    raise self.hung from None

    def close(self) -> None:
        """Let the worker finish (a hung worker is a daemon and dies with the process)."""
        if self.hung is None:
            self._tasks.put(None)
            self._thread.join(timeout=self.timeout)
