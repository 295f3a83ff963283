"""`vidvault` commands for retention, legal holds and disk space, named as
:class:`vidvault.Store` names them: enforce-retention, retention-classes,
define-retention-class, set-default-retention-class, set-retention, hold,
release, holds, storage-status, check-disk-pressure."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from ..timeutil import iso, to_ns
from .args import open_store, with_store

if TYPE_CHECKING:
    from ..retention import StorageStatus


def cmd_enforce_retention(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        report = store.enforce_retention(args.now, dry_run=args.dry_run)
        status = store.storage_status()
    if args.json:
        out = asdict(report)
        out["shredded"] = [(cam, day.isoformat()) for cam, day in report.shredded]
        out["storage"] = asdict(status)
        print(json.dumps(out, indent=2, default=str))
    else:
        print(report.summary())
        print(f"free space: {status.free_bytes / 1e9:.1f} GB (floor {status.min_free_bytes / 1e9:.1f} GB)")
        if status.alarm:
            print(f"ALARM: {status.alarm}")
    return 0


def _print_classes(args: argparse.Namespace, store) -> None:  # type: ignore[no-untyped-def]
    default, classes = store.default_retention_class, store.retention_classes()
    if args.json:
        print(json.dumps({"default": default, "classes": {n: str(r) for n, r in classes.items()}}, indent=2))
    else:
        for name, r in classes.items():
            print(f"{'*' if name == default else ' '} {name:16} {r}")


def cmd_retention_classes(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        _print_classes(args, store)
    return 0


def cmd_define_retention_class(args: argparse.Namespace) -> int:
    from ..retention import Retention

    with open_store(args) as store:
        store.define_retention_class(
            args.name, Retention(max_age=args.max_age, max_bytes=args.max_bytes, min_age=args.min_age))
        _print_classes(args, store)
    return 0


def cmd_set_default_retention_class(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        store.set_default_retention_class(args.name)
        _print_classes(args, store)
    return 0


def cmd_set_retention(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        store.set_retention(args.camera, None if args.retention == "default" else args.retention)
        source, policy = store.retention(args.camera)
    print(f"camera {args.camera}: {source}: {policy}")
    return 0


def cmd_hold(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        hold = store.hold(args.camera, args.start, args.end, case=args.case, actor=args.actor,
                          reason=args.reason, until=args.until)
    print(f"hold {hold.id} placed on {args.camera} for case {args.case}")
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        hold = store.release(args.hold_id, actor=args.actor)
    print(f"hold {hold.id} (case {hold.case}) released by {hold.released_by}")
    return 0


def cmd_holds(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        holds = store.holds(args.camera, active=None if args.all else True)
    rows = [
        {"id": h.id, "camera": h.camera, "start": iso(h.start), "end": iso(h.end), "case": h.case,
         "reason": h.reason, "actor": h.actor, "until": iso(h.until) if h.until else None,
         "released": iso(h.released_at) if h.released_at else None, "released_by": h.released_by}
        for h in holds
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            state = f"released {r['released']} by {r['released_by']}" if r["released"] else "in force"
            print(f"{r['id']:6} {r['camera']:24} {r['start']} .. {r['end']}  case {r['case']}  "
                  f"by {r['actor']}  {state}")
        if not rows:
            print("no holds")
    return 0


def _print_status(args: argparse.Namespace, status: StorageStatus) -> int:
    print(json.dumps(asdict(status), indent=2) if args.json else
          f"free {status.free_bytes / 1e9:.2f} GB of {status.total_bytes / 1e9:.2f} GB, "
          f"floor {status.min_free_bytes / 1e9:.2f} GB" + (f"\nALARM: {status.alarm}" if status.alarm else ""))
    return 1 if status.alarm else 0


def cmd_storage_status(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        status = store.storage_status()
    return _print_status(args, status)


def cmd_check_disk_pressure(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        status = store.check_disk_pressure()
    return _print_status(args, status)


def register(sub: argparse._SubParsersAction) -> None:
    sp = with_store(sub.add_parser("enforce-retention", help="delete expired footage, shred keys of emptied days"))
    sp.add_argument("--dry-run", action="store_true", help="report what would be deleted, delete nothing")
    sp.add_argument("--now", type=to_ns, help="pretend it is this instant (ISO-8601 or ns)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_enforce_retention)

    sp = with_store(sub.add_parser("retention-classes", help="list the retention classes (* the default)"))
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_retention_classes)

    sp = with_store(sub.add_parser("define-retention-class", help="create or change a retention class"))
    sp.add_argument("name")
    sp.add_argument("--max-age", help="e.g. 30d")
    sp.add_argument("--min-age", help="e.g. 30d")
    sp.add_argument("--max-bytes", help="e.g. 2T")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_define_retention_class)

    sp = with_store(sub.add_parser("set-default-retention-class", help="the class cameras without one follow"))
    sp.add_argument("name")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_set_default_retention_class)

    sp = with_store(sub.add_parser("set-retention", help="put a camera in a retention class"))
    sp.add_argument("camera")
    sp.add_argument("retention", metavar="CLASS", help="a class name, or 'default' for the store default")
    sp.set_defaults(func=cmd_set_retention)

    sp = with_store(sub.add_parser("hold", help="place a legal hold on footage"))
    sp.add_argument("--camera", required=True)
    sp.add_argument("--start", required=True)
    sp.add_argument("--end", required=True)
    sp.add_argument("--case", required=True)
    sp.add_argument("--actor", required=True, help="who places the hold")
    sp.add_argument("--reason", default="")
    sp.add_argument("--until", help="the hold lapses at this instant")
    sp.set_defaults(func=cmd_hold)

    sp = with_store(sub.add_parser("release", help="release a legal hold"))
    sp.add_argument("hold_id", type=int)
    sp.add_argument("--actor", required=True)
    sp.set_defaults(func=cmd_release)

    sp = with_store(sub.add_parser("holds", help="list legal holds in force (--all: released too)"))
    sp.add_argument("--camera")
    sp.add_argument("--all", action="store_true")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_holds)

    sp = with_store(sub.add_parser("storage-status", help="free space, the floor and the disk-pressure alarm"))
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_storage_status)

    sp = with_store(sub.add_parser("check-disk-pressure", help="check free space now; reclaim the oldest "
                                   "deletable footage if under the floor"))
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_check_disk_pressure)
