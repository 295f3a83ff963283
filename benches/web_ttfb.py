"""Time to first byte of `vidvault serve`'s view.mp4, over real HTTP on
loopback: a raw (bit-exact) range and a desensitized one.

    VIDVAULT_MODELS=models .venv/bin/python benches/web_ttfb.py [--minutes 60] [--width 1280 --height 720]

Builds a store in a temporary directory holding ``--minutes`` of H.264
(a 20 s libx264 clip written again and again at later times: what is timed
is serving, not encoding), serves it with uvicorn on a free loopback port,
and asks for the whole stretch raw and its first minute desensitized. For
the fragmented (desensitized) stream it also reports when the first media
fragment (``moof`` + ``mdat``: the first decodable picture) has arrived.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

import vidvault
from vidvault import media
from vidvault.web import app

NS = 1_000_000_000
T0 = 1_763_700_000 * NS
CAMERA = "34020000001320000001"


def build_store(root: Path, minutes: int, width: int, height: int) -> tuple[vidvault.Store, int]:
    clip = media.encode_synthetic(root / "clip.mp4", width=width, height=height, seconds=20.0, fps=25, gop=50)
    with media.PacketSource(clip) as src:
        info, packets = src.info, list(src)
    store = vidvault.Store.create(root / "store", key=vidvault.generate_key())
    store.add_camera(CAMERA)
    first = min(p.pts for p in packets)
    span = max(p.pts for p in packets) - first + packets[0].duration
    loops = minutes * 3
    size = 0
    with store.writer(CAMERA, **info.writer_kwargs()) as w:
        for loop in range(loops):
            for p in packets:
                pts = p.pts + loop * span
                ts = T0 + int((pts - first) * info.time_base * NS)
                w.append(ts, p.data, keyframe=p.keyframe, pts=pts, dts=p.dts + loop * span, duration=p.duration)
                size += len(p.data)
    return store, size


def serve(store: vidvault.Store) -> tuple[str, uvicorn.Server]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app(store), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def timed(http: httpx.Client, url: str) -> tuple[int, float, float | None, float, int]:
    """(status, time to first byte, time to the first moof+mdat or None, time to the end, bytes)."""
    t = time.perf_counter()
    first = fragment = None
    seen = b""
    total = 0
    with http.stream("GET", url) as r:
        for chunk in r.iter_bytes():
            now = time.perf_counter() - t
            if first is None:
                first = now
            if fragment is None and len(seen) < 1 << 20:
                seen += chunk
                moof = seen.find(b"moof")
                if moof >= 0 and seen.find(b"mdat", moof) >= 0:
                    fragment = now
            total += len(chunk)
        status = r.status_code
    return status, first or 0.0, fragment, time.perf_counter() - t, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=int, default=60)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="vidvault-web-bench-") as tmp:
        t = time.perf_counter()
        store, size = build_store(Path(tmp), args.minutes, args.width, args.height)
        print(f"store: {args.minutes} min of {args.width}x{args.height} H.264, {size / 2**20:.0f} MiB "
              f"({size * 8 / (args.minutes * 60) / 1e6:.1f} Mbit/s), written in {time.perf_counter() - t:.0f} s")
        token = store.issue_grant(to="bench", actions=["view_raw"], cameras=["*"], valid_until=time.time_ns() + 3600 * NS,
                                  case="bench", issued_by="bench")
        base, server = serve(store)
        try:
            with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=600) as http:
                end = T0 + args.minutes * 60 * NS
                for label, url in [
                    (f"raw {args.minutes} min", f"{base}/api/cameras/{CAMERA}/view.mp4?start={T0}&end={end}&raw=1"),
                    (f"raw {args.minutes} min, again (cached)",
                     f"{base}/api/cameras/{CAMERA}/view.mp4?start={T0}&end={end}&raw=1"),
                    ("raw 1 min", f"{base}/api/cameras/{CAMERA}/view.mp4?start={T0}&end={T0 + 60 * NS}&raw=1"),
                    ("desensitized 1 min", f"{base}/api/cameras/{CAMERA}/view.mp4?start={T0 + 60 * NS}"
                                           f"&end={T0 + 120 * NS}"),
                    ("desensitized 10 s, again", f"{base}/api/cameras/{CAMERA}/view.mp4?start={T0 + 200 * NS}"
                                                 f"&end={T0 + 210 * NS}"),
                ]:
                    status, ttfb, fragment, whole, n = timed(http, url)
                    frag = "" if fragment is None else f", first fragment {fragment * 1000:.0f} ms"
                    print(f"{label:40s} HTTP {status}: first byte {ttfb * 1000:.0f} ms{frag}, "
                          f"all {n / 2**20:.1f} MiB in {whole:.2f} s")
        finally:
            server.should_exit = True
            store.close()


if __name__ == "__main__":
    main()
