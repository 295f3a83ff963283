"""`vidvault bench ...` subcommands."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..status_line import StatusLine
from ..timeutil import duration_ns

if TYPE_CHECKING:
    from .report import Report
    from .workload import CameraProfile

# The report, machine and workload modules (and what they import) load when
# a bench runs, not when `vidvault --help` builds this parser.


def _new_report(kind: str, work: Path, params: dict[str, Any]) -> "Report":
    from .machine import machine_info
    from .report import Report

    return Report(kind, machine_info(work), params)


def parse_bitrate(text: str) -> int:
    from .workload import parse_bitrate as parse

    return parse(text)


def _in_workdir(cmd: Callable[[argparse.Namespace, Path], int]) -> Callable[[argparse.Namespace], int]:
    """Runs a bench command in a fresh directory under --dir, removed
    afterwards whatever happens (benchmarks write gigabytes)."""

    def run(args: argparse.Namespace) -> int:
        base = Path(args.dir)
        base.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=base, prefix="vidvault-bench-"))
        try:
            return cmd(args, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    return run


def _say(args: argparse.Namespace) -> Callable[[str], None]:
    """Progress lines on stderr, unless --quiet."""
    return (lambda m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))


def _emit(report: Report, args: argparse.Namespace) -> int:
    print(report.to_json() if args.json else report.table())
    met = [f.met for f in report.figures if f.met is not None]
    return 0 if all(met) or not args.strict else 1


def _profile(args: argparse.Namespace) -> "CameraProfile":
    from .workload import CameraProfile

    return CameraProfile(bitrate=parse_bitrate(args.bitrate), fps=args.fps, gop=args.gop)


def cmd_ingest(args: argparse.Namespace, work: Path) -> int:
    from . import ingest

    report = _new_report("ingest", work, {
        "cameras": args.cameras, "bitrate": args.bitrate, "fps": args.fps, "gop": args.gop,
        "seconds": args.seconds, "sync_interval": args.sync_interval, "threads": args.threads,
        "mode": "max" if args.max else "real time", "commit": args.commit})
    sync = duration_ns(args.sync_interval) / 1e9
    raw_threads = args.threads or 8
    expected = ingest.expected_file_sizes(args.cameras, _profile(args), args.seconds)
    # Buffered before the run (O_DIRECT once, after: it bypasses the
    # cache whose state "before" and "after" are there to catch).
    runs = ingest.raw_runs(work, expected, threads=raw_threads, sync_interval=sync, when="before the run",
                           direct=False)
    result = ingest.run(work, cameras=args.cameras, profile=_profile(args), seconds=args.seconds,
                        sync_interval=sync, threads=args.threads, realtime=not args.max,
                        progress=StatusLine(enabled=not args.quiet), commit_mode=args.commit)
    shutil.rmtree(work / "store", ignore_errors=True)
    runs |= ingest.raw_runs(work, result.file_sizes, threads=raw_threads, sync_interval=sync, when="after")
    raw = ingest.RawBaseline(runs)
    ingest.summarize(result, raw, report)
    if args.file_seconds > 0 or args.file:
        _file_peer(args, work, report)
    return _emit(report, args)


def _file_peer(args: argparse.Namespace, work: Path, report: Report) -> None:
    from . import ingest_file

    result = ingest_file.run(work / "file", seconds=args.file_seconds, rounds=args.file_rounds, say=_say(args),
                             source=Path(args.file) if args.file else None)
    ingest_file.summarize(result, report)


def cmd_ingest_file(args: argparse.Namespace, work: Path) -> int:
    report = _new_report("ingest-file", work, {"file": args.file or f"{args.file_seconds:g} s made: 1080p25 H.264, 8 Mbit/s, MPEG-TS",
                                                "rounds": args.file_rounds})
    _file_peer(args, work, report)
    return _emit(report, args)


def cmd_capacity(args: argparse.Namespace, work: Path) -> int:
    from . import capacity, ingest

    profile = _profile(args)
    sync = duration_ns(args.sync_interval) / 1e9
    threads = args.threads or 2 * (os.cpu_count() or 2)
    report = _new_report("capacity", work, {
        "bitrate": args.bitrate, "fps": args.fps, "gop": args.gop, "seconds per trial": args.seconds,
        "p99 append bound": f"{args.p99_ms} ms", "sync_interval": args.sync_interval})
    progress = StatusLine(enabled=not args.quiet)
    say = _say(args)
    best, trials = capacity.search(work, profile, seconds=args.seconds, p99_bound_ms=args.p99_ms,
                                   sync_interval=sync, start=args.start, limit=args.limit,
                                   threads=args.threads, progress=progress, say=say)
    held = [t for t in trials if t.held and t.cameras == best]
    failed = sorted((t for t in trials if not t.held), key=lambda t: t.cameras)
    # The disk's figure is taken over the bytes of the trial that decides
    # the answer (the smallest one not held, else the largest held): a
    # write cache that absorbs a short burst must not pass for the disk.
    deciding = failed[0] if failed else max(trials, key=lambda t: t.cameras)
    runs = ingest.raw_runs(work, deciding.result.file_sizes, threads=threads, sync_interval=sync, when="after")
    raw = max(runs.values())
    need = best * profile.bitrate / 8 / 1e6
    report.add("cameras held in real time", best, "cameras", target=f"p99 append < {args.p99_ms} ms, none dropped")
    report.add("their write rate", need, "MB/s", baseline=raw,
               baseline_name=f"raw write+fdatasync, bytes of the {deciding.cameras}-camera trial")
    if held:
        r = held[0].result
        report.add("append latency p99 at that count", ingest.percentile(r.append_ns, 0.99) / 1e3, "us")
        report.add("CPU busy at that count", 100 * r.cpu_seconds / r.elapsed / (os.cpu_count() or 1), "%")
        report.add("resident memory per camera", r.rss_per_camera / 2**20, "MiB", target="<= 1 MiB",
                   met=r.rss_per_camera <= 2**20)
    if failed:
        first = failed[0]
        report.notes.append(f"{first.cameras} cameras were not held: {first.why}")
        report.notes.append("limiting resource: " + capacity.limiting_resource(first.result, raw, profile, sync))
    else:
        report.notes.append(f"every trial up to the --limit of {args.limit} cameras was held")
    report.details["trials"] = [{"cameras": t.cameras, "held": t.held, "why": t.why} for t in trials]
    report.details["raw_mbps"] = runs
    return _emit(report, args)


def cmd_seek(args: argparse.Namespace, work: Path) -> int:
    from . import seek

    labels = args.sizes.split(",")
    unknown = [label for label in labels if label not in seek.SIZES]
    if unknown:
        raise SystemExit(f"--sizes: unknown size {unknown[0]!r}; choose from {', '.join(seek.SIZES)}")
    # First seeks need a segment besides the one the catalog warm-up opens.
    short = [label for label in labels if seek.SIZES[label] < 2 * args.segment_minutes * 60]
    if short or args.runs < 1 or args.seeks < 1:
        raise SystemExit(f"--sizes {short[0]} holds fewer than 2 segments of {args.segment_minutes:g} minutes; "
                         "give shorter --segment-minutes or larger --sizes" if short
                         else "--runs and --seeks must be at least 1")
    report = _new_report("seek", work, {"sizes": args.sizes, "seeks per size": args.seeks,
                                        "runs": args.runs, "segment minutes": args.segment_minutes})
    say = _say(args)
    results = seek.run(work, labels, seeks=args.seeks, runs=args.runs, segment_minutes=args.segment_minutes,
                       say=say)
    worst = f"worst of {args.runs} runs"
    for r in results:
        raw99 = max(run.raw_p99_ms for run in r.runs)
        report.add(f"store {r.label}: {r.segments:,} segments, built in", r.build_seconds, "s")
        report.add(f"store {r.label}: size on disk", r.disk_bytes / 1e6, "MB")
        report.add(f"seek p50, mixed, {r.label}", max(run.p50_ms["mixed"] for run in r.runs), "ms",
                   baseline=max(run.raw_p50_ms for run in r.runs), baseline_name="raw 4 KiB random pread")
        for kind, what, of in (("mixed", "random seek (mixed)", ""), ("repeat", "repeat seek", ""),
                               ("first", "first seek into a segment", f"{r.runs[0].first_seeks:,} segments, ")):
            p99 = r.worst_p99(kind)
            report.add(f"{what} p99, {r.label} ({of}{worst})", p99, "ms", baseline=raw99,
                       baseline_name="raw 4 KiB random pread", target="< 2 ms", met=p99 < 2.0)
            report.add(f"{what} p99 CPU time, {r.label} ({worst})", r.worst_p99(kind, cpu=True), "ms")
        report.add(f"Store.seek p99, audited per call, {r.label} ({worst})",
                   max(run.audited_p99_ms for run in r.runs), "ms", baseline=raw99,
                   baseline_name="raw 4 KiB random pread")
    if len(results) > 1:
        first, last = results[0], results[-1]
        for kind in seek.KINDS:
            for cpu, of in ((False, ""), (True, " CPU time")):
                ratios = seek.growth(results, kind, cpu=cpu)
                report.add(f"{kind} seek p99{of} growth {first.label} -> {last.label} ({worst})", max(ratios),
                           "x", target="< 1.5x in every run", met=max(ratios) < 1.5)
    report.notes.append("seeks through a session's raw_footage (checked and audited once); Store.seek commits "
                        "a durable audit entry per call, timed apart at instants already seeked")
    report.notes.append("CPU time: the seeking thread's, without the waits of a seek preempted by other "
                        "processes (a scheduler slice, milliseconds, on a busy machine)")
    report.notes.append("mixed: random instants over the whole store, just reopened (what a user gets); "
                        "first: one seek into each of a sample of segments (file opened, identity checked, "
                        "index read, key unwrapped); repeat: seeks into segments already opened")
    report.details["sizes"] = [r.__dict__ | {"runs": [run.__dict__ for run in r.runs]} for r in results]
    if len(results) > 1:
        report.details["growth"] = {kind: seek.growth(results, kind) for kind in seek.KINDS}
        report.details["cpu_growth"] = {kind: seek.growth(results, kind, cpu=True) for kind in seek.KINDS}
    return _emit(report, args)


def cmd_export(args: argparse.Namespace, work: Path) -> int:
    from . import export

    report = _new_report("export", work, {"clip seconds": args.seconds, "rounds": args.rounds})
    r = export.remux_vs_ffmpeg(work, seconds=args.seconds, rounds=args.rounds)
    report.add(f"export {r.seconds} s {r.height}p by remux (signed package, fsynced)", r.vidvault_s * 1000, "ms",
               baseline=r.ffmpeg_s * 1000, baseline_name="ffmpeg -ss -t -c copy + fsync",
               target="faster (ratio < 1)", met=r.vidvault_s < r.ffmpeg_s)
    report.add("  same, baseline without fsync", r.vidvault_s * 1000, "ms", baseline=r.ffmpeg_plain_s * 1000,
               baseline_name="ffmpeg -ss -t -c copy")
    speed = export.watermark_speed(work, seconds=min(args.seconds, args.watermark_seconds))
    report.add("watermarked export, 720p 25 fps", speed, "x real time", target=">= 4x", met=speed >= 4.0)
    return _emit(report, args)


def cmd_redact(args: argparse.Namespace, work: Path) -> int:
    from . import redact

    from .redaction_harness import table

    report = _new_report("redact", work, {"videos": "720p" if args.quick else "720p, 1080p",
                                           "seconds": args.seconds or 4,
                                           "scenes": "face sizes" if args.sizes else "standard"})
    say = _say(args)
    results = redact.run(work, quick=args.quick, seconds=args.seconds, sizes=args.sizes, say=say)
    base = {r.scene: r for r in results if r.config == redact.baseline_name()}
    for r in results:
        if r.config == redact.baseline_name():
            continue
        b = base[r.scene]
        report.add(f"{r.scene}: {r.config}, fps", r.fps, "fps", baseline=b.fps, baseline_name="per-frame detection",
                   target=">= 25 fps" if "720" in r.scene else "", met=(r.fps >= 25) if "720" in r.scene else None)
        report.add(f"{r.scene}: {r.config}, object leaks", 100 * r.object_leak_rate, "%",
                   baseline=100 * b.object_leak_rate, baseline_name="per-frame detection",
                   target="lower than per-frame", met=r.object_leak_rate < b.object_leak_rate)
    report.details["results"] = [r.__dict__ for r in results]
    report.details["markdown"] = table(results)
    if not args.json:
        report.notes.append("the same as a markdown table (docs/BENCHMARKS.md):\n" + table(results))
    return _emit(report, args)


def cmd_people(args: argparse.Namespace, work: Path) -> int:
    from . import people

    report = _new_report("people", work, {"video": people.PEDESTRIAN_CLIP.name,
                                           "frames at 720p": args.frames_720p})
    results = people.run(frames_720p=args.frames_720p, say=_say(args))
    base = results[0]
    for r in results[1:]:
        report.add(f"{r.config}: heads hidden, people >= 60 px", 100 * r.hidden_above_60, "%",
                   baseline=100 * base.hidden_above_60, baseline_name=base.config, target=">= 99%",
                   met=r.hidden_above_60 >= 0.99)
        report.add(f"{r.config}: over-redaction", 100 * r.over_redaction, "% of frame", target="< 10%",
                   met=r.over_redaction < 0.10)
        report.add(f"{r.config}: fps at 720p", r.fps_720p, "fps", baseline=base.fps_720p,
                   baseline_name=base.config, target=">= 25 fps", met=r.fps_720p >= 25)
    report.details["results"] = [r.__dict__ for r in results]
    return _emit(report, args)


def cmd_record(args: argparse.Namespace, work: Path) -> int:
    from . import record

    report = _new_report("record", work, {"cameras": args.cameras, "seconds": args.seconds,
                                           "rounds": args.rounds, "stream": "720p25 H.264 over RTSP/TCP"})
    runs = record.run(work, cameras=args.cameras, seconds=args.seconds, rounds=args.rounds, say=_say(args))
    for steady, what in ((False, "CPU per camera-hour"), (True, "CPU per camera-hour, steady state")):
        ffmpeg = record.median_cpu(runs, "ffmpeg segment muxer", steady=steady)
        for name in ("vidvault record", "vidvault record, no picture checks"):
            ours = record.median_cpu(runs, name, steady=steady)
            report.add(f"{name}: {what}", ours, "CPU-s", baseline=ffmpeg,
                       baseline_name="ffmpeg segment muxer", target="<= 1.0x", met=ours <= ffmpeg)
    held = min(r.frames / (r.cameras * r.seconds * record.FPS) for r in runs if r.frames is not None)
    report.add("frames stored per frame sent, worst run", held, "", target=">= 0.9 (start-up included)",
               met=held >= 0.9)
    report.details["runs"] = [dict(r.__dict__, cpu_per_camera_hour=r.cpu_per_camera_hour,
                                   steady_cpu_per_camera_hour=r.steady_cpu_per_camera_hour) for r in runs]
    return _emit(report, args)


def cmd_view(args: argparse.Namespace, work: Path) -> int:
    from . import view

    report = _new_report("view", work, {"footage": f"{args.hour_seconds} s of 720p25 H.264",
                                         "viewer_seconds": args.viewer_seconds,
                                         "viewer_bitrate": args.viewer_bitrate,
                                         "timeline_requests": args.timeline_requests})
    result = view.run(work, hour_seconds=args.hour_seconds, viewer_seconds=args.viewer_seconds,
                      timeline_requests=args.timeline_requests, viewer_bps=parse_bitrate(args.viewer_bitrate),
                      max_viewers=args.max_viewers, say=_say(args))
    view.summarize(result, report)
    return _emit(report, args)


def cmd_tier(args: argparse.Namespace, work: Path) -> int:
    from . import tier

    if args.segments < 2:
        raise SystemExit("--segments must be at least 2")
    report = _new_report("tier", work, {"segments": args.segments, "restore_segments": args.restore_segments,
                                        "segment": f"{tier.SEGMENT_SECONDS} s of 720p H.264, 4 Mbit/s",
                                        "server": "weed mini (SeaweedFS) on loopback"})
    tier.summarize(tier.run(work, segments=args.segments, restore_segments=args.restore_segments, say=_say(args)),
                   report)
    return _emit(report, args)


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
    sp.add_argument("--commit", choices=("syncfs", "fdatasync"), default="syncfs",
                    help="group commit: one syncfs for all cameras, or an fdatasync per camera")


def _file_args(sp: argparse.ArgumentParser, *, default_seconds: float, skip_hint: str) -> None:
    sp.add_argument("--file-seconds", type=float, default=default_seconds,
                    help="length of the real 1080p H.264 file ingested beside ffmpeg's segment muxer" + skip_hint)
    sp.add_argument("--file-rounds", type=int, default=2, help="times each side runs on that file, alternating")
    sp.add_argument("--file", help="ingest this video file instead of making one (e.g. your camera's footage)")


def register(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="measure what this storage holds, beside raw baselines")
    bsub = bench.add_subparsers(dest="bench", required=True)

    sp = bsub.add_parser("ingest", help="simulated cameras through the Python API vs raw write+fdatasync")
    _common(sp)
    _camera_args(sp)
    sp.add_argument("--cameras", type=int, default=16)
    sp.add_argument("--seconds", type=float, default=30, help="footage per camera")
    sp.add_argument("--max", action="store_true", help="as fast as possible instead of real time")
    _file_args(sp, default_seconds=10, skip_hint=" (0: skip the file peer)")
    sp.set_defaults(func=_in_workdir(cmd_ingest))

    sp = bsub.add_parser("ingest-file", help="CPU of `vidvault ingest` on a real 1080p H.264 MPEG-TS file "
                                             "vs ffmpeg's segment muxer on the same file")
    _common(sp)
    _file_args(sp, default_seconds=30, skip_hint="")
    sp.set_defaults(func=_in_workdir(cmd_ingest_file))

    sp = bsub.add_parser("capacity", help="largest camera count held in real time, and what limits it")
    _common(sp)
    _camera_args(sp)
    sp.add_argument("--seconds", type=float, default=15, help="footage per camera in each trial")
    sp.add_argument("--p99-ms", type=float, default=2.0, help="p99 append latency bound")
    sp.add_argument("--start", type=int, default=16, help="first camera count tried (then doubled)")
    sp.add_argument("--limit", type=int, default=4096, help="largest camera count tried")
    sp.set_defaults(func=_in_workdir(cmd_capacity))

    sp = bsub.add_parser("seek", help="random seek latency over stores of 1 hour to 1 year")
    _common(sp)
    sp.add_argument("--sizes", default="1h,1d,1w,1y", help="comma-separated from 1h, 1d, 1w, 1y")
    sp.add_argument("--seeks", type=int, default=2000, help="random seeks of each kind per store size")
    sp.add_argument("--runs", type=int, default=3, help="measuring passes over the built stores")
    sp.add_argument("--segment-minutes", type=float, default=5.0, help="footage per segment file")
    sp.set_defaults(func=_in_workdir(cmd_seek))

    sp = bsub.add_parser("export", help="clip export by remux vs ffmpeg -c copy, watermark speed")
    _common(sp)
    sp.add_argument("--seconds", type=int, default=60, help="clip length")
    sp.add_argument("--watermark-seconds", type=int, default=20, help="watermarked clip length")
    sp.add_argument("--rounds", type=int, default=5)
    sp.set_defaults(func=_in_workdir(cmd_export))

    sp = bsub.add_parser("redact", help="desensitized playback vs per-frame detection (leaks, fps)")
    _common(sp)
    sp.add_argument("--quick", action="store_true", help="720p videos only")
    sp.add_argument("--seconds", type=float, default=None, help="length of each test video (default 4)")
    sp.add_argument("--sizes", action="store_true",
                    help="one video per face-size bucket (12-300 px) over a real CCTV background, "
                         "with and without face tiles (needs `vidvault models install --test-footage`)")
    sp.set_defaults(func=_in_workdir(cmd_redact))

    sp = bsub.add_parser("people", help="heads of small people hidden on a real pedestrian clip, per detector")
    _common(sp)
    sp.add_argument("--frames-720p", type=int, default=150, help="frames of the 720p speed run")
    sp.set_defaults(func=_in_workdir(cmd_people))

    sp = bsub.add_parser("view", help="the web viewer over real HTTP: first byte/frame of an hour, "
                                      "concurrent raw viewers, timeline p99 (vs a plain file)")
    _common(sp)
    sp.add_argument("--hour-seconds", type=int, default=3600, help="length of the long range")
    sp.add_argument("--viewer-seconds", type=float, default=15, help="how long each viewer reads")
    sp.add_argument("--timeline-requests", type=int, default=300)
    sp.add_argument("--viewer-bitrate", default="4M", help="the pace each concurrent viewer reads at")
    sp.add_argument("--max-viewers", type=int, default=128, help="the largest viewer count tried")
    sp.set_defaults(func=_in_workdir(cmd_view))

    sp = bsub.add_parser("record", help="RTSP cameras recorded by vidvault record vs ffmpeg's segment muxer (CPU)")
    _common(sp)
    sp.add_argument("--cameras", type=int, default=4)
    sp.add_argument("--seconds", type=float, default=60, help="length of each recording")
    sp.add_argument("--rounds", type=int, default=2, help="times each recorder runs, alternating")
    sp.set_defaults(func=_in_workdir(cmd_record))

    sp = bsub.add_parser("tier", help="the S3 tier on a loopback weed mini: upload MB/s and seeks into evicted "
                                      "segments, beside plain boto3 PUT/GET of the same objects")
    _common(sp)
    sp.add_argument("--segments", type=int, default=30, help="sealed segments written, uploaded and evicted")
    sp.add_argument("--restore-segments", type=int, default=1000,
                    help="segments of the store restored at scale (0: skip)")
    sp.set_defaults(func=_in_workdir(cmd_tier))
