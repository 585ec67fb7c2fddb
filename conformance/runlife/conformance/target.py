"""What ``STORE`` names, and how the kit opens a store of it.

``STORE`` is either a database URL (``sqlite://``, ``postgresql+psycopg://...``,
``mysql+pymysql://...``: the kit checks :class:`runlife.impl.SqlRunStore` on that database, in
a private namespace it creates and drops, with a clock it moves by hand) or ``module:factory``
(a callable returning an object that implements :class:`runlife.spec.contract.RunStore`).

Every problem is a :class:`TargetError` with a one-line reason saying what to fix.
"""

from __future__ import annotations

import functools
import importlib
import os
import re
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runlife.spec.contract import Capability, RunStore, missing_methods
from runlife.spec.records import Timing

KIT_TIMING = Timing(lease_ttl=30, stale_after=60)
"""The timing the kit gives the SQL store it checks (seconds on its hand-moved clock)."""

FACTORY = re.compile(r"(?P<module>[A-Za-z_][\w.]*):(?P<attr>[A-Za-z_][\w.]*)")


class TargetError(Exception):
    """``STORE`` cannot be used: the message says why, in one line, and how to fix it."""


@dataclass
class Target:
    """A store to check: a name for reports, and how to open a new store of it.

    ``open`` returns a new, empty store each time it is called, unless the store declares
    ``Capability.RESET`` (then the kit opens one and resets it between cases). ``cleanup`` runs
    once when the kit is done (dropping a private namespace, deleting a scratch file).
    """

    name: str
    open: Callable[[], RunStore]
    kind: str
    cleanup: Callable[[], None] = lambda: None


def resolve(text: str, *, search_cwd: bool = True) -> Target:
    """The target ``text`` names; raises :class:`TargetError` when it names nothing usable.

    With ``search_cwd`` the current directory is put on ``sys.path`` first, so
    ``examples.memory_store:make_store`` works from a project's root.
    """
    text = text.strip()
    if "://" in text:
        return _database(text)
    match = FACTORY.fullmatch(text)
    if match is None:
        raise TargetError(
            f"STORE {text!r} is neither a database URL (sqlite://, postgresql+psycopg://HOST/DB, "
            "mysql+pymysql://HOST/DB) nor module:factory (mypackage.store:make_store)"
        )
    if search_cwd and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    return _factory(text, match["module"], match["attr"])


def validate(store: object, origin: str) -> RunStore:
    """``store`` as a run store, or a :class:`TargetError` naming what it lacks."""
    missing = missing_methods(store)
    if missing:
        raise TargetError(
            f"{origin} returned {type(store).__name__}, which is not a run store: "
            f"missing {', '.join(missing)} (see runlife.spec.contract.RunStore)"
        )
    capabilities = getattr(store, "capabilities", None)
    if not isinstance(capabilities, frozenset | set) or not all(
        isinstance(c, Capability) for c in capabilities
    ):
        raise TargetError(
            f"{origin} returned a store whose capabilities is {capabilities!r}; "
            "it must be a frozenset of runlife.spec.contract.Capability"
        )
    if not isinstance(getattr(store, "timing", None), Timing):
        raise TargetError(
            f"{origin} returned a store whose timing is {getattr(store, 'timing', None)!r}; "
            "it must be a runlife.spec.records.Timing"
        )
    return store  # type: ignore[return-value]


def _factory(text: str, module_name: str, attr: str) -> Target:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise TargetError(
            f"cannot import {module_name!r} ({error}); run from the directory that holds it "
            "or install its package"
        ) from error
    except Exception as error:
        raise TargetError(f"importing {module_name!r} raised {_reason(error)}") from error
    factory: object = module
    for part in attr.split("."):
        if not hasattr(factory, part):
            raise TargetError(f"module {module_name!r} has no attribute {attr!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise TargetError(f"{text} is a {type(factory).__name__}, not a callable returning a store")
    make = factory

    def open_store() -> RunStore:
        return validate(make(), f"{text}()")

    try:
        open_store().close()
    except TargetError:
        raise
    except Exception as error:
        raise TargetError(f"{text}() raised {_reason(error)}") from error
    return Target(text, open_store, "factory")


def _database(url: str) -> Target:
    try:
        from runlife.impl import ManualClock, SqlRunStore, StoreError
        from runlife.impl.dialects import is_memory, parse_url
        from runlife.impl.isolation import drop_isolated, isolated_url
    except ImportError as error:
        raise TargetError(f"the SQL store is not available ({error})") from error
    try:
        parsed = parse_url(url)
    except StoreError as error:
        raise TargetError(str(error)) from error
    shown = parsed.render_as_string(hide_password=True)
    namespace, cleanup = None, _nothing
    if parsed.get_backend_name() != "sqlite":
        namespace = f"runlife_check_{uuid.uuid4().hex[:12]}"
        cleanup = functools.partial(drop_isolated, url, namespace)
    elif not is_memory(parsed):
        path = Path(str(parsed.database))
        if path.exists():
            raise TargetError(
                f"refusing to check {path}: it exists, and the check empties the store; "
                "give a path that does not exist yet (it is deleted afterwards) or sqlite://"
            )
        cleanup = functools.partial(_remove_sqlite, path)
    try:
        private = url if namespace is None else isolated_url(url, namespace)
    except StoreError as error:
        raise TargetError(f"cannot use {shown}: {error}") from error

    def open_store() -> RunStore:
        store = SqlRunStore.from_url(private, timing=KIT_TIMING, clock=ManualClock())
        return validate(store, f"SqlRunStore on {shown}")

    try:
        open_store().close()
    except StoreError as error:
        cleanup()
        raise TargetError(f"cannot use {shown}: {error}") from error
    return Target(shown, open_store, "database", cleanup)


def _nothing() -> None:
    """No cleanup needed."""


def _remove_sqlite(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)


def _reason(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
