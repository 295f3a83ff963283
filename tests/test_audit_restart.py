"""After the audit log is lost or damaged with no backup, the store refuses
to open (test_audit_head.py). `vidvault audit-restart` is the deliberate way
on: the old files go to quarantine/, a new log continues the chain from the
head the keystore recorded, its first entry says who restarted it and why,
and verification shows the restart. It never touches a sound log, and a
continuation the store did not make is refused (docs/security/audit-log.md)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

import vidvault
from vidvault.audit import restart_audit_log, verify_audit_log, verify_store_audit_log

from helpers import NS, T0, store_with_audit_entries

CAM = "34020000001320000001"


@pytest.fixture
def logged(store, store_path, key):
    """A closed store with footage and 40 audit entries."""
    return store_with_audit_entries(store, store_path, key, CAM, 40)


def cli(*args, key, check=False):
    return subprocess.run([sys.executable, "-m", "vidvault.cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, "VIDVAULT_KEY": key.hex()}, check=check)


def lose_log(store_path):
    for suffix in ("", "-wal", "-shm"):
        (store_path / f"audit.sqlite{suffix}").unlink(missing_ok=True)


def test_a_lost_log_is_restarted_deliberately_and_the_chain_shows_it(logged):
    store_path, key, pub, head = logged
    lose_log(store_path)
    with pytest.raises(vidvault.StoreDamagedError):
        vidvault.Store.open(store_path, key=key)
    # Not without saying the log is lost...
    r = cli("audit-restart", store_path, "--operator", "it.wang", "--reason", "disk 2 replaced", key=key)
    assert r.returncode == 2 and "--the-log-is-lost" in r.stderr
    assert not (store_path / "audit.sqlite").exists()
    # ...then it continues from the recorded head (the close recorded the last entry).
    r = cli("audit-restart", store_path, "--operator", "it.wang", "--reason", "disk 2 replaced",
            "--the-log-is-lost", key=key)
    assert r.returncode == 0, r.stderr
    assert f"continues from entry {head}" in r.stdout
    assert key.hex() not in r.stdout + r.stderr

    with vidvault.Store.open(store_path, key=key) as s:
        first = s.audit()[0]
        assert (first.seq, first.action, first.principal, first.reason) == (
            head + 1, "audit_log_restarted", "it.wang", "disk 2 replaced")
        assert first.details["continues_from_seq"] == head
        assert "missing" in first.details["found"]
        # The store works again: footage reads, and new entries chain on.
        assert len(list(s.read(CAM, T0, T0 + 3600 * NS))) == 10
        s.session("guard.chen").segments(CAM, T0, T0 + 3600 * NS)
        assert s.audit_verify().ok
    report = verify_store_audit_log(store_path, key)
    assert report.ok and report.continues_from == head and report.entries >= 2, report
    offline = verify_audit_log(store_path / "audit.sqlite", pub)
    assert offline.ok and offline.continues_from == head
    (store_path / "pub.key").write_bytes(pub)
    r = cli("audit-verify", store_path, "--public-key", store_path / "pub.key", key=key)
    assert r.returncode == 0 and f"continues from entry {head} of the lost log" in r.stdout, r.stdout + r.stderr


def test_a_damaged_log_is_kept_in_quarantine(logged):
    store_path, key, _, head = logged
    con = sqlite3.connect(store_path / "audit.sqlite")
    con.execute("UPDATE entries SET reason = 'nothing to see' WHERE seq = ?", (head,))
    con.commit()
    con.close()
    damaged = (store_path / "audit.sqlite").read_bytes()
    with pytest.raises(vidvault.StoreDamagedError):
        vidvault.Store.open(store_path, key=key)
    r = restart_audit_log(store_path, key, operator="it.wang", reason="no backup of the log")
    assert r.continues_from == head and r.first_seq == head + 1
    kept = [p for p in r.quarantined if p.endswith("audit.sqlite")]
    assert kept and open(kept[0], "rb").read() == damaged, "the damaged log must be kept, byte for byte"
    with vidvault.Store.open(store_path, key=key) as s:
        assert s.audit()[0].details["previous_log"].startswith("quarantine/")


def test_a_sound_log_is_never_restarted(logged):
    store_path, key, _, head = logged
    before = (store_path / "audit.sqlite").read_bytes()
    with pytest.raises(vidvault.InvalidArgumentError, match="is sound"):
        restart_audit_log(store_path, key, operator="it.wang", reason="cleaning up")
    assert (store_path / "audit.sqlite").read_bytes() == before
    assert not (store_path / "quarantine").exists() or not any((store_path / "quarantine").iterdir())
    with pytest.raises(vidvault.InvalidArgumentError, match="operator's name and a reason"):
        restart_audit_log(store_path, key, operator=" ", reason="x")
    with pytest.raises(vidvault.WrongKeyError):
        restart_audit_log(store_path, vidvault.generate_key(), operator="a", reason="b")


def test_a_restart_needs_the_store_lock(logged):
    store_path, key, _, _ = logged
    with vidvault.Store.open(store_path, key=key):
        lose_log(store_path)
        with pytest.raises(vidvault.StoreLockedError):
            restart_audit_log(store_path, key, operator="a", reason="b")


def test_a_continuation_with_forged_rows_is_refused(logged):
    # Someone builds their own "continued" log to hide entries: without the
    # store's signature on the head it continues from, it does not open.
    store_path, key, _, head = logged
    lose_log(store_path)
    restart_audit_log(store_path, key, operator="it.wang", reason="disk replaced")
    con = sqlite3.connect(store_path / "audit.sqlite")
    con.execute("UPDATE meta SET value = ? WHERE key = 'continues_from_seq'", (str(head - 5),))
    con.commit()
    con.close()
    with pytest.raises(vidvault.StoreDamagedError, match="bad signature"):
        vidvault.Store.open(store_path, key=key)
    assert not verify_store_audit_log(store_path, key).ok
