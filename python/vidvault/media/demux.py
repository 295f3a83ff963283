"""Demuxing: access units pulled out of files and streams with PyAV (FFmpeg),
exactly as the source sent them, and the description of the stream a
writer records with them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterator

import av

from ..errors import MediaError


@dataclass(frozen=True)
class StreamInfo:
    """What a writer needs to know about a video stream."""

    codec: str
    extradata: bytes
    time_base: Fraction
    width: int
    height: int
    fps: Fraction | None

    def writer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Store.writer`` describing this stream."""
        params = {"fps": str(self.fps)} if self.fps else {}
        return {
            "codec": self.codec,
            "extradata": self.extradata,
            "time_base": self.time_base,
            "width": self.width,
            "height": self.height,
            "params": params,
        }


@dataclass(frozen=True)
class Packet:
    """One demuxed access unit, in decode order."""

    data: bytes
    pts: int | None
    dts: int | None
    duration: int | None
    keyframe: bool
    #: A new codec configuration the demuxer attached to this packet
    #: (FFmpeg's AV_PKT_DATA_NEW_EXTRADATA), if any.
    new_extradata: bytes | None = None



class PacketSource:
    """Demuxes the first video stream of a file or URL, access unit by unit.

    >>> with PacketSource("clip.mp4") as src:           # doctest: +SKIP
    ...     info = src.info
    ...     for packet in src: ...
    """

    def __init__(self, source: str | os.PathLike[str], *, options: dict[str, str] | None = None,
                 timeout: float | tuple[float, float] | None = None) -> None:
        self.source = os.fspath(source)
        try:
            self._container = av.open(self.source, options=options or {}, timeout=timeout)
        except (av.error.FFmpegError, OSError) as e:
            raise MediaError(f"cannot open {source}: {e}; check that it exists and is a video "
                             "file or stream FFmpeg can read") from e
        if not self._container.streams.video:
            self._container.close()
            raise MediaError(f"{source} has no video stream")
        self._stream = self._container.streams.video[0]
        cc = self._stream.codec_context
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.info = StreamInfo(
            codec=cc.name,
            extradata=bytes(cc.extradata or b""),
            time_base=Fraction(self._stream.time_base),
            width=cc.width,
            height=cc.height,
            fps=Fraction(rate) if rate else None,
        )

    @property
    def realtime_start_ns(self) -> int | None:
        """Wall-clock time (UTC ns) of pts 0 when the source states it: FFmpeg
        derives it from the first RTCP sender report of an RTSP stream."""
        us = self._container.start_time_realtime
        return None if us is None or us <= 0 else us * 1000

    @property
    def creation_time(self) -> str | None:
        """The container's ``creation_time`` tag (MP4/MOV/MKV), if any."""
        return self._container.metadata.get("creation_time") or self._stream.metadata.get("creation_time")

    def __iter__(self) -> Iterator[Packet]:
        try:
            for p in self._container.demux(self._stream):
                if p.size == 0:  # the demuxer's end-of-stream marker
                    continue
                extra = bytes(p.get_sidedata("new_extradata")) if p.has_sidedata("new_extradata") else None
                yield Packet(bytes(p), p.pts, p.dts, p.duration, bool(p.is_keyframe), extra)
        except (av.error.FFmpegError, OSError) as e:
            raise MediaError(f"reading {self.source} failed: {e}") from e

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "PacketSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def nominal_frame_rate(config: Any) -> Fraction:
    """A stored stream's frame rate as recorded at ingest (``CodecConfig``
    params, ``StreamInfo.writer_kwargs``); 25 when the source gave none."""
    fps = json.loads(config.params or "{}").get("fps")
    return Fraction(fps) if fps else Fraction(25)
