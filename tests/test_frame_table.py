"""The frame table of sealed segments (segment format 4, docs/FORMAT.md 2.3):
`frame_infos` lists from it what the records themselves hold, H.264 with
B-frames included; a changed table byte is never believed; a segment
recovered after kill -9 is sealed as format 4 with its table."""

from __future__ import annotations

import struct
from pathlib import Path

import vidvault

from helpers import FRAME_NS, NS, T0, ingest_file
from test_crash import _run_and_kill

TRAILER = 32


def _tail(path: Path) -> tuple[int, int, bytes]:
    """(format version, records_end, footer body) of a sealed segment file."""
    data = path.read_bytes()
    version = struct.unpack_from("<H", data, 8)[0]
    footer_at, footer_len = struct.unpack_from("<QI", data, len(data) - TRAILER)
    assert data[-8:] == b"VVSEGEND"
    body = data[footer_at + 8:footer_at + footer_len]
    assert body[:1] == b"F"
    records_end = struct.unpack_from("<Q", body, 40)[0]
    return version, records_end, body


def _has_table(path: Path) -> bool:
    version, records_end, body = _tail(path)
    return version == 4 and body[2] & 1 == 1 and path.read_bytes()[records_end + 8:records_end + 9] == b"T"


def _listing(info_or_frame) -> tuple:
    f = info_or_frame
    size = f.size if hasattr(f, "size") else len(f.data)
    return (f.segment, f.seq, f.ts, f.pts, f.dts, f.duration, f.keyframe, size)


def test_frame_infos_of_sealed_segments_are_what_the_records_hold(tmp_path, clip):
    store = vidvault.Store.create(tmp_path / "store", key=vidvault.generate_key(), roll_after=2.0)
    store.add_camera("cam")
    ingest_file(store, "cam", clip(codec="h264", bframes=2, width=320, height=240, seconds=6.0), T0)
    segments = store.segments("cam")
    sealed = [s for s in segments if s.state == "sealed"]
    assert len(sealed) >= 2
    assert all(_has_table(tmp_path / "store" / s.path) for s in sealed)

    start, end = T0, T0 + 100 * NS
    core = store._core
    infos = core.frame_infos("cam", start, end)
    frames = list(store.read("cam", start, end))
    assert [_listing(i) for i in infos] == [_listing(f) for f in frames]
    # B-frames: presentation order differs from the stored (decode) order.
    pts = [i.pts for i in infos if i.segment == sealed[0].id]
    assert pts != sorted(pts)
    # Each info names its record: the authenticated frame read there.
    for info in infos[::17]:
        frame = core.read_frame(info.segment, info.offset, info.seq)
        assert _listing(frame) == _listing(info)
    store.close()


def test_a_changed_table_byte_is_not_believed(tmp_path, clip):
    key = vidvault.generate_key()
    root = tmp_path / "store"
    with vidvault.Store.create(root, key=key, roll_after=2.0) as store:
        store.add_camera("cam")
        ingest_file(store, "cam", clip(codec="h264", bframes=2, width=320, height=240, seconds=4.0), T0)
        before = [_listing(i) for i in store._core.frame_infos("cam", T0, T0 + 100 * NS)]
        victim = next(s for s in store.segments("cam") if s.state == "sealed")
    path = root / victim.path
    _, records_end, _ = _tail(path)
    data = bytearray(path.read_bytes())
    data[records_end + 20] ^= 0x08  # inside the compressed rows
    path.write_bytes(bytes(data))

    with vidvault.Store.open(root, key=key) as store:
        after = [_listing(i) for i in store._core.frame_infos("cam", T0, T0 + 100 * NS)]
        assert after == before, "listed from the records, not from the changed table"
        problems = store.fsck().problems
        assert [p.segment_id for p in problems] == [victim.id], [str(p) for p in problems]
        assert "frame table is damaged" in problems[0].detail
        assert problems[0].offset == records_end


def test_a_segment_recovered_after_kill_9_is_sealed_with_its_table(tmp_path):
    import random

    key = vidvault.generate_key()
    root = tmp_path / "store"
    with vidvault.Store.create(root, key=key) as s:
        s.add_camera("cam")
    rng = random.Random(15)
    first, repaired = 0, []
    for _ in range(10):
        _run_and_kill(root, key, first, rng)
        with vidvault.Store.open(root, key=key) as store:
            repaired += [r for r in store.recovery_report if r.action == "repaired"]
            frames = list(store.read("cam", T0, T0 + 10**6 * NS))
            first = ((frames[-1].ts - T0) // FRAME_NS // 25 + 1) * 25  # the next keyframe
        if repaired:
            break
    assert repaired, "no kill landed while a segment was open"
    with vidvault.Store.open(root, key=key) as store:
        rows = {s.id: s for s in store.segments("cam")}
        for r in repaired:
            row = rows[r.segment_id]
            assert row.state == "sealed"
            assert _has_table(root / row.path), f"segment {row.id} was not sealed as format 4"
        infos = store._core.frame_infos("cam", T0, T0 + 10**6 * NS)
        frames = list(store.read("cam", T0, T0 + 10**6 * NS))
        assert [_listing(i) for i in infos] == [_listing(f) for f in frames]
        assert {i.segment for i in infos} >= {r.segment_id for r in repaired}
        assert store.fsck(deep=True).ok
