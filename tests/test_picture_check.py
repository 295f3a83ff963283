"""Zombie cameras: footage that arrives but shows nothing. A real pedestrian
CCTV clip (frames of OpenCV's vtest.avi, tests/data/) is recorded with each
failure spliced in (a frozen picture, black, a covered lens, a turned
camera), encoded by libx264 like a camera's stream, ingested, and checked
from the store; and a real, static, noisy scene must not read as frozen."""

from __future__ import annotations

import json
import subprocess
import time
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import skimage.data

import vidvault
from vidvault.errors import InvalidArgumentError, UnknownCameraError
from vidvault.picture_check import AlarmKind, PictureAlarm, PictureJudge, Thresholds
from vidvault.picture_check.signature import Signature, picture_change, same_view

from helpers import T0

CLIP = Path(__file__).parent / "data" / "pedestrians-vtest-261-300.mp4"
FPS = 5
NS = 1_000_000_000
#: Short enough for a test clip; the default (2 min) is for real cameras.
QUICK = Thresholds(frozen_after_ns=15 * NS)


def _real_frames() -> list[np.ndarray]:
    with av.open(str(CLIP)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _walking(frames: list[np.ndarray], n: int, offset: int = 0) -> list[np.ndarray]:
    """n pictures of people walking: the clip forwards, then backwards, ..."""
    cycle = frames + frames[-2:0:-1]
    return [cycle[(offset + i) % len(cycle)] for i in range(n)]


def _turned(picture: np.ndarray) -> np.ndarray:
    """The camera turned: it now sees the left third of the old view, closer."""
    h, w, _ = picture.shape
    part = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture[: h // 2, : w // 3]), format="rgb24")
    return part.reformat(width=w, height=h).to_ndarray(format="rgb24")


def _flat(like: np.ndarray, rgb: tuple[int, int, int], noise: float, rng: np.random.Generator) -> np.ndarray:
    flat = np.broadcast_to(np.array(rgb, np.float32), like.shape)
    return np.clip(flat + rng.normal(0, noise, like.shape), 0, 255).astype(np.uint8)


def _encode(pictures: list[np.ndarray], path: Path, fps: int = FPS) -> Path:
    """H.264 the way a camera sends it: a keyframe every second."""
    h, w, _ = pictures[0].shape
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.codec_context.gop_size = fps
        s.options = {"preset": "veryfast", "crf": "23", "sc_threshold": "0"}
        for p in pictures:
            out.mux(s.encode(av.VideoFrame.from_ndarray(p, format="rgb24")))
        out.mux(s.encode())
    return path


#: The recorded timeline of the spliced clip, in seconds from T0.
WALK1, FROZEN, WALK2, BLACK, WALK3, COVERED, WALK4, TURNED = 0, 20, 50, 60, 70, 80, 90, 100
END = 125


@pytest.fixture(scope="module")
def zombie_store(tmp_path_factory):
    real = _real_frames()
    rng = np.random.default_rng(7)
    at = lambda s: s * FPS  # noqa: E731
    pictures = (
        _walking(real, at(FROZEN - WALK1))
        + [real[20]] * at(WALK2 - FROZEN)                                 # a hung encoder
        + _walking(real, at(BLACK - WALK2), 5)
        + [_flat(real[0], (0, 0, 0), 0.6, rng) for _ in range(at(WALK3 - BLACK))]  # a dead sensor
        + _walking(real, at(COVERED - WALK3), 9)
        + [_flat(real[0], (62, 48, 40), 1.0, rng) for _ in range(at(WALK4 - COVERED))]  # a hand on the lens
        + _walking(real, at(TURNED - WALK4), 13)
        + [_turned(p) for p in _walking(real, at(END - TURNED), 17)]
    )
    directory = tmp_path_factory.mktemp("zombie")
    clip = _encode(pictures, directory / "zombie.mp4")
    key = vidvault.generate_key()
    store = vidvault.Store.create(directory / "store", key=key, roll_after=30.0)
    vidvault.ingest(store, "cam", str(clip), start=T0, create_camera=True)
    yield store
    store.close()


def _seconds(ts: int | None) -> float | None:
    return None if ts is None else (ts - T0) / NS


def test_each_failure_of_a_real_clip_is_found_once_with_its_pictures(zombie_store):
    alarms = zombie_store.check_pictures("cam", T0, T0 + END * NS, every=1.0, thresholds=QUICK)
    assert [a.kind for a in alarms] == [AlarmKind.FROZEN, AlarmKind.BLACK, AlarmKind.UNIFORM, AlarmKind.MOVED]
    frozen, black, covered, moved = alarms
    # Within a keyframe (one second) of the splice: the encoder's look-ahead
    # spends bits differently on the keyframe just before a change.
    for alarm, start, end in ((frozen, FROZEN, WALK2), (black, BLACK, WALK3), (covered, COVERED, WALK4)):
        assert _seconds(alarm.first_bad) == pytest.approx(start, abs=1)
        assert _seconds(alarm.ended) == pytest.approx(end, abs=1)
    assert _seconds(moved.first_bad) == pytest.approx(TURNED, abs=1)
    for a in alarms:  # the picture before it, for a person to compare
        assert a.last_good is not None and a.last_good < a.first_bad
        assert a.first_bad - a.last_good <= 2 * NS


def test_the_default_thresholds_wait_minutes_before_calling_a_picture_frozen(zombie_store):
    kinds = [a.kind for a in zombie_store.check_pictures("cam", T0, T0 + END * NS, every=1.0)]
    assert kinds == [AlarmKind.BLACK, AlarmKind.UNIFORM, AlarmKind.MOVED]  # 30 s frozen < 2 min


def test_a_failure_still_going_on_at_the_end_of_the_period_is_open(zombie_store):
    alarms = zombie_store.check_pictures("cam", T0, T0 + (BLACK + 5) * NS, every=1.0, thresholds=QUICK)
    assert alarms[-1].kind is AlarmKind.BLACK and alarms[-1].open


def test_the_check_is_one_audited_retrieval(zombie_store):
    before = len(zombie_store.audit("cam"))
    zombie_store.check_pictures("cam", T0, T0 + 30 * NS, every=1.0)
    entries = zombie_store.audit("cam")[before:]
    assert [(e.action, e.details.get("call")) for e in entries] == [("view_raw", "check_pictures")]


def test_bad_arguments_are_refused_by_name(zombie_store):
    with pytest.raises(UnknownCameraError):
        zombie_store.check_pictures("nobody", T0, T0 + NS)
    with pytest.raises(InvalidArgumentError, match="positive"):
        zombie_store.check_pictures("cam", T0, T0 + NS, every=0)


def test_a_static_noisy_real_scene_is_not_frozen(tmp_path):
    """A real photo held still with a live sensor's noise (sigma 2.5 grey
    levels), encoded like a camera's stream: keyframes differ by the noise,
    so 150 s of it raise nothing under the default thresholds."""
    scene = av.VideoFrame.from_ndarray(skimage.data.astronaut(), format="rgb24").reformat(
        width=768, height=576).to_ndarray(format="rgb24").astype(np.float32)
    rng = np.random.default_rng(3)
    pictures = [np.clip(scene + rng.normal(0, 2.5, scene.shape), 0, 255).astype(np.uint8) for _ in range(150 * 2)]
    clip = _encode(pictures, tmp_path / "static.mp4", fps=2)
    with vidvault.Store.create(tmp_path / "store", key=vidvault.generate_key()) as store:
        vidvault.ingest(store, "cam", str(clip), start=T0, create_camera=True)
        assert store.check_pictures("cam", T0, T0 + 150 * NS, every=1.0) == []


def _small(photo: np.ndarray) -> np.ndarray:
    """A whole grey photo at the checks' 160x90."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(photo), format="gray")
    return frame.reformat(width=160, height=90).to_ndarray().astype(np.float32)


def _sig(ts: int, luma: np.ndarray) -> Signature:
    return Signature(ts, luma[:90, :160].astype(np.float32), np.stack([luma[:32, :32]] * 16).astype(np.float32))


def test_a_dark_but_working_night_scene_is_not_black():
    """A night street: mostly dark, with lit areas. Dark is not black."""
    night = _small(skimage.data.camera()) * 0.25 + 16
    judge = PictureJudge("cam")
    rng = np.random.default_rng(1)
    for i in range(10):
        assert judge.see(_sig(i * NS, night + rng.normal(0, 2, night.shape))) == []


def test_picture_change_ignores_one_patch_in_ten():
    """A clock overlaid on a frozen picture changes one patch; still frozen."""
    base = np.full((16, 32, 32), 100.0, np.float32)
    ticking = base.copy()
    ticking[0] += 50
    a = Signature(0, np.zeros((90, 160), np.float32), base)
    b = Signature(1, np.zeros((90, 160), np.float32), ticking)
    assert picture_change(a, b) < Thresholds().frozen_change
    everywhere = base + 3
    assert picture_change(a, Signature(2, a.luma, everywhere)) > Thresholds().frozen_change


def test_the_same_view_under_other_light_is_the_same_view():
    photo = _small(skimage.data.camera())
    dusk = photo * 0.4 + 10
    assert same_view(_sig(0, photo), _sig(1, dusk)) > 0.9


def test_an_alarm_describes_itself_for_a_person():
    alarm = PictureAlarm("gate-1", AlarmKind.FROZEN, T0, T0 - NS)
    assert "camera gate-1: frozen picture since 2" in alarm.describe()
    assert alarm.to_dict()["ended"] is None and alarm.open


def test_the_command_names_the_alarm_and_writes_both_pictures(tmp_path):
    real = _real_frames()
    rng = np.random.default_rng(5)
    pictures = (_walking(real, 6 * FPS) + [_flat(real[0], (0, 0, 0), 0.6, rng) for _ in range(5 * FPS)]
                + _walking(real, 4 * FPS, 3))
    clip = _encode(pictures, tmp_path / "black.mp4")
    key = vidvault.generate_key()
    with vidvault.Store.create(tmp_path / "store", key=key) as store:
        vidvault.ingest(store, "gate-1", str(clip), start=T0, create_camera=True)
    env = {"VIDVAULT_KEY": key.hex(), "PATH": "/usr/bin:/bin"}
    argv = [sys.executable, "-m", "vidvault.cli", "check-pictures", str(tmp_path / "store"),
            "--start", str(T0), "--end", str(T0 + 15 * NS), "--every", "1s"]
    out = subprocess.run([*argv, "--pictures", str(tmp_path / "seen")], capture_output=True, text=True, env=env)
    assert out.returncode == 1, out.stderr
    assert "camera gate-1: black picture from 20" in out.stdout and "1 alarm(s) on 1 camera(s)" in out.stdout
    from PIL import Image

    good, bad = (np.asarray(Image.open(p)) for p in sorted((tmp_path / "seen").glob("*.png"))[::-1])
    assert bad.mean() < 20 < good.mean()  # first-bad sorts before last-good: reversed above
    report = subprocess.run([*argv, "--json"], capture_output=True, text=True, env=env)
    assert [a["kind"] for a in json.loads(report.stdout)] == ["black"]
    clean = subprocess.run([*argv[:-4], "--end", str(T0 + 5 * NS), "--every", "1s"], capture_output=True,
                           text=True, env=env)
    assert clean.returncode == 0 and "0 alarm(s)" in clean.stdout, clean.stderr


def test_availability_counts_footage_without_a_picture_as_not_working(zombie_store):
    report = zombie_store.availability(T0, T0 + END * NS, pictures=True, every=1.0)
    (cam,) = report.cameras
    assert cam.fraction == pytest.approx(1.0, abs=0.02)  # the catalog sees a camera that never stopped
    assert [a.kind for a in cam.picture_alarms] == [AlarmKind.BLACK, AlarmKind.UNIFORM, AlarmKind.MOVED]
    # 10 s black + 10 s covered of 125 s (frozen is 30 s < the default 2 min)
    assert cam.working_fraction == pytest.approx((END - 20) / END, abs=0.02)
    assert report.intact_rate(0.5) == 0.0  # moved: not intact, whatever the fraction
    assert cam.to_dict()["picture_alarms"][0]["kind"] == "black"
    unchecked = zombie_store.availability(T0, T0 + END * NS).cameras[0]
    assert unchecked.picture_alarms is None and "picture_alarms" not in unchecked.to_dict()


def test_a_watch_step_by_step_finds_what_one_check_finds_and_audits_each_alarm(zombie_store):
    whole = zombie_store.check_pictures("cam", T0, T0 + END * NS, every=1.0, thresholds=QUICK)
    before = len(zombie_store.audit("cam"))
    watch = zombie_store.watch_pictures("cam", start=T0, every=1.0, thresholds=QUICK)
    for step in range(7, END + 7, 7):  # a recorder's calls, 7 s apart
        watch.advance(T0 + min(step, END) * NS)
    assert watch._judge.alarms == whole
    entries = zombie_store.audit("cam")[before:]
    assert entries[0].action == "view_raw" and entries[0].details.get("call") == "watch_pictures"
    alarms = [(e.outcome, e.details["kind"]) for e in entries[1:]]
    assert alarms == [("raised", "frozen"), ("ended", "frozen"), ("raised", "black"), ("ended", "black"),
                      ("raised", "uniform"), ("ended", "uniform"), ("raised", "moved")]
    assert all(e.action == "picture_alarm" and e.camera == "cam" for e in entries[1:])
    assert zombie_store.audit_verify().ok


def test_a_recorder_flags_a_camera_that_goes_black_while_it_records(tmp_path, store):
    from helpers import free_port, serve_rtsp

    real = _real_frames()
    rng = np.random.default_rng(11)
    clip = _encode(_walking(real, 6 * FPS) + [_flat(real[0], (0, 0, 0), 0.6, rng) for _ in range(30 * FPS)],
                   tmp_path / "goes-black.mp4")
    port = free_port()
    server = serve_rtsp(port, clip)
    status_file = tmp_path / "status.json"
    rec = vidvault.Recorder(store, [{"id": "dock", "url": f"rtsp://127.0.0.1:{port}/x"}], status_file=status_file,
                            status_interval=0.3, picture_check_every=1.0)
    rec.PICTURE_LAG_S = 1.0
    try:
        with rec:
            deadline = time.monotonic() + 40
            alarms: list = []
            while not alarms and time.monotonic() < deadline:
                time.sleep(0.3)
                cams = json.loads(status_file.read_text())["cameras"]
                alarms = cams.get("dock", {}).get("picture_alarms", [])
            assert [a["kind"] for a in alarms] == ["black"], cams
    finally:
        server.kill()
        server.wait()
    raised = [e for e in store.audit("dock") if e.action == "picture_alarm"]
    assert raised and raised[0].outcome == "raised" and raised[0].details["kind"] == "black"
