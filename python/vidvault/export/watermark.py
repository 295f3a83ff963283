"""Visible watermark: a re-encoded copy with text burned into every frame.

Each presented frame gets a box in its bottom-left corner with three lines:
the text given, the case and camera ids, and that frame's UTC time to the
millisecond. The box darkens and desaturates what is behind it and the text
is near-white, so it stays legible on any scene, and it keeps to the bottom
edge, away from the scene's centre. Drawing happens on the decoded YUV planes
(no RGB round trip): Pillow renders the glyphs as a mask, numpy blends it.

The copy is encoded with the settings of every re-encoded copy
(:mod:`vidvault.media.encode`) at the clip's frame times, starting at the
first presented frame.

A redacted export has no unredacted pictures to re-encode: its watermark is
drawn on the RGB pictures the redacting player hands out (:func:`stamp`,
:meth:`Overlay.apply_rgb`), the same box, text and placement.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence, TypeVar

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..errors import MediaError
from ..media.demux import nominal_frame_rate
from ..media.encode import TimedPicture, add_copy_stream
from ..media.remux import ClipSample
from ..timeutil import iso

BOX_DARKEN = 0.35  # background luma kept under the box
TEXT_LUMA = 235  # video-range white
TEXT_RGB = 255  # the same white in full-range RGB


def font_size(height: int) -> int:
    """Text height in pixels: about 1/30 of the picture, at least 16 px."""
    return max(16, height // 30)


class Overlay:
    """Renders and blends the watermark box onto yuv420p planes."""

    def __init__(self, width: int, height: int, static_lines: list[str], *, time_sample: str) -> None:
        self.font = ImageFont.load_default(size=font_size(height))
        size = font_size(height)
        self.line_height = int(size * 1.3)
        self.pad = max(6, size // 3)
        margin = max(8, height // 40)
        widest = max(self._text_width(t) for t in [*static_lines, time_sample])
        self.box_w = min(width - 2 * margin, widest + 2 * self.pad) & ~1
        self.box_h = ((len(static_lines) + 1) * self.line_height + 2 * self.pad + 1) & ~1
        self.x0 = margin & ~1
        self.y0 = (height - margin - self.box_h) & ~1
        if self.box_h > height // 4:
            raise MediaError(
                f"a {width}x{height} picture is too small for a legible watermark that stays "
                "out of the centre (the box would cover more than the bottom quarter)"
            )
        self.static_mask = self._render(static_lines, rows=len(static_lines) + 1)

    def _text_width(self, text: str) -> int:
        left, _, right, _ = self.font.getbbox(text)
        return int(right - left)

    def _render(self, lines: list[str], *, rows: int, first_row: int = 0) -> np.ndarray:
        image = Image.new("L", (self.box_w, self.box_h))
        draw = ImageDraw.Draw(image)
        for i, line in enumerate(lines):
            draw.text((self.pad, self.pad + (first_row + i) * self.line_height), line, font=self.font, fill=255)
        return np.asarray(image, dtype=np.float32) / 255.0

    def mask(self, time_line: str) -> np.ndarray:
        """Coverage (0..1) of the whole box for a frame with that time line."""
        rows = round((self.box_h - 2 * self.pad) / self.line_height)
        timed = self._render([time_line], rows=rows, first_row=rows - 1)
        return np.maximum(self.static_mask, timed)

    def _box(self) -> tuple[slice, slice]:
        return slice(self.y0, self.y0 + self.box_h), slice(self.x0, self.x0 + self.box_w)

    def apply(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, time_line: str) -> None:
        """Blends the box into the planes, in place."""
        m = self.mask(time_line)
        ys, xs = self._box()
        region = y[ys, xs].astype(np.float32) * BOX_DARKEN
        y[ys, xs] = (region * (1.0 - m) + TEXT_LUMA * m).astype(np.uint8)
        cs = slice(self.y0 // 2, (self.y0 + self.box_h) // 2)
        cx = slice(self.x0 // 2, (self.x0 + self.box_w) // 2)
        for plane in (u, v):
            chroma = plane[cs, cx].astype(np.float32)
            plane[cs, cx] = (128.0 + (chroma - 128.0) * BOX_DARKEN).astype(np.uint8)


    def apply_rgb(self, image: np.ndarray, time_line: str) -> None:
        """Blends the box into an ``HxWx3 uint8`` RGB picture, in place.
        Scaling R, G and B alike is what scaling luma and chroma offsets
        alike does in :meth:`apply`: the same darkened, muted background."""
        m = self.mask(time_line)[..., None]
        ys, xs = self._box()
        region = image[ys, xs].astype(np.float32) * BOX_DARKEN
        image[ys, xs] = (region * (1.0 - m) + TEXT_RGB * m).astype(np.uint8)


def time_line(ts: int) -> str:
    """The per-frame line: UTC date and time to the millisecond."""
    text = iso(ts)  # 2025-11-21T04:40:07.320000000Z
    date, _, clock = text.partition("T")
    clock = clock.rstrip("Z")
    hms, _, frac = clock.partition(".")
    return f"{date} {hms}.{(frac + '000')[:3]} UTC"


def static_lines(*, text: str, case: str | None, camera: str) -> list[str]:
    return [text, f"case {case or '(none)'}   camera {camera}"]


P = TypeVar("P", bound=TimedPicture)  # its image is written in place


def stamp(pictures: Iterable[P], *, text: str, case: str | None, camera: str) -> Iterator[P]:
    """Burns the watermark into each picture's RGB ``image`` in place and
    yields the picture: the watermark of copies made from RGB pictures
    (a redacted export draws it after faces and plates are hidden, so no
    detector ever sees the text)."""
    lines = static_lines(text=text, case=case, camera=camera)
    overlay: Overlay | None = None
    for picture in pictures:
        if overlay is None:
            height, width = picture.image.shape[:2]
            overlay = Overlay(width, height, lines, time_sample=time_line(picture.ts))
        overlay.apply_rgb(picture.image, time_line(picture.ts))
        yield picture


@dataclass(frozen=True)
class WatermarkInfo:
    frames: int
    width: int
    height: int
    lines: list[str]  # the static lines; the time line follows per frame


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """Writable views of a yuv420p frame's planes (padding cut off)."""
    out = []
    for plane in frame.planes:
        arr = np.frombuffer(plane, dtype=np.uint8).reshape(plane.height, plane.line_size)
        out.append(arr[:, : plane.width])
    return out


def burn(
    path: str | os.PathLike[str],
    samples: Sequence[ClipSample],
    config: Any,
    *,
    text: str,
    case: str | None,
    camera: str,
) -> WatermarkInfo:
    """Decodes the clip's samples, draws the watermark on every presented
    frame and encodes them with libx264 into ``path`` (faststart MP4)."""
    time_base = Fraction(*config.time_base)
    ts_by_pts = {s.pts: s.frame.ts for s in samples if s.shown}
    lines = static_lines(text=text, case=case, camera=camera)
    decoder = av.CodecContext.create(config.codec, "r")
    if config.extradata:
        decoder.extradata = config.extradata
    decoder.thread_type = "AUTO"
    overlay: Overlay | None = None
    frames = 0
    path = Path(path)
    rate = nominal_frame_rate(config)
    try:
        with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            stream = add_copy_stream(out, rate=rate, time_base=time_base)
            stream.thread_type = "AUTO"

            def emit(pictures: list[av.VideoFrame]) -> None:
                nonlocal overlay, frames
                for picture in pictures:
                    ts = ts_by_pts.get(picture.pts)
                    if ts is None:
                        continue  # decoded only as a reference, outside the requested range
                    if overlay is None:
                        stream.width, stream.height = picture.width, picture.height
                        overlay = Overlay(picture.width, picture.height, lines, time_sample=time_line(ts))
                    copy = av.VideoFrame(picture.width, picture.height, "yuv420p")
                    source = picture if picture.format.name == "yuv420p" else picture.reformat(format="yuv420p")
                    for dst, src in zip(_planes(copy), _planes(source)):
                        dst[:] = src
                    overlay.apply(*_planes(copy), time_line(ts))
                    copy.pts, copy.time_base = picture.pts, time_base
                    out.mux(stream.encode(copy))
                    frames += 1

            for s in samples:
                packet = av.Packet(s.frame.data)
                packet.pts, packet.dts, packet.time_base = s.pts, s.dts, time_base
                emit(decoder.decode(packet))
            emit(decoder.decode(None))
            out.mux(stream.encode(None))
    except av.error.FFmpegError as e:
        raise MediaError(f"watermarking into {path} failed: {e}") from e
    if overlay is None:
        raise MediaError(f"no frame of the clip decoded; {path} was not written")
    return WatermarkInfo(frames=frames, width=stream.width, height=stream.height, lines=lines)
