"""The redacted copy in an export package, ``clip.redacted.mp4``: how it is
made, and how it is read back to check it.

Made: the stored access units the manifest lists are decoded, the redacting
player hides faces and plates (fail-closed: a detector or decode error ends
the export), the watermark is burned in when asked (after redaction, so no
detector sees its text), and libx264 encodes the pictures at their
wall-clock times (1/90000 s, the first presented frame at 0).
:func:`vidvault.redact.write_redacted_mp4` refuses any picture the player
did not mark redacted, so the package cannot hold an unredacted picture.
The encoder settings are those of every re-encoded copy
(:mod:`vidvault.media.encode`).

Read back: decoded fully with PyAV; the number of pictures and each
picture's time must match the presented frames of the manifest (within one
frame interval). The exporter checks this before it signs, the verifier
again later. A re-encoded copy has no bit-exactness to check: the
manifest's per-frame SHA-256 bind the stored access units it derives from,
which ``vidvault verify --store`` compares with the store.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import av

from ..errors import MediaError
from ..media.decode import StoredFootage
from ..media.encode import PICTURE_TIME_BASE, copy_encoder
from ..redact.config import Redaction
from ..redact.footage import play
from ..redact.player import PlayedFrame, write_redacted_mp4
from ..timeutil import NS_PER_SECOND, iso
from . import watermark
from .review import ReviewTally


@dataclass(frozen=True)
class RedactedCopy:
    """What was written, for the manifest."""

    frames: int
    width: int
    height: int
    fps: Fraction  # nominal: the stored stream's rate
    regions: int  # regions hidden, over all frames
    frames_with_regions: int
    review: ReviewTally  # per track, for review.json

    def clip_section(self, file: str) -> dict[str, Any]:
        """The manifest's ``clip`` field of a redacted package."""
        return {
            "file": file,
            "bit_exact": False,
            "derivation": "decoded from the stored access units in frames[], faces and licence plates "
                          "hidden (see redaction), re-encoded",
            "encoder": copy_encoder(),
            "time_base": str(PICTURE_TIME_BASE),
            "fps": str(self.fps),
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
        }


def write(
    path: Path,
    footage: StoredFootage,
    camera: str,
    start: int,
    end: int,
    stored: Sequence[Any],
    redaction: Redaction,
    *,
    fps: Fraction,
    watermark_text: str | None,
    case: str | None,
    progress: Callable[[PlayedFrame, int], None] | None = None,
) -> RedactedCopy:
    """Writes the redacted copy of ``stored`` (the frames ``footage.read``
    returned for ``[start, end)``) to ``path`` and reads it back."""
    played = play(footage, camera, start, end, redaction, frames=stored)  # builds the detectors: may raise now
    hidden = {"regions": 0, "frames": 0}
    review = ReviewTally()

    def tallied(frames: Iterable[PlayedFrame]) -> Iterator[PlayedFrame]:
        for f in frames:
            hidden["regions"] += len(f.boxes)
            hidden["frames"] += bool(f.boxes)
            review.add(f)
            yield f

    pictures = tallied(played)
    if watermark_text is not None:
        pictures = watermark.stamp(pictures, text=watermark_text, case=case, camera=camera)
    written = write_redacted_mp4(pictures, path, fps=fps, progress=progress)
    decoded = read_back(path)
    presented = sorted(f.ts for f in stored if start <= f.ts < end)
    problems = timing_problems(decoded, presented, frame_interval(presented, fps))
    if written != len(decoded.times):
        problems.insert(0, f"{written} pictures were encoded, {len(decoded.times)} decode")
    if problems:
        raise MediaError(f"the redacted copy {path.name} of camera {camera!r} does not match the footage it "
                         f"was made from: {'; '.join(problems)}; no package was written")
    return RedactedCopy(written, decoded.width, decoded.height, fps, hidden["regions"], hidden["frames"], review)


@dataclass(frozen=True)
class DecodedCopy:
    times: list[int]  # ns from the first picture's presentation, in presentation order
    width: int
    height: int
    codec: str


def read_back(path: str | os.PathLike[str]) -> DecodedCopy:
    """Decodes every picture of the MP4; raises MediaError when it cannot."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError(f"{Path(path).name} has no video stream")
            stream = container.streams.video[0]
            times = [int(f.pts * f.time_base * NS_PER_SECOND) for f in container.decode(stream)]
            ctx = stream.codec_context
            return DecodedCopy(times, ctx.width, ctx.height, ctx.name)
    except av.error.FFmpegError as e:
        raise MediaError(f"{Path(path).name} does not decode: {e}") from e


def frame_interval(presented: Sequence[int], fps: Fraction) -> int:
    """The usual distance between presented frames (ns): the median step,
    or one nominal frame when there is a single frame."""
    steps = sorted(b - a for a, b in zip(presented, presented[1:]) if b > a)
    return steps[len(steps) // 2] if steps else int(NS_PER_SECOND / fps)


def timing_problems(decoded: DecodedCopy, presented: Sequence[int], interval: int) -> list[str]:
    """How the decoded copy differs from the presented frames' wall-clock
    times (sorted ns): count, and each picture within one frame interval
    of its frame's time relative to the first."""
    if len(decoded.times) != len(presented):
        return [f"it decodes to {len(decoded.times)} pictures, the manifest presents {len(presented)} frames"]
    if not presented:
        return ["it holds no picture"]
    for i, (t, ts) in enumerate(zip(decoded.times, presented)):
        expected = ts - presented[0]
        if abs(t - expected) > interval:
            return [f"picture {i} is shown at {t / NS_PER_SECOND:.3f} s, its frame ({iso(ts)}) at "
                    f"{expected / NS_PER_SECOND:.3f} s (more than one frame interval, "
                    f"{interval / NS_PER_SECOND:.3f} s, apart)"]
    return []
