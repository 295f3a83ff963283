"""`vidvault ingest | export | verify | keys export-public`: the media commands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from .cli import open_store, with_store
from .timeutil import iso, to_ns


class ProgressLine:
    """What a person watching a long ingest wants to see: frames, bitrate,
    footage time and the connection state, rewritten in place on a terminal,
    a line every few seconds otherwise (logs)."""

    def __init__(self, stream: TextIO = sys.stderr, *, log_every: float = 5.0) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.log_every = log_every
        self._last_log = -1e9
        self._last_state = ""

    def __call__(self, p: Any) -> None:
        seconds = p.footage_seconds
        footage = f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{seconds % 60:04.1f}"
        line = (f"{p.state:12} {p.frames:8d} frames  {p.bitrate / 1e6:6.2f} Mbit/s  {footage} of footage  "
                f"clock {p.clock}" + (f"  reconnects {p.reconnects}" if p.reconnects else "")
                + (f"  | {p.message}" if p.message and p.state != "receiving" else ""))
        if self.tty:
            end = "\n" if p.state == "done" else ""
            self.stream.write("\r\x1b[2K" + line[:200] + end)
            self.stream.flush()
        elif p.state != self._last_state or p.elapsed_seconds - self._last_log >= self.log_every or p.state == "done":
            self._last_log = p.elapsed_seconds
            self.stream.write(line + "\n")
            self.stream.flush()
        self._last_state = p.state


def cmd_ingest(args: argparse.Namespace) -> int:
    from .ingest import ingest

    with open_store(args) as store:
        result = ingest(store, args.camera, args.source, duration=args.duration, start=args.start,
                        create_camera=True, progress=None if args.quiet else ProgressLine())
    span = (f"{iso(result.first_ts)} .. {iso(result.last_ts)}" if result.first_ts is not None
            else "no footage")
    print(f"ingested {result.frames} frames ({result.keyframes} keyframes, {result.bytes / 1e6:.1f} MB) "
          f"of camera {args.camera}: {span}; clock {result.clock}"
          + (f"; {len(result.outages)} outage(s), {result.reconnects} reconnect(s)" if result.outages else "")
          + (f"; {result.config_changes} codec configuration change(s)" if result.config_changes else "")
          + (f"; {result.skipped} packet(s) skipped before a keyframe" if result.skipped else ""))
    return 0


def _c2pa(args: argparse.Namespace) -> Any:
    if bool(args.c2pa_cert) != bool(args.c2pa_key):
        from .errors import InvalidArgumentError

        raise InvalidArgumentError("C2PA needs both --c2pa-cert (PEM chain) and --c2pa-key (PEM private key)")
    if not args.c2pa_cert:
        return None
    from .c2pa_sign import C2paCredentials

    return C2paCredentials.from_files(args.c2pa_cert, args.c2pa_key)


def cmd_export(args: argparse.Namespace) -> int:
    credentials = _c2pa(args)
    from .cli_access import session_from
    from .cli_redact import Progress, redaction_from

    redaction = redaction_from(args)
    progress = None
    if redaction is not None and not args.quiet:
        progress = Progress(to_ns(args.start), to_ns(args.end))
    common = dict(redact=redaction, watermark=args.watermark, case=args.case, reason=args.reason, c2pa=credentials,
                  progress=progress)
    with open_store(args) as store:
        source = session_from(args, store)
        if source is store:
            result = store.export_clip(args.camera, args.start, args.end, args.out, actor=args.actor, **common)
        else:  # --as NAME --grant FILE: checked against the grants (export or export_raw), audited as that principal
            result = source.export_clip(args.camera, args.start, args.end, args.out, **common)
        fingerprint = result.manifest["signer"]["fingerprint"]
    if progress is not None:
        progress.close(result.presented)
    kind = "redacted (re-encoded, faces and plates hidden)" if redaction is not None else "bit-exact"
    print(f"exported {result.presented} frames ({result.frames} stored with the leading keyframe) of camera "
          f"{args.camera}, {kind}, {iso(result.first_presented)} .. {iso(result.last_presented)}, "
          f"to {result.directory}")
    for name, info in result.manifest["files"].items():
        print(f"  {name:24} {info['bytes'] / 1e6:8.2f} MB  sha256 {info['sha256']}")
    print(f"  manifest.json signed by store key {fingerprint}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify

    anchors = Path(args.c2pa_trust).read_bytes() if args.c2pa_trust else None
    if args.store:
        with open_store(args) as store:
            report = verify(args.package, public_key=args.public_key, store=store, c2pa_trust_anchors=anchors)
    else:
        report = verify(args.package, public_key=args.public_key, c2pa_trust_anchors=anchors)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        print(f"verifying {report.package}")
        for c in report.checks:
            mark = {True: "OK  ", False: "FAIL", None: "SKIP"}[c.ok]
            print(f"  {mark}  {c.name}: {c.detail}")
        first = report.first_failure
        if first is None:
            print(f"VERIFIED: every check passed (signature checked with the {report.key_source} key)")
        else:
            print(f"FAILED: {first.name}: {first.detail}")
    return 0 if report.ok else 1


def cmd_keys_export_public(args: argparse.Namespace) -> int:
    from . import signer_key

    with open_store(args) as store:
        raw = store.export_public_key()
    if args.format == "hex":
        print(raw.hex())
    elif args.format == "pem":
        sys.stdout.write(signer_key.to_pem(raw).decode("ascii"))
    else:
        print(f"# vidvault export signing key of store {args.store}")
        print(f"# Ed25519, fingerprint (SHA-256 of the raw key) {signer_key.fingerprint(raw)}")
        print(f"# raw key, hex: {raw.hex()}")
        sys.stdout.write(signer_key.to_pem(raw).decode("ascii"))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = with_store(sub.add_parser("ingest", help="store a file or RTSP stream as a camera's footage (no re-encode)"))
    sp.add_argument("--camera", required=True, help="camera id (added to the store if new)")
    sp.add_argument("source", help="a video file (MP4, MKV, MPEG-TS, AVI, ...) or an rtsp:// URL")
    sp.add_argument("--start", help="wall time of a file's first frame: ISO-8601 with zone, or ns")
    sp.add_argument("--duration", help="stop after this much footage (files) or time (streams): 90s, 2h, ...")
    sp.add_argument("--quiet", action="store_true", help="no progress display")
    sp.set_defaults(func=cmd_ingest)

    sp = with_store(sub.add_parser("export", help="write a signed evidence package of a time range"))
    sp.add_argument("--camera", required=True)
    sp.add_argument("--start", required=True, help="ISO-8601 with zone, or ns")
    sp.add_argument("--end", required=True, help="ISO-8601 with zone, or ns")
    sp.add_argument("--out", required=True, help="new (or empty) directory for the package")
    sp.add_argument("--watermark", help="burn this text into a copy: clip.watermarked.mp4, or with --redact "
                    "into clip.redacted.mp4")
    sp.add_argument("--case", help="case id (manifest, watermark)")
    sp.add_argument("--reason", help="why the footage is exported (manifest)")
    sp.add_argument("--actor", help="who exports it (manifest)")
    sp.add_argument("--c2pa-cert", help="PEM certificate chain (signer first) for C2PA content credentials")
    sp.add_argument("--c2pa-key", help="PEM private key of that certificate")
    from .cli_access import add_session_args
    from .cli_redact import add_redaction_args

    add_redaction_args(sp, redact_help="a redacted package: clip.redacted.mp4 (faces and plates hidden, "
                       "re-encoded, --watermark burned into it) and no unredacted video")
    sp.add_argument("--quiet", action="store_true", help="no progress display (with --redact)")
    add_session_args(sp)
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("verify", help="check an export package offline (exit 0 only if it is intact)")
    sp.add_argument("package", help="the package directory")
    sp.add_argument("--public-key", help="pinned store public key: PEM or hex file (else the packaged signer.pub)")
    sp.add_argument("--json", action="store_true", help="machine-readable report")
    sp.add_argument("--store", help="also compare the frames with this store's records")
    sp.add_argument("--key-file", help="master key of --store (else $VIDVAULT_KEY)")
    sp.add_argument("--c2pa-trust", help="PEM trust anchors for C2PA validation")
    sp.set_defaults(func=cmd_verify)

    keys = sub.add_parser("keys", help="the store's export signing key").add_subparsers(dest="keys_command", required=True)
    sp = with_store(keys.add_parser("export-public", help="print the public key that verifies this store's exports"))
    sp.add_argument("--format", choices=("text", "pem", "hex"), default="text",
                    help="text (default): fingerprint, hex and PEM; pem or hex: that form alone")
    sp.set_defaults(func=cmd_keys_export_public)
