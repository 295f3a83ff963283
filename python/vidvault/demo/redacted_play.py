"""The desensitized-playback step of `vidvault demo`: a real face photo
(scikit-image's astronaut) walks through generated footage; playback hides
it, and the demo checks the face's detail is gone from every frame."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import av
import numpy as np

from ..media.synthetic import synthetic_pictures
from ..redact.config import Redaction
from ..timeutil import NS_PER_SECOND
from .file_to_store import ingest_file

CAMERA = "34020000001320000004"
FRAMES = 25


def _detail(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x0, y0, x1, y1 = box
    g = image[y0:y1, x0:x1].astype(np.float32).mean(axis=2)
    return float(np.abs(np.diff(g, axis=0)).mean() + np.abs(np.diff(g, axis=1)).mean())


def run(store: Any, base: Path, start_ns: int, say: Callable[[str], None]) -> bool:
    try:
        from skimage import data
    except ImportError:
        say("redacted play  skipped: needs scikit-image for its face photo (pip install scikit-image)")
        return True
    face = data.astronaut()[0:250, 130:320]  # head and shoulders; the face is at (45..140, 50..180)
    path = base / "entrance.mp4"
    truth = []
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"preset": "veryfast"}
        for i, pic in enumerate(synthetic_pictures(640, 360, FRAMES, seed=7)):
            x, y = 80 + 8 * i, 60
            pic[y : y + 250, x : x + 190] = face
            truth.append((x + 45, y + 50, x + 140, y + 180))
            out.mux(stream.encode(av.VideoFrame.from_ndarray(pic, format="rgb24")))
        out.mux(stream.encode(None))
    store.add_camera(CAMERA, labels={"area": "district-3", "place": "entrance"})
    ingest_file(store, CAMERA, path, start_ns)
    end = start_ns + 2 * NS_PER_SECOND
    raw = [f.image for f in store.play(CAMERA, start_ns, end, raw=True)]
    t = time.perf_counter()
    played = list(store.play(CAMERA, start_ns, end, redact=Redaction()))
    elapsed = time.perf_counter() - t
    boxes = sum(len(f.boxes) for f in played)
    before = np.mean([_detail(img, box) for img, box in zip(raw, truth)])
    after = np.mean([_detail(f.image, box) for f, box in zip(played, truth)])
    hidden_everywhere = all(_detail(f.image, box) < 0.25 * _detail(img, box)
                            for f, img, box in zip(played, raw, truth))
    say(f"redacted play  camera {CAMERA}: {len(played)} frames with a real face (astronaut photo), "
        f"{boxes} boxes blurred ({', '.join(sorted({b.kind for f in played for b in f.boxes}))}) "
        f"in {elapsed:.1f} s incl. loading models; face detail {before:.1f} -> {after:.1f}, "
        f"hidden on every frame: {hidden_everywhere}")
    return hidden_everywhere and len(played) == FRAMES
