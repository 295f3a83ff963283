"""A camera's footage is that camera's: files copied over each other, catalog
rows edited to point elsewhere, segment ids after retention, the hash chain
across deletions. Each test here failed on the build before these checks."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time

import pytest

import vidvault

from helpers import NS, T0

CAM_A = "34020000001320000001"
CAM_B = "34020000001320000002"
HOUR = 3600 * NS
DAY = 24 * HOUR
NOW = time.time_ns()


def record(store, camera, start, seconds, marker):
    """`seconds` one-second segments (roll_after=1) of 25 frames each,
    every frame's payload starting with `marker`."""
    with store.writer(camera, codec="h264") as w:
        for i in range(seconds * 25 + 1):
            w.append(start + i * 40_000_000, marker + b" %d" % i, keyframe=i % 25 == 0,
                     duration=40_000_000)


@pytest.fixture
def two_cameras(store_path, key):
    s = vidvault.Store.create(store_path, key=key, roll_after=1.0)
    s.add_camera(CAM_A)
    s.add_camera(CAM_B)
    record(s, CAM_A, T0, 4, b"A")
    record(s, CAM_B, T0, 4, b"B")
    s.close()
    return store_path


def files(store, camera):
    return [store.path / seg.path for seg in store.segments(camera)]


def read_in_thread(store, camera, start, end, timeout=30):
    """Reads in a thread so a cursor that loops fails the test instead of
    hanging it."""
    out: dict = {}

    def run():
        try:
            out["frames"] = [f.data for f in store.read(camera, start, end)]
        except Exception as e:  # noqa: BLE001 - handed to the test
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "read did not end (the cursor loops)"
    return out


def test_another_cameras_segment_copied_over_is_refused_not_served(two_cameras, key):
    with vidvault.Store.open(two_cameras, key=key) as s:
        a_files, b_files = files(s, CAM_A), files(s, CAM_B)
        shutil.copyfile(b_files[1], a_files[1])
    with vidvault.Store.open(two_cameras, key=key) as s:
        out = read_in_thread(s, CAM_A, T0, T0 + 10 * NS)
        assert "error" in out, "B's footage was served as A's"
        err = out["error"]
        assert isinstance(err, vidvault.CorruptSegmentError)
        msg = str(err)
        assert str(a_files[1]) in msg and CAM_B in msg and CAM_A in msg and "catalog expects" in msg
        # Nothing of B came back before the error either.
        frames = []
        with pytest.raises(vidvault.CorruptSegmentError):
            for f in s.read(CAM_A, T0, T0 + 10 * NS):
                frames.append(f.data)
        assert frames and all(d.startswith(b"A") for d in frames)
        # A seek into the swapped segment is refused too.
        with pytest.raises(vidvault.CorruptSegmentError, match="catalog expects"):
            s.seek(CAM_A, T0 + int(1.5 * NS))
        problems = [p.detail for p in s.fsck().problems]
        assert any("catalog expects" in d for d in problems), problems


def test_a_session_granted_one_camera_never_gets_anothers_footage(two_cameras, key):
    with vidvault.Store.open(two_cameras, key=key) as s:
        a_files, b_files = files(s, CAM_A), files(s, CAM_B)
        shutil.copyfile(b_files[0], a_files[0])
        token = s.issue_grant(to="officer.wang", actions=["view_raw"], cameras=[CAM_A], footage_from=T0,
                              footage_to=T0 + HOUR, valid_until=NOW + HOUR, case="CASE-1", issued_by="admin")
        session = s.session("officer.wang", [token], purpose="check")
        got = []
        with pytest.raises(vidvault.CorruptSegmentError):
            for f in session.read(CAM_A, T0, T0 + 10 * NS):
                got.append(f.data)
        assert not any(d.startswith(b"B") for d in got)


def test_an_earlier_segment_copied_over_a_later_one_ends_the_read(two_cameras, key):
    with vidvault.Store.open(two_cameras, key=key) as s:
        a_files = files(s, CAM_A)
        shutil.copyfile(a_files[0], a_files[2])
    with vidvault.Store.open(two_cameras, key=key) as s:
        out = read_in_thread(s, CAM_A, T0, T0 + 10 * NS)
        assert isinstance(out.get("error"), vidvault.CorruptSegmentError), out.keys()
        assert "segment 1 " in str(out["error"]) or "claims to be segment" in str(out["error"])


def test_a_swapped_open_segment_is_not_sealed_in_its_place(store_path, key):
    """An `open` row (crash before sealing) whose file was replaced by a sealed
    segment of another camera: recovery refuses, row and both files stay."""
    with vidvault.Store.create(store_path, key=key, roll_after=1.0) as s:
        s.add_camera(CAM_A)
        s.add_camera(CAM_B)
        record(s, CAM_A, T0, 2, b"A")
        record(s, CAM_B, T0, 2, b"B")
        a_seg = s.segments(CAM_A)[-1]
        b_seg = s.segments(CAM_B)[0]
    db = sqlite3.connect(store_path / "catalog.sqlite")
    db.execute("UPDATE segments SET state = 'open', end_ts = NULL, content_hash = NULL WHERE id = ?", (a_seg.id,))
    db.commit()
    db.close()
    shutil.copyfile(store_path / b_seg.path, store_path / a_seg.path)
    copy = (store_path / a_seg.path).read_bytes()
    with vidvault.Store.open(store_path, key=key) as s:
        refused = [r for r in s.recovery_report if r.segment_id == a_seg.id]
        assert refused and refused[0].action == "refused" and "catalog expects" in refused[0].detail
        assert (store_path / a_seg.path).read_bytes() == copy, "the copy was modified"
        assert [r.state for r in s.segments(CAM_A) if r.id == a_seg.id] == ["open"]
        assert all(f.data.startswith(b"B") for f in s.read(CAM_B, T0, T0 + 10 * NS))


@pytest.mark.parametrize("where", ["../outside.vvs", "ABSOLUTE"])
@pytest.mark.parametrize("state", ["deleting", "open"])
def test_catalog_rows_pointing_outside_the_store_never_touch_that_file(two_cameras, key, tmp_path, where,
                                                                       state):
    victim = tmp_path / "outside.vvs"
    if where == "ABSOLUTE":
        victim = tmp_path / "elsewhere" / "precious.vvs"
        victim.parent.mkdir()
        where = str(victim)
    victim.write_bytes(b"not footage: someone's file")
    db = sqlite3.connect(two_cameras / "catalog.sqlite")
    (seg_id,) = db.execute("SELECT id FROM segments WHERE camera = ? ORDER BY id LIMIT 1", (CAM_A,)).fetchone()
    db.execute("UPDATE segments SET path = ?, state = ? WHERE id = ?", (where, state, seg_id))
    db.commit()
    db.close()
    with vidvault.Store.open(two_cameras, key=key) as s:
        assert victim.read_bytes() == b"not footage: someone's file"
        assert not (two_cameras / "quarantine").exists() or not list((two_cameras / "quarantine").iterdir())
        report = [r for r in s.recovery_report if r.segment_id == seg_id]
        assert report and report[0].action == "refused"
        assert f"segment {seg_id}" in report[0].detail and "is not where that segment lives" in report[0].detail
        problems = [p.detail for p in s.fsck().problems]
        assert any(f"segment {seg_id}" in d and "not where" in d for d in problems), problems
    assert victim.exists()


def test_the_sweep_never_deletes_a_file_outside_the_store(two_cameras, key, tmp_path):
    victim = tmp_path / "outside.vvs"
    victim.write_bytes(b"keep me")
    db = sqlite3.connect(two_cameras / "catalog.sqlite")
    (seg_id,) = db.execute("SELECT id FROM segments WHERE camera = ? ORDER BY id LIMIT 1", (CAM_A,)).fetchone()
    db.execute("UPDATE segments SET path = '../outside.vvs' WHERE id = ?", (seg_id,))
    db.commit()
    db.close()
    with vidvault.Store.open(two_cameras, key=key) as s:
        with pytest.raises(vidvault.CorruptSegmentError, match=f"segment {seg_id}"):
            s.enforce_retention(T0 + 400 * DAY)
        assert victim.read_bytes() == b"keep me"
        # Nothing else was deleted either: the sweep stopped before any change.
        assert len(s.segments(CAM_A)) == 5 and len(s.segments(CAM_B)) == 5


def test_a_symlinked_camera_directory_is_not_followed(two_cameras, key, tmp_path):
    outside = tmp_path / "outside"
    with vidvault.Store.open(two_cameras, key=key) as s:
        cam_dir = (s.path / s.segments(CAM_A)[0].path).parent.parent
    shutil.move(cam_dir, outside)
    cam_dir.symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.rglob("*.vvs"))
    with vidvault.Store.open(two_cameras, key=key) as s:
        with pytest.raises(vidvault.CorruptSegmentError, match="symbolic link"):
            s.enforce_retention(T0 + 400 * DAY)
    assert sorted(p.name for p in outside.rglob("*.vvs")) == before


def test_segment_ids_are_never_reused_after_retention_deletes_everything(store_path, key):
    with vidvault.Store.create(store_path, key=key, roll_after=1.0) as s:
        s.add_camera(CAM_A, retention=vidvault.Retention(max_age="1d"))
        record(s, CAM_A, T0, 2, b"old")
        old_ids = [seg.id for seg in s.segments(CAM_A)]
        report = s.enforce_retention(T0 + 3 * DAY)
        assert len(report.deleted) == len(old_ids) and s.segments(CAM_A) == []
    with vidvault.Store.open(store_path, key=key, roll_after=1.0) as s:
        record(s, CAM_A, T0 + 4 * DAY, 2, b"new")
        new_ids = [seg.id for seg in s.segments(CAM_A)]
        assert min(new_ids) > max(old_ids), (old_ids, new_ids)
    db = sqlite3.connect(store_path / "catalog.sqlite")
    tombstones = db.execute("SELECT id, start_ts FROM deleted_segments ORDER BY id").fetchall()
    db.close()
    assert [t[0] for t in tombstones] == old_ids and all(t[1] < T0 + DAY for t in tombstones)


def test_fsck_chain_is_intact_after_retention_deleted_everything_and_recording_resumed(store_path, key):
    with vidvault.Store.create(store_path, key=key, roll_after=1.0) as s:
        s.add_camera(CAM_A, retention=vidvault.Retention(max_age="1d"))
        record(s, CAM_A, T0, 2, b"old")
        s.enforce_retention(T0 + 3 * DAY)
        record(s, CAM_A, T0 + 4 * DAY, 2, b"new")
        assert s.fsck().problems == []
        first_new = s.segments(CAM_A)[0]
        assert first_new.prev_hash != bytes(32), "the chain restarted from zero"
