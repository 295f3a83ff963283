"""The review report of a redacted export, ``review.json``: what was hidden,
track by track, so a clerk can check a clip before it leaves.

Per track: its kind (face, plate, head, person, or a custom detector's),
the first and last frame it was hidden on, on how many frames, the lowest
detector score it was hidden with, and the frames where it was only
coasting (hidden where the tracker expected it, with no detection there):
the places to look at first. Boxes of untracked playback
(``Redaction(track=False)``) are summed per kind. Frame numbers count the
pictures of the redacted copy from 0. The contact sheet (``review.png``,
:mod:`.contact_sheet`) shows each track as it was hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..redact.player import PlayedFrame
from . import contact_sheet

FORMAT = "vidvault-review/1"
FILE = "review.json"


@dataclass
class _Track:
    kind: str
    first: int
    last: int
    frames: int = 0
    lowest_score: float = 2.0
    coasting: list[int] = field(default_factory=list)
    thumbnail: Any = None  # the redacted picture around the box where its score was lowest


class ReviewTally:
    """Fed every played frame, in order; :meth:`document` is the report."""

    def __init__(self) -> None:
        self.frames = 0
        self.frames_with_regions = 0
        self._tracks: dict[int, _Track] = {}
        self._untracked: dict[str, dict[str, Any]] = {}
        self._untracked_thumbnails: dict[str, Any] = {}

    def add(self, frame: PlayedFrame) -> None:
        index = self.frames
        self.frames += 1
        self.frames_with_regions += bool(frame.boxes)
        for b in frame.boxes:
            if b.track is None:
                u = self._untracked.setdefault(b.kind, {"regions": 0, "frames": set(), "lowest_score": 1.0})
                u["regions"] += 1
                u["frames"].add(index)
                u["lowest_score"] = min(u["lowest_score"], b.score)
                if b.kind not in self._untracked_thumbnails:
                    self._untracked_thumbnails[b.kind] = contact_sheet.crop_around(
                        frame.image, (b.x0, b.y0, b.x1, b.y1)).copy()
                continue
            t = self._tracks.get(b.track)
            if t is None:
                t = self._tracks[b.track] = _Track(b.kind, index, index)
            if t.last != index or t.frames == 0:
                t.frames += 1
            t.last = index
            if b.score < t.lowest_score:
                t.lowest_score = b.score
                # A copy: the watermark is burned into the picture after this.
                t.thumbnail = contact_sheet.crop_around(frame.image, (b.x0, b.y0, b.x1, b.y1)).copy()
            if b.state == "coasting" and (not t.coasting or t.coasting[-1] != index):
                t.coasting.append(index)

    def document(self) -> dict[str, Any]:
        tracks = [{"track": tid, "kind": t.kind, "first_frame": t.first, "last_frame": t.last, "frames": t.frames,
                   "lowest_score": round(float(t.lowest_score), 4), "coasting_frames": t.coasting}
                  for tid, t in sorted(self._tracks.items())]
        untracked = {kind: {"regions": u["regions"], "frames": len(u["frames"]),
                            "lowest_score": round(float(u["lowest_score"]), 4)}
                     for kind, u in sorted(self._untracked.items())}
        return {"format": FORMAT, "frames": self.frames, "frames_with_regions": self.frames_with_regions,
                "tracks": tracks, "untracked": untracked}

    def contact_sheet(self) -> bytes:
        """The PNG of one thumbnail per track (then one per untracked kind)."""
        thumbs = [(f"#{tid} {t.kind}", t.thumbnail) for tid, t in sorted(self._tracks.items())
                  if t.thumbnail is not None]
        thumbs += [(f"{kind} (untracked)", crop) for kind, crop in sorted(self._untracked_thumbnails.items())]
        return contact_sheet.render(thumbs)

    def to_bytes(self) -> bytes:
        return (json.dumps(self.document(), indent=1, sort_keys=True) + "\n").encode()
