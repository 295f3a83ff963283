"""Test videos with exact ground truth: sprites cut from real photos move
over a real background on known paths (growing, shrinking, entering and
leaving the frame), and a pole cut from another photo sweeps across and
hides parts of them. Every frame comes with the true box of every face and
plate and the part of it the pole covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import av
import numpy as np

from ..resize import resize_rgb
from .pedestrians import empty_street
from .photos import Sprite, astronaut, backgrounds, lfw_faces, plates
from .truth import FrameTruth, Truth


@dataclass(frozen=True)
class Mover:
    """A sprite on a path: keyframes ``(t, cx, cy, size)`` with t in [0, 1]
    of the clip, centre as fractions of the frame, and size the pixels of
    the box's longer side at 720p (scaled with the frame height)."""

    sprite: Sprite
    path: Sequence[tuple[float, float, float, float]]

    def at(self, t: float) -> tuple[float, float, float]:
        keys = self.path
        if t <= keys[0][0]:
            return keys[0][1:]
        for a, b in zip(keys, keys[1:]):
            if a[0] <= t <= b[0]:
                w = (t - a[0]) / (b[0] - a[0])
                return tuple(x * (1 - w) + y * w for x, y in zip(a[1:], b[1:]))  # type: ignore[return-value]
        return keys[-1][1:]


@dataclass(frozen=True)
class Scene:
    name: str
    width: int
    height: int
    background: str
    movers: Sequence[Mover]
    seconds: float = 4.0
    fps: int = 25
    #: The pole's path: x of its left edge as a fraction of the width, from t=0 to t=1.
    pole: tuple[float, float] | None = (1.0, -0.1)
    #: Sizes of the movers are in pixels of this frame height (720: scaled with the
    #: frame; the frame's own height: the same pixels at every resolution).
    size_height: int = 720


def _paste(frame: np.ndarray, sprite: np.ndarray, x: int, y: int) -> None:
    h, w = sprite.shape[:2]
    fh, fw = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(fw, x + w), min(fh, y + h)
    if x1 > x0 and y1 > y0:
        frame[y0:y1, x0:x1] = sprite[y0 - y : y1 - y, x0 - x : x1 - x]


def render(scene: Scene) -> Iterator[tuple[np.ndarray, FrameTruth]]:
    """Frames (RGB) of the scene and their ground truth."""
    source = empty_street() if scene.background == STREET else backgrounds()[scene.background]
    bg = resize_rgb(source, scene.width, scene.height)
    pole_src = backgrounds()["rocket"]
    pole_w = max(8, scene.width // 24)
    # A vertical strip of the rocket photo (gantry and sky), stretched to full height.
    pole = resize_rgb(np.ascontiguousarray(pole_src[:, 300:340]), pole_w, scene.height)
    frames = int(scene.seconds * scene.fps)
    scale = scene.height / scene.size_height
    for i in range(frames):
        t = i / max(1, frames - 1)
        frame = bg.copy()
        truth = FrameTruth(i)
        for m in scene.movers:
            cx, cy, size = m.at(t)
            s = m.sprite
            k = size * scale / max(s.box_width, s.box_height)
            sw, sh = max(1, round(s.image.shape[1] * k)), max(1, round(s.image.shape[0] * k))
            kx, ky = sw / s.image.shape[1], sh / s.image.shape[0]
            # Place the sprite so that the centre of its box lands on (cx, cy).
            bx, by = (s.box[0] + s.box[2]) / 2 * kx, (s.box[1] + s.box[3]) / 2 * ky
            x, y = round(cx * scene.width - bx), round(cy * scene.height - by)
            _paste(frame, resize_rgb(s.image, sw, sh), x, y)
            box = (x + s.box[0] * kx, y + s.box[1] * ky, x + s.box[2] * kx, y + s.box[3] * ky)
            truth.objects.append(Truth(s.kind, s.name, box, max(box[2] - box[0], box[3] - box[1])))
        if scene.pole is not None:
            px = round((scene.pole[0] * (1 - t) + scene.pole[1] * t) * scene.width)
            _paste(frame, pole, px, 0)
            truth.pole = (max(0, px), min(scene.width, px + pole_w))
        yield frame, truth


def encode(scene: Scene, path: Path) -> list[FrameTruth]:
    """Encodes the scene with libx264 (2 s closed GOPs, 2 B-frames, CRF 23,
    as a camera might); returns the ground truth, frame by frame."""
    truths = []
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=scene.fps)
        stream.width, stream.height, stream.pix_fmt = scene.width, scene.height, "yuv420p"
        gop = 2 * scene.fps
        stream.options = {"preset": "veryfast", "crf": "23",
                          "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=2:open-gop=0"}
        for frame, truth in render(scene):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            truths.append(truth)
        out.mux(stream.encode(None))
    return truths


def faces_scene(width: int, height: int) -> Scene:
    a = astronaut()
    lfw = lfw_faces(5)
    movers = [
        # The astronaut walks towards the camera from the left and leaves on the right.
        Mover(a, [(0.0, -0.05, 0.45, 90), (0.7, 0.6, 0.5, 300), (1.0, 1.1, 0.5, 300)]),
        # A small astronaut far away, crossing right to left.
        Mover(a, [(0.0, 0.95, 0.2, 40), (1.0, 0.15, 0.25, 30)]),
        # Crowd faces of 20 to 64 px on different paths, some entering or leaving.
        Mover(lfw[0], [(0.0, 0.1, 0.8, 20), (1.0, 0.5, 0.8, 20)]),
        Mover(lfw[1], [(0.0, 0.3, 0.15, 28), (1.0, 0.8, 0.1, 28)]),
        Mover(lfw[2], [(0.0, 1.05, 0.7, 40), (1.0, 0.55, 0.65, 48)]),
        Mover(lfw[3], [(0.0, 0.75, 0.9, 64), (0.5, 0.7, 0.8, 56), (1.0, 0.7, 1.1, 56)]),
        Mover(lfw[4], [(0.0, 0.5, 0.35, 32), (1.0, 0.5, 0.35, 32)]),
    ]
    return Scene(f"faces-{height}p", width, height, "motorcycle", movers)


def plates_scene(width: int, height: int) -> Scene:
    car, scooter = plates()
    movers = [
        # A car plate approaching: 60 px wide far away to 300 px close up.
        Mover(car, [(0.0, 0.3, 0.4, 60), (1.0, 0.45, 0.7, 300)]),
        # A plate passing across the frame at constant size, leaving on the right.
        Mover(car, [(0.0, 0.05, 0.2, 120), (1.0, 1.15, 0.2, 120)]),
        # Small plates: 40 px and 24 px wide.
        Mover(scooter, [(0.0, 0.9, 0.75, 40), (1.0, 0.65, 0.85, 60)]),
        Mover(car, [(0.0, 0.85, 0.45, 24), (1.0, 0.7, 0.45, 36)]),
        # A driver's face, for good measure.
        Mover(astronaut(), [(0.0, 0.6, 0.3, 70), (1.0, 0.75, 0.3, 80)]),
    ]
    return Scene(f"plates-{height}p", width, height, "floor", movers)


#: The background name of the real CCTV scene: the pedestrian clip's crossing, empty (:func:`.pedestrians.empty_street`).
STREET = "street"
#: Face sizes of the size evaluation (pixels of the box's longer side, whatever the resolution).
SIZE_BUCKETS = ((12, 20), (20, 32), (32, 48), (48, 96), (96, 300))


def face_size_scene(width: int, height: int, sizes: tuple[int, int]) -> Scene:
    """Real faces of ``sizes[0]`` to just under ``sizes[1]`` px (in this
    frame's pixels) crossing the pedestrian clip's empty crossing at walking
    speed (1-3 s across a third of the frame): two astronauts (one mirrored)
    and four LFW faces, one entering from the left, one leaving on the
    right, one standing still, one coming closer (growing through the
    bucket); the pole sweeps across and covers parts of them."""
    lo, hi = sizes
    top = hi - 0.01 * hi  # stays inside the bucket
    a = astronaut()
    mirrored = a.mirrored()
    lfw = lfw_faces(4)
    big = lo >= 96  # at 96-300 px a face's photo fills much of the frame height: fewer, wider-spaced lanes
    lanes = (0.3, 0.75) if big else (0.2, 0.35, 0.5, 0.65, 0.8, 0.92)
    mid = (lo + top) / 2
    movers = [
        # Enters from the left, coming closer: grows through the whole bucket.
        Mover(a, [(0.0, -0.05, lanes[0], lo), (1.0, 0.4, lanes[0], top)]),
        # Crosses right to left and leaves.
        Mover(mirrored, [(0.0, 0.8, lanes[1], mid), (1.0, -0.1, lanes[1], mid)]),
    ]
    if not big:
        movers += [
            Mover(lfw[0], [(0.0, 0.55, lanes[2], lo), (1.0, 1.05, lanes[2], lo)]),   # leaves on the right
            Mover(lfw[1], [(0.0, 0.3, lanes[3], mid), (1.0, 0.3, lanes[3], mid)]),   # stands still
            Mover(lfw[2], [(0.0, 0.9, lanes[4], top), (1.0, 0.6, lanes[4], lo)]),    # walks away, shrinking
            Mover(lfw[3], [(0.0, 0.1, lanes[5], mid), (1.0, 0.45, lanes[5], mid)]),
        ]
    return Scene(f"street-faces-{lo}-{hi}px-{height}p", width, height, STREET, movers, size_height=height)


def face_size_scenes(heights: Sequence[int] = (720, 1080)) -> list[Scene]:
    """One scene per size bucket and resolution (16:9)."""
    return [face_size_scene(h * 16 // 9, h, sizes) for h in heights for sizes in SIZE_BUCKETS]


def standard_scenes() -> list[Scene]:
    return [faces_scene(1280, 720), plates_scene(1280, 720), faces_scene(1920, 1080), plates_scene(1920, 1080)]
