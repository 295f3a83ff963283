"""People whose faces are too small for any face detector: a real
pedestrian CCTV clip with hand-set ground truth.

The clip is ``vtest.avi`` of OpenCV's sample data (768x576, 10 fps, 795
frames, a fixed camera over a campus crossing: people 15-110 px tall, faces
4-20 px), shipped by Debian's ``opencv-doc`` package (Apache-2.0 AND
BSD-3-Clause, per its debian/copyright) and installed by
``vidvault models install --test-footage``. ``pedestrians_truth.json``
beside this file holds the head and person boxes of every person on a few
frames, and says how they were set.

A head **leaks** on a frame when more than ``LEAK_FRACTION`` of its box is
not hidden. Results are per person-height bucket: the question is from what
size on a person's head is reliably hidden.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from ..models import models_dir
from ..pinned_deb import PinnedDebFile, deb_state, install_deb_file
from ..player import HiddenBox
from .metrics import LEAK_FRACTION, hidden_mask

PEDESTRIAN_CLIP = PinnedDebFile(
    name="vtest.avi",
    purpose="real pedestrian CCTV clip, OpenCV sample data (test input)",
    package="opencv-doc",
    version="4.6.0+dfsg-12",
    deb_sha256="4b12681df35878207ac7097dc66184b2ae552e4bf4ddd2af04a0f03ed0b8682a",
    member="usr/share/doc/opencv-doc/examples/data/vtest.avi",
    sha256="45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
    licence="Apache-2.0 AND BSD-3-Clause",
)
#: Person-height buckets (pixels of the ground-truth person box).
HEIGHT_BUCKETS = ((0, 40, "<40px"), (40, 60, "40-60px"), (60, 80, "60-80px"), (80, 10**9, ">=80px"))
TRUTH_FILE = Path(__file__).with_name("pedestrians_truth.json")


def footage_dir() -> Path:
    return models_dir() / "footage"


def footage_state() -> str:
    return deb_state(PEDESTRIAN_CLIP, footage_dir())


def install_footage(directory: Path | None = None, *, say=print) -> Path:  # type: ignore[no-untyped-def]
    return install_deb_file(PEDESTRIAN_CLIP, directory or footage_dir(), say=say)


@lru_cache(maxsize=1)
def empty_street() -> np.ndarray:
    """The clip's scene with nobody in it: the per-pixel median of every
    16th picture (each spot of the crossing is empty on most of them), RGB
    768x576. A real CCTV background for composited test faces."""
    frames = [image for i, (_, image) in enumerate(pictures()) if i % 16 == 0]
    return np.median(np.stack(frames), axis=0).astype(np.uint8)


@dataclass(frozen=True)
class Person:
    head: tuple[int, int, int, int]
    person: tuple[int, int, int, int]

    @property
    def height(self) -> int:
        return self.person[3] - self.person[1]


def truth() -> dict[int, list[Person]]:
    """Frame index -> the people on it."""
    raw = json.loads(TRUTH_FILE.read_text())
    return {int(k): [Person(tuple(p["head"]), tuple(p["person"])) for p in people]  # type: ignore[arg-type]
            for k, people in raw["frames"].items()}


def pictures(path: Path | None = None, *, limit: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """(ts in ns, RGB picture) of the clip, in order."""
    path = path or footage_dir() / PEDESTRIAN_CLIP.name
    if deb_state(PEDESTRIAN_CLIP, path.parent) != "installed":
        raise FileNotFoundError(f"test footage {path} is missing or altered; run "
                                "`vidvault models install --test-footage`")
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if limit is not None and i >= limit:
                return
            yield i * 100_000_000, frame.to_ndarray(format="rgb24")


@dataclass
class HeadTally:
    shown: dict[str, int] = field(default_factory=lambda: {name: 0 for *_, name in HEIGHT_BUCKETS})
    leaked: dict[str, int] = field(default_factory=lambda: {name: 0 for *_, name in HEIGHT_BUCKETS})
    frames: int = 0
    over_redaction: float = 0.0  # sum over frames of the hidden share of the frame outside every person

    def add(self, people: list[Person], boxes: tuple[HiddenBox, ...], height: int, width: int) -> None:
        hidden = hidden_mask(boxes, height, width)
        inside = np.zeros((height, width), dtype=bool)
        for p in people:
            px0, py0, px1, py1 = p.person
            inside[py0:py1, px0:px1] = True
            x0, y0, x1, y1 = p.head
            bucket = next(name for lo, hi, name in HEIGHT_BUCKETS if lo <= p.height < hi)
            self.shown[bucket] += 1
            exposed = (~hidden[y0:y1, x0:x1]).sum() / max(1, (x1 - x0) * (y1 - y0))
            self.leaked[bucket] += bool(exposed > LEAK_FRACTION)
        self.frames += 1
        self.over_redaction += (hidden & ~inside).sum() / (height * width)

    def hidden_share(self, bucket: str) -> float | None:
        return None if not self.shown[bucket] else 1 - self.leaked[bucket] / self.shown[bucket]

    def hidden_share_above(self, min_height: int) -> float:
        names = [name for lo, _, name in HEIGHT_BUCKETS if lo >= min_height]
        shown = sum(self.shown[n] for n in names)
        return 1 - sum(self.leaked[n] for n in names) / max(1, shown)

    @property
    def mean_over_redaction(self) -> float:
        return self.over_redaction / max(1, self.frames)

    def bucket_text(self) -> str:
        return ", ".join(f"{name} {self.shown[name] - self.leaked[name]}/{self.shown[name]}"
                         for *_, name in HEIGHT_BUCKETS if self.shown[name])
