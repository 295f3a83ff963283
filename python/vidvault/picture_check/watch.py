"""The checks while a camera records: :class:`PictureWatch`.

A recorder calls ``advance`` every few seconds; each call judges the
keyframes stored since the last one, so a camera that freezes or goes black
is flagged within one interval plus the judge's own patience (two minutes
for a frozen picture), while its footage keeps arriving and the catalog
shows no gap.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from .judge import PictureAlarm, PictureJudge, Thresholds
from .sampling import StoredKeyframes, keyframe_signatures


class PictureWatch:
    """Judges one camera's new footage, call after call. ``on_change`` gets
    each alarm raised or ended (the store writes it to the audit log)."""

    def __init__(self, footage: StoredKeyframes, camera: str, *, start: int, every_ns: int,
                 thresholds: Thresholds | None = None,
                 on_change: Callable[[PictureAlarm], Any] | None = None) -> None:
        self.camera = camera
        self.every_ns = every_ns
        self._footage = footage
        self._judge = PictureJudge(camera, thresholds)
        self._checked_until = start
        self._last_keyframe: int | None = None
        self._on_change = on_change
        self._lock = threading.Lock()  # one advance at a time: the judge is a sequence

    def advance(self, until: int) -> list[PictureAlarm]:
        """Judges the keyframes stored in ``[last call, until)``; returns the
        alarms raised or ended by them."""
        with self._lock:
            changes: list[PictureAlarm] = []
            if until <= self._checked_until:
                return changes
            for sig in keyframe_signatures(self._footage, self.camera, self._checked_until, until, self.every_ns,
                                           after=self._last_keyframe):
                self._last_keyframe = sig.ts
                for alarm in self._judge.see(sig):
                    changes.append(alarm)
                    if self._on_change is not None:
                        self._on_change(alarm)
            self._checked_until = until
            return changes

    @property
    def open_alarms(self) -> list[PictureAlarm]:
        return [a for a in self._judge.alarms if a.open]
