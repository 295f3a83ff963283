"""`vidvault demo`: the main job on generated footage (:mod:`vidvault.demo`)."""

from __future__ import annotations

import argparse


def cmd_demo(args: argparse.Namespace) -> int:
    from .. import demo

    return demo.run(args.dir)


def register(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("demo", help="ingest, seek, read back, play redacted, export and verify generated footage")
    sp.add_argument("--dir", help="keep the demo's files here instead of a temporary directory")
    sp.set_defaults(func=cmd_demo)
