"""`vidvault export-clip | verify`: evidence packages
(:meth:`vidvault.Store.export_clip`, :func:`vidvault.verify`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InvalidArgumentError
from ..timeutil import iso, to_ns
from .args import add_redaction_args, add_session_args, open_store, redaction_from, session_from, with_store

if TYPE_CHECKING:
    from ..export.c2pa import C2paCredentials
    from ..export.verify import VerificationReport


def _c2pa(args: argparse.Namespace) -> C2paCredentials | None:
    from ..export.c2pa import C2paCredentials

    if bool(args.c2pa_cert) != bool(args.c2pa_key):
        raise InvalidArgumentError("C2PA needs both --c2pa-cert (PEM chain) and --c2pa-key (PEM private key)")
    if not args.c2pa_cert:
        return None
    return C2paCredentials.from_files(args.c2pa_cert, args.c2pa_key)


def cmd_export_clip(args: argparse.Namespace) -> int:
    from .progress import FrameProgressLine

    credentials = _c2pa(args)
    redaction = redaction_from(args)
    progress = None
    if redaction is not None and not args.quiet:
        progress = FrameProgressLine(to_ns(args.start), to_ns(args.end))
    kind = dict(raw=True) if redaction is None else dict(redact=redaction)
    common = dict(watermark=args.watermark, case=args.case, reason=args.reason, c2pa=credentials, progress=progress)
    with open_store(args) as store:
        source = session_from(args, store)
        if source is store:
            result = store.export_clip(args.camera, args.start, args.end, args.out, actor=args.actor, **kind, **common)
        else:  # --as NAME --grant FILE: checked against the grants (export or export_raw), audited as that principal
            result = source.export_clip(args.camera, args.start, args.end, args.out, **kind, **common)
        fingerprint = result.manifest["signer"]["fingerprint"]
    if progress is not None:
        progress.close(result.presented)
    described = "bit-exact" if redaction is None else "redacted (re-encoded, faces and plates hidden)"
    print(f"exported {result.presented} frames ({result.frames} stored with the leading keyframe) of camera "
          f"{args.camera}, {described}, {iso(result.first_presented)} .. {iso(result.last_presented)}, "
          f"to {result.directory}")
    for name, info in result.manifest["files"].items():
        print(f"  {name:24} {info['bytes'] / 1e6:8.2f} MB  sha256 {info['sha256']}")
    print(f"  manifest.json signed by store key {fingerprint}")
    return 0


#: `vidvault verify` exit codes (docs/EXPORT.md, "Verification"); 2 is every
#: command's usage error (bad arguments, an unreadable pin or store).
EXIT_VERIFIED, EXIT_FAILED, EXIT_UNPINNED = 0, 1, 3
#: Keyed by the verdict's text (``Status`` is a str enum) so that this module
#: need not import the verifier to build `vidvault --help`.
EXIT_CODES = {"VERIFIED": EXIT_VERIFIED, "FAILED": EXIT_FAILED, "INTACT, SIGNER NOT PINNED": EXIT_UNPINNED}


def cmd_verify(args: argparse.Namespace) -> int:
    from ..export.verify import verify

    anchors = _read_arg_file(args.c2pa_trust, "--c2pa-trust") if args.c2pa_trust else None
    pins = dict(public_key=args.public_key, trusted_signers=args.trusted_signers, c2pa_trust_anchors=anchors)
    if args.store:
        with open_store(args) as store:
            report = verify(args.package, store=store, **pins)
    else:
        report = verify(args.package, **pins)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        _print_report(report)
    return EXIT_CODES[report.status.value]


def _read_arg_file(path: str, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise InvalidArgumentError(f"cannot read {option} file {path}: {e.strerror}") from None


def _print_report(report: VerificationReport) -> None:
    from ..export.verify import Status

    print(f"verifying {report.package}")
    for c in report.checks:
        mark = {True: "OK  ", False: "FAIL", None: "SKIP"}[c.ok]
        print(f"  {mark}  {c.name}: {c.detail}")
    first = report.first_failure
    if first is not None:
        print(f"FAILED: {first.name}: {first.detail}")
    elif report.status is Status.UNPINNED:
        print(f"INTACT, SIGNER NOT PINNED (fingerprint {report.signer_fingerprint}): every check passed, but "
              "anyone can sign with a key of their own; pin the store's key with --public-key FILE or "
              "--trusted-signers FILE to prove who exported it")
    else:
        print(f"VERIFIED: every check passed, signed by a pinned signer ({report.key_source}, fingerprint "
              f"{report.signer_fingerprint})")


def register(sub: argparse._SubParsersAction) -> None:
    sp = with_store(sub.add_parser("export-clip", help="write a signed evidence package of a time range "
                                   "(redacted; --raw: bit-exact)"))
    sp.add_argument("--camera", required=True)
    sp.add_argument("--start", required=True, help="ISO-8601 with zone, or ns")
    sp.add_argument("--end", required=True, help="ISO-8601 with zone, or ns")
    sp.add_argument("--out", required=True, help="new (or empty) directory for the package")
    sp.add_argument("--watermark", help="burn this text into a copy: clip.redacted.mp4, or with --raw "
                    "clip.watermarked.mp4")
    sp.add_argument("--case", help="case id (manifest, watermark)")
    sp.add_argument("--reason", help="why the footage is exported (manifest)")
    sp.add_argument("--actor", help="who exports it (manifest)")
    sp.add_argument("--c2pa-cert", help="PEM certificate chain (signer first) for C2PA content credentials")
    sp.add_argument("--c2pa-key", help="PEM private key of that certificate")
    add_redaction_args(sp, raw_help="the bit-exact package: clip.mp4 as stored (needs export_raw with --as); "
                       "without it: clip.redacted.mp4 (faces and plates hidden, re-encoded) and no unredacted video")
    sp.add_argument("--quiet", action="store_true", help="no progress display (redacted packages)")
    add_session_args(sp)
    sp.set_defaults(func=cmd_export_clip)

    sp = sub.add_parser("verify", help="check an export package offline (exit 0 only if it is intact and "
                        "signed by a pinned signer; 3: intact, signer not pinned; 1: failed)")
    sp.add_argument("package", help="the package directory, or a zip archive of it")
    pin = sp.add_mutually_exclusive_group()
    pin.add_argument("--public-key", help="pin the store's public key: PEM or hex file")
    pin.add_argument("--trusted-signers", help="pin a list of signers: a file of fingerprints or ed25519:KEY "
                     "lines (docs/EXPORT.md)")
    sp.add_argument("--json", action="store_true", help="machine-readable report")
    sp.add_argument("--store", help="also compare the frames with this store's records")
    sp.add_argument("--key-file", help="master key of --store (else $VIDVAULT_KEY)")
    sp.add_argument("--c2pa-trust", help="PEM trust anchors for C2PA validation")
    sp.set_defaults(func=cmd_verify)
