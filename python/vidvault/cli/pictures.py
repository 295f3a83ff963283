"""`vidvault check-pictures STORE --camera C --start T --end T`: zombie-camera
checks over stored footage (:meth:`vidvault.Store.check_pictures`): black,
uniform (covered), frozen, moved. Exit status 1 when an alarm is found, so a
monitoring job can run it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..timeutil import duration_ns
from .args import open_store, with_store

EXIT_CLEAN, EXIT_ALARM = 0, 1


def cmd_check_pictures(args: argparse.Namespace) -> int:
    from ..picture_check import Thresholds
    from ..picture_check.pictures import write_alarm_pictures

    thresholds = Thresholds(frozen_after_ns=duration_ns(args.frozen_after))
    with open_store(args) as store:
        cameras = args.camera or [c.id for c in store.cameras()]
        alarms = [a for camera in cameras
                  for a in store.check_pictures(camera, args.start, args.end, every=args.every, thresholds=thresholds)]
        written = {id(a): write_alarm_pictures(store, a, Path(args.pictures)) for a in alarms} if args.pictures else {}
    if args.json:
        print(json.dumps([dict(a.to_dict(), pictures=[str(p) for p in written.get(id(a), [])]) for a in alarms],
                         indent=2))
    else:
        for a in alarms:
            print(a.describe())
            for p in written.get(id(a), []):
                print(f"  {p}")
        print(f"{len(alarms)} alarm(s) on {len(cameras)} camera(s)")
    return EXIT_ALARM if alarms else EXIT_CLEAN


def register(sub: argparse._SubParsersAction) -> None:
    sp = with_store(sub.add_parser(
        "check-pictures", help="zombie cameras: black, covered, frozen or moved pictures in stored footage"))
    sp.add_argument("--camera", action="append", help="only this camera (repeatable; default all)")
    sp.add_argument("--start", required=True, help="period start: ISO-8601 with zone, or ns")
    sp.add_argument("--end", required=True, help="period end: ISO-8601 with zone, or ns")
    sp.add_argument("--every", default="10s", help="one keyframe per this much footage (default 10s)")
    sp.add_argument("--frozen-after", default="2m",
                    help="the same picture this long is frozen (default 2m; a still scene may last a while)")
    sp.add_argument("--pictures", metavar="DIR",
                    help="write each alarm's last good and first bad picture here as PNG (unencrypted: like an "
                         "export, keep them where footage may be)")
    sp.add_argument("--json", action="store_true", help="JSON instead of lines")
    sp.set_defaults(func=cmd_check_pictures)
