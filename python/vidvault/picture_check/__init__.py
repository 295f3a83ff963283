"""Zombie cameras: footage that arrives but shows nothing.

A camera can deliver a perfect stream of a frozen picture, a black screen,
a lens covered by a hand or a bag, or a view that someone turned to a wall;
the catalog then shows no gap, and nobody notices for months. These checks
find it from the stored footage alone, cheaply enough for every camera:
one keyframe every few seconds is decoded (no detector), reduced to a small
grey picture and compared with the ones before it.

- :mod:`.signature`: a decoded keyframe reduced to what the checks compare;
- :mod:`.judge`: the checks themselves (black, uniform, frozen, moved), a
  stream of signatures in, alarms out;
- :mod:`.sampling`: keyframes of a stored period, one per interval.

``Store.check_pictures`` runs them over a period; ``vidvault check-pictures``
prints the result and can write the last good and first bad picture of each
alarm as PNG files (pictures are never kept unencrypted in the store).
"""

from .judge import AlarmKind, PictureAlarm, PictureJudge, Thresholds

__all__ = ["AlarmKind", "PictureAlarm", "PictureJudge", "Thresholds"]
