"""Small faces through enlarged tiles (`Redaction(face_tiles=...)`): the tile
geometry, boxes mapped back and merged across tiles, the change gate, and a
real face photo of ~20 px that the single downscaled pass misses and the
tiles find, on real H.264 video. The CenterFace model is the real one
installed by `vidvault models install`."""

from __future__ import annotations

import av
import numpy as np
import pytest

import vidvault
from vidvault.redact import Redaction, RedactingPlayer
from vidvault.redact.boxes import iou_matrix
from vidvault.redact.centerface import CenterFaceDetector
from vidvault.redact.evaluation.metrics import LEAK_FRACTION, hidden_mask
from vidvault.redact.evaluation.photos import astronaut, backgrounds
from vidvault.redact.evaluation.scenes import Mover, Scene, encode
from vidvault.redact.resize import resize_rgb
from vidvault.redact.tiled_faces import SWEEP, TiledFaceDetector, uncut, windows
from vidvault.redact.tiles import merged, tile_grid, to_frame


@pytest.mark.parametrize("width,height", [(1280, 720), (1920, 1080), (768, 576), (300, 200), (256, 1000)])
def test_tiles_cover_the_frame_with_the_overlap_asked_for(width, height):
    tile, overlap = 256, 64
    tiles = tile_grid(width, height, tile, overlap)
    covered = np.zeros((height, width), dtype=np.int32)
    for x0, y0, x1, y1 in tiles:
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        assert (x1 - x0, y1 - y0) == (min(tile, width), min(tile, height))  # one size: one batch
        covered[y0:y1, x0:x1] += 1
    assert covered.min() >= 1
    # Any square of `overlap` px lies whole inside some tile: a face that small is never only cut.
    for x in range(0, width - overlap + 1, 37):
        for y in range(0, height - overlap + 1, 37):
            assert any(x0 <= x and x + overlap <= x1 and y0 <= y and y + overlap <= y1
                       for x0, y0, x1, y1 in tiles), (x, y)


def test_tile_grid_refuses_an_overlap_as_large_as_the_tile():
    with pytest.raises(ValueError, match="overlap"):
        tile_grid(1280, 720, 64, 64)


def test_boxes_are_mapped_back_from_enlarged_tiles_and_merged_across_them():
    # The same face seen by two overlapping tiles at 2x, and a second face in one tile only.
    left = to_frame(np.array([[420, 100, 460, 150, 0.9]]), (0, 0, 256, 256), 2.0)
    right = to_frame(np.array([[36, 100, 76, 150, 0.8], [300, 300, 340, 350, 0.7]]), (192, 0, 448, 256), 2.0)
    np.testing.assert_allclose(left[0, :4], [210, 50, 230, 75])
    np.testing.assert_allclose(right[0, :4], [210, 50, 230, 75])
    out = merged([left, right, np.zeros((0, 5), np.float32)], 0.3)
    assert len(out) == 2
    np.testing.assert_allclose(out[0], [210, 50, 230, 75, 0.9])  # the better score of the two kept
    np.testing.assert_allclose(out[1, :4], [342, 150, 362, 175])
    assert merged([], 0.3).shape == (0, 5)


def composite(size: float, x: int, y: int, width: int = 1280, height: int = 720):
    """The astronaut's face (a real photo) at ``size`` px (box height) over a
    real background photo; the frame and the face's true box."""
    face = astronaut()
    k = size / face.box_height
    sw, sh = round(face.image.shape[1] * k), round(face.image.shape[0] * k)
    frame = resize_rgb(backgrounds()["motorcycle"], width, height).copy()
    frame[y : y + sh, x : x + sw] = resize_rgb(face.image, sw, sh)
    kx, ky = sw / face.image.shape[1], sh / face.image.shape[0]
    box = np.array([x + face.box[0] * kx, y + face.box[1] * ky, x + face.box[2] * kx, y + face.box[3] * ky])
    return frame, box


def found(detections: np.ndarray, box: np.ndarray, min_score: float = 0.35) -> bool:
    hits = detections[detections[:, 4] >= min_score]
    return bool(len(hits) and iou_matrix(box[None], hits[:, :4]).max() > 0.3)


@pytest.fixture(scope="module")
def whole():
    return CenterFaceDetector(input_width=960, threads=2)


# Placed straddling the edge between the first two tile columns (x = 256 in the first tile's end).
@pytest.mark.parametrize("x", [600, 240])
def test_a_20_px_real_face_is_found_by_the_tiles_and_missed_by_the_single_pass(whole, x):
    frame, box = composite(20, x, 300)
    assert not found(whole.detect(frame), box)  # the default's one pass over the frame at 960 px
    tiled = TiledFaceDetector(whole, scale=2.0)
    assert found(tiled.detect(frame), box)


def test_a_still_picture_is_scanned_whole_once_then_only_by_the_sweep_and_round_the_face(whole):
    frame, box = composite(20, 600, 300)
    tiled = TiledFaceDetector(whole, scale=2.0)
    first = tiled.detect(frame)
    tiles = tile_grid(1280, 720, tiled.tile, tiled.overlap)
    assert tiled.scanned == len(tiles) and found(first, box)
    # The same picture again, with encoder-like noise: no motion, so only the sweep's tiles and a
    # window round the small face found are scanned, and the face is still reported.
    noisy = np.clip(frame.astype(np.int16) + np.random.default_rng(1).integers(-2, 3, frame.shape), 0, 255)
    pixels = tiled.scanned_pixels
    again = tiled.detect(noisy.astype(np.uint8))
    assert found(again, box) and len(again) == len(first)
    assert tiled.scanned_pixels - pixels <= SWEEP * 256 * 256 + 0.03 * 1280 * 720
    assert any(x0 <= box[0] and box[2] <= x1 and y0 <= box[1] and box[3] <= y1 for x0, y0, x1, y1 in tiled.windows)
    # Something changes in one corner: a window there is scanned, not the tiles holding it.
    changed = noisy.astype(np.uint8)
    changed[10:40, 10:40] = 255
    tiled.detect(changed)
    corner = [w for w in tiled.windows if w[0] <= 10 and w[1] <= 10 and 40 <= w[2] and 40 <= w[3]]
    assert corner and all((w[2] - w[0]) * (w[3] - w[1]) <= 96 * 96 for w in corner)


def test_a_face_that_walks_in_is_found_by_its_motion_at_once(whole):
    empty = resize_rgb(backgrounds()["motorcycle"], 1280, 720)  # the background alone
    frame, box = composite(20, 900, 500)
    tiled = TiledFaceDetector(whole, scale=2.0, sweep=1)
    assert not found(tiled.detect(empty), box)
    pixels = tiled.scanned_pixels
    assert found(tiled.detect(frame), box)
    assert tiled.scanned_pixels - pixels < 0.15 * 1280 * 720  # a window round it and one tile, not the frame


def test_a_face_that_appears_without_motion_is_found_by_the_sweep_within_its_period(whole):
    """`change=inf` counts no motion at all: only the sweep can find the face,
    and it must within sweep_period detections (28 at 720p, one tile per detection)."""
    empty = resize_rgb(backgrounds()["motorcycle"], 1280, 720)
    frame, box = composite(20, 1100, 600)  # in the last tiles of the sweep's order
    tiled = TiledFaceDetector(whole, scale=2.0, change=float("inf"))
    period = tiled.sweep_period(1280, 720)
    assert period == -(-len(tile_grid(1280, 720, 256, 64)) // SWEEP) == 28
    tiled.detect(empty)
    hits = [found(tiled.detect(frame), box) for _ in range(period)]
    assert not hits[0]  # not by motion, nor by the first tiles of the sweep
    assert hits[-1]     # by the sweep, within its period
    tiled.reset()
    tiled.detect(frame)
    assert tiled.scanned == len(tile_grid(1280, 720, 256, 64))  # after a reset, every tile at once


def test_motion_windows_hold_every_wanted_block_with_context_and_no_larger_than_a_tile():
    wanted = np.zeros((90, 160), dtype=bool)
    wanted[10:12, 20:22] = True       # a small face: one window
    wanted[:, 100:106] = True         # a pole from top to bottom: cut into tiles
    out = windows(wanted, 1280, 720, 256, 64)
    for x0, y0, x1, y1 in out:
        assert 0 <= x0 < x1 <= 1280 and 0 <= y0 < y1 <= 720
        assert x1 - x0 <= 256 and y1 - y0 <= 256
    ys, xs = np.nonzero(wanted)
    for y, x in zip(ys, xs):
        px, py = x * 8, y * 8
        assert any(x0 <= px and px + 8 <= x1 and y0 <= py and py + 8 <= y1 for x0, y0, x1, y1 in out)
    small = [w for w in out if w[0] < 400]
    assert len(small) == 1 and (small[0][2] - small[0][0]) * (small[0][3] - small[0][1]) <= 96 * 96
    assert windows(np.zeros((90, 160), dtype=bool), 1280, 720, 256, 64) == []


def test_playback_with_face_tiles_hides_a_small_face_the_default_leaks(tmp_path):
    """Real H.264 (libx264): a real face of 18-22 px walking (80 px/s) across a 720p frame."""
    scene = Scene("small", 1280, 720, "motorcycle",
                  [Mover(astronaut(), [(0.0, 0.3, 0.5, 18), (1.0, 0.35, 0.5, 22)])], seconds=0.8, pole=None)
    truths = encode(scene, tmp_path / "small.mp4")

    def leaked_frames(redaction: Redaction) -> int:
        with av.open(str(tmp_path / "small.mp4")) as c:
            pictures = [(i, f.to_ndarray(format="rgb24")) for i, f in enumerate(c.decode(video=0))]
        played = list(RedactingPlayer(redaction).run(pictures))
        assert len(played) == len(truths) == 20
        leaks = 0
        for frame, truth in zip(played, truths):
            hidden = hidden_mask(frame.boxes, 720, 1280)
            x0, y0, x1, y1 = (int(round(v)) for v in truth.objects[0].box)
            leaks += (~hidden[y0:y1, x0:x1]).mean() > LEAK_FRACTION
        return leaks

    common = dict(plates=False, people=None, threads=2)
    assert leaked_frames(Redaction(**common)) == 20
    assert leaked_frames(Redaction(face_tiles=2.0, **common)) == 0


@pytest.mark.parametrize("bad", [0.5, 5, True, "2", float("nan")])
def test_face_tiles_is_validated_with_a_clear_error(bad):
    with pytest.raises(vidvault.InvalidArgumentError, match=r"face_tiles=.*None \(no tiles\) or an enlargement"):
        Redaction(face_tiles=bad)


def test_face_tiles_without_faces_is_refused():
    with pytest.raises(vidvault.InvalidArgumentError, match="needs faces=True"):
        Redaction(faces=False, face_tiles=2.0)


def test_face_tiles_with_a_missing_model_fails_before_any_frame(tmp_path):
    with pytest.raises(vidvault.ModelMissingError, match="centerface.onnx"):
        RedactingPlayer(Redaction(face_tiles=2.0, models=tmp_path / "empty"))


def test_face_tiles_are_in_the_description_an_export_manifest_holds():
    assert Redaction(face_tiles=2.0).describe()["face_tiles"] == "2.0"
    assert Redaction().describe()["face_tiles"] is None


def test_face_size_scenes_keep_every_face_inside_its_bucket_at_both_resolutions():
    from vidvault.redact.evaluation.metrics import BUCKETS
    from vidvault.redact.evaluation.scenes import SIZE_BUCKETS, face_size_scenes

    scenes = face_size_scenes()
    assert len(scenes) == 2 * len(SIZE_BUCKETS) == 10
    names = {(lo, hi): name for lo, hi, name in BUCKETS}
    for scene in scenes:
        lo, hi = next(s for s in SIZE_BUCKETS if f"-{s[0]}-{s[1]}px-" in scene.name)
        assert (lo, hi) in names  # the metrics count them in the same bucket
        assert scene.size_height == scene.height  # sizes are frame pixels at 720p and 1080p alike
        for mover in scene.movers:
            for t in (0.0, 0.25, 0.5, 0.75, 1.0):
                assert lo <= mover.at(t)[2] < hi, (scene.name, mover.sprite.name, t)
        assert any(m.path[0][1] < 0 for m in scene.movers)     # one enters from the left
        assert any(m.path[-1][1] > 1 or m.path[-1][1] < 0 for m in scene.movers)  # one leaves


def test_a_face_cut_by_a_window_edge_inside_the_frame_is_left_to_the_other_passes():
    window = (256, 256, 512, 512)
    rows = np.array([[300, 300, 340, 350, 0.9],    # whole inside: kept
                     [480, 300, 512, 350, 0.95],   # reaches the right edge: the part of a larger face
                     [256, 400, 300, 450, 0.9]],   # reaches the left edge
                    dtype=np.float32)
    np.testing.assert_array_equal(uncut(rows, window, 1280, 720), rows[:1])
    # At the frame's own edge nothing is cut: a face leaving the frame is kept.
    edge = np.array([[0, 10, 30, 50, 0.9], [1250, 690, 1280, 720, 0.8]], dtype=np.float32)
    assert len(uncut(edge, (0, 0, 256, 256), 1280, 720)) == 1
    assert len(uncut(edge, (1024, 464, 1280, 720), 1280, 720)) == 1
