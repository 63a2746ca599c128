"""``wardwatch synth --out DIR [--seed N] [--sessions N] [--duplicate]``: write a synthetic hospital
capture, the list of attacks it injected and a config describing its network."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="generate a synthetic hospital capture with injected attacks")
    p.add_argument(
        "--out", required=True, metavar="DIR", help="folder for hospital.pcap, injected.json, hospital.yaml"
    )
    p.add_argument("--seed", type=int, default=1, help="random seed (same seed, same capture)")
    p.add_argument("--sessions", type=int, default=400, help="normal sessions to generate (default 400)")
    p.add_argument("--duplicate", action="store_true", help="write every packet twice, as a SPAN port may")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from wardwatch.tools.synth import generate

    from wardwatch.outputs import OutputError, prepare_output_dir

    try:
        prepare_output_dir(args.out, "--out")
    except OutputError as e:
        sys.stderr.write(f"wardwatch synth: {e}\n")
        return 2
    from wardwatch.i18n import say

    r = generate(args.out, seed=args.seed, sessions=args.sessions, duplicate=args.duplicate)
    sys.stderr.write(
        say(
            "synth.done",
            prefix="wardwatch synth: ",
            frames=r.frames,
            attacks=len(r.attacks),
            files=f"{r.pcap}, {r.injected}, {r.config}",
        )
    )
    return 0
