"""A really full disk (a tiny tmpfs the test mounts, filled to the last
page): SQLite's "database or disk is full" is the same StorageFullError as
ENOSPC from a segment file, naming the file and what to do; sealing on a full
disk never panics, and once space is back the same writer finishes without
losing a synced frame. Also: store options that once panicked the core."""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import pytest

import vidvault
from vidvault.errors import InvalidArgumentError, StorageFullError, VidvaultError

from helpers import T0, small_disk

FRAME = 40_000_000
PAGE = 4096


def data(i: int) -> bytes:
    return b"frame %06d " % i + bytes([i % 251]) * 3000


@pytest.fixture
def tiny_fs(tmp_path):
    with small_disk(tmp_path / "tiny", "8m") as mnt:
        yield mnt


def fill(mnt: Path, leave_pages: int) -> Path:
    """Fills the filesystem to its last page, then frees `leave_pages` pages."""
    filler = mnt / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (64 * PAGE, PAGE):
            chunk = b"\xff" * size
            try:
                while True:
                    os.write(fd, chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave_pages * PAGE))
    finally:
        os.close(fd)
    return filler


def new_store(path: Path, key: bytes) -> vidvault.Store:
    # min_free_bytes=0: no reclaiming, so the disk stays as full as the test makes it.
    return vidvault.Store.create(path, key=key, sync_interval=3600, min_free_bytes=0, roll_after=3600)


def test_sqlite_full_is_storage_full_naming_the_catalog(tiny_fs, key):
    path = tiny_fs / "store"
    with new_store(path, key) as s:
        s.add_camera("cam")
        (path / "reserve.bin").unlink(missing_ok=True)  # no slack anywhere
        filler = fill(tiny_fs, 0)
        with pytest.raises(VidvaultError) as info:
            for i in range(2000):  # catalog rows until SQLite finds no page
                s.add_camera(f"cam-{i:04d}", labels={"site": "x" * 200})
        err = info.value
        assert isinstance(err, StorageFullError), f"{type(err).__name__}: {err}"
        assert err.errno == errno.ENOSPC
        assert "full" in str(err) and "free space" in str(err), str(err)
        filler.unlink()
        s.add_camera("after")  # room again: the catalog works


@pytest.mark.parametrize("leave_pages", range(0, 24))
@pytest.mark.parametrize("seal_by", ["close", "roll"])
def test_sealing_on_a_full_disk_never_panics_and_resumes(tiny_fs, key, leave_pages, seal_by):
    """Frames synced, then the disk filled to within `leave_pages` pages and
    a segment sealed, by close() or by a roll that sync() writes: some page
    counts fail at the records, some at the footer, some at the catalog row.
    Whatever fails is a StorageFullError naming the file; once space is back
    the same call completes (no panic, no dropped work) and no frame is lost."""
    path = tiny_fs / "store"
    s = vidvault.Store.create(path, key=key, sync_interval=3600, min_free_bytes=0,
                              roll_after=1.0 if seal_by == "roll" else 3600)
    s.add_camera("cam")
    w = s.writer("cam", codec="h264", time_base=(1, 1_000_000_000))
    for i in range(60):
        w.append(T0 + i * FRAME, data(i), keyframe=i % 10 == 0, duration=FRAME)
    w.sync()
    for i in range(60, 75):  # appended, not yet synced (frame 60 starts a new segment when rolling)
        w.append(T0 + i * FRAME, data(i), keyframe=i % 10 == 0, duration=FRAME)
    (path / "reserve.bin").unlink(missing_ok=True)
    filler = fill(tiny_fs, leave_pages)
    finish = w.close if seal_by == "close" else w.sync
    try:
        finish()
    except BaseException as e:  # noqa: BLE001  (a PanicException is a BaseException)
        assert isinstance(e, StorageFullError), f"{type(e).__name__}: {e}"
        assert str(tiny_fs) in str(e) and e.hint, str(e)
        filler.unlink()
        finish()  # space is back: the same call completes
    filler.unlink(missing_ok=True)
    w.close()
    s.close()
    with vidvault.Store.open(path, key=key) as again:
        got = {f.ts: bytes(f.data) for f in again.read("cam", 0, 2**62)}
        segs = again.segments("cam")
    lost = [i for i in range(75) if got.get(T0 + i * FRAME) != data(i)]
    assert not lost, f"frames lost: {lost[:10]}"
    assert all(seg.state == "sealed" for seg in segs), [seg.state for seg in segs]


def test_sync_interval_1e30_is_an_invalid_argument_not_a_panic(tmp_path, key):
    path = tmp_path / "store"
    vidvault.Store.create(path, key=key).close()
    with pytest.raises(InvalidArgumentError, match="sync_interval"):
        vidvault.Store.open(path, key=key, sync_interval=1e30)


@pytest.mark.parametrize("name, value", [
    ("sync_interval", 1e30), ("sync_interval", math.inf), ("sync_interval", math.nan),
    ("sync_interval", -1.0), ("sync_interval", 0.0), ("sync_interval", "1s"),
    ("roll_after", 1e30), ("roll_after", math.nan), ("gap_threshold", math.inf),
    ("pressure_interval", 1e30), ("pressure_interval", -math.inf),
    ("max_clock_skew", -1.0), ("max_clock_skew", math.inf),
    ("roll_bytes", -1), ("roll_bytes", 0), ("io_threads", 10**9), ("io_threads", 0), ("io_threads", 2.5),
    ("min_free_bytes", -5), ("segment_cache", 10**12), ("index_cache", -1), ("flush_bytes", 10**15),
    ("max_pending_bytes", -1), ("commit_mode", 3),
])
def test_out_of_range_options_are_invalid_arguments_naming_the_option(tmp_path, key, name, value):
    path = tmp_path / "store"
    vidvault.Store.create(path, key=key).close()
    with pytest.raises(InvalidArgumentError, match=name):
        vidvault._core.Store.open(str(path), key, **{name: value})
