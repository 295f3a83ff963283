"""Bad input gets a clear, typed error that says what and where, and loses nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import vidvault

from helpers import NS, T0, ingest_file


def _sealed_store(store_path, key, clip, roll_after=2.0):
    with vidvault.Store.create(store_path, key=key, roll_after=roll_after) as s:
        s.add_camera("cam")
        _, packets, _ = ingest_file(s, "cam", clip())
        segs = s.segments("cam")
    return packets, segs


def test_wrong_key_is_refused_with_a_key_error(store_path, key, clip):
    _sealed_store(store_path, key, clip)
    with pytest.raises(vidvault.WrongKeyError) as e:
        vidvault.Store.open(store_path, key=vidvault.generate_key())
    assert isinstance(e.value, KeyError)
    assert str(store_path) in str(e.value) and "--key-file" in str(e.value)
    # What to do is the front end's part: the hint, also at the end of the message.
    assert "--key-file" in e.value.hint and str(e.value).endswith(e.value.hint)
    # Nothing was modified: the right key still opens everything.
    with vidvault.Store.open(store_path, key=key) as s:
        assert s.fsck(deep=True).ok


def test_malformed_keys_are_refused():
    with pytest.raises(vidvault.InvalidArgumentError, match="32 bytes or 64 hex"):
        vidvault.Store.create("/nonexistent-never-created", key=b"short")


def test_flipped_byte_fails_only_the_affected_frames(store_path, key, clip):
    packets, segs = _sealed_store(store_path, key, clip)
    victim = store_path / segs[1].path
    raw = bytearray(victim.read_bytes())
    pos = len(raw) // 2
    raw[pos] ^= 0x01
    victim.write_bytes(bytes(raw))
    with vidvault.Store.open(store_path, key=key) as s:
        with pytest.raises(vidvault.CorruptSegmentError) as e:
            list(s.read("cam", segs[1].start, segs[1].end))
        err = e.value
        assert err.camera == "cam" and err.path == str(victim)
        assert err.offset <= pos < err.offset + 200_000
        assert str(victim) in str(err) and f"offset {err.offset}" in str(err)
        # The segments before and after read in full.
        for seg in (segs[0], segs[2]):
            frames = list(s.read("cam", seg.start, seg.end))
            assert frames and all(f.segment == seg.id for f in frames)
        report = s.fsck(deep=True)
        assert not report.ok
        assert {p.segment_id for p in report.problems} == {segs[1].id}


def test_truncated_sealed_segment_reports_the_loss(store_path, key, clip):
    packets, segs = _sealed_store(store_path, key, clip)
    victim = store_path / segs[0].path
    size = victim.stat().st_size
    os.truncate(victim, size // 2)
    with vidvault.Store.open(store_path, key=key) as s:
        got = []
        with pytest.raises(vidvault.CorruptSegmentError, match="truncated") as e:
            for f in s.read("cam", segs[0].start, segs[0].end):
                got.append(f)
        assert e.value.path == str(victim)
        # The intact first half was delivered before the error.
        assert got and [f.data for f in got] == [p.data for p in packets[: len(got)]]
        assert not s.fsck().ok


def test_missing_catalog_is_rebuilt_from_the_files(store_path, key, clip):
    with vidvault.Store.create(store_path, key=key, roll_after=2.0) as s:
        s.add_camera("cam", labels={"area": "district-3"})
        _, packets, _ = ingest_file(s, "cam", clip())
        before = [(x.id, x.start, x.end, x.content_hash, x.prev_hash) for x in s.segments("cam")]
    for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        (store_path / name).unlink(missing_ok=True)
    with pytest.raises(vidvault.CatalogMissingError, match="fsck STORE --rebuild") as e:
        vidvault.Store.open(store_path, key=key)
    assert "rebuild_catalog=True" in e.value.hint and str(e.value).endswith(e.value.hint)
    assert e.value.path == str(store_path / "catalog.sqlite")
    with vidvault.Store.open(store_path, key=key, rebuild_catalog=True) as s:
        after = [(x.id, x.start, x.end, x.content_hash, x.prev_hash) for x in s.segments("cam")]
        assert after == before
        assert s.camera("cam").labels == {"area": "district-3"}
        assert [f.data for f in s.read("cam", T0, T0 + 60 * NS)] == [p.data for p in packets]
        assert s.fsck(deep=True).ok


def test_second_process_is_refused_and_told_the_holder_pid(store, store_path, key):
    code = textwrap.dedent(f"""
        import vidvault, sys
        try:
            vidvault.Store.open({str(store_path)!r}, key=bytes.fromhex({key.hex()!r}))
        except vidvault.StoreLockedError as e:
            print(e.pid)
            print(e)
            sys.exit(3)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr
    pid, message = r.stdout.splitlines()[:2]
    assert int(pid) == os.getpid()
    assert f"process {os.getpid()}" in message


def test_same_process_second_open_is_refused_too(store, store_path, key):
    with pytest.raises(vidvault.StoreLockedError):
        vidvault.Store.open(store_path, key=key)


def test_lock_is_released_on_close(store_path, key):
    vidvault.Store.create(store_path, key=key).close()
    vidvault.Store.open(store_path, key=key).close()


def test_bad_camera_ids_and_unknown_cameras(store):
    for bad in ["", " leading", "tab\there", "x" * 256]:
        with pytest.raises(vidvault.InvalidArgumentError):
            store.add_camera(bad)
    store.add_camera("门口 / gate #1")  # any printable id works
    with pytest.raises(vidvault.CameraExistsError):
        store.add_camera("门口 / gate #1")
    with pytest.raises(vidvault.UnknownCameraError) as e:
        list(store.read("nope", 0, 1))
    assert e.value.camera == "nope" and "add_camera" in str(e.value)
    assert e.value.hint == 'add it first with store.add_camera("nope")'
    with pytest.raises(vidvault.UnknownCameraError):
        store.writer("nope", codec="h264")


def test_one_writer_per_camera(store):
    store.add_camera("cam")
    w = store.writer("cam", codec="h264")
    with pytest.raises(vidvault.WriterBusyError):
        store.writer("cam", codec="h264")
    w.close()
    store.writer("cam", codec="h264").close()


def test_out_of_order_frames_are_refused(store):
    store.add_camera("cam")
    with store.writer("cam", codec="h264") as w:
        with pytest.raises(vidvault.InvalidArgumentError, match="keyframe"):
            w.append(T0, b"p")  # decoding must start at a keyframe
        w.append(T0, b"k", keyframe=True)
        with pytest.raises(vidvault.InvalidArgumentError, match="not after"):
            w.append(T0, b"k2", keyframe=True)
        with pytest.raises(vidvault.InvalidArgumentError, match="earlier than its keyframe"):
            w.append(T0 - 1, b"p")
    with pytest.raises(vidvault.InvalidArgumentError, match="codec"):
        store.writer("cam", codec="not a codec!")


def test_not_a_store_and_existing_store(tmp_path, key):
    with pytest.raises(vidvault.NotAStoreError):
        vidvault.Store.open(tmp_path / "missing", key=key)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("x")
    with pytest.raises(vidvault.NotAStoreError, match="not empty"):
        vidvault.Store.create(tmp_path / "busy", key=key)
    vidvault.Store.create(tmp_path / "s", key=key).close()
    with pytest.raises(vidvault.StoreExistsError) as e:
        vidvault.Store.create(tmp_path / "s", key=key)
    assert "Store.open" in str(e.value) and isinstance(e.value, FileExistsError)


def test_closed_store_refuses_calls(store):
    store.add_camera("cam")
    store.close()
    with pytest.raises(vidvault.StoreClosedError):
        store.cameras()
