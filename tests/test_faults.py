"""Fault injection: every write, fsync, rename and remove of ingest, sealing,
the retention sweep, master-key rotation and placing a hold is failed in
turn (the Nth call, and every call after it, like a disk that stays full or
broken), through the core's hidden switch `_core._inject_fault`.

After each injected failure the error names the file and what to do, the
store works again once the fault is cleared, and reopening it loses no frame
that `sync()`/`close()` acknowledged. Each sweep stops at the first N whose
operation completes without reaching the fault: N-1 is the number of fault
points of that kind on that path (printed with `pytest -s`)."""

from __future__ import annotations

import errno
from datetime import timedelta
from pathlib import Path

import pytest

import vidvault
from vidvault import Retention, _core
from vidvault.errors import StorageFullError, VidvaultError, WriterFailedError

from helpers import NS, T0

FRAME = 40_000_000
OPS = {"write": errno.ENOSPC, "fsync": errno.EIO, "rename": errno.ENOSPC, "remove": errno.EIO}
# What an error must tell the operator to do, one phrase per kind of failure.
WHAT_TO_DO = ("free space", "open a new writer", "check the disk")
MAX_POINTS = 200  # a path with more fault points than this is a runaway loop

SWEPT: dict[str, dict[str, int]] = {}
MESSAGES: dict[str, list[str]] = {}  # the errors each sweep saw, for checks of where it failed


@pytest.fixture(autouse=True)
def _disarm():
    _core._clear_faults()
    yield
    _core._clear_faults()


def data(i: int) -> bytes:
    return b"frame %06d " % i + bytes([i % 251]) * (1500 + (i * 37) % 3000)


def open_store(path: Path, key: bytes, create: bool = False, **opts) -> vidvault.Store:
    """A store whose background threads stay idle during a sweep (no periodic
    commit, no disk-pressure work), so every fault point belongs to the
    operation under test."""
    opts = {"sync_interval": 3600, "min_free_bytes": 0, "roll_after": 3600, **opts}
    if create:
        return vidvault.Store.create(path, key=key, **opts)
    return vidvault.Store.open(path, key=key, **opts)


def append(w, frames: range, gop: int = 10, base: int = T0) -> None:
    for i in frames:
        w.append(base + i * FRAME, data(i), keyframe=i % gop == 0, duration=FRAME)


def frames_on_disk(path: Path, key: bytes, camera: str = "cam", **opts) -> dict[int, bytes]:
    with open_store(path, key, **opts) as s:
        return {f.ts: bytes(f.data) for f in s.read(camera, 0, 2**62)}


def assert_kept(path: Path, key: bytes, acknowledged: range, base: int = T0, **opts) -> None:
    on_disk = frames_on_disk(path, key, **opts)
    lost = [i for i in acknowledged if on_disk.get(base + i * FRAME) != data(i)]
    assert not lost, f"acknowledged frames lost or changed after reopening: {lost[:10]}"


def assert_helpful(err: BaseException, store_path: Path) -> None:
    """Never a panic; a vidvault error naming a file of the store and saying what to do."""
    assert isinstance(err, VidvaultError), f"{type(err).__name__}: {err}"
    msg = str(err)
    assert str(store_path) in msg, f"the error names no file of the store: {msg}"
    assert any(p in msg for p in WHAT_TO_DO), f"the error says nothing to do: {msg}"
    if isinstance(err, StorageFullError):
        assert err.errno == errno.ENOSPC and err.hint


def sweep(tmp_path: Path, key: bytes, name: str, setup, action, recover) -> None:
    """For each op and N = 1, 2, ...: a fresh store from `setup`, the op's Nth
    call (and every later one) failing during `action`, then the fault
    cleared and `recover` run (which retries and checks). Stops at the first
    N that `action` survives without reaching the fault."""
    counts = {}
    for op, code in OPS.items():
        n = 1
        while True:
            assert n <= MAX_POINTS, f"{name}/{op}: more than {MAX_POINTS} fault points"
            path = tmp_path / f"{name}-{op}-{n}"
            s, state = setup(path)
            err = None
            _core._inject_fault(op, n, code, sticky=True)
            try:
                action(s, state)
            except BaseException as e:  # noqa: BLE001  (a PanicException is a BaseException)
                err = e
            fired = _core._fault_report()[op][1]
            _core._clear_faults()
            if err is not None:
                assert fired, f"{name}/{op}@{n}: failed without the fault: {err!r}"
                assert_helpful(err, path)
                MESSAGES.setdefault(name, []).append(str(err))
            recover(path, s, state, err)
            if not fired:
                break
            n += 1
        counts[op] = n - 1
    SWEPT[name] = counts
    print(f"\nfault points swept on {name}: {counts}")


# ---------------------------------------------------------------- ingest


def _ingest_setup(path, key, base=T0, **opts):
    def setup(p):
        s = open_store(p, key, create=True, **opts)
        s.add_camera("cam")
        w = s.writer("cam", codec="h264", time_base=(1, 1_000_000_000))
        append(w, range(0, 30), base=base)
        w.sync()
        return s, {"w": w, "acked": range(0, 30)}
    return setup


def _ingest_recover(key, *, close_action=False, base=T0, **opts):
    def recover(path, s, state, err):
        w = state["w"]
        acked = range(0, 60) if err is None else state["acked"]
        if err is not None:
            try:  # the disk has room again: the same writer goes on...
                w.close() if close_action else w.sync()
                acked = range(0, 60)
            except WriterFailedError:
                pass  # ...unless an fsync failed: never retried; a new writer continues
        try:
            w.close()
        except WriterFailedError:
            pass
        with s.writer("cam", codec="h264", time_base=(1, 1_000_000_000)) as w2:
            append(w2, range(70, 90), base=base)
        s.close()
        assert_kept(path, key, acked, base=base, **opts)
        assert_kept(path, key, range(70, 90), base=base, **opts)
    return recover


def test_every_fault_while_ingesting_loses_no_synced_frame(tmp_path, key):
    def action(s, state):
        append(state["w"], range(30, 60))
        state["w"].sync()

    sweep(tmp_path, key, "ingest", _ingest_setup(tmp_path, key), action, _ingest_recover(key))
    assert SWEPT["ingest"]["write"] >= 1 and SWEPT["ingest"]["fsync"] >= 1


def test_every_fault_while_rolling_and_sealing_loses_no_synced_frame(tmp_path, key):
    """Frames 30..59 cross a roll (a keyframe 1.2 s after the segment's start),
    then close() seals the second segment: both seals, the new segment's
    creation, its catalog row and directory, under every fault."""
    opts = {"roll_after": 1.0}

    def action(s, state):
        append(state["w"], range(30, 60))
        state["w"].close()

    sweep(tmp_path, key, "seal", _ingest_setup(tmp_path, key, **opts), action,
          _ingest_recover(key, close_action=True, **opts))
    assert SWEPT["seal"]["write"] >= 2 and SWEPT["seal"]["fsync"] >= 2


def test_every_fault_while_a_new_day_starts_loses_no_synced_frame(tmp_path, key):
    """Frames 0..29 end just before midnight UTC; 30..59 cross it and roll
    into a segment of the new day, whose key-encryption key is created and
    appended to keys.vvk and its copy (written and fdatasynced) before the
    segment that uses it: every fault of that append as well."""
    opts = {"roll_after": 1.0}
    midnight = (T0 // (86_400 * NS) + 1) * 86_400 * NS
    base = midnight - 30 * FRAME

    def action(s, state):
        append(state["w"], range(30, 60), base=base)
        state["w"].sync()

    sweep(tmp_path, key, "new-day", _ingest_setup(tmp_path, key, base=base, **opts), action,
          _ingest_recover(key, base=base, **opts))
    # The day key's append was among the points failed, in both files.
    failed_in = " ".join(MESSAGES["new-day"])
    for action in ("append to keystore /", "fsync keystore /", "append to keystore copy /", "fsync keystore copy /"):
        assert action in failed_in, f"no fault was injected at {action!r}: {MESSAGES['new-day']}"


# ---------------------------------------------------------------- sweep, rotation, hold


def _recorded_store(key, *, retention=None):
    """Six sealed 1 s segments of 2025 footage, the last two held."""
    def setup(p):
        s = open_store(p, key, create=True, roll_after=1.0)
        s.add_camera("cam", retention=retention)
        with s.writer("cam", codec="h264", time_base=(1, 1_000_000_000)) as w:
            append(w, range(0, 150), gop=25)
        s.hold("cam", T0 + 4 * NS, T0 + 6 * NS, case="C-1", actor="clerk")
        return s, {}
    return setup


HELD = range(100, 150)


def test_every_fault_in_the_retention_sweep_keeps_held_footage(tmp_path, key):
    def action(s, state):
        s.enforce_retention()

    def recover(path, s, state, err):
        # Whatever the sweep got through, everything left reads cleanly.
        list(s.read("cam", 0, 2**62))
        report = s.enforce_retention()  # the disk is back: the sweep completes
        assert report is not None
        s.close()
        assert set(frames_on_disk(path, key)) >= {T0 + i * FRAME for i in HELD}
        assert_kept(path, key, HELD)
        assert len(frames_on_disk(path, key)) < 150, "the completed sweep deleted the unheld footage"

    setup = _recorded_store(key, retention=Retention(max_age=timedelta(hours=1), min_age="0s"))
    sweep(tmp_path, key, "sweep", setup, action, recover)
    assert SWEPT["sweep"]["remove"] >= 1


def test_every_fault_while_rotating_the_master_key_keeps_a_key_that_opens(tmp_path, key):
    new_key = vidvault.generate_key()

    def action(s, state):
        s.rotate_master_key(new_key)

    def recover(path, s, state, err):
        s.close()
        opened = None
        for k in (key, new_key):  # after a failure midway, the old or the new key opens it
            try:
                opened = open_store(path, k)
                break
            except vidvault.errors.WrongKeyError:
                continue
        assert opened is not None, "neither the old nor the new master key opens the store"
        with opened:
            assert len(list(opened.read("cam", 0, 2**62))) == 150
            opened.rotate_master_key(key)  # works again
        assert_kept(path, key, range(0, 150))

    sweep(tmp_path, key, "rotation", _recorded_store(key), action, recover)


def test_every_fault_while_placing_a_hold_leaves_a_working_store(tmp_path, key):
    def action(s, state):
        state["hold"] = s.hold("cam", T0, T0 + 2 * NS, case="C-2", actor="clerk")

    def recover(path, s, state, err):
        if err is not None:
            s.hold("cam", T0, T0 + 2 * NS, case="C-2", actor="clerk")  # works again
        s.close()
        with open_store(path, key) as again:
            assert "C-2" in {h.case for h in again.holds("cam")}
        assert_kept(path, key, range(0, 150))

    sweep(tmp_path, key, "hold", _recorded_store(key), action, recover)
