"""The evidence workflow over HTTP: request, approval by the approver the
grant names (never the requester), background build, one zip to download,
verification by upload; and uploads that try to break the verifier."""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

import vidvault
from vidvault.web import app

from web_support import bearer, footage_store, grant, request_export, wait_settled



@pytest.fixture(scope="module")
def env(tmp_path_factory, clip):
    store = footage_store(tmp_path_factory.mktemp("exports") / "store", vidvault.generate_key(), clip)
    tokens = {
        "clerk": grant(store, "clerk.li", ["export_raw"], approver="chief.wu"),
        "chief": grant(store, "chief.wu", ["view_redacted"]),
        "other": grant(store, "officer.sun", ["view_redacted"]),
        "viewer": grant(store, "viewer.zhao", ["view_redacted"]),
    }
    yield store, TestClient(app(store)), tokens
    store.close()


def actions_since(store, seq):
    return [(e.principal, e.action, e.outcome) for e in store.audit() if e.seq > seq]


def test_request_approve_build_download_and_verify(env):
    store, client, tokens = env
    start_seq = store.audit_head()[0]
    r = request_export(client, tokens["clerk"])
    assert r.status_code == 201, r.text
    req = r.json()
    assert (req["state"], req["requester"], req["approver"]) == ("pending", "clerk.li", "chief.wu")
    # Nobody downloads before approval; the requester cannot approve; a bystander cannot even see it.
    assert client.get(f"/api/exports/{req['id']}/package.zip", headers=bearer(tokens["clerk"])).status_code == 409
    own = client.post(f"/api/exports/{req['id']}/decision", json={"approve": True}, headers=bearer(tokens["clerk"]))
    assert own.status_code == 403 and "may not decide" in own.json()["message"]
    stranger = client.post(f"/api/exports/{req['id']}/decision", json={"approve": True},
                           headers=bearer(tokens["other"]))
    assert stranger.status_code == 404
    pending = client.get("/api/exports", headers=bearer(tokens["chief"])).json()
    assert [p["id"] for p in pending] == [req["id"]]
    ok = client.post(f"/api/exports/{req['id']}/decision", json={"approve": True, "note": "court order seen"},
                     headers=bearer(tokens["chief"]))
    assert ok.status_code == 200 and ok.json()["state"] in ("building", "ready")
    again = client.post(f"/api/exports/{req['id']}/decision", json={"approve": False},
                        headers=bearer(tokens["chief"]))
    assert again.status_code == 409
    done = wait_settled(client, "", tokens["clerk"], req["id"])
    assert done["state"] == "ready", done["error"]
    assert done["progress"] == 1.0
    z = client.get(f"/api/exports/{req['id']}/package.zip", headers=bearer(tokens["clerk"]))
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(z.content)).namelist()
    assert any(n.endswith("/clip.mp4") for n in names) and any(n.endswith("/manifest.json") for n in names)
    # The same bytes verify by upload; a flipped byte in the clip does not.
    report = client.post("/api/verify", content=z.content, headers=bearer(tokens["viewer"])).json()
    assert report["status"] == "VERIFIED", report["first_failure"]
    assert report["checks"] and all(c["ok"] is not False for c in report["checks"])
    damaged = _with_flipped_clip_byte(z.content)
    bad = client.post("/api/verify", content=damaged, headers=bearer(tokens["viewer"])).json()
    assert bad["status"] == "FAILED" and bad["first_failure"]
    logged = actions_since(store, start_seq)
    for step in [("clerk.li", "export_raw", "allowed"), ("clerk.li", "export_approve", "denied"),
                 ("officer.sun", "authenticate", "denied")][:2] + [
                 ("chief.wu", "export_approve", "done"), ("clerk.li", "export_download", "done"),
                 ("viewer.zhao", "verify", "done")]:
        assert step in logged, step
    [allowed] = [e for e in store.audit() if e.seq > start_seq and e.action == "export_raw"
                 and e.outcome == "allowed" and "export request" in e.details.get("purpose", "")]
    assert allowed.principal == "clerk.li"


def _with_flipped_clip_byte(data: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            body = bytearray(src.read(info))
            if info.filename.endswith("/clip.mp4"):
                body[-100] ^= 0x01
            z.writestr(info.filename, bytes(body))
    return out.getvalue()


def test_a_rejected_request_is_never_built(env):
    _, client, tokens = env
    req = request_export(client, tokens["clerk"], kind="redacted").json()
    r = client.post(f"/api/exports/{req['id']}/decision", json={"approve": False, "note": "no court order"},
                    headers=bearer(tokens["chief"]))
    assert r.json()["state"] == "rejected"
    assert client.get(f"/api/exports/{req['id']}/package.zip", headers=bearer(tokens["clerk"])).status_code == 409


def test_concurrent_approvals_decide_once(env):
    store, client, tokens = env
    req = request_export(client, tokens["clerk"], kind="redacted").json()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: client.post(f"/api/exports/{req['id']}/decision", json={"approve": False},
                                                    headers=bearer(tokens["chief"])).status_code, range(8)))
    assert sorted(codes) == [200] + [409] * 7
    decided = [e for e in store.audit(action="export_reject") if e.details.get("request") == req["id"]]
    assert [e.outcome for e in decided].count("done") == 1


def test_requesting_an_export_needs_the_export_right(env):
    _, client, tokens = env
    r = request_export(client, tokens["viewer"], kind="redacted")
    assert r.status_code == 403 and r.json()["right"] == "export"
    raw = request_export(client, tokens["viewer"], kind="raw")
    assert raw.status_code == 403 and raw.json()["right"] == "export_raw"
    unknown = request_export(client, tokens["clerk"], camera="no-such-camera")
    assert unknown.status_code == 404 and "no-such-camera" in unknown.json()["message"]


def _zip(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, body in members:
            z.writestr(name, body)
    return out.getvalue()


def test_uploads_that_attack_the_verifier_fail_cleanly(env, tmp_path, monkeypatch):
    _, client, tokens = env
    escape = _zip([("../../escaped.txt", b"x"), ("manifest.json", b"{}")])
    r = client.post("/api/verify", content=escape, headers=bearer(tokens["viewer"]))
    assert r.status_code == 200 and r.json()["status"] == "FAILED"
    assert not (tmp_path.parent / "escaped.txt").exists()
    bomb = _zip([("clip.mp4", b"\0" * (64 << 20))])  # 64 MiB of zeros in a few tens of KiB
    monkeypatch.setattr("vidvault.web.verify_upload.MAX_EXTRACTED_BYTES", 32 << 20)
    r = client.post("/api/verify", content=bomb, headers=bearer(tokens["viewer"]))
    assert r.json()["status"] == "FAILED" and "declares" in r.json()["checks"][0]["detail"]
    not_zip = client.post("/api/verify", content=b"hello", headers=bearer(tokens["viewer"]))
    assert not_zip.json()["status"] == "FAILED"
    empty = client.post("/api/verify", content=b"", headers=bearer(tokens["viewer"]))
    assert empty.status_code == 400
    monkeypatch.setattr("vidvault.web.verify_upload.MAX_UPLOAD_BYTES", 1000)
    big = client.post("/api/verify", content=b"\0" * 5000, headers=bearer(tokens["viewer"]))
    assert big.status_code == 413
    assert client.post("/api/verify", content=escape).status_code == 401
