"""`vidvault create | cameras | add-camera | segments | gaps | fsck`:
the store, its cameras and its footage, as :class:`vidvault.Store` names them."""

from __future__ import annotations

import argparse
import json
from typing import Sequence

from ..errors import InvalidArgumentError
from ..timeutil import iso, to_ns
from .args import add_session_args, open_store, session_from, with_store


def _labels(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        k, sep, v = pair.partition("=")
        if not sep or not k:
            raise InvalidArgumentError(f"--label takes KEY=VALUE, got {pair!r}")
        out[k] = v
    return out


def cmd_create(args: argparse.Namespace) -> int:
    from ..keys import load_key
    from ..store import Store

    with Store.create(args.store, key=load_key(args.key_file)) as store:
        print(f"created store {store.store_id} at {store.path}")
    return 0


def cmd_cameras(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        cams = [(c, *store.retention(c.id)) for c in store.cameras()]
    if args.json:
        print(json.dumps([{"id": c.id, "labels": c.labels, "created": iso(c.created), "retention": source,
                           "policy": str(policy)} for c, source, policy in cams], indent=2))
    else:
        for c, source, policy in cams:
            labels = " ".join(f"{k}={v}" for k, v in sorted(c.labels.items()))
            print(f"{c.id:24} {source:18} {str(policy):44} {labels}")
    return 0


def cmd_add_camera(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        store.add_camera(args.camera, labels=_labels(args.label), retention=args.retention)
        source, policy = store.retention(args.camera)
    print(f"added camera {args.camera} ({source}: {policy})")
    return 0


def cmd_segments(args: argparse.Namespace) -> int:
    from ..store import FAR_FUTURE, FAR_PAST

    with open_store(args) as store:
        start = FAR_PAST if args.start is None else to_ns(args.start)
        end = FAR_FUTURE if args.end is None else to_ns(args.end)
        for s in session_from(args, store).segments(args.camera, start, end):
            end_s = iso(s.end) if s.end is not None else "(open)"
            digest = s.content_hash.hex()[:16] if s.content_hash else "-"
            print(f"{s.id:8} {s.state:7} {iso(s.start)} .. {end_s} {s.frames or 0:7} frames "
                  f"{(s.bytes or 0) / 1e6:9.2f} MB  {digest}  {s.path}")
    return 0


def cmd_gaps(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        source = session_from(args, store)
        gaps = (source.gaps(args.camera, args.start, args.end) if source is not store
                else store.gaps(args.camera, args.start, args.end, min_gap=args.min_gap))
        for g in gaps:
            print(f"{iso(g.start)} .. {iso(g.end)}  ({g.duration.total_seconds():.3f} s)")
        if not gaps:
            print("no gaps")
    return 0


def cmd_fsck(args: argparse.Namespace) -> int:
    with open_store(args, rebuild_catalog=args.rebuild) as store:
        if args.rebuild:
            print("catalog rebuilt from the segment files")
        report = store.fsck(deep=args.deep)
    if args.json:
        print(json.dumps({"ok": report.ok, "segments": report.segments, "frames": report.frames,
                          "bytes": report.bytes, "remote_objects": report.remote_objects,
                          "remote_bytes": report.remote_bytes, "problems": [p.__dict__ for p in report.problems]},
                         indent=2))
    else:
        print(f"checked {report.segments} segments, {report.frames} frames, {report.bytes / 1e6:.1f} MB"
              f"{' (every record authenticated)' if args.deep else ''}")
        if report.remote_objects:
            how = (f"read back ({report.remote_bytes / 1e6:.1f} MB) and hashed" if args.deep
                   else "found at their size; --deep reads each back")
            print(f"checked {report.remote_objects} objects in the tier's bucket: {how}")
        for p in report.problems:
            print(f"PROBLEM {p}")
        print("OK" if report.ok else f"{len(report.problems)} problem(s)")
    return 0 if report.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    sp = with_store(sub.add_parser("create", help="create a store in a new or empty directory"))
    sp.set_defaults(func=cmd_create)

    sp = with_store(sub.add_parser("cameras", help="list the cameras and the retention each follows"))
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_cameras)

    sp = with_store(sub.add_parser("add-camera", help="register a camera"))
    sp.add_argument("camera", help="camera id (any printable string; GB/T 28181 ids are 20 digits)")
    sp.add_argument("--label", action="append", default=[], metavar="KEY=VALUE")
    sp.add_argument("--retention", metavar="CLASS", help="retention class (default: the store default)")
    sp.set_defaults(func=cmd_add_camera)

    sp = with_store(sub.add_parser("segments", help="list a camera's segments"))
    sp.add_argument("--camera", required=True)
    sp.add_argument("--start")
    sp.add_argument("--end")
    add_session_args(sp)
    sp.set_defaults(func=cmd_segments)

    sp = with_store(sub.add_parser("gaps", help="stretches without footage"))
    sp.add_argument("--camera", required=True)
    sp.add_argument("--start", required=True, help="ISO-8601 with zone, or ns")
    sp.add_argument("--end", required=True)
    sp.add_argument("--min-gap", default=None, help="ignore shorter gaps (e.g. 2s, 1m)")
    add_session_args(sp)
    sp.set_defaults(func=cmd_gaps)

    sp = with_store(sub.add_parser("fsck", help="check every segment; --rebuild the catalog from files"))
    sp.add_argument("--rebuild", action="store_true")
    sp.add_argument("--deep", action="store_true",
                    help="authenticate every frame record (and hash every object in the tier's bucket)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_fsck)
