"""Helpers the tests share (importable as `helpers`)."""

from __future__ import annotations

import random
import socket
import subprocess
from pathlib import Path
from fractions import Fraction

import pytest

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
RTSP_SERVER = Path(__file__).with_name("rtsp_server.py")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_rtsp(port: int, path: Path) -> subprocess.Popen:
    """GStreamer's RTSP server on loopback serving `path` (tests/rtsp_server.py)."""
    if not Path(SYSTEM_PYTHON).exists() or subprocess.run(
            [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('GstRtspServer', '1.0')"]).returncode != 0:
        pytest.fail("GStreamer's RTSP server is missing: run ./dev setup (it installs gir1.2-gst-rtsp-server-1.0)")
    server = subprocess.Popen([SYSTEM_PYTHON, str(RTSP_SERVER), "--port", str(port), "--file", str(path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = server.stdout.readline().strip()
    assert line == "ready", server.stderr.read()
    return server
