"""The `vidvault` command line: one module per command group, each command
named as the API names it, kebab-cased (`Store.export_clip` ->
`vidvault export-clip`).

    store      create, cameras, add-camera, segments, gaps, fsck
    availability  availability
    pictures   check-pictures (zombie cameras: black, covered, frozen, moved)
    keys       generate-key, rotate-master-key, export-public-key
    retention  enforce-retention, retention-classes, define-retention-class,
               set-default-retention-class, set-retention, hold, release, holds,
               storage-status, check-disk-pressure
    access     issue-grant, audit, audit-verify, audit-restart
    ingest     ingest
    record     record (many cameras from a TOML file)
    export     export-clip, verify
    play       play
    serve      serve (the web API and page)
    tier       tier set | status | sync (the S3 object-storage tier)
    restore    restore (a store rebuilt from its bucket)
    models     models install | list
    demo       demo
    bench      bench ... (vidvault.bench.cli)

Errors print as one line, ``vidvault: <what failed, where>; <what to do>``
(:mod:`.hints`), and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .. import errors
from ..bench import cli as bench
from . import (access, availability, demo, export, ingest, keys, models, pictures, play, record, restore, retention,
               serve, store, tier)
from .hints import message_for

#: Each defines `register(subparsers)`; the order is the order of `vidvault --help`.
COMMAND_GROUPS = (store, availability, pictures, keys, retention, access, ingest, record, export, play, serve, tier,
                  restore, models, demo, bench)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vidvault", description="Encrypted, time-indexed video-surveillance storage.")
    sub = p.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except errors.VidvaultError as e:
        print(f"vidvault: {message_for(e, args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vidvault: interrupted", file=sys.stderr)
        return 130
