"""Ingest of real files and a real RTSP server on loopback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import vidvault
from vidvault import media
from vidvault.media import nal

from media_checks import NS, T0
from helpers import free_port, serve_rtsp



@pytest.mark.parametrize("ext,codec,bframes", [("ts", "h264", 2), ("mkv", "hevc", 0), ("avi", "h264", 0)])
def test_file_ingest_keeps_access_units_and_timestamps(tmp_path, ext, codec, bframes):
    src = media.encode_synthetic(tmp_path / f"in.{ext}", codec=codec, bframes=bframes, seconds=2.0)
    with media.PacketSource(src) as s:
        info, packets = s.info, list(s)
    with vidvault.Store.create(tmp_path / "s", key=vidvault.generate_key()) as store:
        result = vidvault.ingest(store, "cam", str(src), start=T0, create_camera=True)
        frames = list(store.read("cam", T0, T0 + 10 * NS))
        config = store.segment_config(frames[0].segment)
    assert result.frames == len(packets) == len(frames) == 50 and result.skipped == 0
    assert [f.data for f in frames] == [p.data for p in packets]  # no re-encode, bit for bit
    assert [(f.pts, f.dts, f.keyframe) for f in frames] == [(p.pts, p.dts, p.keyframe) for p in packets]
    assert config.extradata == info.extradata and config.codec == codec
    keys = [f.ts for f in frames if f.keyframe]
    assert frames[0].ts == T0 and keys == sorted(keys)


def test_config_change_and_timestamp_reset_mid_file(tmp_path):
    big = media.encode_synthetic(tmp_path / "a.ts", width=640, height=360, seconds=2.0)
    small = media.encode_synthetic(tmp_path / "b.ts", width=320, height=180, seconds=2.0, seed=3)
    joined = tmp_path / "joined.ts"  # MPEG-TS concatenates: new SPS/PPS, pts start again
    joined.write_bytes(big.read_bytes() + small.read_bytes())
    with vidvault.Store.create(tmp_path / "s", key=vidvault.generate_key(), roll_after=60.0) as store:
        result = vidvault.ingest(store, "cam", str(joined), start=T0, create_camera=True)
        segments = store.segments("cam")
        sizes = [(store.segment_config(s.id).width, store.segment_config(s.id).height) for s in segments]
        frames = list(store.read("cam", T0, T0 + 60 * NS))
        gaps = store.gaps("cam", T0, result.last_ts)
    assert result.config_changes == 1 and result.clock_reanchors == 1
    assert sizes == [(640, 360), (320, 180)]
    assert len(frames) == result.frames == 100
    ts = [f.ts for f in frames]
    assert ts == sorted(ts) and gaps == []  # time goes on across the reset, without a hole
    assert 3.9 < (result.last_ts - T0) / NS < 4.1


def test_start_overlapping_stored_footage_is_refused(tmp_path, clip):
    with vidvault.Store.create(tmp_path / "s", key=vidvault.generate_key()) as store:
        vidvault.ingest(store, "cam", str(clip()), start=T0, create_camera=True)
        with pytest.raises(vidvault.InvalidArgumentError, match="already has footage up to"):
            vidvault.ingest(store, "cam", str(clip()), start=T0 + NS)
        with pytest.raises(vidvault.UnknownCameraError):
            vidvault.ingest(store, "nobody", str(clip()))


def test_truncated_and_missing_files_are_clear_errors(tmp_path, clip):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(clip().read_bytes()[: 5000])
    with vidvault.Store.create(tmp_path / "s", key=vidvault.generate_key()) as store:
        with pytest.raises(vidvault.MediaError, match=r"cannot open .*cut\.mp4"):
            vidvault.ingest(store, "cam", str(cut), create_camera=True)
        with pytest.raises(vidvault.MediaError, match="nowhere.mp4"):
            vidvault.ingest(store, "cam", str(tmp_path / "nowhere.mp4"), create_camera=True)
        assert store.segments("cam") == []


def _wait_for(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_rtsp_ingest_survives_a_server_restart_and_records_the_gap(tmp_path):
    src = media.encode_synthetic(tmp_path / "camera.mp4", seconds=12.0, width=640, height=360)
    with media.PacketSource(src) as s:
        source_nals = {bytes(n) for p in s for n in nal.split_length_prefixed(p.data)}
    port = free_port()
    url = f"rtsp://127.0.0.1:{port}/x"
    stop = threading.Event()
    progress: list[str] = []
    server = serve_rtsp(port, src)
    try:
        with vidvault.Store.create(tmp_path / "s", key=vidvault.generate_key(), roll_after=2.0) as store:
            outcome: dict = {}

            def run():
                outcome["result"] = vidvault.ingest(store, "cam", url, create_camera=True, stop=stop,
                                                    backoff=(0.25, 1.0), progress=lambda p: progress.append(p.state))

            worker = threading.Thread(target=run)
            worker.start()
            _wait_for(lambda: len(progress) > 0 and progress.count("receiving") >= 2, 20)
            time.sleep(2.5)
            server.kill()  # the camera goes away without a goodbye
            server.wait()
            killed = time.time_ns()
            time.sleep(4.0)
            server = serve_rtsp(port, src)
            restarted, seen = time.time_ns(), len(progress)
            _wait_for(lambda: "receiving" in progress[seen:], 20)  # reconnected
            time.sleep(2.5)
            stop.set()
            worker.join(30)
            assert not worker.is_alive()
            result = outcome["result"]
            frames = list(store.read("cam", result.first_ts, result.last_ts + 1))
            gaps = store.gaps("cam", result.first_ts, result.last_ts)

            assert "reconnecting" in progress and result.reconnects >= 1
            assert result.clock == "rtcp"  # RTCP sender reports timed the frames
            assert abs(result.last_ts - time.time_ns()) < 5 * NS
            (outage,) = result.outages
            assert outage.end is not None and outage.end > outage.start
            (gap,) = gaps
            assert gap.start <= killed + NS and gap.end >= restarted - NS
            assert gap.end - gap.start >= 2 * NS
            assert len(frames) == result.frames > 75
            # Stored as sent: every NAL unit is one the camera's encoder produced.
            for f in frames:
                assert nal.is_annexb(f.data)
                assert {bytes(n) for n in nal.split_annexb(f.data).nals} <= source_nals

            # Footage across the outage exports (Annex B -> MP4) and verifies.
            pkg = tmp_path / "pkg"
            result_export = store.export_clip("cam", gap.start - 2 * NS, gap.end + 2 * NS, pkg, raw=True)
            assert result_export.manifest["codec"]["bitstream"] == "annexb"
            assert result_export.manifest["gaps"] == [{"start": gap.start, "end": gap.end}]
            report = vidvault.verify(pkg, public_key=store.export_public_key(), store=store)
            assert report.ok, report.to_dict()
    finally:
        stop.set()
        server.kill()
        server.wait()


def test_cli_ingest_export_verify_keys(tmp_path, clip):
    env = {**os.environ, "VIDVAULT_KEY": vidvault.generate_key().hex()}
    cli = [sys.executable, "-m", "vidvault.cli"]

    def run(*args, check=True):
        r = subprocess.run([*cli, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)
        assert not check or r.returncode == 0, r.stdout + r.stderr
        return r

    store, pkg = tmp_path / "store", tmp_path / "pkg"
    run("create", store)
    r = run("ingest", store, "--camera", "34020000001320000001", clip(bframes=2), "--start", "2025-11-21T04:40:00Z")
    assert "ingested 150 frames" in r.stdout and "frames" in r.stderr  # summary, and the progress display
    run("export-clip", store, "--raw", "--camera", "34020000001320000001", "--start", "2025-11-21T04:40:01.5Z",
        "--end", str(T0 + 3 * NS), "--out", pkg, "--watermark", "COPY", "--case", "C-1", "--actor", "clerk")
    pem = run("export-public-key", store, "--format", "pem").stdout
    (tmp_path / "pin.pem").write_text(pem)
    hexkey = run("export-public-key", store, "--format", "hex").stdout.strip()
    assert len(hexkey) == 64
    r = run("verify", pkg, "--public-key", tmp_path / "pin.pem")
    assert "VERIFIED" in r.stdout and "pinned" in r.stdout
    r = run("verify", pkg, "--json", "--store", store, check=False)  # intact, but nobody pinned the signer
    report = json.loads(r.stdout)
    assert r.returncode == 3 and report["status"] == "INTACT, SIGNER NOT PINNED" and report["intact"] is True
    assert report["ok"] is False and report["key_source"] == "packaged"

    tampered = tmp_path / "tampered"
    shutil.copytree(pkg, tampered)
    data = bytearray((tampered / "clip.mp4").read_bytes())
    data[-1000] ^= 0x01
    (tampered / "clip.mp4").write_bytes(bytes(data))
    r = run("verify", tampered, "--public-key", tmp_path / "pin.pem", check=False)
    assert r.returncode == 1 and "FAILED: file clip.mp4" in r.stdout
    r = run("verify", tmp_path / "nowhere", check=False)
    assert r.returncode == 1 and "does not exist" in r.stdout
    r = run("export-clip", store, "--raw", "--camera", "34020000001320000001", "--start", "x", "--end", "y", "--out",
            tmp_path / "p2", check=False)
    assert r.returncode == 2 and r.stderr.startswith("vidvault: ")


@pytest.mark.parametrize("record", ["01640028ffe1", "01640028ffe10002", "01640028ffe1000267"])
def test_a_truncated_avcc_record_is_a_clear_value_error(record):
    # A camera's (or a package's) configuration record cut short must say so,
    # not surface as IndexError/struct.error from deep inside the parser.
    with pytest.raises(ValueError, match="truncated h264 configuration record"):
        nal.config_nals("h264", bytes.fromhex(record))
