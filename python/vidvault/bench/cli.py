"""`vidvault bench ...` subcommands."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from ..timeutil import duration_ns
from . import ingest
from .machine import machine_info
from .report import Progress, Report
from .workload import CameraProfile, parse_bitrate


def _workdir(args: argparse.Namespace) -> Path:
    base = Path(args.dir)
    base.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=base, prefix="vidvault-bench-"))


def _emit(report: Report, args: argparse.Namespace) -> int:
    print(report.to_json() if args.json else report.table())
    met = [f.met for f in report.figures if f.met is not None]
    return 0 if all(met) or not args.strict else 1


def _profile(args: argparse.Namespace) -> CameraProfile:
    return CameraProfile(bitrate=parse_bitrate(args.bitrate), fps=args.fps, gop=args.gop)


def cmd_ingest(args: argparse.Namespace) -> int:
    work = _workdir(args)
    try:
        report = Report("ingest", machine_info(work), {
            "cameras": args.cameras, "bitrate": args.bitrate, "fps": args.fps, "gop": args.gop,
            "seconds": args.seconds, "sync_interval": args.sync_interval, "threads": args.threads,
            "mode": "max" if args.max else "real time"})
        sync = duration_ns(args.sync_interval) / 1e9
        result = ingest.run(work, cameras=args.cameras, profile=_profile(args), seconds=args.seconds,
                            sync_interval=sync, threads=args.threads, realtime=not args.max,
                            progress=Progress(not args.quiet))
        shutil.rmtree(work / "store", ignore_errors=True)
        raw = ingest.raw_baseline(work, result.file_sizes, threads=args.threads or 8, sync_interval=sync)
        ingest.summarize(result, raw, report)
        return _emit(report, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _common(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--dir", required=True, help="directory on the storage to measure")
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.add_argument("--quiet", action="store_true", help="no progress line on stderr")
    sp.add_argument("--strict", action="store_true", help="exit 1 when a target is not met")


def _camera_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--bitrate", default="4M", help="per camera, e.g. 4M, 512k")
    sp.add_argument("--fps", type=int, default=25)
    sp.add_argument("--gop", type=int, default=50, help="frames per group of pictures")
    sp.add_argument("--sync-interval", default="1s", help="group commit period")
    sp.add_argument("--threads", type=int, default=None, help="writer threads (default: 2 per core)")


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="measure what this storage holds, beside raw baselines")
    bsub = bench.add_subparsers(dest="bench", required=True)

    sp = bsub.add_parser("ingest", help="simulated cameras through the Python API vs raw write+fdatasync")
    _common(sp)
    _camera_args(sp)
    sp.add_argument("--cameras", type=int, default=16)
    sp.add_argument("--seconds", type=float, default=30, help="footage per camera")
    sp.add_argument("--max", action="store_true", help="as fast as possible instead of real time")
    sp.set_defaults(func=cmd_ingest)
