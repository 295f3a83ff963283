"""Leak rate and over-redaction of one playback against the ground truth.

- A face/plate **leaks** on a frame when more than ``LEAK_FRACTION`` of its
  box area is visible (inside the frame, not behind the pole) and not
  covered by any hidden region. A frame leaks when any of its objects does;
  the **leak rate** is leaking frames over frames that show any object.
- **Over-redaction** is the hidden area outside every ground-truth box, as
  a share of the frame (mean over frames): what viewers lose for nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..player import HiddenBox
from .truth import FrameTruth

LEAK_FRACTION = 0.20
#: Size buckets (longer side of the ground-truth box, pixels) for the breakdown.
BUCKETS = ((0, 12, "<12px"), (12, 20, "12-20px"), (20, 32, "20-32px"), (32, 48, "32-48px"),
           (48, 96, "48-96px"), (96, 300, "96-300px"), (300, 10**9, ">=300px"))
LARGE = 32


def hidden_mask(boxes: tuple[HiddenBox, ...], height: int, width: int) -> np.ndarray:
    """Pixels the kernels replaced: the same geometry as src/redact.rs."""
    mask = np.zeros((height, width), dtype=bool)
    for b in boxes:
        x0, y0, x1, y1 = max(0, b.x0), max(0, b.y0), min(width, b.x1), min(height, b.y1)
        if x1 <= x0 or y1 <= y0:
            continue
        if b.shape == "rectangle":
            mask[y0:y1, x0:x1] = True
            continue
        cx, cy = (b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2
        a, c = max((b.x1 - b.x0) / 2, 0.5), max((b.y1 - b.y0) / 2, 0.5)
        ys, xs = np.mgrid[y0:y1, x0:x1]
        inside = ((xs + 0.5 - cx) / a) ** 2 + ((ys + 0.5 - cy) / c) ** 2 <= 1.0
        mask[y0:y1, x0:x1] |= inside
    return mask


@dataclass
class Tally:
    frames: int = 0
    frames_with_objects: int = 0
    leaked_frames: int = 0
    #: The same, counting only objects of 32 px and more (the small ones
    #: leak under every configuration and would hide every other difference).
    frames_with_large: int = 0
    leaked_frames_large: int = 0
    over_redaction: float = 0.0  # sum over frames of the share of the frame
    object_frames: dict[str, int] = field(default_factory=lambda: {name: 0 for *_, name in BUCKETS})
    leaked_object_frames: dict[str, int] = field(default_factory=lambda: {name: 0 for *_, name in BUCKETS})

    def add(self, truth: FrameTruth, boxes: tuple[HiddenBox, ...], height: int, width: int) -> None:
        hidden = hidden_mask(boxes, height, width)
        inside_truth = np.zeros((height, width), dtype=bool)
        any_visible, leaked, any_large, leaked_large = False, False, False, False
        for obj in truth.objects:
            bx0, by0, bx1, by1 = obj.box
            full = max(1.0, (bx1 - bx0) * (by1 - by0))
            x0, y0 = max(0, int(round(bx0))), max(0, int(round(by0)))
            x1, y1 = min(width, int(round(bx1))), min(height, int(round(by1)))
            if x1 <= x0 or y1 <= y0:
                continue
            inside_truth[y0:y1, x0:x1] = True
            visible = np.ones((y1 - y0, x1 - x0), dtype=bool)
            if truth.pole is not None:
                px0, px1 = max(truth.pole[0], x0) - x0, min(truth.pole[1], x1) - x0
                if px1 > px0:
                    visible[:, px0:px1] = False
            if visible.sum() / full <= LEAK_FRACTION:
                continue  # not enough of it on screen to leak
            any_visible = True
            large = obj.size >= LARGE
            any_large |= large
            bucket = next(name for lo, hi, name in BUCKETS if lo <= obj.size < hi)
            self.object_frames[bucket] += 1
            exposed = (visible & ~hidden[y0:y1, x0:x1]).sum()
            if exposed / full > LEAK_FRACTION:
                leaked = True
                leaked_large |= large
                self.leaked_object_frames[bucket] += 1
        self.frames += 1
        self.frames_with_objects += any_visible
        self.leaked_frames += leaked
        self.frames_with_large += any_large
        self.leaked_frames_large += leaked_large
        self.over_redaction += (hidden & ~inside_truth).sum() / (height * width)

    @property
    def leak_rate(self) -> float:
        return self.leaked_frames / max(1, self.frames_with_objects)

    @property
    def large_leak_rate(self) -> float:
        return self.leaked_frames_large / max(1, self.frames_with_large)

    @property
    def object_leak_rate(self) -> float:
        """Leaked object-frames over visible object-frames, all sizes."""
        return sum(self.leaked_object_frames.values()) / max(1, sum(self.object_frames.values()))

    @property
    def mean_over_redaction(self) -> float:
        return self.over_redaction / max(1, self.frames)

    def bucket_text(self) -> str:
        return ", ".join(f"{name} {self.leaked_object_frames[name]}/{self.object_frames[name]}"
                         for *_, name in BUCKETS if self.object_frames[name])
