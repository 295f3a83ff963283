"""Where a person's head is, given the box of the whole person.

A person detector finds bodies that are far too small for a face detector
(a 60 px person has a face of about 8 px). Hiding the head needs no face:
it is the top of the person box. The zone spans from a little above the box
(boxes cut hair and raised heads) down ``HEAD_DEPTH`` of its height, which
covers the head of an upright adult in a tight box (about 1/7 of the
height) and in a loose one (HOG boxes have ~1/8 of padding above the
head), over the box's full width and a little more (a head turned or leaning
sits off the box's axis; narrow boxes of people seen side-on get at least
``MIN_WIDTH`` of the height).
"""

from __future__ import annotations

import numpy as np

#: Zone height below the box's top, and above it, as fractions of the box height.
HEAD_DEPTH = 0.30
HEAD_ABOVE = 0.05
#: Extra width on each side, as a fraction of the box width.
WIDEN = 0.10
#: Narrowest zone, as a fraction of the box height.
MIN_WIDTH = 0.35


def head_zone(person: np.ndarray, width: int, height: int) -> np.ndarray:
    """The head zone ``[x0, y0, x1, y1]`` of one person box, clipped to the
    ``width`` x ``height`` frame (it may then be empty: x1 <= x0)."""
    x0, y0, x1, y1 = (float(v) for v in person[:4])
    h = max(y1 - y0, 1.0)
    cx = (x0 + x1) / 2
    half = max((x1 - x0) * (0.5 + WIDEN), MIN_WIDTH * h / 2)
    zone = np.array([cx - half, y0 - HEAD_ABOVE * h, cx + half, y0 + HEAD_DEPTH * h], dtype=np.float32)
    return np.clip(zone, [0, 0, 0, 0], [width, height, width, height]).astype(np.float32)
