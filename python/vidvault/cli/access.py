"""`vidvault issue-grant | audit | audit-verify | audit-restart`: grants and the audit log
(:meth:`vidvault.Store.issue_grant`, :meth:`~vidvault.Store.audit`,
:meth:`~vidvault.Store.audit_verify`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..timeutil import iso, to_ns
from .args import add_session_args, grants_from, open_store, with_store


def _csv(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def cmd_issue_grant(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        token = store.issue_grant(
            to=args.to, actions=_csv(args.actions), cameras=_csv(args.cameras),
            footage_from=args.footage_from, footage_to=args.footage_to,
            valid_from=args.valid_from, valid_until=args.valid_until, case=args.case,
            purpose=args.purpose, approver=args.approver, issued_by=args.issued_by,
        )
    print(token)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        if args.as_principal:
            entries = store.session(args.as_principal, grants_from(args)).audit(args.camera, since=args.since)
        else:
            entries = store.audit(args.camera, since=args.since)
    if args.json:
        print(json.dumps([{**e.__dict__, "time": iso(e.ts), "prev_hash": e.prev_hash.hex(), "hash": e.hash.hex()}
                          for e in entries], indent=2))
        return 0
    for e in entries:
        span = f" {iso(e.start)}..{iso(e.end)}" if e.start is not None else ""
        cam = f" {e.camera}" if e.camera else ""
        extra = f" case={e.case}" if e.case else ""
        why = f" ({e.reason})" if e.reason else ""
        print(f"{e.seq:6} {iso(e.ts)} {e.principal:16} {e.action:20} {e.outcome:7}{cam}{span}{extra}{why}")
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from ..audit import verify_audit_log, verify_store_audit_log
    from ..keys import load_key, load_public_key

    if args.public_key:
        report = verify_audit_log(Path(args.store) / "audit.sqlite", load_public_key(args.public_key))
        against = f"the pinned key in {args.public_key}"
    else:
        report = verify_store_audit_log(args.store, load_key(args.key_file))
        against = "the store's own key (read with the master key)"
    if args.json:
        print(json.dumps({**report.__dict__, "ok": report.ok,
                          "head_hash": report.head_hash.hex() if report.head_hash else None}, indent=2))
    elif report.ok:
        recorded = (f"reaches the head the keystore recorded (entry {report.recorded_head_seq})"
                    if report.recorded_head_seq is not None else "no head recorded in a keystore beside it")
        print(f"audit log OK: {report.entries} entries, {report.checkpoints} signed checkpoints, "
              f"head {report.head_seq} {report.head_hash.hex() if report.head_hash else '-'}; {recorded}; "
              f"verified against {against}")
        if report.continues_from is not None:
            print(f"note: this log was restarted after the loss of the one before; it continues from entry "
                  f"{report.continues_from} of the lost log (entries up to it are not in this file; see "
                  f"its first entry, audit_log_restarted, for who restarted it and why)")
    else:
        print(f"audit log BROKEN at entry {report.problem_seq}: {report.problem}", file=sys.stderr)
    return 0 if report.ok else 1


def cmd_audit_restart(args: argparse.Namespace) -> int:
    from ..audit import restart_audit_log
    from ..keys import load_key

    if not args.the_log_is_lost:
        print("audit-restart starts a new audit log and gives up the entries the old one held after the head "
              "recorded in the keystore. Restore audit.sqlite from a backup instead if you can; if not, run "
              "again with --the-log-is-lost.", file=sys.stderr)
        return 2
    r = restart_audit_log(args.store, load_key(args.key_file), operator=args.operator, reason=args.reason)
    moved = ", ".join(r.quarantined) if r.quarantined else "nothing (the log was missing)"
    print(f"audit log restarted: entry {r.first_seq} continues from entry {r.continues_from} of the lost log; "
          f"moved to quarantine: {moved}")
    print(f"what the store had refused: {r.found}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    sp = with_store(sub.add_parser("issue-grant", help="sign an access grant and print its token"))
    sp.add_argument("--to", required=True, help="principal the grant is for")
    sp.add_argument("--actions", required=True,
                    help="comma-separated: view_redacted, view_raw, export, export_raw, hold, manage, audit_read")
    sp.add_argument("--cameras", required=True,
                    help="comma-separated selectors: * (every camera and the whole store), PREFIX*, "
                         "label:KEY=VALUE, id:ID (an id holding * ? [ ] : =), or a plain id")
    sp.add_argument("--footage-from", type=to_ns, help="start of the footage covered (not with manage/audit_read)")
    sp.add_argument("--footage-to", type=to_ns, help="end of the footage covered (exclusive)")
    sp.add_argument("--valid-from", type=to_ns)
    sp.add_argument("--valid-until", type=to_ns, default=None, required=True)
    sp.add_argument("--case", required=True)
    sp.add_argument("--purpose", default="")
    sp.add_argument("--approver", help="required for export grants")
    sp.add_argument("--issued-by", default="admin", help="who issues the grant (audited)")
    sp.set_defaults(func=cmd_issue_grant)

    sp = with_store(sub.add_parser("audit", help="list audit entries, oldest first"))
    sp.add_argument("--camera", help="only this camera's entries (with --as: needs audit_read for it; "
                                     "without --camera, --as needs a store-wide grant)")
    sp.add_argument("--since", type=to_ns)
    sp.add_argument("--json", action="store_true")
    add_session_args(sp)
    sp.set_defaults(func=cmd_audit)

    sp = with_store(sub.add_parser("audit-verify", help="check the audit log's hash chain and signed checkpoints"))
    sp.add_argument("--public-key", help="verify against this pinned Ed25519 public key (no master key needed)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_audit_verify)

    sp = with_store(sub.add_parser(
        "audit-restart",
        help="after the audit log was lost or damaged (and no backup exists): start a new log that continues "
             "the chain from the head the keystore recorded, audited"))
    sp.add_argument("--operator", required=True, help="who restarts the log (recorded in its first entry)")
    sp.add_argument("--reason", required=True, help="why (recorded in its first entry)")
    sp.add_argument("--the-log-is-lost", action="store_true",
                    help="confirm that audit.sqlite cannot be restored from a backup")
    sp.set_defaults(func=cmd_audit_restart)
