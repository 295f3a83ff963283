"""Keyframes of a stored period, one per interval, as signatures.

Only keyframes: each decodes on its own, so a check costs one decode per
interval whatever the camera's frame rate, and never reads the frames in
between. The interval walks the camera's segments, so a day without
footage costs nothing.
"""

from __future__ import annotations

from typing import Any, Iterator, Protocol

from ..errors import InvalidArgumentError, MediaError
from ..media.decode import decode
from .judge import PictureAlarm, PictureJudge, Thresholds
from .signature import Signature, signature


class StoredKeyframes(Protocol):  # the store's core handle
    def segments(self, camera: str, start: int, end: int) -> list[Any]: ...
    def seek(self, camera: str, ts: int) -> Any: ...
    def segment_config(self, segment_id: int) -> Any: ...


def keyframe_signatures(footage: StoredKeyframes, camera: str, start: int, end: int,
                        every_ns: int, after: int | None = None) -> Iterator[Signature]:
    """One signature per ``every_ns`` of footage in ``[start, end)``: the
    keyframe playback of each sampled instant starts from, each keyframe
    once, in time order; none at or before ``after`` (the last keyframe an
    earlier call gave)."""
    seen = after
    for segment in footage.segments(camera, start, end):
        t = max(start, segment.start)
        stop = end if segment.end is None else min(end, segment.end)
        while t < stop:
            frame = footage.seek(camera, t)
            t += every_ns
            if frame is None or frame.ts < start or (seen is not None and frame.ts <= seen):
                continue
            seen = frame.ts
            yield keyframe_signature(footage, camera, frame)


def keyframe_picture(footage: StoredKeyframes, camera: str, frame: Any) -> Any:
    """The decoded picture (``av.VideoFrame``) of one stored keyframe."""
    # One thread: a pool of decoding threads costs more CPU to start than one
    # keyframe takes to decode (measured: about half the CPU per check).
    pictures = list(decode(footage.segment_config(frame.segment), [frame], threads=1))
    if not pictures:
        raise MediaError(f"camera {camera!r}: the keyframe at {frame.ts} (segment {frame.segment}) decodes to "
                         "no picture; run `vidvault fsck --deep` on the store")
    return pictures[0]


def keyframe_signature(footage: StoredKeyframes, camera: str, frame: Any) -> Signature:
    return signature(frame.ts, keyframe_picture(footage, camera, frame))


def check_stored_pictures(footage: StoredKeyframes, camera: str, start: int, end: int, every_ns: int,
                          thresholds: Thresholds | None = None) -> list[PictureAlarm]:
    """Every alarm of ``[start, end)``, one keyframe per ``every_ns``."""
    if every_ns <= 0:
        raise InvalidArgumentError(f"the check interval must be positive, not {every_ns} ns: give e.g. 10s")
    judge = PictureJudge(camera, thresholds)
    for sig in keyframe_signatures(footage, camera, start, end, every_ns):
        judge.see(sig)
    return judge.alarms
