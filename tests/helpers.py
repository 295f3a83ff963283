"""Helpers the tests share (importable as `helpers`)."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from fractions import Fraction

import pytest

import vidvault.bench
from vidvault import media

#: 2025-11-21T04:40:00Z, a fixed instant tests record at.
T0 = 1_763_700_000 * 1_000_000_000
NS = 1_000_000_000
FRAME_NS = 40_000_000


def ingest_file(store, camera, path, start_ns=T0):
    """Writes every access unit of `path` to `camera`; returns (info, packets, ts list).
    Wall-clock time = start_ns + (pts - first pts) in seconds."""
    with media.PacketSource(path) as src:
        info, packets = src.info, list(src)
    first = min(p.pts for p in packets)
    tss = [start_ns + int((p.pts - first) * info.time_base * NS) for p in packets]
    with store.writer(camera, **info.writer_kwargs()) as w:
        for p, ts in zip(packets, tss):
            w.append(ts, p.data, keyframe=p.keyframe, pts=p.pts, dts=p.dts, duration=p.duration)
    return info, packets, tss


def payload(i: int, marker: bytes = b"") -> bytes:
    """Deterministic access-unit stand-in for frame index i."""
    size = 60_000 if i % 25 == 0 else 200 + (i * 7919) % 20_000
    return marker + random.Random(i).randbytes(size)


def to_ns(pts: int, tb: Fraction) -> int:
    return int(pts * tb * NS)


SYSTEM_PYTHON = "/usr/bin/python3"  # GStreamer's Python bindings live there
RTSP_SERVER = Path(vidvault.bench.__file__).with_name("rtsp_server.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_rtsp(port: int, path: Path, *options: str) -> subprocess.Popen:
    """GStreamer's RTSP server on loopback serving `path` (vidvault/bench/rtsp_server.py);
    `options` are its flags (--protocols udp, --user U --password P, ...)."""
    if not Path(SYSTEM_PYTHON).exists() or subprocess.run(
            [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"]).returncode != 0:
        pytest.fail("GStreamer's RTSP server is missing: run ./dev setup (it installs gir1.2-gst-rtsp-server-1.0)")
    server = subprocess.Popen([SYSTEM_PYTHON, str(RTSP_SERVER), "--port", str(port), "--file", str(path),
                               *options],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline().strip()
    assert line == "ready", server.stderr.read()
    return server


def record_two_cameras(store, cam: str, other: str) -> None:
    """Two cameras in different areas, 4 s each (GOP of 25): what the
    access tests grant and refuse."""
    store.add_camera(cam, labels={"area": "district-3"})
    store.add_camera(other, labels={"area": "district-9"})
    for c in (cam, other):
        with store.writer(c, codec="h264") as w:
            for i in range(100):
                w.append(T0 + i * 40_000_000, b"frame %d" % i, keyframe=i % 25 == 0)


@contextlib.contextmanager
def small_disk(where: Path, size: str):
    """A real filesystem of ``size`` (a size-limited tmpfs) mounted at
    ``where`` for the block. Mounting needs root, which CI has: a test of a
    full disk fails rather than skips without it, so it is never silently
    not run."""
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"this test mounts a {size} tmpfs and needs root: {r.stderr.strip() or 'mount failed'}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def store_with_audit_entries(store, store_path, key, camera: str, entries: int):
    """Closes `store` after ten frames of `camera` and `entries` audited
    session requests; returns (store_path, key, public key, audit head seq)."""
    store.add_camera(camera)
    with store.writer(camera, codec="h264") as w:
        for i in range(10):
            w.append(T0 + i * 40_000_000, b"frame %d" % i, keyframe=i % 5 == 0)
    s = store.session("guard.chen")
    for _ in range(entries):
        s.segments(camera, T0, T0 + 3600 * NS)
    head = store.audit_head()[0]
    pub = store.export_public_key()
    store.close()
    return store_path, key, pub, head


class VlcServer:
    """VLC's RTSP server (Debian: vlc-bin, vlc-plugin-base) on loopback
    serving `path` in a loop at rtsp://127.0.0.1:PORT/x: a second server
    implementation, which offers RTP over UDP only, as many cameras do.
    VLC refuses to run as root, so as root it runs as `nobody`, on a copy
    of the file that user can read."""

    def __init__(self, port: int, path: Path) -> None:
        if shutil.which("cvlc") is None:
            pytest.fail("VLC is missing: run ./dev setup (it installs vlc-bin and vlc-plugin-base)")
        self.dir = Path(tempfile.mkdtemp(prefix="vlc-rtsp-"))
        self.dir.chmod(0o755)
        clip = self.dir / path.name
        shutil.copyfile(path, clip)
        clip.chmod(0o644)
        as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen(
            [*as_user, "cvlc", "-q", "--no-audio", str(clip), "--loop", "--sout-keep",
             "--sout", f"#rtp{{sdp=rtsp://127.0.0.1:{port}/x}}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        # Ready when it describes the stream: VLC listens before its media is set up, and a
        # DESCRIBE in between gets a 5XX (on a loaded machine, for a second or more).
        deadline = time.monotonic() + 20
        while not self._describes(port):
            assert self.proc.poll() is None, "VLC exited before it served the stream"
            assert time.monotonic() < deadline, "VLC's RTSP server did not describe the stream within 20 s"
            time.sleep(0.1)

    @staticmethod
    def _describes(port: int) -> bool:
        request = (f"DESCRIBE rtsp://127.0.0.1:{port}/x RTSP/1.0\r\nCSeq: 1\r\n"
                   "Accept: application/sdp\r\n\r\n").encode()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(request)
                return s.recv(64).startswith(b"RTSP/1.0 200")
        except OSError:
            return False

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: runuser and VLC
        except ProcessLookupError:
            pass
        self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
