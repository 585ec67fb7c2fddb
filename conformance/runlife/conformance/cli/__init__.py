"""The ``runlife`` command. Each subcommand lives in its own module of this package.

A subcommand module has ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Bad input raises :class:`UsageError`; ``main`` prints it as one line and exits 2 (no traceback
unless ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

SUBCOMMANDS: tuple[str, ...] = (
    "explore",
    "check",
    "replay",
    "diagram",
    "runs",
    "run",
    "resume",
    "cancel",
    "abandon",
    "approve",
    "reject",
    "invalidate",
)
"""Module names under ``runlife.conformance.cli``; a command's name is its module's name with
underscores turned into dashes."""

EXIT_OK, EXIT_VIOLATION, EXIT_BROKEN = 0, 1, 2


class UsageError(Exception):
    """A one-line explanation of what was wrong with the command's input and how to fix it."""


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="runlife", description="Prove that workflow-run stores are safe."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        module = _load(name)
        sub = commands.add_parser(name.replace("_", "-"), help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
        return code
    except UsageError as error:
        if args.debug:
            raise
        print(f"runlife {args.command}: error: {error}", file=sys.stderr)
        return EXIT_BROKEN
    except BrokenPipeError:
        sys.stderr.close()  # the reader (e.g. `| head`) is gone; nothing left to say
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"runlife {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
