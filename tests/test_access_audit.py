"""Access grants and the tamper-evident audit log."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time

import pytest

import vidvault

from helpers import NS, T0, record_two_cameras

CAM = "34020000001320000001"
OTHER = "34020000001320000002"
HOUR = 3600 * NS
NOW = time.time_ns()


@pytest.fixture
def footage(store):
    record_two_cameras(store, CAM, OTHER)
    return store


def grant(store, **kw):
    args = dict(to="officer.wang", actions=["view_raw"], cameras=["label:area=district-3"], footage_from=T0,
                footage_to=T0 + HOUR, valid_until=NOW + HOUR, case="CASE-2026-114", issued_by="admin.zhao")
    args.update(kw)
    return store.issue_grant(**args)


def test_granted_requests_pass_and_everything_is_logged(footage):
    token = grant(footage)
    s = footage.session("officer.wang", [token], purpose="identify suspect")
    frames = list(s.read(CAM, T0, T0 + 2 * NS))
    assert len(frames) == 50
    entries = footage.audit()
    issue, read = entries[-2], entries[-1]
    assert (issue.action, issue.principal, issue.details["to"]) == ("grant_issue", "admin.zhao", "officer.wang")
    assert (read.action, read.outcome, read.principal, read.camera) == ("view_raw", "allowed", "officer.wang", CAM)
    assert (read.start, read.end, read.case, read.grant_id) == (T0, T0 + 2 * NS, "CASE-2026-114", issue.grant_id)
    assert read.details["purpose"] == "identify suspect"


@pytest.mark.parametrize("what, call", [
    ("camera", lambda s: s.read(OTHER, T0, T0 + NS)),
    ("time window", lambda s: s.read(CAM, T0 - NS, T0 + NS)),
    ("action", lambda s: s.hold(CAM, T0, T0 + NS, case="x")),
    ("action", lambda s: s.audit()),
])
def test_missing_grant_is_denied_named_and_logged(footage, what, call):
    s = footage.session("officer.wang", [grant(footage)])
    with pytest.raises(vidvault.AccessDenied) as e:
        call(s)
    err = e.value
    expected = {"camera": "covers camera", "time window": "covers footage", "action": "allows"}[what]
    assert expected in err.reason and isinstance(err, PermissionError)
    logged = footage.audit_entry(err.audit_seq)
    assert logged.outcome == "denied" and logged.principal == "officer.wang" and expected in logged.reason


def test_unprivileged_sessions_get_desensitized_viewing_only(footage):
    s = footage.session("guard.chen")
    assert s.segments(CAM, T0, T0 + HOUR)  # metadata at the desensitized level
    with pytest.raises(vidvault.AccessDenied, match="no grant presented"):
        list(s.read(CAM, T0, T0 + NS))
    assert [e.outcome for e in footage.audit()[-2:]] == ["allowed", "denied"]


def test_expired_future_forged_and_foreign_grants_are_rejected(footage, tmp_path, key):
    cases = {
        "expired": grant(footage, valid_from=NOW - 2 * HOUR, valid_until=NOW - HOUR),
        "not valid before": grant(footage, valid_from=NOW + HOUR, valid_until=NOW + 2 * HOUR),
    }
    token = grant(footage)
    head, payload, sig = token.split(".")
    tampered_payload = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    cases["signature does not verify"] = ".".join([head, tampered_payload, sig])
    with vidvault.Store.create(tmp_path / "other", key=key) as other:
        other.add_camera(CAM, labels={"area": "district-3"})
        cases["signature does not verify "] = grant(other)  # signed by another store's admin key
    for why, tok in cases.items():
        with pytest.raises(vidvault.AccessDenied) as e:
            list(footage.session("officer.wang", [tok]).read(CAM, T0, T0 + NS))
        assert why.strip() in e.value.reason, (why, e.value.reason)


def test_grant_validation_at_issue(footage):
    with pytest.raises(vidvault.InvalidArgumentError, match="approver"):
        grant(footage, actions=["export_raw"])
    with pytest.raises(vidvault.InvalidArgumentError, match="unknown action"):
        grant(footage, actions=["teleport"])
    token = grant(footage, actions=["view_raw", "export_raw"], approver="chief.li")
    assert token.startswith("vvg1.")


def test_holds_sweeps_rotation_and_grants_are_audited(footage):
    hold = footage.hold(CAM, T0, T0 + NS, case="C-7", actor="clerk.li", reason="fight")
    footage.release(hold.id, actor="clerk.li")
    footage.enforce_retention(T0 + 400 * 86400 * NS, actor="nightly-job")
    footage.rotate_master_key(vidvault.generate_key(), actor="ops.sun")
    actions = [(e.action, e.principal) for e in footage.audit()]
    assert ("hold", "clerk.li") in actions and ("hold_release", "clerk.li") in actions
    assert ("retention_sweep", "nightly-job") in actions and ("key_rotation", "ops.sun") in actions
    sweep = next(e for e in footage.audit() if e.action == "retention_sweep")
    assert sum(d["segments"] for d in sweep.details["deleted"]) > 0


def _log_with_entries(footage, n=130):
    s = footage.session("guard.chen")
    for _ in range(n):
        s.segments(CAM, T0, T0 + HOUR)
    assert footage.audit_verify().ok
    return footage.path / "audit.sqlite"


def _tamper(path, sql):
    con = sqlite3.connect(path)
    con.executescript(sql)
    con.close()


@pytest.mark.parametrize("sql, seq, words", [
    ("UPDATE entries SET principal = 'someone-else' WHERE seq = 42", 42, "altered"),
    ("UPDATE entries SET outcome = 'denied' WHERE seq = 77", 77, "altered"),
    ("DELETE FROM entries WHERE seq = 50", 51, "missing or reordered"),
    ("UPDATE entries SET seq = -1 WHERE seq = 60; UPDATE entries SET seq = 60 WHERE seq = 61;"
     "UPDATE entries SET seq = 61 WHERE seq = -1", 60, "chain"),
    ("DELETE FROM entries WHERE seq > 120", 121, "removed"),
    ("DELETE FROM entries WHERE seq > 90; DELETE FROM head", 91, "truncated"),
])
def test_tampering_through_sqlite_is_detected_and_named(footage, store_path, key, sql, seq, words):
    path = _log_with_entries(footage)
    footage.close()
    _tamper(path, sql)
    # Without opening the store: a log cut below the head the keystore
    # recorded is refused on open (tests/test_audit_head.py).
    report = vidvault.verify_store_audit_log(store_path, key)
    assert not report.ok and report.problem_seq == seq and words in report.problem, report
    # The CLI says the same and fails.
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "audit-verify", str(store_path)],
                       capture_output=True, text=True, env={**os.environ, "VIDVAULT_KEY": key.hex()})
    assert r.returncode == 1 and f"entry {seq}" in r.stderr


def test_tampering_with_the_file_bytes_is_detected(footage, store_path, key):
    path = _log_with_entries(footage)
    pub = footage.export_public_key()
    footage.close()
    raw = path.read_bytes()
    assert b"guard.chen" in raw, "entries are stored as plain SQLite records"
    # Edit the principal of the entries in place ('guard' -> 'Guard'), as
    # someone with a hex editor would; the file stays a valid database.
    path.write_bytes(raw.replace(b"guard.chen", b"Guard.chen"))
    report = vidvault.verify_audit_log(path, pub)
    assert not report.ok and "altered" in report.problem
    # The store itself refuses it too: the entry at the head the keystore
    # recorded no longer matches its hash.
    with pytest.raises(vidvault.StoreDamagedError, match="altered"):
        vidvault.Store.open(store_path, key=key)


def test_offline_verification_with_a_pinned_key(footage, store_path, key, tmp_path):
    _log_with_entries(footage, n=5)
    pub = footage.export_public_key()
    footage.close()
    keyfile = tmp_path / "store.pub"
    keyfile.write_text(pub.hex())
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "audit-verify", str(store_path),
                        "--public-key", str(keyfile)], capture_output=True, text=True,
                       env={k: v for k, v in os.environ.items() if k != "VIDVAULT_KEY"})
    assert r.returncode == 0 and "pinned key" in r.stdout
    keyfile.write_text(vidvault.generate_key().hex())  # not this store's key
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "audit-verify", str(store_path),
                        "--public-key", str(keyfile)], capture_output=True, text=True)
    assert r.returncode != 0


def test_cli_grant_and_session_flags(footage, store_path, key, tmp_path):
    footage.close()
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    iso = vidvault.timeutil.iso

    def cli(*a, check=True):
        r = subprocess.run([sys.executable, "-m", "vidvault.cli", *map(str, a)], capture_output=True, text=True, env=env)
        assert not check or r.returncode == 0, r.stderr
        return r

    token = cli("issue-grant", store_path, "--to", "officer.wang", "--actions", "view_redacted,view_raw",
                "--cameras", "3402*", "--footage-from", iso(T0), "--footage-to", iso(T0 + HOUR),
                "--valid-until", iso(NOW + HOUR), "--case", "C-9").stdout.strip()
    grant_file = tmp_path / "wang.grant"
    grant_file.write_text(token + "\n")
    out = cli("segments", store_path, "--camera", CAM, "--as", "officer.wang", "--grant", grant_file).stdout
    assert "sealed" in out
    r = cli("audit", store_path, "--as", "officer.wang", "--grant", grant_file, check=False)
    assert r.returncode == 2 and "audit_read" in r.stderr
    listing = cli("audit", store_path, "--camera", CAM).stdout.splitlines()
    assert any("officer.wang" in line and "view_redacted" in line and "allowed" in line for line in listing)
    denial = [e for e in json.loads(cli("audit", store_path, "--json").stdout) if e["action"] == "audit_read"]
    assert denial and denial[-1]["outcome"] == "denied" and denial[-1]["principal"] == "officer.wang"


def test_export_manifest_references_an_audit_entry_that_verifies(store, tmp_path, clip):
    from helpers import ingest_file

    store.add_camera(CAM, labels={"area": "district-3"})
    ingest_file(store, CAM, clip())
    view_only = grant(store)
    result = store.session("clerk.li", [grant(store, to="clerk.li", actions=["export_raw"], approver="chief.li")],
                           purpose="court request 4411").export_clip(CAM, T0 + NS, T0 + 3 * NS, tmp_path / "pkg",
                                                                     raw=True, case="CASE-2026-114")
    ref = result.manifest["audit"]
    entry = store.audit_entry(ref["entry"])
    assert (entry.action, entry.principal, entry.outcome) == ("export_raw", "clerk.li", "allowed")
    assert entry.hash.hex() == ref["entry_hash"] and entry.grant_id == ref["grant_id"]
    done = store.audit()[-1]
    assert done.action == "export_done" and done.details["request_entry"] == ref["entry"]
    report = vidvault.verify(tmp_path / "pkg", public_key=store.export_public_key(), store=store)
    assert report.ok, report.first_failure
    assert any(c.name == "audit" and c.ok for c in report.checks)
    # A session without an export grant gets nothing, and the attempt is logged.
    with pytest.raises(vidvault.AccessDenied, match="export_raw"):
        store.session("officer.wang", [view_only]).export_clip(CAM, T0, T0 + NS, tmp_path / "pkg2", raw=True)
    assert not (tmp_path / "pkg2").exists()
    # The trusted path logs its export itself.
    result = store.export_clip(CAM, T0 + NS, T0 + 2 * NS, tmp_path / "pkg3", raw=True, actor="ops.sun")
    assert store.audit_entry(result.manifest["audit"]["entry"]).principal == "ops.sun"


def test_cli_export_as_a_principal(store, store_path, key, tmp_path, clip):
    from helpers import ingest_file

    store.add_camera(CAM, labels={"area": "district-3"})
    ingest_file(store, CAM, clip())
    ok = grant(store, to="clerk.li", actions=["export_raw"], approver="chief.li")
    view = grant(store, to="clerk.li", actions=["view_raw"])
    store.close()
    (tmp_path / "ok.grant").write_text(ok)
    (tmp_path / "view.grant").write_text(view)
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    iso = vidvault.timeutil.iso

    def export(grant_file, out):
        return subprocess.run([sys.executable, "-m", "vidvault.cli", "export-clip", str(store_path), "--raw", "--camera", CAM,
                               "--start", iso(T0 + NS), "--end", iso(T0 + 2 * NS), "--out", str(out),
                               "--as", "clerk.li", "--grant", str(grant_file), "--case", "CASE-2026-114"],
                              capture_output=True, text=True, env=env)

    denied = export(tmp_path / "view.grant", tmp_path / "p1")
    assert denied.returncode == 2 and "access denied" in denied.stderr and not (tmp_path / "p1").exists()
    allowed = export(tmp_path / "ok.grant", tmp_path / "p2")
    assert allowed.returncode == 0, allowed.stderr
    doc = json.loads((tmp_path / "p2" / "manifest.json").read_text())
    with vidvault.Store.open(store_path, key=key) as s:
        entry = s.audit_entry(doc["audit"]["entry"])
        assert (entry.principal, entry.action, entry.outcome) == ("clerk.li", "export_raw", "allowed")


def test_cli_audit_as_a_principal_is_scoped_to_its_camera(footage, store_path, key, tmp_path):
    token = footage.issue_grant(to="auditor.qian", actions=["audit_read"], cameras=[CAM], valid_until=NOW + HOUR,
                                case="AUDIT-3", issued_by="admin.zhao")
    footage.session("guard.chen").segments(OTHER, T0, T0 + NS)
    footage.close()
    (tmp_path / "qian.grant").write_text(token)
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}

    def audit(*extra):
        return subprocess.run([sys.executable, "-m", "vidvault.cli", "audit", str(store_path), "--json",
                               "--as", "auditor.qian", "--grant", str(tmp_path / "qian.grant"), *extra],
                              capture_output=True, text=True, env=env)

    scoped = audit("--camera", CAM)
    assert scoped.returncode == 0, scoped.stderr
    assert {e["camera"] for e in json.loads(scoped.stdout)} == {CAM}
    whole = audit()
    assert whole.returncode == 2 and "whole store" in whole.stderr
