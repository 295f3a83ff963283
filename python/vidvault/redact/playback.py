"""`Store.play`: stored footage -> decoded pictures -> redacting player.

Decoding starts at the keyframe at or before ``start`` (the store reads from
there); pictures presented before ``start`` or at/after ``end`` are decoded
as references but never reach the player, so they cost no detection and
are never yielded.
"""

from __future__ import annotations

from itertools import groupby
from typing import TYPE_CHECKING, Iterable, Iterator

import numpy as np

from .. import media
from ..errors import MediaError
from .config import Redaction
from .player import PlayedFrame, RedactingPlayer

if TYPE_CHECKING:
    from ..store import Frame, Store


def decoded_pictures(store: "Store", camera: str, start: int, end: int,
                     frames: Iterable["Frame"] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """``(ts, RGB image)`` of every picture presented in ``[start, end)``,
    decoded segment by segment with each segment's codec configuration.

    ``frames``: the stored frames to decode, when the caller has already read
    them (an export decodes exactly the access units its manifest lists);
    by default ``store.read(camera, start, end)``."""
    source = store.read(camera, start, end) if frames is None else frames
    for segment, group in groupby(source, key=lambda f: f.segment):
        config = store.segment_config(segment)
        ts_of_pts: dict[int | None, int] = {}

        def remembered(group=group, ts_of_pts=ts_of_pts):
            for f in group:
                ts_of_pts[f.pts if f.pts is not None else f.dts] = f.ts
                yield f

        for picture in media.decode(config, remembered()):
            ts = ts_of_pts.pop(picture.pts, None)
            if ts is None:
                raise MediaError(
                    f"camera {camera!r}, segment {segment}: decoded a picture with pts={picture.pts} "
                    "that no stored frame carries; cannot place it in time")
            if start <= ts < end:
                yield ts, picture.to_ndarray(format="rgb24")


def play(
    store: "Store",
    camera: str,
    start: int,
    end: int,
    redaction: Redaction | None,
    *,
    player: RedactingPlayer | None = None,
    frames: Iterable["Frame"] | None = None,
) -> Iterator[PlayedFrame]:
    """Pictures of ``[start, end)`` in presentation order; redacted unless
    ``redaction`` is None (raw footage, which the caller asked for).
    ``frames``: already-read stored frames (see :func:`decoded_pictures`).

    Not a generator itself: the detectors are built here, so a missing
    model raises at the call, before any footage is read."""
    pictures = decoded_pictures(store, camera, start, end, frames)
    if redaction is None:
        return (PlayedFrame(ts, image, (), False) for ts, image in pictures)
    player = player or RedactingPlayer(redaction)
    return player.run(pictures, where=f" of camera {camera!r}")
