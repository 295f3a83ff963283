"""Export requests outlive the server: `vidvault serve` killed with SIGKILL
right after the 200 of an approval and started again keeps pending requests
pending, decisions decided, builds lost packages again once the requester is
signed in (with a grant that still allows it, else the request fails saying
why) and fails those whose grant expired meanwhile; the request file holds
no token or key and only its owner reads it; a damaged or foreign request
file stops the server, naming it."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import zipfile

import httpx
import pytest
from fastapi.testclient import TestClient

import vidvault
from vidvault.web import app

from helpers import NS
from web_support import (CAMERA, EXPORT_RANGE, OTHER, bearer, footage_store, grant, request_export, samples,
                         start_server, stop_server, wait_settled)

REQUEST_FILE = "export_requests.sqlite"


def ask(http, base, token, kind="raw"):
    r = request_export(http, token, kind, base=base)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def decide(http, base, token, request_id, approve):
    r = http.post(f"{base}/api/exports/{request_id}/decision", json={"approve": approve, "note": "seen"},
                  headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def state(http, base, token, request_id):
    r = http.get(f"{base}/api/exports/{request_id}", headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def request_file_bytes(store_path):
    return b"".join(p.read_bytes() for p in store_path.iterdir() if p.name.startswith(REQUEST_FILE))


def test_requests_and_decisions_survive_sigkill_and_restart(tmp_path, clip):
    key = vidvault.generate_key()
    path = tmp_path / "store"
    store = footage_store(path, key, clip)
    stored = [f.data for f in store.read(CAMERA, EXPORT_RANGE[0], EXPORT_RANGE[1])]
    clerk = grant(store, "clerk.li", ["export_raw"])
    chief = grant(store, "chief.wu", ["view_redacted"])
    viewer = grant(store, "viewer.zhao", ["view_redacted"])
    weak = grant(store, "clerk.li", ["export"])
    brief = grant(store, "clerk.ma", ["export_raw"], seconds=8)  # expires while the server is down
    brief_expiry = time.time_ns() + 8 * NS
    wide = grant(store, "clerk.he", ["export_raw"])
    narrow = grant(store, "clerk.he", ["export_raw"], cameras=[OTHER])  # no longer covers CAMERA
    # In this process first: clerk.ma's request is approved and built; clerk.he's waits for approval.
    client = TestClient(app(store))
    short = ask(client, "", brief)
    decide(client, "", chief, short, True)
    assert wait_settled(client, "", brief, short)["state"] == "ready"
    uncovered = ask(client, "", wide)
    # A new app on the store (a restart): approved, clerk.he signs in with the narrower grant only.
    client = TestClient(app(store))
    assert decide(client, "", chief, uncovered, True)["waiting"]
    refused = wait_settled(client, "", narrow, uncovered)
    assert refused["state"] == "failed" and "export_raw" in refused["error"] and refused["waiting"] is None
    del client
    store.close()

    server, base = start_server(path, key)
    try:
        with httpx.Client(timeout=60) as http:
            pending = ask(http, base, clerk)
            rejected = ask(http, base, clerk, kind="redacted")
            decide(http, base, chief, rejected, False)
            approved = ask(http, base, clerk)
            assert decide(http, base, chief, approved, True)["state"] in ("building", "ready")
            server.send_signal(signal.SIGKILL)  # right after the 200 of the approval
            server.wait()
    finally:
        if server.poll() is None:
            stop_server(server, signal.SIGKILL)

    on_disk = request_file_bytes(path)
    assert on_disk
    for secret in (clerk, chief, viewer, brief, weak, wide, narrow, key.hex()):
        assert secret.encode() not in on_disk
        # no piece of a token either (its signature is its last 40 characters or so)
        assert secret[-24:].encode() not in on_disk
    assert key not in on_disk
    for p in path.iterdir():
        if p.name.startswith(REQUEST_FILE):
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p.name
    time.sleep(max(0, brief_expiry - time.time_ns()) / NS + 0.2)

    server, base = start_server(path, key)
    try:
        with httpx.Client(timeout=60) as http:
            assert state(http, base, chief, pending)["state"] == "pending"
            assert state(http, base, chief, rejected)["state"] == "rejected"
            failed = state(http, base, chief, short)
            assert failed["state"] == "failed" and "expired" in failed["error"]
            # The approval survived the kill; its package comes back once the requester is signed in.
            lost = state(http, base, chief, approved)
            assert lost["state"] == "building" and lost["decided_by"] == "chief.wu"
            assert "signed in" in lost["waiting"]
            approval = decide(http, base, chief, pending, True)
            assert approval["state"] == "building" and approval["waiting"]
            # A grant of the clerk's without the raw export right does not carry the raw requests.
            state(http, base, weak, approved)
            assert state(http, base, chief, approved)["waiting"] and state(http, base, chief, pending)["waiting"]
            for request_id in (pending, approved):
                done = wait_settled(http, base, clerk, request_id)
                assert done["state"] == "ready", done
                z = http.get(f"{base}/api/exports/{request_id}/package.zip", headers=bearer(clerk))
                assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
                package = zipfile.ZipFile(io.BytesIO(z.content))
                [mp4] = [n for n in package.namelist() if n.endswith("/clip.mp4")]
                assert samples(package.read(mp4)) == stored
                report = http.post(f"{base}/api/verify", content=z.content, headers=bearer(viewer)).json()
                assert report["status"] == "VERIFIED", report["first_failure"]
            assert state(http, base, clerk, approved)["downloads"] == 1
    finally:
        stop_server(server)

    with vidvault.Store.open(path, key=key) as store:
        log = [(e.principal, e.action, e.outcome, e.details.get("request")) for e in store.audit()]
    assert ("clerk.ma", "export_build", "denied", short) in log
    assert ("chief.wu", "export_approve", "done", pending) in log
    assert ("chief.wu", "export_approve", "done", approved) in log
    assert ("chief.wu", "export_reject", "done", rejected) in log
    assert [a for a in log if a[1] == "export_download" and a[2] == "done"] == [
        ("clerk.li", "export_download", "done", pending), ("clerk.li", "export_download", "done", approved)]


def _edit(db_path, sql):
    with contextlib.closing(sqlite3.connect(db_path)) as db:
        db.execute(sql)
        db.commit()


def _garbage(db_path):
    db_path.write_bytes(b"not a database, just bytes " * 200)


def _flipped_page(db_path):
    data = bytearray(db_path.read_bytes())
    for page in (1, 2):  # the b-tree headers of the tables' pages after the first
        data[page * 4096 : page * 4096 + 8] = b"\xff" * 8
    db_path.write_bytes(bytes(data))


def _unknown_version(db_path):
    _edit(db_path, "UPDATE meta SET value = '2' WHERE key = 'schema_version'")


def _bad_row(db_path):
    _edit(db_path, "UPDATE requests SET start_ns = 'yesterday' WHERE rowid = 3")


def _no_requests_table(db_path):
    _edit(db_path, "DROP TABLE requests")


def _another_stores(db_path):
    other = db_path.parent.parent / "other"
    with vidvault.Store.create(other, key=vidvault.generate_key()) as store:
        app(store).state.exports.close()
    (other / REQUEST_FILE).replace(db_path)


@pytest.fixture(scope="module")
def with_requests(tmp_path_factory):
    """(a store whose request file holds 30 pending requests, its WAL folded in; its key); copy it to use it."""
    key = vidvault.generate_key()
    path = tmp_path_factory.mktemp("requests") / "store"
    with vidvault.Store.create(path, key=key) as store:
        store.add_camera(CAMERA)
        token = grant(store, "clerk.li", ["export"])
        api = app(store)
        client = TestClient(api)
        for _ in range(30):
            ask(client, "", token, kind="redacted")
        api.state.exports.close()
    return path, key


def _copy(with_requests, tmp_path):
    path, key = with_requests
    shutil.copytree(path, tmp_path / "store")
    return tmp_path / "store", key


@pytest.mark.parametrize("damage, says", [
    (_garbage, "cannot be opened as SQLite"), (_flipped_page, "damaged"), (_unknown_version, "schema version '2'"),
    (_bad_row, "not valid"), (_no_requests_table, "not a vidvault export request file"),
    (_another_stores, "belongs to store"),
])
def test_a_damaged_or_foreign_request_file_stops_the_server(with_requests, tmp_path, damage, says):
    path, key = _copy(with_requests, tmp_path)
    db_path = path / REQUEST_FILE
    damage(db_path)
    before = db_path.read_bytes()
    with vidvault.Store.open(path, key=key) as store:
        with pytest.raises(vidvault.StoreDamagedError) as refused:
            app(store)
    message = str(refused.value)
    assert str(db_path) in message and says in message and "move it aside" in message, message
    assert refused.value.path == str(db_path)
    assert db_path.read_bytes() == before  # nothing dropped or rewritten


def test_vidvault_serve_refuses_to_start_on_a_garbage_request_file(with_requests, tmp_path):
    path, key = _copy(with_requests, tmp_path)
    _garbage(path / REQUEST_FILE)
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "serve", str(path), "--port", "9"],
                       env={**os.environ, "VIDVAULT_KEY": key.hex()}, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and str(path / REQUEST_FILE) in r.stderr and "restore it from a backup" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_a_reopened_request_file_holds_every_request_pending(with_requests, tmp_path):
    path, key = _copy(with_requests, tmp_path)
    with vidvault.Store.open(path, key=key) as store:
        token = grant(store, "clerk.li", ["export"])
        rows = TestClient(app(store)).get("/api/exports", headers=bearer(token)).json()
    assert len(rows) == 30 and {r["state"] for r in rows} == {"pending"}
    assert [r["created"] for r in rows] == sorted(r["created"] for r in rows)


def test_a_step_that_cannot_be_written_is_refused_and_changes_nothing(with_requests, tmp_path, monkeypatch):
    path, key = _copy(with_requests, tmp_path)
    monkeypatch.setattr("vidvault.sqlite_file.BUSY_TIMEOUT_S", 0.2)
    with vidvault.Store.open(path, key=key) as store:
        token = grant(store, "clerk.li", ["export"])
        client = TestClient(app(store))
        with contextlib.closing(sqlite3.connect(path / REQUEST_FILE, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")  # another writer holds the file
            r = request_export(client, token, "redacted")
            other.execute("ROLLBACK")
        assert r.status_code == 500 and str(path / REQUEST_FILE) in r.json()["message"], r.text
        assert "could not be recorded" in r.json()["message"]
        assert len(client.get("/api/exports", headers=bearer(token)).json()) == 30  # not half-created
        assert request_export(client, token, "redacted").status_code == 201
