"""Every script in examples/ runs and succeeds: they are what new users copy.

Each example is run as its own process, the way a user runs it, and checks
its own results (a non-zero exit status is a failure). A new example is
picked up by the glob; the RTSP one gets a real RTSP server on loopback,
restarted once mid-run so that it records a reconnect.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import free_port, serve_rtsp

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
#: Examples that need more than their defaults (a source to record from).
SPECIAL = {"ingest_rtsp.py"}


def _run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env)


def test_examples_are_found():
    names = {p.name for p in EXAMPLES.glob("*.py")}
    assert {"ingest_rtsp.py", "export_case.py", "playback_numpy.py", "custom_detector.py",
            "retention_holds.py", "session_grants.py"} <= names


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.py") if p.name not in SPECIAL))
def test_example_runs(example, tmp_path):
    script = EXAMPLES / example
    doc = script.read_text().split('"""')[1]
    assert "Run" in doc and f"examples/{example}" in doc, "the docstring says how to run it"
    r = _run([str(script), str(tmp_path / "work")])
    assert r.returncode == 0, r.stdout + r.stderr


def test_rtsp_example_records_a_camera_across_a_restart(tmp_path, clip):
    source = clip(seconds=12.0)
    port = free_port()
    server = serve_rtsp(port, source)
    try:
        example = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "ingest_rtsp.py"), f"rtsp://127.0.0.1:{port}/x", "10",
             str(tmp_path / "work")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        # Wait until it receives, then let the camera vanish for a few seconds.
        lines = []
        deadline = time.monotonic() + 30
        for line in example.stdout:
            lines.append(line)
            if "receiving" in line or time.monotonic() > deadline:
                break
        time.sleep(1.5)
        server.kill()
        server.wait()
        time.sleep(3.5)
        server = serve_rtsp(port, source)
        out, _ = example.communicate(timeout=60)
        output = "".join(lines) + out
    finally:
        server.kill()
        server.wait()
    assert example.returncode == 0, output
    m = re.search(r"reconnects=(\d+) outages=(\d+) gaps=(\d+)", output)
    assert m, output
    reconnects, outages, gaps = map(int, m.groups())
    assert reconnects >= 1 and outages >= 1 and gaps >= 1, output
