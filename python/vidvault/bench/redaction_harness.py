"""The evaluation of desensitized playback (vidvault.redact.evaluation's
scenes and metrics): every scene encoded, stored and played back with every
configuration, in the same process on the same machine."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from ..demo.file_to_store import ingest_file
from ..keys import generate_key
from ..redact.config import Redaction
from ..redact.evaluation.metrics import Tally
from ..redact.evaluation.scenes import Scene, encode, standard_scenes
from ..redact.footage import play
from ..redact.player import RedactingPlayer
from ..store import Store

T0 = 1_763_700_000 * 1_000_000_000
NS = 1_000_000_000

#: The configurations compared, baseline first: per-frame detection with no
#: tracking is how `deface` works, with the same models at the same input size.
#: Faces and plates only: the people detectors are measured on a real
#: pedestrian clip (`vidvault bench people`); here the moving photo cut-outs
#: are rectangles whose tops a motion detector would hide as head zones, which
#: says nothing about real footage and would hide the faces' own leaks.
STANDARD_CONFIGS: dict[str, Redaction] = {
    "per-frame, no tracking": Redaction(detect_every=1, track=False, people=None),
    "tracked, detect every frame": Redaction(detect_every=1, people=None),
    "tracked, detect every 3rd (default)": Redaction(people=None),
}
#: The configurations of the face-size evaluation (`vidvault bench redact
#: --sizes`), the same baseline first: the default, and the default with the
#: enlarged tiles that small faces need.
SIZE_CONFIGS: dict[str, Redaction] = {
    "per-frame, no tracking": STANDARD_CONFIGS["per-frame, no tracking"],
    "tracked, detect every 3rd (default)": STANDARD_CONFIGS["tracked, detect every 3rd (default)"],
    "default + face_tiles=2.0": Redaction(people=None, face_tiles=2.0),
}


@dataclass(frozen=True)
class Result:
    scene: str
    config: str
    frames: int
    leak_rate: float
    large_leak_rate: float
    object_leak_rate: float
    leaked_frames: int
    frames_with_objects: int
    over_redaction: float
    fps: float
    cpu_ms: float     # CPU time of this process per frame (all threads): less sensitive to other load
    detect_ms: float  # detector wall time per frame
    load: float       # 1-minute load average at the end of the run (2 = both cores busy)
    buckets: str


def evaluate(
    scenes: Sequence[Scene] | None = None,
    configs: Mapping[str, Redaction] | None = None,
    *,
    workdir: Path | None = None,
    say: Callable[[str], None] = print,
) -> list[Result]:
    scenes = list(scenes or standard_scenes())
    configs = dict(configs or STANDARD_CONFIGS)
    tmp = tempfile.TemporaryDirectory(prefix="vidvault-eval-") if workdir is None else None
    base = Path(workdir or tmp.name)  # type: ignore[union-attr]
    results: list[Result] = []
    try:
        truths = {}
        with Store.create(base / "store", key=generate_key()) as store:
            for scene in scenes:
                t = time.perf_counter()
                truths[scene.name] = encode(scene, base / f"{scene.name}.mp4")
                store.add_camera(scene.name)
                ingest_file(store, scene.name, base / f"{scene.name}.mp4", T0)
                say(f"encoded and stored {scene.name} ({len(truths[scene.name])} frames, "
                    f"{scene.width}x{scene.height}) in {time.perf_counter() - t:.1f} s")
            players = {name: RedactingPlayer(cfg) for name, cfg in configs.items()}
            for scene in scenes:
                end = T0 + int(scene.seconds * NS) + NS
                for name, player in players.items():
                    player.detect_seconds = 0.0
                    played = []
                    t, cpu = time.perf_counter(), time.process_time()
                    for frame in play(store, scene.name, T0, end, player.redaction, player=player):
                        played.append(frame.boxes)  # metrics after the clock stops
                    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
                    tally = Tally()
                    for truth, boxes in zip(truths[scene.name], played, strict=True):
                        tally.add(truth, boxes, scene.height, scene.width)
                    r = Result(scene.name, name, len(played), tally.leak_rate, tally.large_leak_rate,
                               tally.object_leak_rate, tally.leaked_frames,
                               tally.frames_with_objects, tally.mean_over_redaction, len(played) / elapsed,
                               cpu / max(1, len(played)) * 1000, player.detect_seconds / max(1, len(played)) * 1000,
                               os.getloadavg()[0], tally.bucket_text())
                    results.append(r)
                    say(f"{r.scene:12} {r.config:36} leak {r.leak_rate:6.1%} ({r.leaked_frames}/"
                        f"{r.frames_with_objects}) objects {r.object_leak_rate:6.1%}  "
                        f"over {r.over_redaction:6.2%}  {r.fps:5.1f} fps  {r.cpu_ms:4.0f} CPU ms/frame  "
                        f"load {r.load:.1f}  [{r.buckets}]")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return results


def table(results: Sequence[Result]) -> str:
    """Markdown table; each row's fps and object leak rate beside the
    per-frame baseline of the same video, as ratios."""
    baseline = {r.scene: r for r in results if r.config == next(iter(STANDARD_CONFIGS))}
    lines = [
        "| video | configuration | leak rate, frames | leak rate, frames (objects >= 32 px) | object leak rate "
        "| leaked / shown object-frames by size | over-redaction | fps | CPU ms / frame | fps / per-frame "
        "| object leaks / per-frame | load |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        b = baseline.get(r.scene)
        fps_ratio = f"{r.fps / b.fps:.2f}" if b else "-"
        leak_ratio = (f"{r.object_leak_rate / b.object_leak_rate:.2f}" if b and b.object_leak_rate > 0
                      else ("-" if not b else "n/a (baseline 0)"))
        lines.append(
            f"| {r.scene} | {r.config} | {r.leak_rate:.1%} ({r.leaked_frames}/{r.frames_with_objects}) "
            f"| {r.large_leak_rate:.1%} | {r.object_leak_rate:.1%} | {r.buckets} | {r.over_redaction:.2%} "
            f"| {r.fps:.1f} | {r.cpu_ms:.0f} | {fps_ratio} | {leak_ratio} | {r.load:.1f} |")
    return "\n".join(lines)


def machine() -> str:
    import platform

    import onnxruntime

    return (f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), Python "
            f"{platform.python_version()}, onnxruntime {onnxruntime.__version__}")


if __name__ == "__main__":
    import argparse

    from ..redact.evaluation.scenes import faces_scene, plates_scene

    parser = argparse.ArgumentParser(prog="python -m vidvault.bench.redaction_harness")
    parser.add_argument("--quick", action="store_true", help="720p scenes only")
    quick = parser.parse_args().quick
    results = evaluate([faces_scene(1280, 720), plates_scene(1280, 720)] if quick else standard_scenes())
    print()
    print(machine())
    print(table(results))
