"""`vidvault bench redact`: desensitized playback (detect every Nth frame
and track) beside per-frame detection with the same models and no tracking,
on videos with exact ground truth (vidvault.redact.evaluation)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .redaction_harness import SIZE_CONFIGS, STANDARD_CONFIGS, Result, evaluate
from ..errors import ModelMissingError
from ..redact.evaluation.photos import PHOTOS, photos_dir
from ..redact.evaluation.pedestrians import PEDESTRIAN_CLIP, footage_dir, footage_state
from ..redact.evaluation.scenes import face_size_scenes, faces_scene, plates_scene, standard_scenes
from ..redact.models import INSTALL_COMMAND, MODELS, models_dir
from ..redact.pinned_files import state


def missing_models() -> list[str]:
    """Detector models that are not installed intact, each with the command that installs them."""
    missing = []
    for spec in MODELS.values():
        found = state(spec, models_dir())
        if found != "installed":
            missing.append(f"model {models_dir() / spec.name} is {found} (run `{INSTALL_COMMAND}`)")
    return missing


def missing_footage() -> list[str]:
    """The pedestrian clip, when it is not installed intact, with the command that installs it."""
    found = footage_state()
    if found == "installed":
        return []
    return [f"test footage {footage_dir() / PEDESTRIAN_CLIP.name} is {found} (run `{INSTALL_COMMAND} --test-footage`)"]


def missing_inputs(*, sizes: bool = False) -> list[str]:
    """What the evaluation needs and does not find, each with the command that installs it
    (``sizes``: the face-size scenes, over the pedestrian clip's crossing)."""
    missing = missing_models() + (missing_footage() if sizes else [])
    for spec in PHOTOS:
        found = state(spec, photos_dir())
        if found != "installed":
            missing.append(f"test photo {photos_dir() / spec.name} is {found} "
                           f"(run `{INSTALL_COMMAND} --test-photos`)")
    try:
        import skimage  # noqa: F401 - the face photos and backgrounds ship inside it
    except ImportError:
        missing.append("the Python package scikit-image (face photos, backgrounds) is not installed "
                       "(run `pip install 'vidvault[test]'`)")
    return missing


def run(directory: Path, *, quick: bool, seconds: float | None = None, sizes: bool = False,  # type: ignore[no-untyped-def]
        say=print) -> list[Result]:
    """The standard scenes, or with ``sizes`` one scene per face-size bucket
    over a real CCTV background, each with its configurations."""
    missing = missing_inputs(sizes=sizes)
    if missing:
        raise ModelMissingError("`vidvault bench redact` cannot run: " + "; ".join(missing),
                                model=None, path=str(models_dir()))
    if sizes:
        scenes = face_size_scenes((720,) if quick else (720, 1080))
    else:
        scenes = [faces_scene(1280, 720), plates_scene(1280, 720)] if quick else standard_scenes()
    if seconds is not None:
        scenes = [dataclasses.replace(s, seconds=seconds) for s in scenes]
    return evaluate(scenes, SIZE_CONFIGS if sizes else STANDARD_CONFIGS, workdir=directory, say=say)


def baseline_name() -> str:
    return next(iter(STANDARD_CONFIGS))
