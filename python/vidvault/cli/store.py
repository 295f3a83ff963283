"""The `vidvault` command line."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from typing import Sequence

from . import errors
from .keyfile import load_key, write_key_file
from .store import FAR_FUTURE, FAR_PAST, Store
from .timeutil import iso, to_ns


def _labels(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        k, sep, v = pair.partition("=")
        if not sep or not k:
            raise errors.InvalidArgumentError(f"--label takes KEY=VALUE, got {pair!r}")
        out[k] = v
    return out


def _open(args: argparse.Namespace, **kw: object) -> Store:
    return Store.open(args.store, key=load_key(args.key_file), **kw)  # type: ignore[arg-type]


def cmd_keygen(args: argparse.Namespace) -> int:
    write_key_file(args.out)
    print(f"wrote a new master key to {args.out} (mode 0600); back it up: without it the footage is lost")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    with Store.create(args.store, key=load_key(args.key_file)) as store:
        print(f"created store {store.store_id} at {store.path}")
    return 0


def cmd_cameras(args: argparse.Namespace) -> int:
    with _open(args) as store:
        if args.add:
            store.add_camera(args.add, labels=_labels(args.label), retention=args.retention)
        elif args.label or args.retention:
            raise errors.InvalidArgumentError("--label and --retention go with --add CAMERA")
        if args.set_retention:
            camera, setting = args.set_retention
            store.set_retention(camera, None if setting == "default" else setting)
        cams = [(c, *store.retention(c.id)) for c in store.cameras()]
        if args.json:
            print(json.dumps([{"id": c.id, "labels": c.labels, "created": iso(c.created), "retention": source,
                               "policy": str(policy)} for c, source, policy in cams], indent=2))
        else:
            for c, source, policy in cams:
                labels = " ".join(f"{k}={v}" for k, v in sorted(c.labels.items()))
                print(f"{c.id:24} {source:18} {str(policy):44} {labels}")
    return 0


def cmd_segments(args: argparse.Namespace) -> int:
    from .cli_access import session_from

    with _open(args) as store:
        start = FAR_PAST if args.start is None else to_ns(args.start)
        end = FAR_FUTURE if args.end is None else to_ns(args.end)
        for s in session_from(args, store).segments(args.camera, start, end):
            end_s = iso(s.end) if s.end is not None else "(open)"
            digest = s.content_hash.hex()[:16] if s.content_hash else "-"
            print(f"{s.id:8} {s.state:7} {iso(s.start)} .. {end_s} {s.frames or 0:7} frames "
                  f"{(s.bytes or 0) / 1e6:9.2f} MB  {digest}  {s.path}")
    return 0


def cmd_gaps(args: argparse.Namespace) -> int:
    from .cli_access import session_from

    with _open(args) as store:
        source = session_from(args, store)
        gaps = (source.gaps(args.camera, args.start, args.end) if source is not store
                else store.gaps(args.camera, args.start, args.end, min_gap=args.min_gap))
        for g in gaps:
            print(f"{iso(g.start)} .. {iso(g.end)}  ({g.duration.total_seconds():.3f} s)")
        if not gaps:
            print("no gaps")
    return 0


def cmd_fsck(args: argparse.Namespace) -> int:
    with _open(args, rebuild_catalog=args.rebuild) as store:
        if args.rebuild:
            print("catalog rebuilt from the segment files")
        report = store.fsck(deep=args.deep)
    if args.json:
        print(json.dumps({"ok": report.ok, "segments": report.segments, "frames": report.frames,
                          "bytes": report.bytes, "problems": [p.__dict__ for p in report.problems]}, indent=2))
    else:
        print(f"checked {report.segments} segments, {report.frames} frames, {report.bytes / 1e6:.1f} MB"
              f"{' (every record authenticated)' if args.deep else ''}")
        for p in report.problems:
            print(f"PROBLEM {p}")
        print("OK" if report.ok else f"{len(report.problems)} problem(s)")
    return 0 if report.ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from . import demo

    return demo.run(args.dir)


def with_store(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Adds the STORE argument and --key-file to a subcommand."""
    sp.add_argument("store", help="store directory")
    sp.add_argument("--key-file", help="master key file (else $VIDVAULT_KEY, 64 hex characters)")
    return sp


def open_store(args: argparse.Namespace, **kw: object) -> Store:
    """Opens the store a `with_store` subcommand names."""
    return _open(args, **kw)


def _session_args(sp: argparse.ArgumentParser) -> None:
    from .cli_access import add_session_args

    add_session_args(sp)


#: Modules that add subcommands of their own: each defines
#: `register(subparsers)` and imports only what its commands need.
COMMAND_MODULES: list[str] = [
    "vidvault.cli_media",
    "vidvault.cli_retention",
    "vidvault.cli_access",
    "vidvault.cli_redact",
    "vidvault.bench.cli",
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vidvault", description="Encrypted, time-indexed video-surveillance storage.")
    sub = p.add_subparsers(dest="command", required=True)

    sp = sub.add_parser("keygen", help="write a new random master key to a file")
    sp.add_argument("--out", required=True)
    sp.set_defaults(func=cmd_keygen)

    sp = with_store(sub.add_parser("init", help="create a store"))
    sp.set_defaults(func=cmd_init)

    sp = with_store(sub.add_parser("cameras", help="list cameras, or add one with --add"))
    sp.add_argument("--add", metavar="CAMERA")
    sp.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    sp.add_argument("--retention", metavar="CLASS", help="retention class of the added camera")
    sp.add_argument("--set-retention", nargs=2, metavar=("CAMERA", "CLASS"),
                    help="put a camera in a retention class ('default': the store default)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_cameras)

    sp = with_store(sub.add_parser("segments", help="list a camera's segments"))
    sp.add_argument("--camera", required=True)
    sp.add_argument("--start")
    sp.add_argument("--end")
    _session_args(sp)
    sp.set_defaults(func=cmd_segments)

    sp = with_store(sub.add_parser("gaps", help="stretches without footage"))
    sp.add_argument("--camera", required=True)
    sp.add_argument("--start", required=True, help="ISO-8601 with zone, or ns")
    sp.add_argument("--end", required=True)
    sp.add_argument("--min-gap", default=None, help="ignore shorter gaps (e.g. 2s, 1m)")
    _session_args(sp)
    sp.set_defaults(func=cmd_gaps)

    sp = with_store(sub.add_parser("fsck", help="check every segment; --rebuild the catalog from files"))
    sp.add_argument("--rebuild", action="store_true")
    sp.add_argument("--deep", action="store_true", help="authenticate every frame record")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_fsck)

    sp = sub.add_parser("demo", help="ingest, seek, read back and verify generated footage")
    sp.add_argument("--dir", help="keep the demo's files here instead of a temporary directory")
    sp.set_defaults(func=cmd_demo)

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except errors.VidvaultError as e:
        print(f"vidvault: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vidvault: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
