"""Checks the media tests share: real ffprobe, real PyAV decoding, and real
tampering of exported files (importable as `media_checks`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import av

from vidvault.media import mp4box

T0 = 1_763_700_000 * 1_000_000_000
NS = 1_000_000_000


def ffprobe_errors(path: Path) -> str:
    """What `ffprobe -v error` prints about a file (empty when it is clean),
    decoding every frame so bitstream errors show up too."""
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries", "stream=nb_read_frames",
                        "-of", "csv=p=0", str(path)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stderr.strip()


def decoded_times(path: Path) -> list[float]:
    """Presentation times (s) of every frame PyAV decodes from the file."""
    with av.open(str(path)) as c:
        return [f.time for f in c.decode(c.streams.video[0])]


def flip_byte_in_mdat(path: Path, *, fraction: float = 0.5) -> int:
    """Inverts one byte inside the mdat payload; returns its offset."""
    data = bytearray(path.read_bytes())
    mdat = next(b for b in mp4box.iter_boxes(data, 0, len(data)) if b.type == b"mdat")
    offset = mdat.body + int((mdat.end - mdat.body) * fraction)
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return offset


def remux(src: Path, dst: Path, *, drop: int | None = None, swap: tuple[int, int] | None = None) -> None:
    """Re-muxes an MP4 with PyAV (stream copy), dropping the packet at index
    ``drop`` or exchanging the payloads of the two packets ``swap`` names."""
    with av.open(str(src)) as inp:
        stream = inp.streams.video[0]
        packets = [p for p in inp.demux(stream) if p.size]
        payloads = [bytes(p) for p in packets]
        if swap is not None:
            a, b = swap
            payloads[a], payloads[b] = payloads[b], payloads[a]
        with av.open(str(dst), "w", format="mp4") as out:
            ost = out.add_stream_from_template(stream)
            for i, (p, data) in enumerate(zip(packets, payloads)):
                if i == drop:
                    continue
                q = av.Packet(data)
                q.pts, q.dts, q.time_base, q.is_keyframe = p.pts, p.dts, p.time_base, p.is_keyframe
                q.stream = ost
                out.mux(q)


def copy_package(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst
