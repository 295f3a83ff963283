"""Inputs that once locked a camera or slipped past the append checks: frame
times are bounded (not before 1970, not further ahead of the host's clock
than `max_clock_skew`, default 1 day), so one frame stamped 2**63-1 can no
longer make every later frame "earlier than the latest recorded one";
negative durations are refused."""

from __future__ import annotations

import time

import pytest

import vidvault
from vidvault.errors import InvalidArgumentError

from helpers import NS, T0

DAY = 86_400 * NS


def test_a_far_future_keyframe_is_refused_and_the_camera_keeps_recording(store):
    store.add_camera("cam")
    with store.writer("cam", codec="h264") as w:
        w.append(T0, b"k0", keyframe=True)
        with pytest.raises(InvalidArgumentError, match="ahead of this host's clock") as info:
            w.append(2**63 - 1, b"evil", keyframe=True)
        assert '"cam"' in str(info.value) and "max_clock_skew" in str(info.value)
        w.append(T0 + NS, b"k1", keyframe=True)  # the camera is not locked
    with store.writer("cam", codec="h264") as w:  # nor in a later session
        w.append(T0 + 2 * NS, b"k2", keyframe=True)
    assert [bytes(f.data) for f in store.read("cam", 0, 2**62)] == [b"k0", b"k1", b"k2"]


def test_frames_before_1970_are_refused(store):
    store.add_camera("cam")
    with store.writer("cam", codec="h264") as w:
        with pytest.raises(InvalidArgumentError, match="before 1970"):
            w.append(-1, b"k", keyframe=True)
        w.append(0, b"k", keyframe=True)


def test_the_clock_skew_is_configurable(store_path, key):
    now = time.time_ns()
    with vidvault.Store.create(store_path, key=key, max_clock_skew=60) as s:
        s.add_camera("cam")
        with s.writer("cam", codec="h264") as w:
            w.append(now + 30 * NS, b"k", keyframe=True)
            with pytest.raises(InvalidArgumentError, match="60 s ahead"):
                w.append(now + 120 * NS, b"k", keyframe=True)
    with vidvault.Store.open(store_path, key=key) as s:  # default: a day
        with s.writer("cam", codec="h264") as w:
            w.append(now + DAY // 2, b"k", keyframe=True)
            with pytest.raises(InvalidArgumentError, match="ahead"):
                w.append(now + 2 * DAY, b"k", keyframe=True)


def test_negative_frame_durations_are_refused(store):
    store.add_camera("cam")
    with store.writer("cam", codec="h264") as w:
        w.append(T0, b"k", keyframe=True, duration=0)
        with pytest.raises(InvalidArgumentError, match="negative duration"):
            w.append(T0 + NS, b"p", duration=-1)
