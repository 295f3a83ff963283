"""The audit log cannot be cut or replaced without it showing: its signed
head is recorded in the keystore too, opening refuses a log that does not
reach it, and verification checks it (docs/security/audit-log.md)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

import vidvault
from vidvault.audit import verify_store_audit_log

from helpers import NS, T0, store_with_audit_entries

CAM = "34020000001320000001"


@pytest.fixture
def logged(store, store_path, key):
    """A closed store whose log has 130 entries (a checkpoint at 100)."""
    store_path, key, pub, head = store_with_audit_entries(store, store_path, key, CAM, 130)
    assert head == 130
    return store_path, key, pub


def tamper(store_path, sql):
    con = sqlite3.connect(store_path / "audit.sqlite")
    con.executescript(sql)
    con.close()


def refused(store_path, key) -> str:
    with pytest.raises(vidvault.StoreDamagedError) as err:
        vidvault.Store.open(store_path, key=key)
    assert err.value.path.endswith("audit.sqlite") and "backup" in str(err.value)
    return str(err.value)


def test_cutting_entries_after_the_last_checkpoint_is_refused(logged):
    # Before: the store opened, its next entry re-signed the head at 101 and
    # the shortened log verified clean.
    store_path, key, pub = logged
    tamper(store_path, "DELETE FROM entries WHERE seq > 100")
    assert "entries 101..130 were removed" in refused(store_path, key)
    report = verify_store_audit_log(store_path, key)
    assert not report.ok and report.problem_seq == 101 and report.recorded_head_seq == 130


def test_cutting_checkpoints_and_head_too_is_refused(logged):
    # Before: with the checkpoints and head row gone, 40 entries verified "OK".
    store_path, key, pub = logged
    tamper(store_path, "DELETE FROM entries WHERE seq > 40; DELETE FROM checkpoints; DELETE FROM head")
    refused(store_path, key)
    offline = vidvault.verify_audit_log(store_path / "audit.sqlite", pub)  # reads keys.vvk beside it
    assert not offline.ok and offline.problem_seq == 41 and "removed" in offline.problem
    keyfile = store_path.parent / "store.pub"
    keyfile.write_text(pub.hex())
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "audit-verify", str(store_path),
                        "--public-key", str(keyfile)], capture_output=True, text=True)
    assert r.returncode == 1 and "entry 41" in r.stderr, r.stderr


@pytest.mark.parametrize("how", ["deleted", "emptied file", "emptied table"])
def test_a_deleted_or_emptied_log_is_refused_not_recreated(logged, how):
    # Before: a new, empty log was created and verified as "OK: 0 entries".
    store_path, key, _ = logged
    log = store_path / "audit.sqlite"
    if how == "emptied table":
        tamper(store_path, "DELETE FROM entries; DELETE FROM checkpoints; DELETE FROM head")
    else:
        for p in (log, log.with_name("audit.sqlite-wal"), log.with_name("audit.sqlite-shm")):
            p.unlink(missing_ok=True)
        if how == "emptied file":
            log.write_bytes(b"")
    before = log.read_bytes() if log.exists() else None
    refused(store_path, key)
    assert (log.read_bytes() if log.exists() else None) == before, "the refused log was written"
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "cameras", str(store_path)], capture_output=True,
                       text=True, env={**os.environ, "VIDVAULT_KEY": key.hex()})
    assert r.returncode != 0 and "audit.sqlite" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_a_lone_footage_bound_is_covered_by_the_hash(logged):
    # Before: an entry without footage could gain a footage_start (or
    # footage_end) through SQLite and still verify.
    store_path, key, _ = logged
    with vidvault.Store.open(store_path, key=key) as s:
        s.rotate_master_key(key)  # an entry without footage
        seq, _ = s.audit_head()
        assert s.audit_entry(seq).start is None
    for column in ("footage_start", "footage_end"):
        tamper(store_path, f"UPDATE entries SET footage_start = NULL, footage_end = NULL WHERE seq = {seq};"
                           f"UPDATE entries SET {column} = {T0} WHERE seq = {seq}")
        report = verify_store_audit_log(store_path, key)
        assert not report.ok and report.problem_seq == seq, (column, report)


def test_normal_use_and_a_crash_keep_verifying(logged, tmp_path):
    store_path, key, _ = logged
    # Entries appended and never recorded (a kill -9 before close) are fine.
    code = (
        "import os, vidvault\n"
        f"s = vidvault.Store.open({str(store_path)!r}, key=bytes.fromhex({key.hex()!r}))\n"
        f"se = s.session('guard.chen')\n"
        f"for _ in range(7): se.segments({CAM!r}, {T0}, {T0 + NS})\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with vidvault.Store.open(store_path, key=key) as s:
        assert s.audit_head()[0] == 137
        assert s.audit_verify().ok
    report = verify_store_audit_log(store_path, key)
    assert report.ok and report.recorded_head_seq == 137, report
