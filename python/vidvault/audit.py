"""The audit log as Python values: entries and verification reports.

Every session request (allowed or denied), export, hold, retention sweep,
key rotation and grant issuance is an entry of a hash-chained log whose head
and periodic checkpoints are signed by the store's key (src/access/audit.rs).
The signed head is also recorded in the keystore, outside the log, so a log
cut below it is refused on open and fails verification
(docs/security/audit-log.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import _core
from .timeutil import from_ns


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    ts: int
    principal: str
    action: str
    camera: str | None
    start: int | None
    end: int | None
    outcome: str  # "allowed", "denied" or "done"; "raised" or "ended" for a picture_alarm
    reason: str
    case: str
    grant_id: str
    details: dict[str, Any]
    prev_hash: bytes
    hash: bytes

    @property
    def time(self) -> datetime:
        return from_ns(self.ts)

    @classmethod
    def _from_core(cls, d: dict) -> "AuditEntry":
        return cls(**{**d, "details": json.loads(d["details"] or "{}")})


@dataclass(frozen=True)
class AuditReport:
    """Result of verifying the audit log."""

    entries: int
    checkpoints: int
    head_seq: int | None
    head_hash: bytes | None
    #: The head recorded in the keystore that the log was checked against
    #: (None: no keystore beside the log, or none recorded yet).
    recorded_head_seq: int | None
    #: A log restarted after the loss of the one before (:func:`restart_audit_log`):
    #: the lost log's entry it chains to; entries up to it are not in this file.
    continues_from: int | None
    #: The first broken entry and what is wrong with it; None when sound.
    problem_seq: int | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_audit_log(path: str | os.PathLike[str], public_key: bytes) -> AuditReport:
    """Verifies an audit log file offline against a pinned store public key
    (``vidvault export-public-key``); no master key needed. When the store's
    ``keys.vvk`` lies beside the log, the log must also reach the head
    recorded there."""
    return AuditReport(**_core.verify_audit_log(os.fspath(path), public_key))


def verify_store_audit_log(store: str | os.PathLike[str], key: bytes | str) -> AuditReport:
    """Verifies the audit log of the store at ``store`` with its master key
    (the store's own public key and recorded head), without opening the
    store: it works while another process has the store open, and on a store
    that refuses to open because its log was cut. Writes nothing."""
    from .keys import coerce_key

    return AuditReport(**_core.verify_store_audit_log(os.fspath(store), coerce_key(key)))


@dataclass(frozen=True)
class AuditRestart:
    """What :func:`restart_audit_log` did."""

    #: The lost log's entry the new log chains to (the head the keystore recorded).
    continues_from: int
    #: The new log's first entry (action ``audit_log_restarted``).
    first_seq: int
    #: Where the old log's files were moved (empty when there were none).
    quarantined: list[str]
    #: Why the store refused the old log.
    found: str


def restart_audit_log(store: str | os.PathLike[str], key: bytes | str, *, operator: str,
                      reason: str) -> AuditRestart:
    """Starts a new audit log for the closed store at ``store`` after its log
    was lost or damaged and no backup can be restored. The old files (if
    any) are moved to ``quarantine/``; the new log's first entry chains to
    the head the keystore recorded and names ``operator``, ``reason``, what
    was found and where the old files went, so verification shows the
    restart (``AuditReport.continues_from``). Entries the old log held after
    the recorded head are lost. Refused for a sound log.
    (docs/security/audit-log.md)"""
    from .keys import coerce_key

    d = _core.restart_audit_log(os.fspath(store), coerce_key(key), operator, reason)
    return AuditRestart(**{**d, "quarantined": [str(p) for p in d["quarantined"]]})
