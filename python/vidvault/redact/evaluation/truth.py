"""Ground truth of a rendered evaluation scene: where each face or plate is
on each frame. Its own module so that the metrics (which read it) and the
scenes (which write it) need not import each other."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Truth:
    """One face or plate on one frame."""

    kind: str
    name: str
    box: tuple[float, float, float, float]   # unclipped, frame pixels
    size: float                              # longer side of the box, pixels


@dataclass
class FrameTruth:
    index: int
    objects: list[Truth] = field(default_factory=list)
    pole: tuple[int, int] | None = None      # x0, x1 of the pole (it spans the full height)
