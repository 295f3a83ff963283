"""`vidvault tier set|status|sync STORE`: the object-storage tier, named
as :meth:`vidvault.Store.set_tier`, ``tier_status`` and ``sync_tier`` name
it. Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or
--profile), never from the command line, so they never land in a shell
history or a process list."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from ..status_line import StatusLine
from .args import open_store, with_store


def cmd_tier_set(args: argparse.Namespace) -> int:
    from ..tier import S3Tier

    tier = S3Tier(args.endpoint, args.bucket, prefix=args.prefix, region=args.region,
                  upload_after=args.upload_after, keep_local=args.keep_local, profile=args.profile,
                  read_cache_bytes=args.read_cache_bytes)
    with open_store(args, tier_uploads=False) as store:
        status = store.set_tier(tier)
    print(status.summary())
    return 0


def cmd_tier_status(args: argparse.Namespace) -> int:
    with open_store(args, tier_uploads=False) as store:
        status = store.tier_status()
    print(json.dumps(asdict(status), indent=2) if args.json else status.summary())
    return 1 if status.alarm else 0


def cmd_tier_sync(args: argparse.Namespace) -> int:
    line = StatusLine()

    def progress(done: int, total: int, segment) -> None:  # type: ignore[no-untyped-def]
        line(f"uploading {done}/{total}: segment {segment.id} of camera {segment.camera}", force=done == total)

    with open_store(args, tier_uploads=False) as store:
        report = store.sync_tier(progress=progress)
        status = store.tier_status()
    line.done()
    print(f"uploaded {len(report.uploaded)} segments ({report.uploaded_bytes} bytes); "
          f"{status.backlog_segments} waiting ({report.not_due} not due yet); "
          f"{len(report.retired)} objects of expired segments deleted; "
          f"{len(report.evicted)} local copies evicted ({report.evicted_bytes} bytes freed)"
          + (f", {len(report.held_local)} kept local under a legal hold" if report.held_local else "")
          + (f"; S3 legal holds placed on {len(report.legal_holds_placed)} objects, lifted from "
             f"{len(report.legal_holds_lifted)}" if report.legal_holds_placed or report.legal_holds_lifted else ""))
    for segment_id, why in report.failed:
        print(f"FAILED: {why}")
    if status.alarm:
        print(f"ALARM: {status.alarm}")
    return 1 if report.failed else 0


def register(sub: argparse._SubParsersAction) -> None:
    tier = sub.add_parser("tier", help="the object-storage (S3) tier: set, status, sync")
    tsub = tier.add_subparsers(dest="tier_command", required=True)

    sp = with_store(tsub.add_parser("set", help="send sealed segments to an S3 bucket (checked first)"))
    sp.add_argument("--endpoint", required=True, help="the S3 server's URL, e.g. https://s3.example.org")
    sp.add_argument("--bucket", required=True, help="an existing bucket (vidvault never creates one)")
    sp.add_argument("--prefix", default="", help="object keys start with this")
    sp.add_argument("--region", default="us-east-1")
    sp.add_argument("--upload-after", default="0s", help="upload this long after a segment is sealed")
    sp.add_argument("--keep-local", default="1d", help="keep the local copy this long after upload, then evict it")
    sp.add_argument("--read-cache-bytes", type=int, default=1 << 30,
                    help="cap of the local cache of evicted segments fetched back for reading (default 1 GiB)")
    sp.add_argument("--profile", help="AWS profile with the credentials (else AWS_ACCESS_KEY_ID/"
                    "AWS_SECRET_ACCESS_KEY)")
    sp.set_defaults(func=cmd_tier_set)

    sp = with_store(tsub.add_parser("status", help="the tier, what is uploaded, the backlog, the alarm"))
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_tier_status)

    sp = with_store(tsub.add_parser("sync", help="upload every sealed segment that is due, and evict what may go, now"))
    sp.set_defaults(func=cmd_tier_sync)
