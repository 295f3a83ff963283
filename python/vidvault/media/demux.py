"""The media edge, on PyAV (FFmpeg): encode test footage, demux access units
out of files and streams, decode stored frames back to pictures.

vidvault stores access units exactly as the source sent them; this module
is where they are pulled out of containers and turned back into pixels.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Iterator

import av
import numpy as np

from .errors import MediaError

#: FFmpeg encoder used for each codec we generate.
ENCODERS = {"h264": "libx264", "hevc": "libx265"}


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


def synthetic_pictures(width: int, height: int, count: int, *, seed: int = 0) -> Iterator[np.ndarray]:
    """RGB pictures with texture and motion, so encoders produce realistic
    sizes (large keyframes, smaller but non-trivial P-frames)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack(
        [xx * 255 // max(width - 1, 1), yy * 255 // max(height - 1, 1), (xx + yy) * 127 // (width + height)],
        axis=-1,
    ).astype(np.int16)
    base = np.clip(base + rng.integers(-24, 24, size=(height, width, 1)), 0, 255).astype(np.uint8)
    box = max(8, min(width, height) // 6)
    for i in range(count):
        pic = base.copy()
        x = (i * 7) % max(1, width - box)
        y = int((height - box) / 2 * (1 + math.sin(i / 15)))
        pic[y : y + box, x : x + box] = (230, 60 + (i * 3) % 160, 40)
        # A strip that changes every frame: frames stay distinguishable.
        bits = np.array([(i >> b) & 1 for b in range(16)], dtype=np.uint8) * 255
        pic[:8, : 16 * 8] = np.repeat(bits, 8)[None, :, None]
        yield pic


def encode_synthetic(
    path: str | os.PathLike[str],
    *,
    codec: str = "h264",
    width: int = 640,
    height: int = 360,
    fps: int = 25,
    seconds: float = 10.0,
    gop: int | None = None,
    bframes: int = 0,
    container_format: str | None = None,
    seed: int = 0,
) -> Path:
    """Encodes synthetic footage with libx264/libx265 into a container
    (format from the extension: .mp4, .mkv, .ts, ...). Closed GOPs of
    ``gop`` frames (default: one second)."""
    path = Path(path)
    gop = gop or fps
    encoder = ENCODERS.get(codec)
    if encoder is None:
        raise MediaError(f"no test encoder for codec {codec!r}; use one of {sorted(ENCODERS)}")
    with av.open(str(path), mode="w", format=container_format) as out:
        stream = out.add_stream(encoder, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "h264":
            stream.options = {
                "preset": "veryfast",
                "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}:open-gop=0",
            }
        else:
            stream.options = {
                "preset": "ultrafast",
                "x265-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}:"
                "open-gop=0:log-level=error",
            }
        for pic in synthetic_pictures(width, height, int(seconds * fps), seed=seed):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")))
        out.mux(stream.encode(None))
    return path


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


def decode(config: Any, frames: Iterable[Any]) -> Iterator[av.VideoFrame]:
    """Decodes stored frames (``vidvault.Frame``) with their segment's
    ``CodecConfig``; yields pictures in presentation order."""
    ctx = av.CodecContext.create(config.codec, "r")
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
