"""Decoding stored frames back to pictures with PyAV, segment by segment with
each segment's codec configuration.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import groupby
from typing import Any, Iterable, Iterator, Protocol

import av
import numpy as np

from ..errors import MediaError


def decode(config: Any, frames: Iterable[Any], *, threads: int = 0) -> Iterator[av.VideoFrame]:
    """Decodes stored frames (``vidvault.Frame``) with their segment's
    ``CodecConfig``; yields pictures in presentation order. ``threads``: 0
    lets FFmpeg choose (fast playback); 1 decodes on the caller's thread
    alone, the cheapest in CPU for a single picture (no thread pool to start)."""
    ctx = av.CodecContext.create(config.codec, "r")
    if threads:
        ctx.thread_count = threads
    if config.extradata:
        ctx.extradata = config.extradata
    if config.width and config.height:
        ctx.width, ctx.height = config.width, config.height
    tb = Fraction(*config.time_base)
    try:
        for f in frames:
            packet = av.Packet(f.data)
            packet.pts, packet.dts, packet.time_base = f.pts, f.dts, tb
            yield from ctx.decode(packet)
        yield from ctx.decode(None)
    except av.error.FFmpegError as e:
        raise MediaError(f"decoding {config.codec} failed: {e}") from e


class StoredFootage(Protocol):
    """What decoding stored footage needs from a store: the store's core
    handle, or a :class:`vidvault.Store`."""

    def read(self, camera: str, start: int, end: int) -> Iterable[Any]: ...

    def segment_config(self, segment_id: int) -> Any: ...


def decoded_pictures(footage: StoredFootage, camera: str, start: int, end: int,
                     frames: Iterable[Any] | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """``(ts, RGB image)`` of every picture presented in ``[start, end)``,
    decoded segment by segment with each segment's codec configuration.

    ``frames``: the stored frames to decode, when the caller has already read
    them (an export decodes exactly the access units its manifest lists);
    by default ``footage.read(camera, start, end)``."""
    source = footage.read(camera, start, end) if frames is None else frames
    for segment, group in groupby(source, key=lambda f: f.segment):
        config = footage.segment_config(segment)
        ts_of_pts: dict[int | None, int] = {}

        def remembered(group=group, ts_of_pts=ts_of_pts):  # type: ignore[no-untyped-def]
            for f in group:
                ts_of_pts[f.pts if f.pts is not None else f.dts] = f.ts
                yield f

        for picture in decode(config, remembered()):
            ts = ts_of_pts.pop(picture.pts, None)
            if ts is None:
                raise MediaError(
                    f"camera {camera!r}, segment {segment}: decoded a picture with pts={picture.pts} "
                    "that no stored frame carries; cannot place it in time")
            if start <= ts < end:
                yield ts, picture.to_ndarray(format="rgb24")
