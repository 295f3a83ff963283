"""`vidvault play --out` (redacted unless --raw) and `vidvault models`, run as a user would."""

from __future__ import annotations

import os

import av

import vidvault
from vidvault.redact.evaluation.scenes import encode
from vidvault.timeutil import iso

from helpers import NS, T0, ingest_file
from test_cli import run
from test_redact_playback import energy, small_scene


def test_play_writes_a_redacted_mp4_with_progress(tmp_path):
    truths = encode(small_scene(), tmp_path / "scene.mp4")
    key = vidvault.generate_key()
    with vidvault.Store.create(tmp_path / "store", key=key) as s:
        s.add_camera("cam")
        ingest_file(s, "cam", tmp_path / "scene.mp4")
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    out = tmp_path / "red.mp4"
    r = run("play", tmp_path / "store", "--camera", "cam", "--start", iso(T0), "--end", T0 + 2 * NS,
            "--out", out, env=env)
    assert "100.0%" in r.stderr and "boxes hidden" in r.stderr
    assert "wrote 50 redacted frames" in r.stdout
    with av.open(str(out)) as c:
        pictures = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(pictures) == 50
    for i in (0, 25, 49):
        for obj in truths[i].objects:
            assert energy(pictures[i], obj.box) < 3.0, f"frame {i}: {obj.name} readable in the MP4"
    assert not (tmp_path / "red.mp4.partial").exists()


def test_play_refuses_settings_with_raw_and_models_list_reports(tmp_path):
    key = vidvault.generate_key()
    with vidvault.Store.create(tmp_path / "store", key=key) as s:
        s.add_camera("cam")
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    r = run("play", tmp_path / "store", "--camera", "cam", "--start", T0, "--end", T0 + NS, "--raw",
            "--method", "fill", "--out", tmp_path / "x.mp4", env=env, check=False)
    assert r.returncode == 2 and "--method" in r.stderr and "--raw" in r.stderr
    assert "centerface.onnx    installed" in run("models", "list").stdout
    r = run("models", "list", "--dir", tmp_path / "none", check=False)
    assert r.returncode == 1 and "vidvault models install" in r.stdout
    r = run("play", tmp_path / "store", "--camera", "cam", "--start", T0, "--end", T0 + NS,
            "--out", tmp_path / "x.mp4", env={**env, "VIDVAULT_MODELS": str(tmp_path / "none")},
            check=False)
    assert r.returncode == 2 and "centerface.onnx" in r.stderr and "models install" in r.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_play_people_options_on_real_pedestrian_footage(tmp_path):
    from pathlib import Path

    clip = Path(__file__).parent / "data" / "pedestrians-vtest-261-300.mp4"
    key = vidvault.generate_key()
    with vidvault.Store.create(tmp_path / "store", key=key) as s:
        s.add_camera("crossing")
        ingest_file(s, "crossing", clip)
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    where = ("play", tmp_path / "store", "--camera", "crossing", "--start", T0, "--end", T0 + 5 * NS)
    r = run(*where, "--no-faces", "--no-plates", "--out", tmp_path / "heads.mp4", env=env)
    assert "wrote 40 redacted frames" in r.stdout
    with av.open(str(clip)) as c:
        raw = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(tmp_path / "heads.mp4")) as c:
        red = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    # The head of the bald walker on the left (hand-set box, frame 300 = the clip's last) is gone.
    assert energy(red[-1], (198, 159, 207, 169)) < 0.5 * energy(raw[-1], (198, 159, 207, 169))
    r = run(*where, "--no-faces", "--no-plates", "--people", "none", "--out", tmp_path / "x.mp4", env=env,
            check=False)
    assert r.returncode == 2 and "hide nothing" in r.stderr
    r = run(*where, "--raw", "--people", "body", "--out", tmp_path / "x.mp4", env=env, check=False)
    assert r.returncode == 2 and "--people" in r.stderr and "--raw" in r.stderr


def test_play_face_tiles_option_is_checked_and_refused_with_raw(tmp_path):
    key = vidvault.generate_key()
    with vidvault.Store.create(tmp_path / "store", key=key) as s:
        s.add_camera("cam")
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    where = ("play", tmp_path / "store", "--camera", "cam", "--start", T0, "--end", T0 + NS)
    r = run(*where, "--face-tiles", "9", "--out", tmp_path / "x.mp4", env=env, check=False)
    assert r.returncode == 2 and "face_tiles=9.0" in r.stderr and "from 1 to 4" in r.stderr, r.stderr
    r = run(*where, "--raw", "--face-tiles", "2", "--out", tmp_path / "x.mp4", env=env, check=False)
    assert r.returncode == 2 and "--face-tiles" in r.stderr and "--raw" in r.stderr, r.stderr
    assert not (tmp_path / "x.mp4").exists()
