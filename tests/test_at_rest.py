"""No plaintext video on disk: a marker inside every payload, and real H.264
parameter sets, never appear in any file of the store, sealed or live."""

from __future__ import annotations

from helpers import NS, T0, ingest_file, payload

MARKER = b"VIDVAULT-PLAINTEXT-MARKER:"


def _files(root):
    return [p for p in root.rglob("*") if p.is_file()]


def test_marker_never_reaches_disk(store, store_path):
    store.add_camera("cam")
    w = store.writer("cam", codec="h264", extradata=MARKER + b"extradata")
    for i in range(300):
        w.append(T0 + i * 40_000_000, payload(i, MARKER), keyframe=i % 25 == 0)
    w.sync()  # sealed segments plus a live, unsealed one
    for f in _files(store_path):
        assert MARKER not in f.read_bytes(), f"plaintext marker found in {f}"
    w.close()
    for f in _files(store_path):
        assert MARKER not in f.read_bytes(), f"plaintext marker found in {f}"


def test_real_h264_never_reaches_disk(store, store_path, clip):
    store.add_camera("cam")
    info, packets, _ = ingest_file(store, "cam", clip())
    samples = [info.extradata[4:]] + [p.data[8:40] for p in packets if len(p.data) >= 40][::10]
    blobs = [f.read_bytes() for f in _files(store_path)]
    for s in samples:
        assert not any(s in b for b in blobs)
    # ...and it all reads back.
    assert [f.data for f in store.read("cam", T0, T0 + 60 * NS)] == [p.data for p in packets]
