"""Redaction fails closed on whatever boxes a detector returns (issue 11,
breach 6): swapped corners are hidden, not skipped; huge and negative values
neither crash the kernels nor leave the face in view; non-finite values and
wrong shapes stop playback with a RedactionError naming the detector.

Real decoded pictures (an encoded clip, stored and played back) and a
caller's detector that always reports the same face box: every test looks
at the pixels inside that box."""

from __future__ import annotations

import numpy as np
import pytest

import vidvault
from vidvault.redact import RedactingPlayer, Redaction

from helpers import NS, T0

CAM = "cam"
FACE = (200.0, 100.0, 300.0, 220.0)  # x0, y0, x1, y1 in the 640x360 pictures


class Fixed:
    """A detector that returns ``rows`` on every frame."""

    kind = "face"

    def __init__(self, rows):
        self.rows = rows

    def detect(self, image):
        return self.rows


@pytest.fixture(scope="module")
def footage(tmp_path_factory, clip):
    store = vidvault.Store.create(tmp_path_factory.mktemp("boxes") / "store", key=vidvault.generate_key())
    vidvault.ingest(store, CAM, str(clip()), start=T0, create_camera=True)
    raw = [f.image.copy() for f in store.play(CAM, T0, T0 + NS, raw=True)]
    yield store, raw
    store.close()


def play(store, rows, **settings):
    redaction = Redaction(faces=False, plates=False, people=None, detectors=[Fixed(rows)], **settings)
    return list(store.play(CAM, T0, T0 + NS, redact=redaction))


def changed_inside_face(raw, played) -> float:
    """Fraction of the face box's pixels that differ from the decoded picture."""
    x0, y0, x1, y1 = (int(v) for v in FACE)
    return float((raw[y0:y1, x0:x1] != played[y0:y1, x0:x1]).any(axis=2).mean())


x0, y0, x1, y1 = FACE
HIDDEN = {
    "ordered": [[x0, y0, x1, y1, 0.9]],
    "x swapped": [[x1, y0, x0, y1, 0.9]],
    "y swapped": [[x0, y1, x1, y0, 0.9]],
    "both swapped": [[x1, y1, x0, y0, 0.9]],
    "reaches far left (1e30)": [[-1e30, y0, x1, y1, 0.9]],
    "reaches far right (1e30)": [[x0, y0, 1e30, y1, 0.9]],
    "past float32 (1e39)": [[x0, -1e39, x1, 1e39, 0.9]],
    "swapped and huge": [[1e30, 1e30, -1e30, -1e30, 0.9]],
    "float64 array, extra columns": np.array([[x0, y0, x1, y1, 0.9, 7.0, 3.0]]),
    "int array": np.array([[int(x1), int(y1), int(x0), int(y0), 1]]),
}


@pytest.mark.parametrize("track", [True, False], ids=["tracked", "per-frame"])
@pytest.mark.parametrize("shape", ["ellipse", "rectangle"])
@pytest.mark.parametrize("label", HIDDEN)
def test_every_box_a_detector_gives_is_hidden(footage, label, shape, track):
    store, raw = footage
    played = play(store, HIDDEN[label], shape=shape, track=track, method="fill", color=(255, 0, 255),
                  detect_every=3 if track else 1)
    assert len(played) == len(raw) > 0
    for i, (r, p) in enumerate(zip(raw, played)):
        assert p.redacted and p.boxes, f"{label}: frame {i} shown with no box hidden"
        # A fill is exact: most of the face box is magenta (the ellipse misses its corners).
        assert changed_inside_face(r, p.image) > 0.7, f"{label}: frame {i} face box left in view"


BAD = {
    "NaN": [[x0, y0, np.nan, y1, 0.9]],
    "inf": [[x0, y0, np.inf, y1, 0.9]],
    "-inf score": [[x0, y0, x1, y1, -np.inf]],
    "NaN score": [[x0, y0, x1, y1, np.nan]],
    "four columns": [[x0, y0, x1, y1]],
    "one flat row": [x0, y0, x1, y1, 0.9],
    "a number": 3.0,
    "None": None,
    "ragged": [[x0, y0, x1, y1, 0.9], [1, 2]],
    "strings": [["a", "b", "c", "d", "e"]],
    "3-d": np.zeros((1, 1, 5)),
    "complex": np.array([[x0, y0, x1, y1, 0.9]], dtype=complex),
    "no columns": np.zeros((2, 0)),
}


@pytest.mark.parametrize("label", BAD)
def test_malformed_detections_stop_playback(footage, label):
    store, _ = footage
    with pytest.raises(vidvault.RedactionError) as e:
        play(store, BAD[label])
    message = str(e.value)
    assert "Fixed" in message and "ts=" in message, message
    assert "fix Fixed.detect()" in message and "no unchecked frame is shown" in message, message


def test_a_box_entirely_outside_the_picture_hides_nothing_and_nothing_else(footage):
    store, raw = footage
    played = play(store, [[-500, -500, -400, -400, 0.9], [900, 10, 1000, 50, 0.9]])
    for r, p in zip(raw, played):
        assert p.redacted and p.boxes == ()
        assert np.array_equal(r, p.image)


class Shrinking:
    """A face seen large, then small, then lost: the box the tracker coasts
    on must keep covering it, not shrink through zero to nothing."""

    kind = "face"

    def __init__(self):
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        if self.calls == 1:
            return [[150, 60, 350, 260, 0.9]]   # 200 px
        if self.calls == 2:
            return [[x0, y0, x1, y1, 0.9]]       # the face box, inside the first
        return np.zeros((0, 5))


def test_a_lost_track_that_was_shrinking_stays_hidden(footage):
    store, raw = footage
    redaction = Redaction(faces=False, plates=False, people=None, detectors=[Shrinking()], method="fill", detect_every=3,
                          keep_lost=1.0, shape="rectangle")
    played = list(store.play(CAM, T0, T0 + NS, redact=redaction))
    # Detections on frames 0 and 3; coasting from frame 4 for keep_lost (1 s = 25 frames).
    for i in range(4, 12):
        assert changed_inside_face(raw[i], played[i].image) > 0.99, f"frame {i}: {played[i].boxes}"
        assert {b.state for b in played[i].boxes} == {"coasting"}


def test_kernel_refuses_swapped_regions_and_survives_extreme_ones(footage):
    """The Rust kernel, called directly: swapped corners are an error (it
    never reads them as empty), extreme ints neither panic nor hang."""
    from vidvault._core import redact_regions

    _, raw = footage
    image = raw[0].copy()
    with pytest.raises(ValueError, match="swapped"):
        redact_regions(image, [(300, 220, 200, 100)], method="blur", shape="ellipse")
    assert np.array_equal(image, raw[0])
    big = 2**63 - 1
    redact_regions(image, [(-big - 1, -big - 1, big, big)], method="blur", shape="ellipse", strength=3e38)
    redact_regions(image, [(-big - 1, 100, 300, 220)], method="pixelate", shape="rectangle", strength=3e38)
    assert not np.array_equal(image, raw[0])


def test_the_player_checks_boxes_given_straight_to_hide(footage):
    """RedactingPlayer.hide is public: a swapped box given to it is hidden too."""
    from vidvault.redact.tracker import TrackedBox

    _, raw = footage
    player = RedactingPlayer(Redaction(faces=False, plates=False, people=None, detectors=[Fixed([])], method="fill"))
    image = raw[0].copy()
    hidden = player.hide(image, [TrackedBox("face", np.array([x1, y1, x0, y0], dtype=np.float32), 0.9, 1,
                                            "detected")])
    assert hidden and changed_inside_face(raw[0], image) > 0.99
    with pytest.raises(vidvault.RedactionError, match="not four finite numbers"):
        player.hide(image, [TrackedBox("face", np.array([0, 0, np.nan, 5], dtype=np.float32), 0.9, 1, "detected")])
