"""`vidvault bench redact`: desensitized playback (detect every Nth frame
and track) beside per-frame detection with the same models and no tracking,
on videos with exact ground truth (vidvault.redact.evaluation)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .redaction_harness import STANDARD_CONFIGS, Result, evaluate
from ..redact.evaluation.scenes import faces_scene, plates_scene, standard_scenes


def run(directory: Path, *, quick: bool, seconds: float | None = None, say=print) -> list[Result]:  # type: ignore[no-untyped-def]
    scenes = [faces_scene(1280, 720), plates_scene(1280, 720)] if quick else standard_scenes()
    if seconds is not None:
        scenes = [dataclasses.replace(s, seconds=seconds) for s in scenes]
    return evaluate(scenes, STANDARD_CONFIGS, workdir=directory, say=say)


def baseline_name() -> str:
    return next(iter(STANDARD_CONFIGS))
