"""The checks: a stream of keyframe signatures in, alarms out.

One keyframe at a time, in time order, so the same judge serves a check of
stored footage after the fact and a live check while a camera records. Four
kinds of picture that a working camera does not deliver:

- ``black``: the picture is dark all over (a dead sensor, a cut video cable
  behind an encoder, a camera whose night light failed);
- ``uniform``: one flat colour (a lens covered by a hand, a bag or paint,
  an encoder showing its blue "no signal" screen);
- ``frozen``: the same picture, keyframe after keyframe, for longer than a
  live scene stays still (a hung encoder that keeps sending its last frame);
- ``moved``: the view changed abruptly and stayed changed (the camera was
  turned, knocked or re-aimed at a wall).

Black, uniform and frozen are states: an alarm starts at the first bad
keyframe and ends at the first good one. A moved camera is an event: the
alarm starts at the first keyframe of the new view and ends when the new
view is confirmed. Every alarm names the last good keyframe before it so a
person can look at both pictures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from ..timeutil import NS_PER_SECOND, iso
from .signature import Signature, picture_change, same_view


class AlarmKind(str, Enum):
    BLACK = "black"
    UNIFORM = "uniform"
    FROZEN = "frozen"
    MOVED = "moved"


@dataclass(frozen=True)
class Thresholds:
    """Where a picture stops looking like a working camera's.

    The defaults are set on real footage (tests/test_picture_check.py) with
    a margin; a site with unusual cameras can change them."""

    #: Mean grey level below which a picture is black (black decodes as 16).
    black_mean: float = 28.0
    #: Spread of grey levels below which a picture is one flat colour. A dark
    #: but working night scene keeps a spread of 8 or more.
    uniform_spread: float = 4.0
    #: Change between two keyframes (grey levels, see ``picture_change``)
    #: below which they are the same picture. A live 720p sensor, static
    #: scene: about 1.3; a frozen picture once its encoding settles: < 0.25.
    frozen_change: float = 0.5
    #: How long the same picture must last to be an alarm. A real scene can
    #: stand still for a while (an empty corridor at night on a clean
    #: sensor), so this is minutes, not seconds.
    frozen_after_ns: int = 120 * NS_PER_SECOND
    #: Structure correlation with the view before, below which the view has
    #: changed (the same view, with people walking through: 0.6 and more).
    moved_below: float = 0.35
    #: Correlation two keyframes after a change need with each other for the
    #: change to count: the new view stays (a bus passing close does not).
    settled_above: float = 0.6


@dataclass(frozen=True)
class PictureAlarm:
    camera: str
    kind: AlarmKind
    #: First bad keyframe (for ``moved``: the first of the new view).
    first_bad: int
    #: Last good keyframe before it; None when the checked period began bad.
    last_good: int | None
    #: First good keyframe after it (``moved``: the one that confirmed the
    #: new view); None while the picture is still bad.
    ended: int | None = None

    @property
    def open(self) -> bool:
        return self.ended is None

    def describe(self) -> str:
        since = f"since {iso(self.first_bad)}" if self.ended is None else \
            f"from {iso(self.first_bad)} to {iso(self.ended)}"
        what = {AlarmKind.BLACK: "black picture", AlarmKind.UNIFORM: "uniform picture (lens covered?)",
                AlarmKind.FROZEN: "frozen picture", AlarmKind.MOVED: "view changed (camera moved?)"}[self.kind]
        return f"camera {self.camera}: {what} {since}"

    def to_dict(self) -> dict[str, object]:
        return {"camera": self.camera, "kind": self.kind.value, "first_bad": iso(self.first_bad),
                "last_good": None if self.last_good is None else iso(self.last_good),
                "ended": None if self.ended is None else iso(self.ended)}


class PictureJudge:
    """The checks for one camera. ``see`` takes keyframe signatures in time
    order and returns the alarms that changed with it (raised or ended);
    ``alarms`` is every alarm so far, open ones with ``ended=None``."""

    def __init__(self, camera: str, thresholds: Thresholds | None = None) -> None:
        self.camera = camera
        self.thresholds = thresholds or Thresholds()
        self._alarms: list[PictureAlarm] = []
        self._open: dict[AlarmKind, int] = {}   # kind -> index in _alarms
        self._last_good: Signature | None = None
        self._prior_good: Signature | None = None  # the good keyframe before _last_good
        self._previous: Signature | None = None
        self._same_since: Signature | None = None  # first keyframe of a run of identical ones
        self._view: Signature | None = None        # the view as it was before a change
        self._changed: Signature | None = None     # first keyframe that did not match it

    @property
    def alarms(self) -> list[PictureAlarm]:
        return list(self._alarms)

    def see(self, sig: Signature) -> list[PictureAlarm]:
        t = self.thresholds
        changes: list[PictureAlarm] = []
        blank = None
        if sig.mean < t.black_mean and sig.spread < 2 * t.uniform_spread:
            blank = AlarmKind.BLACK
        elif sig.spread < t.uniform_spread:
            blank = AlarmKind.UNIFORM
        for kind in (AlarmKind.BLACK, AlarmKind.UNIFORM):
            if kind == blank:
                changes += self._raise(kind, sig.ts)
            else:
                changes += self._end(kind, sig.ts)
        if blank is None:
            changes += self._check_frozen(sig)
            if AlarmKind.FROZEN not in self._open:
                changes += self._check_moved(sig)
        else:
            self._same_since = None
        self._previous = sig
        if not self._open and self._same_since is None:
            self._prior_good, self._last_good = self._last_good, sig
        return changes

    def _check_frozen(self, sig: Signature) -> list[PictureAlarm]:
        t = self.thresholds
        prev = self._previous
        if prev is None or picture_change(prev, sig) >= t.frozen_change:
            self._same_since = None
            return self._end(AlarmKind.FROZEN, sig.ts)
        if self._same_since is None:
            self._same_since = prev
        if sig.ts - self._same_since.ts >= t.frozen_after_ns and AlarmKind.FROZEN not in self._open:
            return self._raise(AlarmKind.FROZEN, self._same_since.ts)
        return []

    def _check_moved(self, sig: Signature) -> list[PictureAlarm]:
        t = self.thresholds
        if self._view is None:
            self._view = sig
            return []
        if same_view(self._view, sig) >= t.moved_below:
            self._view, self._changed = sig, None
            return []
        if self._changed is None:
            self._changed = sig  # maybe something passing close to the lens: wait for the next keyframe
            return []
        first = self._changed
        self._changed = None
        if same_view(first, sig) < t.settled_above:
            return []  # still changing: not a new view yet
        before = self._view
        self._view = sig
        alarm = PictureAlarm(self.camera, AlarmKind.MOVED, first.ts, before.ts, ended=sig.ts)
        self._alarms.append(alarm)
        return [alarm]

    def _raise(self, kind: AlarmKind, first_bad: int) -> list[PictureAlarm]:
        if kind in self._open:
            return []
        good = self._last_good
        if good is not None and good.ts >= first_bad:
            good = self._prior_good  # the run of one frozen picture began with the last "good" one
        last_good = None if good is None else good.ts
        alarm = PictureAlarm(self.camera, kind, first_bad, last_good)
        self._open[kind] = len(self._alarms)
        self._alarms.append(alarm)
        return [alarm]

    def _end(self, kind: AlarmKind, ts: int) -> list[PictureAlarm]:
        index = self._open.pop(kind, None)
        if index is None:
            return []
        self._alarms[index] = replace(self._alarms[index], ended=ts)
        if kind is not AlarmKind.MOVED:
            self._view, self._changed = None, None  # compare the view again from the next good picture
        return [self._alarms[index]]
