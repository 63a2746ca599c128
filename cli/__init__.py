"""The ``wardwatch`` command: the only roof. It parses the command line, runs one command, and turns
every ``WardwatchError`` into its message and exit code (2 usage or config, 1 runtime), never a
traceback. ``cli/pipeline.py`` is the one place that wires rooms together."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from wardwatch.cli.commands import COMMANDS

from wardwatch import __version__
from wardwatch.errors import WardwatchError
from wardwatch.files import PRIVATE_UMASK
from wardwatch.i18n import os_error

log = logging.getLogger("wardwatch.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wardwatch", description="Network security monitoring for hospitals"
    )
    parser.add_argument("--version", action="version", version=f"wardwatch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"wardwatch.cli.commands.{name}").register(sub)
    # `-v` and `--version` anywhere (the shared CLI contract), not only before the command
    for p in {id(p): p for p in sub.choices.values()}.values():
        _everywhere(p)
    return parser


def _everywhere(p: argparse.ArgumentParser) -> None:
    have = {s for a in p._actions for s in a.option_strings}
    if "-v" not in have and "--verbose" not in have:
        p.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="debug logging"
        )
    if "--version" not in have:
        p.add_argument("--version", action="version", version=f"wardwatch {__version__}")
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for child in {id(c): c for c in a.choices.values()}.values():
                _everywhere(child)


def main(argv: Sequence[str] | None = None) -> int:
    # data_dir holds personal data and keys: owner-only for every file we, chdb and our workers create
    os.umask(PRIVATE_UMASK)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="wardwatch: %(levelname)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except WardwatchError as e:
        sys.stderr.write(f"\nwardwatch {args.command}: {e}\n")
        return e.exit_code
    except OSError as e:
        # a file or socket the command needed (permission, a full disk…): the reason in words, no traceback
        log.debug("%s", e, exc_info=True)  # -v shows where
        vi, en = os_error(e)
        where = f" {e.filename}" if e.filename else ""
        sys.stderr.write(
            f"\nwardwatch {args.command}:{where}: {vi}\nwardwatch {args.command}:{where}: {en}\n"
        )
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"\nwardwatch {args.command}: interrupted · đã dừng\n")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
