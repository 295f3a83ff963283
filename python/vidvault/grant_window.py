"""The footage a session's grant covers, applied to what the store hands out.

A grant covers ``[footage_from, footage_to)``. Checking that a request lies
inside that window is not enough: reading ``[start, end)`` begins at the
keyframe at or before ``start`` (pictures of the GOP before the window) and
may carry reference frames presented after ``end``. Under a session every
stored frame handed out lies inside the window, and a read starts at the
first keyframe inside it: frames of a GOP that began before the window are
never yielded, even though the pictures between the window's start and that
keyframe then cannot be shown. What leaves through ``read``, ``seek``,
``play`` and ``export_clip`` is cut here, before decoding, so a bit-exact
export under a session holds no sample outside the window either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from .errors import MediaError
from .export.package import ExportResult, export_clip
from .redact.config import Redaction
from .redact.footage import play
from .redact.player import PlayedFrame, RedactingPlayer


@dataclass(frozen=True)
class GrantWindow:
    """``[start, end)`` in ns; None is unbounded on that side."""

    start: int | None = None
    end: int | None = None

    @classmethod
    def of(cls, authorization: dict[str, Any]) -> "GrantWindow":
        """The window of the grant that allowed a request (the core's answer)."""
        return cls(authorization.get("footage_from"), authorization.get("footage_to"))

    @property
    def unbounded(self) -> bool:
        return self.start is None and self.end is None

    def contains(self, ts: int) -> bool:
        return (self.start is None or ts >= self.start) and (self.end is None or ts < self.end)

    def frames(self, frames: Iterable[Any]) -> Iterator[Any]:
        """``frames`` (decode order) from the first keyframe inside the window
        on, without any frame presented outside it."""
        started = self.start is None
        for f in frames:
            if not started:
                if not (f.keyframe and f.ts >= self.start):
                    continue  # the GOP began before the window: its pictures are outside it
                started = True
            if self.contains(f.ts):
                yield f


class WindowedFootage:
    """The store's core handle seen through a grant's window: ``read`` and
    ``seek`` are clamped, everything else (codec configurations, signing,
    the audit log) is the core's own. Playback and export take it in place
    of the core handle, so they only ever see frames inside the window."""

    def __init__(self, core: Any, window: GrantWindow) -> None:
        self._core = core
        self.window = window

    def __getattr__(self, name: str) -> Any:
        return getattr(self._core, name)

    def read(self, camera: str, start: int, end: int) -> Iterator[Any]:
        frames = self._core.read(camera, start, end)
        return frames if self.window.unbounded else self.window.frames(frames)

    def frame_infos(self, camera: str, start: int, end: int) -> list[Any]:
        """What ``read`` would hand out, as clear metadata and sizes only
        (``_core.FrameInfo``: nothing decrypted), clamped the same way."""
        infos = self._core.frame_infos(camera, start, end)
        return infos if self.window.unbounded else list(self.window.frames(infos))

    def read_frame(self, info: Any) -> Any:
        """The authenticated frame ``info`` (from :meth:`frame_infos`) names.
        The listing reads metadata no checksum or tag covers on its own; the
        decrypted frame's authenticated metadata must match it, so a plan
        built from altered metadata fails here instead of serving the wrong
        bytes, and nothing outside the window is decrypted."""
        if not self.window.contains(info.ts):
            raise MediaError(f"frame {info.seq} of segment {info.segment} lies outside the grant's window")
        frame = self._core.read_frame(info.segment, info.offset, info.seq)
        if (frame.ts, frame.pts, frame.dts, frame.duration, frame.keyframe, frame.segment, len(frame)) != (
                info.ts, info.pts, info.dts, info.duration, info.keyframe, info.segment, info.size):
            raise MediaError(f"frame {info.seq} of segment {info.segment} does not match its listed metadata "
                             "(the segment file was altered; run `vidvault fsck`)")
        return frame

    def seek(self, camera: str, ts: int) -> Any:
        """The keyframe playback of ``ts`` starts from, inside the window:
        when the store's keyframe lies before the window, the first keyframe
        inside it (even if that is after ``ts``); None if there is none."""
        frame = self._core.seek(camera, ts)
        if frame is None or self.window.contains(frame.ts):
            return frame
        if self.window.start is None or frame.ts >= self.window.start:
            return None  # after the window's end
        end = self.window.end if self.window.end is not None else 2**63 - 1
        return next(iter(self.window.frames(self._core.read(camera, self.window.start, end))), None)

    def play(self, camera: str, start: int, end: int, redaction: Redaction | None, *,
             player: RedactingPlayer | None = None) -> Iterator[PlayedFrame]:
        return play(self, camera, start, end, redaction, player=player)

    def export_clip(self, camera: str, start: int, end: int, out_dir: Any, **kw: Any) -> ExportResult:
        return export_clip(self, camera, start, end, out_dir, **kw)
