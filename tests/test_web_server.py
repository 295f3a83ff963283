"""`vidvault serve` as its own process on loopback: real HTTP with uvicorn,
byte ranges, ffprobe reading the served MP4 over HTTP, and the refusal to
serve tokens in the clear beyond loopback."""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import urlencode

import httpx
import pytest

import vidvault

from helpers import NS, T0
from web_support import CAMERA, bearer, footage_store, grant, samples, served


@pytest.fixture(scope="module")
def server(tmp_path_factory, clip):
    key = vidvault.generate_key()
    path = tmp_path_factory.mktemp("serve") / "store"
    store = footage_store(path, key, clip)
    token = grant(store, "officer.qian", ["view_raw"])
    stored = [f.data for f in store.read(CAMERA, T0, T0 + 5 * NS)]
    store.close()
    with served(path, key) as base:
        yield base, token, stored, path, key


def test_raw_view_over_real_http_with_ranges_and_ffprobe(server):
    base, token, stored, _, _ = server
    url = f"{base}/api/cameras/{CAMERA}/view.mp4?" + urlencode({"start": T0, "end": T0 + 5 * NS, "raw": 1})
    with httpx.Client(headers=bearer(token), timeout=60) as http:
        whole = http.get(url)
        assert whole.status_code == 200 and samples(whole.content) == stored
        size = len(whole.content)
        for a, b in [(0, 0), (size // 3, size // 3 + 4095), (size - 1, size - 1)]:
            part = http.get(url, headers={"Range": f"bytes={a}-{b}"})
            assert part.status_code == 206 and part.content == whole.content[a : b + 1]
            assert part.headers["content-range"] == f"bytes {a}-{b}/{size}"
        link = http.post(f"{base}/api/media-urls", json={"camera": CAMERA, "start": str(T0),
                                                          "end": str(T0 + 5 * NS), "raw": True}).json()["url"]
    # ffprobe reads the signed URL itself (seeking with byte ranges, no Authorization header).
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_packets", "-show_entries",
                            "stream=codec_name,nb_read_packets", "-of", "csv=p=0", base + link],
                           capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == f"h264,{len(stored)}"


def test_the_openapi_description_is_served(server):
    base = server[0]
    doc = httpx.get(f"{base}/openapi.json", timeout=30).json()
    assert {"/api/cameras", "/api/cameras/{camera}/timeline", "/api/cameras/{camera}/view.mp4",
            "/api/media-urls"} <= set(doc["paths"])


def test_serve_refuses_plain_http_beyond_loopback(server):
    _, _, _, path, key = server
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "serve", str(path), "--host", "0.0.0.0"],
                       env={"VIDVAULT_KEY": key.hex(), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "--tls-cert" in r.stderr
