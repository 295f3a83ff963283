"""`vidvault availability STORE --start T --end T`: per camera, the share of
the period with footage and its outages (:meth:`vidvault.Store.availability`)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

from ..timeutil import iso
from .args import open_store, with_store


def cmd_availability(args: argparse.Namespace) -> int:
    from ..availability_chart import write_chart  # Pillow: only when a chart is asked for

    with open_store(args) as store:
        report = store.availability(args.start, args.end, cameras=args.camera or None, pictures=args.pictures,
                                    every=args.every)
    if args.chart:
        write_chart(report, Path(args.chart), args.target)
    if args.json:
        out = report.to_dict()
        out["intact_rate"] = report.intact_rate(args.target)
        out["target"] = args.target
        print(json.dumps(out, indent=2))
    elif args.csv:
        w = csv.writer(sys.stdout)
        w.writerow(["camera", "in_service_from", "recorded_fraction", "recorded_seconds", "missing_seconds",
                    "outages"]
                   + (["working_fraction", "picture_alarms"] if args.pictures else []))
        for c in report.cameras:
            d = c.to_dict()
            w.writerow([c.camera, d["in_service_from"], d["recorded_fraction"], d["recorded_seconds"], d["missing_seconds"], len(c.outages)]
                       + ([d["working_fraction"], len(d["picture_alarms"])] if args.pictures else []))
    else:
        print(f"{iso(report.start)} .. {iso(report.end)}")
        for c in report.cameras:
            longest = max((g.end - g.start for g in c.outages), default=0) / 1e9
            print(f"{c.camera:24} {c.fraction:8.2%} recorded  {len(c.outages):4d} outage(s)"
                  + (f", longest {longest:.1f} s" if c.outages else "")
                  + (f" (causes: {', '.join(sorted({x for cs in c.causes for x in cs}))})" if any(c.causes) else "")
                  + ("" if c.picture_alarms is None else f"; {c.working_fraction:.2%} with a picture"))
            if c.start > report.start:
                print(f"  in service from {iso(c.start)} (added to the store then): counted from there")
            for a in c.picture_alarms or ():
                print(f"  {a.describe()}")
        if report.not_in_service:
            print(f"not in service during the period (added after it): {', '.join(report.not_in_service)}")
        what = "recorded a working picture for" if args.pictures else "recorded"
        print(f"{report.intact_rate(args.target):.1%} of {len(report.cameras)} camera(s) {what} at least "
              f"{args.target:.0%} of the period")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = with_store(sub.add_parser("availability", help="per camera: share of a period with footage, and outages"))
    sp.add_argument("--start", required=True, help="period start: ISO-8601 with zone, or ns")
    sp.add_argument("--end", required=True, help="period end: ISO-8601 with zone, or ns")
    sp.add_argument("--camera", action="append", help="only this camera (repeatable; default all)")
    sp.add_argument("--target", type=float, default=0.98,
                    help="share of the period a camera must record to count as intact (default 0.98)")
    sp.add_argument("--pictures", action="store_true",
                    help="also check the pictures (black, covered, frozen, moved): decodes one keyframe per --every")
    sp.add_argument("--every", default="60s", help="with --pictures: one keyframe per this much footage (default 60s)")
    sp.add_argument("--chart", metavar="FILE.png",
                    help="also draw the report: a timeline per camera, red where footage is missing")
    fmt = sp.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON instead of a table")
    fmt.add_argument("--csv", action="store_true", help="CSV, one row per camera")
    sp.set_defaults(func=cmd_availability)
