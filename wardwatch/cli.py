"""The ``wardwatch`` command. It wires the rooms together; nothing else does."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
from collections.abc import Sequence

from wardwatch.commands import COMMANDS
from wardwatch.files import PRIVATE_UMASK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wardwatch", description="Network security monitoring for hospitals")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"wardwatch.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # data_dir holds personal data and keys: owner-only for every file we, chdb and our workers create
    os.umask(PRIVATE_UMASK)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="wardwatch: %(levelname)s: %(message)s",
    )
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
