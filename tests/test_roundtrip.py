"""Real H.264/H.265 (PyAV libx264/libx265) in, bit-identical access units out."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

import vidvault
from vidvault import media

from helpers import NS, T0, ingest_file

CAMERAS = ["34020000001320000001", "34020000001320000002", "34020000001320000003"]


def test_several_cameras_from_threads_round_trip_bit_identical(store, clip):
    sources = {
        CAMERAS[0]: clip("h264", bframes=0),
        CAMERAS[1]: clip("h264", bframes=2),
        CAMERAS[2]: clip("hevc", bframes=0),
    }
    for cam in CAMERAS:
        store.add_camera(cam)
    results, errors = {}, []

    def run(cam):
        try:
            results[cam] = ingest_file(store, cam, sources[cam])
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(c,)) for c in CAMERAS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors

    for cam in CAMERAS:
        info, packets, tss = results[cam]
        frames = list(store.read(cam, T0, T0 + 3600 * NS))
        assert len(frames) == len(packets)
        for f, p, ts in zip(frames, packets, tss):
            assert f.data == p.data
            assert (f.pts, f.dts, f.duration, f.keyframe, f.ts) == (p.pts, p.dts, p.duration, p.keyframe, ts)
        # Several segments (roll_after=2 s), chained by content hash.
        segs = store.segments(cam)
        assert len(segs) >= 3 and all(s.state == "sealed" for s in segs)
        assert all(b.prev_hash == a.content_hash for a, b in zip(segs, segs[1:]))
        # What was read decodes, picture for picture.
        config = store.segment_config(frames[0].segment)
        assert config.codec == info.codec and config.extradata == info.extradata
        assert (config.width, config.height) == (640, 360)
        assert len(list(media.decode(config, frames))) == len(packets)


def test_b_frames_keep_decode_order_and_both_timestamps(store, clip):
    store.add_camera("cam")
    info, packets, tss = ingest_file(store, "cam", clip("h264", bframes=2))
    assert any(p.pts != p.dts for p in packets), "the clip must really have B-frames"
    frames = list(store.read("cam", T0, T0 + 60 * NS))
    assert [f.dts for f in frames] == [p.dts for p in packets]
    assert [f.pts for f in frames] == [p.pts for p in packets]
    assert sorted(f.dts for f in frames) == [f.dts for f in frames]


def test_reopened_store_reads_the_same(store_path, key, clip):
    with vidvault.Store.create(store_path, key=key, roll_after=2.0) as s:
        s.add_camera("cam", labels={"area": "district-3"})
        _, packets, _ = ingest_file(s, "cam", clip())
        store_id = s.store_id
    with vidvault.Store.open(store_path, key=key) as s:
        assert s.store_id == store_id
        assert s.camera("cam").labels == {"area": "district-3"}
        assert [f.data for f in s.read("cam", T0, T0 + 60 * NS)] == [p.data for p in packets]
        assert s.fsck(deep=True).ok


def test_datetimes_and_iso_strings_are_accepted(store, clip):
    store.add_camera("cam")
    ingest_file(store, "cam", clip())
    start = datetime.fromtimestamp(T0 / NS, tz=timezone.utc)
    by_ns = [f.seq for f in store.read("cam", T0 + NS, T0 + 3 * NS)]
    iso = vidvault.timeutil.iso
    by_str = [f.seq for f in store.read("cam", iso(T0 + NS), iso(T0 + 3 * NS))]
    assert by_ns == by_str and by_ns
    kf = store.seek("cam", start.replace(second=start.second + 2))
    assert kf.ts == T0 + 2 * NS
    with pytest.raises(vidvault.InvalidArgumentError, match="no timezone"):
        store.seek("cam", datetime(2025, 11, 21, 4, 40))
    # The writer accepts an aware datetime for ts as well.
    with store.writer("cam", codec="h264") as w:
        w.append(datetime.fromtimestamp(T0 / NS + 100, tz=timezone.utc), b"x", keyframe=True)
    assert store.seek("cam", T0 + 100 * NS).data == b"x"


def test_payloads_of_any_buffer_type(store):
    store.add_camera("cam")
    import numpy as np

    with store.writer("cam", codec="h264") as w:
        w.append(T0, bytearray(b"abc"), keyframe=True)
        w.append(T0 + 1, memoryview(b"defg"))
        w.append(T0 + 2, np.frombuffer(b"hijkl", dtype=np.uint8))
    assert [f.data for f in store.read("cam", T0, T0 + 10)] == [b"abc", b"defg", b"hijkl"]


def test_reads_see_frames_of_an_open_writer(store):
    store.add_camera("cam")
    w = store.writer("cam", codec="h264")
    for i in range(60):
        w.append(T0 + i * 40_000_000, b"frame %d" % i, keyframe=i % 25 == 0)
    frames = list(store.read("cam", T0, T0 + 10 * NS))
    assert [f.data for f in frames] == [b"frame %d" % i for i in range(60)]
    assert store.segments("cam")[-1].state == "open"
    assert store.seek("cam", T0 + 59 * 40_000_000).data == b"frame 50"
    w.close()
    assert store.segments("cam")[-1].state == "sealed"


def test_codec_change_starts_a_new_segment(store, clip):
    store.add_camera("cam")
    with store.writer("cam", codec="h264", extradata=b"A") as w:
        w.append(T0, b"a0", keyframe=True)
        w.append(T0 + 40_000_000, b"a1")
        w.reconfigure("hevc", extradata=b"B")
        with pytest.raises(vidvault.InvalidArgumentError, match="keyframe"):
            w.append(T0 + 80_000_000, b"b0")
        w.append(T0 + 80_000_000, b"b0", keyframe=True)
    segs = store.segments("cam")
    assert [s.codec for s in segs] == ["h264", "hevc"]
    assert store.segment_config(segs[1].id).extradata == b"B"
