"""`vidvault restore s3://BUCKET/PREFIX DIR`: rebuilds a store from the
replica of its metadata in its bucket, as :meth:`vidvault.Store.restore`
does (a recorder whose disk died); with --read-only, a read-only view of
it for another node instead (:meth:`vidvault.Store.open_remote`): every
other command then reads DIR and changes nothing in the bucket.
Credentials as for `vidvault tier`: AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY or --profile."""

from __future__ import annotations

import argparse


def cmd_restore(args: argparse.Namespace) -> int:
    from ..keys import load_key
    from ..store import Store

    endpoint = args.endpoint or f"https://s3.{args.region}.amazonaws.com"
    where = dict(key=load_key(args.key_file), endpoint=endpoint, store_id=args.store_id, snapshot=args.snapshot,
                 region=args.region, profile=args.profile)
    if args.read_only:
        with Store.open_remote(args.url, args.dir, **where) as view:
            report = view.remote_report
        assert report is not None
    else:
        report = Store.restore(args.url, args.dir, **where)
    print(report.summary())
    return 1 if report.missing or report.tail.problem else 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("restore", help="rebuild a store from the replica of its metadata in its S3 bucket")
    sp.add_argument("url", help="s3://BUCKET or s3://BUCKET/PREFIX, as the store's tier was set")
    sp.add_argument("dir", help="the new store directory (new or empty)")
    sp.add_argument("--endpoint", help="the S3 server's URL (default: AWS in --region)")
    sp.add_argument("--region", default="us-east-1")
    sp.add_argument("--profile", help="AWS profile with the credentials (else AWS_ACCESS_KEY_ID/"
                    "AWS_SECRET_ACCESS_KEY)")
    sp.add_argument("--store-id", help="which store, when several share the prefix")
    sp.add_argument("--snapshot", type=int, metavar="SEQ",
                    help="restore this snapshot instead of the newest (e.g. when the newest is refused)")
    sp.add_argument("--read-only", action="store_true",
                    help="a read-only view for another node (search, play, export, verify), not a store that "
                         "takes over from the recorder: it never uploads, deletes or replicates in the bucket")
    sp.add_argument("--key-file", help="master key file (else $VIDVAULT_KEY, 64 hex characters)")
    sp.set_defaults(func=cmd_restore)
