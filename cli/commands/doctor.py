"""``wardwatch doctor --config FILE [--skip CHECK…]``: can this machine watch the network? Checks the
config, the store, the Kafka broker, the capture interfaces and the right to capture, feed freshness,
free disk under data_dir and the clock; prints each as ✓ (fine), ! (works, look at it), ✗ (broken)
or – (nothing to check), with what to fix, in Vietnamese then English.

Exit status: 0 when nothing failed (warnings allowed), 1 when a check failed, 2 for a bad config.
The checks live in ``wardwatch.cli.doctor``.
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from wardwatch.cli.doctor import NAMES

    p = sub.add_parser("doctor", help="check config, store, broker, interfaces, feeds, disk and clock")
    p.add_argument("--config", required=True, metavar="FILE", help="wardwatch config (YAML)")
    p.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=NAMES[1:],
        metavar="CHECK",
        help=f"leave a check out (one of {', '.join(NAMES[1:])}); repeatable",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from wardwatch.cli.doctor import check_config, exit_code, render, run_checks

    from wardwatch.i18n import say

    out = sys.stdout
    config, first = check_config(args.config)
    out.write(render(first))
    if config is None:
        out.flush()
        return 2
    checks = [first, *run_checks(config, args.skip)]
    for c in checks[1:]:
        out.write(render(c))
    failed = sum(c.status == "fail" for c in checks)
    out.write("\n")
    if failed:
        out.write(say("doctor.summary.bad", failed=failed, count=len(checks)))
    else:
        out.write(say("doctor.summary.ok", count=len(checks)))
    out.flush()
    return exit_code(checks)
