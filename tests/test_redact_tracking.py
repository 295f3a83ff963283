"""The tracker on real H.264 video (libx264) with exact ground truth: a
small face moving fast stays hidden between detections, two faces that
cross keep their own tracks, and what is hidden beyond the faces stays
small. The CenterFace model is the real one of `vidvault models install`;
the faces are scikit-image's astronaut photo, composited over a real photo."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from vidvault.redact import Redaction, RedactingPlayer
from vidvault.redact.boxes import iou_matrix
from vidvault.redact.evaluation.metrics import LEAK_FRACTION, hidden_mask
from vidvault.redact.evaluation.photos import astronaut
from vidvault.redact.evaluation.scenes import Mover, Scene, encode

WIDTH, HEIGHT = 1280, 720
ONLY_FACES = dict(plates=False, people=None, threads=2)


def played(path: Path, redaction: Redaction):
    with av.open(str(path)) as c:
        pictures = [(i, f.to_ndarray(format="rgb24")) for i, f in enumerate(c.decode(video=0))]
    return list(RedactingPlayer(redaction).run(pictures))


def leaks_and_over_redaction(frames, truths) -> tuple[list[int], float]:
    """Frames on which some face leaked, and the largest share of a frame
    hidden outside every face."""
    leaked, worst = [], 0.0
    for frame, truth in zip(frames, truths, strict=True):
        hidden = hidden_mask(frame.boxes, HEIGHT, WIDTH)
        faces = np.zeros_like(hidden)
        for obj in truth.objects:
            x0, y0, x1, y1 = (int(round(v)) for v in obj.box)
            x0, y0 = max(0, x0), max(0, y0)
            faces[y0:y1, x0:x1] = True
            if (~hidden[y0:y1, x0:x1]).mean() > LEAK_FRACTION:
                leaked.append(truth.index)
        worst = max(worst, float((hidden & ~faces).mean()))
    return sorted(set(leaked)), worst


@pytest.fixture(scope="module")
def fast_small_face(tmp_path_factory):
    """A 14 px face crossing at 10 px a frame (250 px/s): 30 px, two of its
    sizes, between two detections of every 3rd frame."""
    travel = 10 * 19 / WIDTH
    scene = Scene("fast-small", WIDTH, HEIGHT, "motorcycle",
                  [Mover(astronaut(), [(0.0, 0.3, 0.5, 14), (1.0, 0.3 + travel, 0.5, 14)])], seconds=0.8, pole=None)
    path = tmp_path_factory.mktemp("fast") / "fast.mp4"
    return path, encode(scene, path)


def test_a_14_px_face_moving_10_px_a_frame_is_hidden_on_every_frame_with_tiles(fast_small_face):
    path, truths = fast_small_face
    frames = played(path, Redaction(face_tiles=2.0, **ONLY_FACES))
    assert len(frames) == len(truths) == 20
    leaked, over = leaks_and_over_redaction(frames, truths)
    assert leaked == []
    # What is hidden beside the face: the margins and the swept area of a 14 px box, not a band across the frame.
    assert over < 0.002


def test_two_crossing_faces_keep_their_own_tracks(tmp_path):
    """Two 40 px faces on diagonals that cross mid-clip (one covers the other
    for a few frames), each moving 15 px a frame: every detected box of a
    track lies on the same face from the track's first frame to its last."""
    a = astronaut()
    mirrored = a.mirrored()
    scene = Scene("crossing", WIDTH, HEIGHT, "motorcycle",
                  [Mover(a, [(0.0, 0.3, 0.4, 40), (1.0, 0.6, 0.6, 40)]),
                   Mover(mirrored, [(0.0, 0.6, 0.4, 40), (1.0, 0.3, 0.6, 40)])], seconds=1.0, pole=None)
    truths = encode(scene, tmp_path / "crossing.mp4")
    frames = played(tmp_path / "crossing.mp4", Redaction(**ONLY_FACES))
    owners: dict[int, set[int]] = {}
    for frame, truth in zip(frames, truths, strict=True):
        faces = np.array([o.box for o in truth.objects], dtype=np.float32)
        if iou_matrix(faces[:1], faces[1:])[0, 0] > 0:
            continue  # the faces overlap: either is right
        for b in frame.boxes:
            if b.state == "detected":
                overlap = iou_matrix(np.array([[b.x0, b.y0, b.x1, b.y1]], np.float32), faces)[0]
                if overlap.max() > 0:
                    owners.setdefault(b.track, set()).add(int(overlap.argmax()))
    assert owners and all(len(faces) == 1 for faces in owners.values()), owners
    assert {f for faces in owners.values() for f in faces} == {0, 1}
    leaked, over = leaks_and_over_redaction(frames, truths)
    assert len(leaked) <= 2 and over < 0.01, (leaked, over)
