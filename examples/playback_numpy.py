"""Desensitized playback to numpy frames.

Shows: ``store.play(camera, start, end)`` yields decoded pictures as
``HxWx3 uint8`` RGB numpy arrays with faces and licence plates already
blurred (the default: no argument needed, and no way to get raw pictures
by accident), together with the boxes it hid. The footage is generated: a
real face photo (scikit-image's astronaut) walks across a synthetic scene;
the example measures the face's fine detail in the raw pictures
(``raw=True``, the explicit and separately authorized path) and in the
desensitized ones, and fails unless playback removed it on every frame.

Needs the detector models (``vidvault models install``; they are read from
``$VIDVAULT_MODELS``) and scikit-image for the photo. Run::

    python examples/playback_numpy.py [WORKDIR]

Exits non-zero when a face stays visible.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import av
import numpy as np
from skimage import data

import vidvault

CAMERA = "34020000001320000004"
T0 = 1_763_700_000 * 1_000_000_000  # 2025-11-21T04:40:00Z
NS = 1_000_000_000
FPS = 25


def check(ok: object, what: str) -> None:
    """Fails the example (exit status 1) when a result is not what it should be."""
    if not ok:
        raise SystemExit(f"FAILED: {what}")


def encode_walking_face(path: Path, frames: int = 2 * FPS) -> list[tuple[int, int, int, int]]:
    """640x360 H.264 (libx264, one-second closed GOPs) of a face photo moving
    right over a gradient; returns the face's box (x0, y0, x1, y1) per frame."""
    face = data.astronaut()[0:250, 130:320]  # head and shoulders; the face is at (45..140, 50..180)
    y, x = np.mgrid[0:360, 0:640]
    background = np.stack([x % 256, y % 256, (x + y) % 256], axis=2).astype(np.uint8)
    boxes = []
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "veryfast",
                          "x264-params": f"keyint={FPS}:min-keyint={FPS}:scenecut=0:bframes=0"}
        for i in range(frames):
            pic = background.copy()
            fx, fy = 80 + 4 * i, 60
            pic[fy:fy + 250, fx:fx + 190] = face
            boxes.append((fx + 45, fy + 50, fx + 140, fy + 180))
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")))
        out.mux(stream.encode(None))
    return boxes


def detail(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Mean absolute difference between neighbouring pixels inside ``box``:
    high for a sharp face, low once it is blurred."""
    x0, y0, x1, y1 = box
    g = image[y0:y1, x0:x1].astype(np.float32).mean(axis=2)
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


def main(workdir: Path) -> int:
    workdir.mkdir(parents=True)
    truth = encode_walking_face(workdir / "entrance.mp4")
    with vidvault.Store.create(workdir / "store", key=vidvault.generate_key()) as store:
        store.add_camera(CAMERA, labels={"place": "entrance"})
        vidvault.ingest(store, CAMERA, str(workdir / "entrance.mp4"), start=T0)
        end = T0 + 2 * NS

        shown = list(store.play(CAMERA, T0, end))  # desensitized by default
        raw = [f.image for f in store.play(CAMERA, T0, end, raw=True)]

    check(len(shown) == len(raw) == len(truth), f"{len(shown)} pictures played, {len(truth)} recorded")
    first = shown[0]
    check(isinstance(first.image, np.ndarray) and first.image.shape == (360, 640, 3)
          and first.image.dtype == np.uint8, "pictures are not 360x640x3 uint8 arrays")
    check(all(f.redacted for f in shown), "a picture is not marked as redacted")
    print(f"played         {len(shown)} pictures, {first.image.shape} {first.image.dtype}, "
          f"{shown[-1].ts - first.ts} ns from first to last")
    print(f"hidden         {sum(len(f.boxes) for f in shown)} boxes "
          f"({', '.join(sorted({b.kind for f in shown for b in f.boxes}))})")

    before = [detail(img, box) for img, box in zip(raw, truth)]
    after = [detail(f.image, box) for f, box in zip(shown, truth)]
    print(f"face detail    raw {np.mean(before):.1f} -> desensitized {np.mean(after):.1f} (mean over frames)")
    check(all(a < 0.25 * b for a, b in zip(after, before)), "the face stays visible on some frame")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(main(Path(sys.argv[1])))
    with tempfile.TemporaryDirectory(prefix="vidvault-play-") as tmp:
        sys.exit(main(Path(tmp) / "work"))
