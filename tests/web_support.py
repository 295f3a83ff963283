"""What the web tests share: a store with real H.264 footage and a gap, grant
tokens, and reading MP4 bytes back."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time

import vidvault
from vidvault.media import mp4box

from helpers import NS, T0, free_port, ingest_file

CAMERA = "34020000001320000001"
OTHER = "34020000001320000002"
#: Footage: [T0, T0+6 s) and [T0+20 s, T0+26 s) on CAMERA, a gap between; OTHER has [T0, T0+6 s).
GAP = (T0 + 6 * NS, T0 + 20 * NS)
#: The range the export tests request.
EXPORT_RANGE = (T0 + 1 * NS, T0 + 3 * NS)
DAY = (T0 - T0 % (86400 * NS), T0 - T0 % (86400 * NS) + 86400 * NS)


def footage_store(path, key, clip):
    store = vidvault.Store.create(path, key=key, roll_after=2.0, sync_interval=0.05)
    store.add_camera(CAMERA, labels={"area": "gate", "site": "district-3"})
    store.add_camera(OTHER, labels={"area": "lobby"})
    source = clip(seconds=6.0, width=320, height=240, gop=25)
    ingest_file(store, CAMERA, source, T0)
    ingest_file(store, CAMERA, source, T0 + 20 * NS)
    ingest_file(store, OTHER, source, T0)
    store.hold(CAMERA, T0 + 21 * NS, T0 + 23 * NS, case="CASE-9", actor="clerk.li", reason="test hold")
    return store


def grant(store, to, actions, cameras=("*",), *, seconds=3600, **kw):
    if any(a.startswith("export") for a in actions):
        kw.setdefault("approver", "chief.wu")
    return store.issue_grant(to=to, actions=list(actions), cameras=list(cameras), valid_until=time.time_ns() + seconds * NS,
                             case=kw.pop("case", "CASE-9"), issued_by="admin", **kw)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def request_export(http, token, kind="raw", *, base="", **fields):
    """POST /api/exports for EXPORT_RANGE of CAMERA (``base`` "" for a TestClient); the response."""
    body = {"camera": CAMERA, "start": str(EXPORT_RANGE[0]), "end": str(EXPORT_RANGE[1]), "case": "CASE-9",
            "reason": "court request 4411", "kind": kind, **fields}
    return http.post(f"{base}/api/exports", json=body, headers=bearer(token))


def wait_settled(http, base, token, request_id, timeout=120):
    """An export request once neither pending nor building (``base`` "" for a TestClient)."""
    deadline = time.monotonic() + timeout
    while True:
        r = http.get(f"{base}/api/exports/{request_id}", headers=bearer(token))
        assert r.status_code == 200, r.text
        if r.json()["state"] not in ("building", "pending") or time.monotonic() > deadline:
            return r.json()
        time.sleep(0.2)


def samples(data: bytes) -> list[bytes]:
    """Every sample of the MP4 in ``data``, decode order."""
    layout = mp4box.parse_layout(data)
    return list(mp4box.read_samples(io.BytesIO(data), layout.track))


def ffprobe(path) -> dict:
    """Video stream and frame count as ffprobe reports them."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
         "stream=codec_name,width,height,nb_read_frames", "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)["streams"][0]


def start_server(store_path, key, *extra):
    """`vidvault serve STORE` in its own process on a free loopback port,
    once it listens: (process, base URL)."""
    port = free_port()
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    proc = subprocess.Popen([sys.executable, "-m", "vidvault.cli", "serve", str(store_path), "--port", str(port),
                             *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"vidvault serve exited {proc.returncode}: {proc.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise AssertionError("vidvault serve did not listen within 60 s") from None
            time.sleep(0.1)


def stop_server(proc, sig=signal.SIGINT):
    proc.send_signal(sig)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def served(store_path, key, *extra):
    """`vidvault serve STORE` in its own process on a free loopback port;
    yields its base URL."""
    proc, base = start_server(store_path, key, *extra)
    try:
        yield base
    finally:
        stop_server(proc)
