"""A viewing: one checked and logged look at ``[start, end)`` of a camera,
read afterwards piece by piece without a log entry per piece.

A player that seeks in an hour of footage asks for it a few seconds at a
time (the web's segmented form, :mod:`vidvault.web.parts`). Logging each
piece would write thousands of entries for one look; checking once and
logging once, for the whole range, is what the audit log should say: who
looked at which camera, when, over which stretch. Every piece read later
must lie inside that stretch, and is still cut to the window of the grant
that allowed it (:class:`vidvault.grant_window.WindowedFootage`).

Desensitized viewings (``view_redacted``) hand out only redacted pictures,
frame metadata (times, keyframe flags, sizes) and the store's gaps: what a
timeline shows; the stored access units themselves only leave a raw viewing
(``view_raw``).
"""

from __future__ import annotations

from typing import Any, Iterator

from .errors import InvalidArgumentError
from .grant_window import WindowedFootage
from .records import Gap
from .redact.config import DEFAULT_REDACTION, chosen_redaction
from .redact.player import PlayedFrame, RedactingPlayer
from .timeutil import iso


class Viewing:
    """Made by :meth:`vidvault.Session.viewing` after its one check."""

    def __init__(self, footage: WindowedFootage, camera: str, start: int, end: int, *, raw: bool) -> None:
        self._footage = footage
        self.camera, self.start, self.end, self.raw = camera, start, end, raw

    def __repr__(self) -> str:
        return f"Viewing({self.camera!r}, {iso(self.start)} .. {iso(self.end)}, raw={self.raw})"

    def covers(self, start: int, end: int) -> bool:
        return self.start <= start < end <= self.end

    def _inside(self, start: int, end: int) -> None:
        if not self.covers(start, end):
            raise InvalidArgumentError(
                f"{iso(start)} .. {iso(end)} is not inside the viewed stretch {iso(self.start)} .. {iso(self.end)} "
                f"of camera {self.camera!r}: ask for a new viewing of it")

    def frame_infos(self, start: int, end: int) -> list[Any]:
        """Metadata of the frames ``read`` would hand out for ``[start, end)``
        (no payload decrypted), inside the grant's window."""
        self._inside(start, end)
        return self._footage.frame_infos(self.camera, start, end)

    def gaps(self, start: int, end: int) -> list[Gap]:
        """The store's gaps of ``[start, end)`` (:meth:`vidvault.Store.gaps`,
        its gap threshold): what the timeline shows, so a player of this
        viewing skips the same holes."""
        self._inside(start, end)
        return [Gap(s, e) for s, e in self._footage.gaps(self.camera, start, end, None)]

    def raw_footage(self) -> WindowedFootage:
        """The stored access units (``read_frame``, codec configurations):
        a raw viewing only."""
        if not self.raw:
            raise InvalidArgumentError(f"a desensitized viewing of camera {self.camera!r} hands out no stored "
                                       "access units: open a raw viewing (view_raw)")
        return self._footage

    def play(self, start: int, end: int, *, player: RedactingPlayer | None = None) -> Iterator[PlayedFrame]:
        """Pictures of ``[start, end)``, desensitized by the default redaction
        (raw pictures only from a raw viewing), through ``player`` when given
        (a player built with the default redaction, reused across pieces). A
        missing model raises here, before any footage is read."""
        self._inside(start, end)
        redaction = chosen_redaction(DEFAULT_REDACTION, self.raw, "play")
        return self._footage.play(self.camera, start, end, redaction, player=None if redaction is None else player)
