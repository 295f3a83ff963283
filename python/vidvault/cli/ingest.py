"""`vidvault ingest`: a file or a live stream into a camera
(:func:`vidvault.ingest`)."""

from __future__ import annotations

import argparse

from ..media.transport import TRANSPORTS
from ..timeutil import iso
from .args import open_store, with_store


def cmd_ingest(args: argparse.Namespace) -> int:
    from ..ingestion import ingest
    from .progress import IngestProgressLine

    with open_store(args) as store:
        result = ingest(store, args.camera, args.source, duration=args.duration, start=args.start,
                        create_camera=True, transport=args.transport,
                        progress=None if args.quiet else IngestProgressLine())
    span = (f"{iso(result.first_ts)} .. {iso(result.last_ts)}" if result.first_ts is not None
            else "no footage")
    print(f"ingested {result.frames} frames ({result.keyframes} keyframes, {result.bytes / 1e6:.1f} MB) "
          f"of camera {args.camera}: {span}; clock {result.clock}"
          + (f"; {len(result.outages)} outage(s), {result.reconnects} reconnect(s)" if result.outages else "")
          + (f"; {result.config_changes} codec configuration change(s)" if result.config_changes else "")
          + (f"; {result.skipped} packet(s) skipped before a keyframe" if result.skipped else ""))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = with_store(sub.add_parser("ingest", help="store a file or RTSP stream as a camera's footage (no re-encode)"))
    sp.add_argument("--camera", required=True, help="camera id (added to the store if new)")
    sp.add_argument("source", help="a video file (MP4, MKV, MPEG-TS, AVI, ...) or an rtsp:// URL")
    sp.add_argument("--start", help="wall time of a file's first frame: ISO-8601 with zone, or ns")
    sp.add_argument("--duration", help="stop after this much footage (files) or time (streams): 90s, 2h, ...")
    sp.add_argument("--transport", choices=TRANSPORTS, default="auto",
                    help="RTSP transport: tcp, udp, or auto (TCP, then UDP if the server refuses TCP; default)")
    sp.add_argument("--quiet", action="store_true", help="no progress display")
    sp.set_defaults(func=cmd_ingest)
