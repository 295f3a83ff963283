"""Writing redacted pictures to an MP4 (H.264, libx264).

This is the one place redacted footage becomes a file: `vidvault play
--out` uses it, and so does `Store.export_clip(redact=...)`
(:mod:`vidvault.redacted_clip`), whose manifest records
``redaction.describe()`` (settings and pinned model hashes) and says the
copy is re-encoded, not bit-exact.

Only frames the player marked as redacted are accepted unless
``allow_raw=True``: a raw frame slipping into a "redacted" file is the
failure this module exists to prevent.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable

import av

from ..errors import MediaError, RedactionError
from .player import PlayedFrame

#: ns per second; frame times are wall-clock ns.
NS = 1_000_000_000


def write_redacted_mp4(
    frames: Iterable[PlayedFrame],
    out_path: str | os.PathLike[str],
    *,
    fps: float | Fraction = 25,
    crf: int = 23,
    preset: str = "veryfast",
    allow_raw: bool = False,
    progress: Callable[[PlayedFrame, int], None] | None = None,
) -> int:
    """Encodes ``frames`` (PlayedFrame, RGB) into ``out_path``; returns the
    number of frames written. Presentation times come from the frames' wall
    clock (``ts``) in a 1/90000 time base, so gaps and variable frame rate
    survive; ``fps`` is only the stream's nominal rate.

    The file is written to ``out_path + ".partial"`` and renamed when
    complete: an exception (e.g. a detector failure) leaves no playable file.
    """
    out_path = Path(out_path)
    partial = out_path.with_name(out_path.name + ".partial")
    count = 0
    first_ts: int | None = None
    last_pts = -1
    try:
        # faststart: moov first, so the copy plays while it downloads, like clip.mp4.
        with av.open(str(partial), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream = None
            for frame in frames:
                if not (frame.redacted or allow_raw):
                    raise RedactionError(f"frame at ts={frame.ts} was not redacted; refusing to write it to "
                                         f"{out_path}", ts=frame.ts)
                if stream is None:
                    stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                    stream.width, stream.height = frame.width - frame.width % 2, frame.height - frame.height % 2
                    stream.pix_fmt = "yuv420p"
                    stream.time_base = Fraction(1, 90000)
                    stream.codec_context.time_base = Fraction(1, 90000)
                    stream.options = {"preset": preset, "crf": str(crf)}
                    first_ts = frame.ts
                image = frame.image[: stream.height, : stream.width]
                picture = av.VideoFrame.from_ndarray(image, format="rgb24")
                pts = (frame.ts - first_ts) * 90000 // NS
                picture.pts = max(pts, last_pts + 1)  # strictly increasing, whatever the clock did
                picture.time_base = Fraction(1, 90000)
                last_pts = picture.pts
                container.mux(stream.encode(picture))
                count += 1
                if progress is not None:
                    progress(frame, count)
            if stream is not None:
                container.mux(stream.encode(None))
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
