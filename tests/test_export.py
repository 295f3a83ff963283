"""Export packages from real encoded footage: the clip is clean for ffprobe,
decodes fully, starts at the requested instant, and verifies offline."""

from __future__ import annotations

import hashlib
from fractions import Fraction

import av
import numpy as np
import pytest

import vidvault
from vidvault import media
from vidvault.export import manifest, watermark
from vidvault.media import mp4box

from media_checks import NS, T0, decoded_times, ffprobe_errors

# (codec, B-frames, width, height, seconds, container): both codecs, with and
# without B-frames, 720p and 1080p, and MP4 / MPEG-TS / Matroska sources.
CASES = [
    ("h264", 0, 1280, 720, 3.0, "mp4"),
    ("h264", 2, 1280, 720, 3.0, "ts"),
    ("hevc", 0, 1280, 720, 3.0, "mkv"),
    ("hevc", 2, 1920, 1080, 2.0, "mp4"),
    ("h264", 3, 1920, 1080, 2.0, "mkv"),
]


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    """Each case encoded (libx264/libx265) and ingested into one store."""
    base = tmp_path_factory.mktemp("export")
    key = vidvault.generate_key()
    store = vidvault.Store.create(base / "store", key=key, roll_after=1.0)
    cameras = {}
    for i, (codec, bframes, w, h, seconds, ext) in enumerate(CASES):
        src = media.encode_synthetic(base / f"src{i}.{ext}", codec=codec, bframes=bframes, width=w, height=h,
                                     seconds=seconds, fps=25, seed=i)
        camera = f"cam-{i}"
        result = vidvault.ingest(store, camera, str(src), start=T0, create_camera=True)
        assert result.frames == int(seconds * 25) and result.clock == "given"
        cameras[CASES[i]] = camera
    yield store, cameras, base
    store.close()


@pytest.mark.parametrize("case", CASES, ids=[f"{c}-b{b}-{h}p-{e}" for c, b, _, h, _, e in CASES])
def test_export_is_clean_starts_at_start_and_verifies(footage, case):
    store, cameras, base = footage
    camera = cameras[case]
    # Start between frames and away from a keyframe, so the clip needs a
    # leading keyframe hidden by the edit list.
    start, end = T0 + 1_013_000_000, T0 + 1_800_000_000
    pkg = base / f"pkg-{camera}"
    result = store.export_clip(camera, start, end, pkg, raw=True, case="CASE-1", actor="clerk", reason="test")
    clip = pkg / manifest.CLIP

    assert ffprobe_errors(clip) == ""
    assert mp4box.read_layout(clip).moov_before_mdat  # faststart

    times = decoded_times(clip)
    assert len(times) == result.presented == 19  # frames at 1.04 .. 1.76 s
    frame_interval = 0.04
    assert abs(times[0]) < 1e-9  # playback starts at the edit, i.e. at the first presented frame
    assert 0 <= (result.first_presented - start) / NS < frame_interval
    assert times == sorted(times) and len(set(times)) == len(times)
    assert result.frames > result.presented  # the leading keyframe and references ride along, hidden

    # Every access unit is the stored one, bit for bit, in decode order.
    stored = list(store.read(camera, start, end))
    doc = result.manifest
    assert [f["sha256"] for f in doc["frames"]] == [
        hashlib.sha256(f.data).hexdigest() for f in stored]
    assert [(f["pts"], f["dts"]) for f in doc["frames"]] == [(f.pts, f.dts) for f in stored]

    report = vidvault.verify(pkg, public_key=store.export_public_key(), store=store)
    assert report.ok, report.to_dict()
    assert report.key_source == "pinned"


def test_watermark_is_legible_per_frame_and_leaves_the_centre(footage):
    store, cameras, base = footage
    camera = cameras[CASES[1]]  # 720p H.264 with B-frames
    start, end = T0 + 500_000_000, T0 + 1_500_000_000
    pkg = base / "pkg-watermark"
    result = store.export_clip(camera, start, end, pkg, raw=True, watermark="COPY FOR COURT", case="CASE-9")
    marked = pkg / manifest.WATERMARKED
    assert ffprobe_errors(marked) == ""

    with av.open(str(pkg / manifest.CLIP)) as c:
        originals = [f.to_ndarray(format="gray") for f in c.decode(c.streams.video[0])]
    with av.open(str(marked)) as c:
        stamped = [f.to_ndarray(format="gray") for f in c.decode(c.streams.video[0])]
    assert len(stamped) == len(originals) == result.presented == result.manifest["watermark"]["frames"]

    h, w = stamped[0].shape
    overlay = watermark.Overlay(w, h, watermark.static_lines(text="COPY FOR COURT", case="CASE-9", camera=camera),
                                time_sample=watermark.time_line(T0))
    ys = slice(overlay.y0, overlay.y0 + overlay.box_h)
    xs = slice(overlay.x0, overlay.x0 + overlay.box_w)
    presented = [f for f in result.manifest["frames"] if f["presented"]]
    presented.sort(key=lambda f: f["ts"])
    for i in (0, len(stamped) // 2, len(stamped) - 1):
        ts = presented[i]["ts"]
        expected = overlay.mask(watermark.time_line(ts))
        box = stamped[i][ys, xs].astype(np.float64)
        text, background = box[expected > 0.8], box[expected < 0.05]
        assert text.mean() > 200 and background.mean() < 110, "text must stand out of a darkened box"
        # This frame's own time fits the burned-in pixels better than another frame's time.
        other = overlay.mask(watermark.time_line(ts + 3_600_000_000_123))
        own_fit = np.corrcoef(box.ravel(), expected.ravel())[0, 1]
        other_fit = np.corrcoef(box.ravel(), other.ravel())[0, 1]
        assert own_fit > 0.85 and own_fit > other_fit
        # The centre of the scene is untouched (only re-encoding noise).
        centre = (slice(h // 4, 3 * h // 4), slice(w // 4, 3 * w // 4))
        diff = stamped[i][centre].astype(np.float64) - originals[i][centre]
        psnr = 10 * np.log10(255**2 / max(np.mean(diff**2), 1e-9))
        assert psnr > 30
    assert overlay.y0 >= 3 * h // 4 - 1


def test_export_refuses_unusable_requests(footage, tmp_path):
    store, cameras, _ = footage
    camera = cameras[CASES[0]]
    with pytest.raises(vidvault.InvalidArgumentError, match="after the start"):
        store.export_clip(camera, T0 + NS, T0, tmp_path / "a", raw=True)
    with pytest.raises(vidvault.MediaError, match="no footage"):
        store.export_clip(camera, T0 + 3600 * NS, T0 + 3601 * NS, tmp_path / "b", raw=True)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "other.txt").write_text("x")
    with pytest.raises(vidvault.InvalidArgumentError, match="not an empty directory"):
        store.export_clip(camera, T0, T0 + NS, tmp_path / "c", raw=True)
    assert not any(p.name.startswith(".b.partial") for p in tmp_path.iterdir())


def test_open_segment_is_recorded_and_checked_later(tmp_path, clip):
    key = vidvault.generate_key()
    with vidvault.Store.create(tmp_path / "s", key=key, roll_after=60.0) as store:
        store.add_camera("cam")
        with media.PacketSource(clip()) as src:
            info, packets = src.info, list(src)
        w = store.writer("cam", **info.writer_kwargs())
        first = min(p.pts for p in packets)
        for p in packets:
            w.append(T0 + int((p.pts - first) * Fraction(info.time_base) * NS), p.data, keyframe=p.keyframe,
                     pts=p.pts, dts=p.dts, duration=p.duration)
        w.sync()
        result = store.export_clip("cam", T0 + NS, T0 + 2 * NS, tmp_path / "pkg", raw=True)
        (segment,) = result.manifest["segments"]
        assert segment["state"] == "open" and segment["content_hash"] is None
        w.close()
        report = vidvault.verify(tmp_path / "pkg", public_key=store.export_public_key(), store=store)
        assert report.ok, report.to_dict()
        assert any("was open at export; now sealed" in c.detail for c in report.checks)
