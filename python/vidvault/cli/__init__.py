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
import importlib
import sys
from typing import Sequence

from .. import errors
from .hints import message_for

#: Each module defines `register(subparsers)` and adds exactly these commands;
#: the order is the order of `vidvault --help`. The names let `vidvault X`
#: import and register only X's group: a command run once per camera, or
#: `vidvault verify --help`, should not pay for building every other parser
#: (tests/test_startup.py holds this table to what each register() adds).
COMMAND_GROUPS: dict[str, tuple[str, ...]] = {
    "vidvault.cli.store": ("create", "cameras", "add-camera", "segments", "gaps", "fsck"),
    "vidvault.cli.availability": ("availability",),
    "vidvault.cli.pictures": ("check-pictures",),
    "vidvault.cli.keys": ("generate-key", "rotate-master-key", "export-public-key"),
    "vidvault.cli.retention": ("enforce-retention", "retention-classes", "define-retention-class",
                               "set-default-retention-class", "set-retention", "hold", "release", "holds",
                               "storage-status", "check-disk-pressure"),
    "vidvault.cli.access": ("issue-grant", "audit", "audit-verify", "audit-restart"),
    "vidvault.cli.ingest": ("ingest",),
    "vidvault.cli.record": ("record",),
    "vidvault.cli.export": ("export-clip", "verify"),
    "vidvault.cli.play": ("play",),
    "vidvault.cli.serve": ("serve",),
    "vidvault.cli.tier": ("tier",),
    "vidvault.cli.restore": ("restore",),
    "vidvault.cli.models": ("models",),
    "vidvault.cli.demo": ("demo",),
    "vidvault.bench.cli": ("bench",),
}


def build_parser(groups: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of the named group modules (default: every command)."""
    p = argparse.ArgumentParser(prog="vidvault", description="Encrypted, time-indexed video-surveillance storage.")
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMAND_GROUPS if groups is None else groups:
        importlib.import_module(module).register(sub)
    return p


def _groups_for(argv: Sequence[str]) -> list[str] | None:
    """The one group that defines the command argv names; None (every group)
    for `vidvault`, `vidvault --help` or a name no group has, so that the
    listing and argparse's "invalid choice" error stay complete."""
    if argv:
        for module, commands in COMMAND_GROUPS.items():
            if argv[0] in commands:
                return [module]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_groups_for(argv)).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except errors.VidvaultError as e:
        print(f"vidvault: {message_for(e, args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vidvault: interrupted", file=sys.stderr)
        return 130
