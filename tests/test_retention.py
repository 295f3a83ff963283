"""Retention per camera, classes, legal holds, sweeps and crypto-shredding."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vidvault
from vidvault import Retention

from helpers import NS, T0

HOUR = 3600 * NS
DAY = 24 * HOUR


def write_hours(store, camera, start_ns, hours, size=500, marker=b""):
    """One short segment per hour (keyframe + 2 frames), as a camera that
    records on motion would leave them."""
    with store.writer(camera, codec="h264") as w:
        for h in range(hours):
            t = start_ns + h * HOUR
            w.append(t, marker + bytes([h % 256]) * size, keyframe=True, duration=40_000_000)
            w.append(t + 40_000_000, bytes(size // 4), duration=40_000_000)
            w.append(t + 80_000_000, bytes(size // 4), duration=40_000_000)


def open_store(path, key):
    return vidvault.Store.create(path, key=key, roll_after=1800)


def test_classes_defaults_and_custom_policies(store_path, key):
    with open_store(store_path, key) as s:
        assert s.default_retention_class == "general"
        classes = s.retention_classes()
        assert classes["general"].max_age == timedelta(days=30) == classes["general"].min_age
        assert classes["key-site"].min_age == timedelta(days=90)
        s.add_camera("gate")
        s.add_camera("bank", retention="key-site")
        s.add_camera("lab", retention=Retention(max_age="7d", max_bytes="1G", min_age=timedelta(days=2)))
        assert s.retention("gate") == ("class general", classes["general"])
        assert s.retention("bank")[0] == "class key-site"
        assert s.retention("lab") == ("custom", Retention(timedelta(days=7), 2**30, timedelta(days=2)))
        # Changing a class changes every camera in it.
        s.define_retention_class("key-site", Retention(max_age="120d", min_age="90d"))
        assert s.retention("bank")[1].max_age == timedelta(days=120)
        s.set_default_retention_class("key-site")
        assert s.retention("gate")[0] == "class key-site"
        with pytest.raises(vidvault.InvalidArgumentError, match="no retention class"):
            s.set_retention("gate", "nonexistent")
        with pytest.raises(vidvault.InvalidArgumentError, match="min_age"):
            Retention(max_age="1d", min_age="2d") and s.set_retention("gate", Retention(max_age="1d", min_age="2d"))
    # Settings survive reopening and a catalog rebuild.
    for name in ("catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm"):
        (store_path / name).unlink(missing_ok=True)
    with vidvault.Store.open(store_path, key=key, rebuild_catalog=True) as s:
        assert s.retention("bank")[1].max_age == timedelta(days=120)
        assert s.retention("gate")[0] == "class key-site"
        assert s.camera_retention("lab") == Retention("7d", "1G", "2d")


def test_sweep_deletes_expired_keeps_held_and_shreds_days(store_path, key, tmp_path):
    with open_store(store_path, key) as s:
        s.add_camera("cam", retention=Retention(max_age="2d", min_age="1d"))
        write_hours(s, "cam", T0, 96, marker=b"FOOTAGE")  # four days, one segment an hour
        day1 = (T0 + DAY, T0 + 2 * DAY)
        hold = s.hold("cam", *day1, case="CASE-2026-114", actor="clerk.li", reason="theft at gate")
        backups = [tmp_path / f"backup{i}.vvs" for i in range(2)]
        first_two = s.segments("cam", T0, T0 + 2 * HOUR)
        for seg, b in zip(first_two, backups):
            shutil.copy(store_path / seg.path, b)

        now = T0 + 4 * DAY
        dry = s.enforce_retention(now, dry_run=True)
        assert len(dry.deleted) == 24 and {d.reason for d in dry.deleted} == {"max_age"}
        assert len(s.segments("cam")) == 96, "a dry run deletes nothing"
        report = s.enforce_retention(now)
        assert [d.id for d in report.deleted] == [d.id for d in dry.deleted]
        assert report.shredded == dry.shredded and len(report.shredded) == 1
        remaining = s.segments("cam")
        assert len(remaining) == 72 and remaining[0].start == T0 + DAY  # day 1 held, days 2-3 young
        assert len(list(s.read("cam", *day1))) == 72, "held footage reads after its retention passed"
        assert s.fsck(deep=True).ok, "the hash chain verifies across deleted segments"

        # Copies taken before the sweep cannot be decrypted any more, with the master key:
        # restoring them and rebuilding the catalog reports them as shredded.
        for seg, b in zip(first_two, backups):
            (store_path / seg.path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(b, store_path / seg.path)
        rebuilt = s.rebuild_catalog()
        assert len(rebuilt.problems) == 2
        assert all("crypto-shredded" in p.detail for p in rebuilt.problems)
        assert rebuilt.holds == 1
        assert not list(s.read("cam", T0, T0 + 2 * HOUR))

        released = s.release(hold.id, actor="clerk.li")
        assert released.released_by == "clerk.li"
        report = s.enforce_retention(now)
        assert len(report.deleted) == 24 and s.segments("cam")[0].start == T0 + 2 * DAY


def test_held_footage_survives_key_rotation_and_every_path(store_path, key):
    new_key = vidvault.generate_key()
    with open_store(store_path, key) as s:
        s.add_camera("cam", retention=Retention(max_age="1d", max_bytes=1, min_age="0s"))
        write_hours(s, "cam", T0, 48)
        s.hold("cam", T0 + 10 * HOUR, T0 + 12 * HOUR, case="C-1", actor="a")
        s.rotate_master_key(new_key)
        report = s.enforce_retention(T0 + 30 * DAY)
        assert {d.reason for d in report.deleted} == {"max_age"}
        kept = s.segments("cam")
        assert [k.start for k in kept] == [T0 + 10 * HOUR, T0 + 11 * HOUR]  # [10 h, 12 h) held
        assert report.warnings and "held" in report.warnings[0]
    with pytest.raises(vidvault.WrongKeyError):
        vidvault.Store.open(store_path, key=key)
    with vidvault.Store.open(store_path, key=new_key) as s:
        assert len(list(s.read("cam", T0 + 10 * HOUR, T0 + 12 * HOUR))) == 6


def test_hold_validation(store):
    store.add_camera("cam")
    with pytest.raises(vidvault.InvalidArgumentError, match="case id and an actor"):
        store.hold("cam", T0, T0 + 1, case="", actor="x")
    with pytest.raises(vidvault.InvalidArgumentError, match="empty"):
        store.hold("cam", T0, T0, case="c", actor="x")
    with pytest.raises(vidvault.UnknownCameraError):
        store.hold("nope", T0, T0 + 1, case="c", actor="x")
    hold = store.hold("cam", T0, T0 + 1, case="c", actor="x", until=T0 + 5)
    assert [h.id for h in store.holds("cam")] == [hold.id]
    assert isinstance(hold, vidvault.Hold) and (hold.camera, hold.case, hold.until) == ("cam", "c", T0 + 5)
    store.release(hold.id, actor="y")
    with pytest.raises(vidvault.InvalidArgumentError, match="already released"):
        store.release(hold.id, actor="y")


# ---------------------------------------------------------------- property test

policies = st.builds(
    lambda max_age, max_bytes, min_age: Retention(
        max_age=None if max_age is None else max_age * HOUR / NS,
        max_bytes=max_bytes,
        min_age=None if min_age is None else min(min_age, max_age or min_age) * HOUR / NS,
    ),
    st.one_of(st.none(), st.integers(1, 60)),
    st.one_of(st.none(), st.integers(2_000, 40_000)),
    st.one_of(st.none(), st.integers(0, 40)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cams=st.lists(st.tuples(policies, st.integers(4, 40)), min_size=1, max_size=3),
    holds=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 40), st.integers(1, 10), st.booleans(),
                             st.one_of(st.none(), st.integers(0, 80))), max_size=4),
    sweeps=st.lists(st.integers(0, 100), min_size=1, max_size=3),
)
def test_sweeps_never_delete_held_or_young_and_enforce_every_limit(tmp_path_factory, cams, holds, sweeps):
    path = tmp_path_factory.mktemp("prop") / "s"
    with open_store(path, vidvault.generate_key()) as s:
        for i, (policy, hours) in enumerate(cams):
            s.add_camera(f"c{i}", retention=policy)
            write_hours(s, f"c{i}", T0, hours, size=300 + 97 * i)
        placed = []
        for cam, start_h, len_h, released, until_h in holds:
            if cam >= len(cams):
                continue
            until = None if until_h is None else T0 + until_h * HOUR
            hold = s.hold(f"c{cam}", T0 + start_h * HOUR, T0 + (start_h + len_h) * HOUR, case="k", actor="a", until=until)
            if released:
                s.release(hold.id, actor="a")
        placed = s.holds()
        for offset in sorted(sweeps):
            now = T0 + offset * HOUR
            before = {c: s.segments(c) for c in (f"c{i}" for i in range(len(cams)))}
            report = s.enforce_retention(now)
            deleted = {d.id: d for d in report.deleted}
            for i, (policy, _) in enumerate(cams):
                cam = f"c{i}"

                def held(seg):
                    return any(h.camera == cam and h.active_at(now) and h.start <= seg.end and seg.start < h.end
                               for h in placed)

                def age(seg):
                    return now - seg.end

                max_age = None if policy.max_age is None else vidvault.timeutil.duration_ns(policy.max_age)
                min_age = None if policy.min_age is None else vidvault.timeutil.duration_ns(policy.min_age)
                after = s.segments(cam)
                for seg in before[cam]:
                    if seg.id in deleted:
                        assert not held(seg), "a held segment was deleted"
                        if deleted[seg.id].reason == "max_age":
                            assert age(seg) >= max_age
                        else:
                            assert min_age is None or age(seg) >= min_age, "a segment under min_age was deleted"
                    elif max_age is not None and age(seg) >= max_age:
                        assert held(seg), "an expired, unheld segment survived"
                assert len(after) == len(before[cam]) - sum(1 for seg in before[cam] if seg.id in deleted)
                if policy.max_bytes is not None and sum(x.bytes for x in after) > policy.max_bytes:
                    assert all(held(x) or (min_age is not None and age(x) < min_age) for x in after)
        assert s.fsck().ok


def test_export_of_held_footage_works_after_its_retention_passed(store_path, key, clip, tmp_path):
    from helpers import ingest_file

    with vidvault.Store.create(store_path, key=key, roll_after=2.0) as s:
        s.add_camera("cam", retention=Retention(max_age="1d", min_age="1d"))
        ingest_file(s, "cam", clip())
        s.hold("cam", T0 + NS, T0 + 3 * NS, case="CASE-88", actor="clerk")
        report = s.enforce_retention(T0 + 40 * DAY)
        assert report.deleted and all(d.end < T0 + NS or d.start >= T0 + 3 * NS for d in report.deleted)
        result = s.export_clip("cam", T0 + NS, T0 + 3 * NS, tmp_path / "pkg", raw=True, case="CASE-88", actor="clerk")
        verdict = vidvault.verify(tmp_path / "pkg", public_key=s.export_public_key(), store=s)
        assert verdict.ok, verdict.first_failure
        assert result.presented == 50
