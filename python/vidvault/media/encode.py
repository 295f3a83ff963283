"""Re-encoding decoded pictures to H.264 (libx264) in an MP4, with the one set
of encoder settings every copy vidvault makes uses.

Three things re-encode: the watermarked copy of an export package
(``clip.watermarked.mp4``: decoded pictures with the watermark burned in),
its redacted copy (``clip.redacted.mp4``: faces and plates hidden) and
`vidvault play --out`. They share :data:`COPY_OPTIONS`, and a manifest
names them with :func:`copy_encoder`.

:func:`write_mp4` writes RGB pictures at their wall-clock times; the file
appears under its name only when complete.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Protocol, TypeVar

import av
import numpy as np

from ..errors import MediaError
from ..timeutil import NS_PER_SECOND

COPY_CODEC = "libx264"
#: libx264 settings of every re-encoded copy. superfast keeps the watermarked
#: export above 4x real time at 720p on two cores (docs/BENCHMARKS.md); crf 21
#: leaves quality to spare for the watermark's text and for faces.
COPY_OPTIONS = {"preset": "superfast", "crf": "21"}
COPY_PIX_FMT = "yuv420p"
#: The time base :func:`write_mp4` gives the pictures: 90 kHz, as MPEG does.
PICTURE_TIME_BASE = Fraction(1, 90000)


def copy_encoder() -> dict[str, Any]:
    """The encoder of a re-encoded copy, as a manifest records it."""
    return {"codec": COPY_CODEC, **COPY_OPTIONS, "pix_fmt": COPY_PIX_FMT}


def add_copy_stream(container: Any, *, rate: Fraction, time_base: Fraction,
                    options: dict[str, str] = COPY_OPTIONS) -> Any:
    """A libx264 stream with the copy settings (or ``options``) in an output
    container; the caller sets width and height from its first picture."""
    stream = container.add_stream(COPY_CODEC, rate=rate)
    stream.options = dict(options)
    stream.pix_fmt = COPY_PIX_FMT
    stream.time_base = time_base
    stream.codec_context.time_base = time_base
    return stream


class TimedPicture(Protocol):
    """A decoded picture with its wall-clock time (e.g. a played frame)."""

    ts: int
    image: np.ndarray  # HxWx3 uint8 RGB


P = TypeVar("P", bound=TimedPicture)


def write_mp4(
    pictures: Iterable[P],
    out_path: str | os.PathLike[str],
    *,
    fps: float | Fraction = 25,
    progress: Callable[[P, int], None] | None = None,
) -> int:
    """Encodes RGB ``pictures`` into ``out_path``; returns how many were
    written. Presentation times come from the pictures' wall clock (``ts``)
    in a 1/90000 time base, so gaps and variable frame rate survive; ``fps``
    is only the stream's nominal rate. ``progress`` is called with each
    picture and the count so far.

    The file is written to ``out_path + ".partial"`` and renamed when
    complete: an exception (e.g. a detector failure) leaves no playable file.
    """
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    count = 0
    try:
        # faststart: moov first, so the copy plays while it downloads, like clip.mp4.
        with av.open(str(partial), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            encoder = _PictureEncoder(container, fps)
            for frame in pictures:
                encoder.encode(frame)
                count += 1
                if progress is not None:
                    progress(frame, count)
            encoder.flush()
    except av.error.FFmpegError as e:
        partial.unlink(missing_ok=True)
        raise MediaError(f"writing {out_path} failed: {e}") from e
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if count == 0:
        partial.unlink(missing_ok=True)
        raise MediaError(f"no footage in the requested range; {out_path} not written")
    os.replace(partial, out_path)
    return count


#: A fragment per second of pictures, so fragments stay small...
FRAGMENT_SECONDS = 1
#: ...except the first, which holds this many: a fragment leaves when the
#: keyframe of the next one is encoded, so a viewer's first picture waits
#: for these pictures to be detected and encoded, not for a second of them.
FIRST_FRAGMENT_PICTURES = 2
#: libx264's zerolatency tune for the streamed view: no B-frames and no
#: lookahead, so each picture's packet leaves the encoder with the picture
#: (the other settings are the copy's).
STREAM_OPTIONS = {**COPY_OPTIONS, "tune": "zerolatency"}


def fragmented_mp4(pictures: Iterable[P], *, fps: float | Fraction = 25) -> Iterator[bytes]:
    """Encodes RGB ``pictures`` (settings and times as :func:`write_mp4`)
    into a fragmented MP4 (``moov`` first, then a ``moof``/``mdat`` pair per
    keyframe, one a second after a first one of
    :data:`FIRST_FRAGMENT_PICTURES`) and yields its bytes as they are
    produced, so a player starts before the last picture is encoded.
    Nothing touches the disk."""
    sink = _Chunks()
    options = {"movflags": "frag_keyframe+empty_moov+default_base_moof"}
    try:
        with av.open(sink, mode="w", format="mp4", options=options) as container:
            encoder = _PictureEncoder(container, fps, gop=max(1, round(float(fps) * FRAGMENT_SECONDS)),
                                      options=STREAM_OPTIONS, keyframe_at=FIRST_FRAGMENT_PICTURES)
            for frame in pictures:
                encoder.encode(frame)
                if sink.pending:
                    yield sink.take()
            encoder.flush()
    except av.error.FFmpegError as e:
        raise MediaError(f"encoding the fragmented MP4 failed: {e}") from e
    if sink.pending:
        yield sink.take()


class _Chunks:
    """A write-only file for the muxer: what it wrote since the last take."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    @property
    def pending(self) -> bool:
        return bool(self._parts)

    def take(self) -> bytes:
        out, self._parts = b"".join(self._parts), []
        return out


class _PictureEncoder:
    """The copy stream of a container, fed RGB pictures at their wall-clock
    times; the stream is made from the first picture's size."""

    def __init__(self, container: Any, fps: float | Fraction, gop: int | None = None,
                 options: dict[str, str] = COPY_OPTIONS, keyframe_at: int | None = None) -> None:
        self.container, self.fps, self.gop, self.options = container, fps, gop, options
        self.keyframe_at = keyframe_at  # a picture number made a keyframe (the second fragment's start)
        self.pictures = 0
        self.stream: Any = None
        self.first_ts = 0
        self.last_pts = -1

    def encode(self, frame: TimedPicture) -> None:
        height, width = frame.image.shape[:2]
        if self.stream is None:
            self.stream = add_copy_stream(self.container, rate=Fraction(self.fps).limit_denominator(1001),
                                          time_base=PICTURE_TIME_BASE, options=self.options)
            self.stream.width, self.stream.height = width - width % 2, height - height % 2
            if self.gop is not None:
                self.stream.codec_context.gop_size = self.gop
            self.first_ts = frame.ts
        image = frame.image[: self.stream.height, : self.stream.width]
        picture = av.VideoFrame.from_ndarray(image, format="rgb24")
        pts = (frame.ts - self.first_ts) * PICTURE_TIME_BASE.denominator // NS_PER_SECOND
        picture.pts = max(pts, self.last_pts + 1)  # strictly increasing, whatever the clock did
        picture.time_base = PICTURE_TIME_BASE
        if self.pictures == self.keyframe_at:
            picture.pict_type = av.video.frame.PictureType.I  # libx264 makes a forced I picture an IDR
        self.pictures += 1
        self.last_pts = picture.pts
        self.container.mux(self.stream.encode(picture))

    def flush(self) -> None:
        if self.stream is not None:
            self.container.mux(self.stream.encode(None))
