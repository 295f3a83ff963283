"""`vidvault play`: a time range to an MP4, faces and plates hidden unless
``--raw`` (:meth:`vidvault.Store.play`)."""

from __future__ import annotations

import argparse

from ..timeutil import NS_PER_SECOND, to_ns
from .args import add_redaction_args, add_session_args, open_store, redaction_from, session_from, with_store


def cmd_play(args: argparse.Namespace) -> int:
    from ..redact.player import write_redacted_mp4
    from .progress import FrameProgressLine

    start, end = to_ns(args.start), to_ns(args.end)
    redaction = redaction_from(args)
    with open_store(args) as store:
        source = session_from(args, store)  # --as NAME --grant FILE: checked (view_raw / view_redacted), audited
        if redaction is None:
            frames = source.play(args.camera, start, end, raw=True)
        else:
            frames = source.play(args.camera, start, end, redact=redaction)
        progress = FrameProgressLine(start, end) if not args.quiet else None
        count = write_redacted_mp4(frames, args.out, fps=args.fps, allow_raw=args.raw, progress=progress)
        if progress is not None:
            progress.close(count)
    seconds = (end - start) / NS_PER_SECOND
    print(f"wrote {count} {'RAW (unredacted)' if args.raw else 'redacted'} frames "
          f"({seconds:.1f} s requested) to {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = with_store(sub.add_parser("play", help="play a time range to an MP4, faces and plates hidden "
                                   "(--raw: unredacted)"))
    sp.add_argument("--camera", required=True)
    sp.add_argument("--start", required=True, help="ISO-8601 with zone, or ns")
    sp.add_argument("--end", required=True)
    sp.add_argument("--out", required=True, help="MP4 file to write (H.264)")
    add_redaction_args(sp, raw_help="unredacted footage (privileged viewers only; needs view_raw with --as)")
    sp.add_argument("--fps", type=float, default=25.0, help="nominal frame rate of the output")
    sp.add_argument("--reason", help="why the footage is viewed (audited with --as)")
    sp.add_argument("--quiet", action="store_true", help="no progress display")
    add_session_args(sp)
    sp.set_defaults(func=cmd_play)
