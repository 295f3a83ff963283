"""`vidvault bench view`: footage in the browser, measured over real HTTP
against a real `vidvault serve` process on loopback.

The store holds an hour of real H.264 (a few seconds encoded with libx264,
its access units appended again and again with advancing timestamps through
the public API) and, on a second camera, a week of keyframe-only footage with
an hour's gap each day (the timeline cost is the catalog's, not the frames').

Figures, each beside a baseline from the same run where one exists:

- time to first byte and to the first decoded frame (PyAV reading the signed
  media URL, as a player would) of the raw hour (a range not asked for
  before: its layout is built by that request) and of the desensitized hour;
  baseline: the same raw clip as a plain file served by the same server
  stack (:mod:`.plain_file_server`);
- concurrent raw viewers held at real time: N clients (asyncio + httpx, on
  the same machine, so they share its cores with the server), each reading
  the hour from its own random offset at 4 Mbit/s (``--viewer-bitrate``); the largest N
  in the ladder where every client keeps pace (at most
  :data:`ALLOWED_LAG_S` behind after a start-up allowance); baseline: the
  same ladder against the plain file;
- p50/p99 of the timeline API (one day of the week per request, random
  days); baseline: ``GET /api/cameras`` (authentication and audit alone);
- a seek 45 minutes into the hour, raw and desensitized: time to the first
  decoded frame from the part there (``part.mp4``, the hour's listing made
  before and its first part fetched, as the page has them when the viewer
  seeks), beside the way before
  the segmented form: minting a link for the ten minutes from there and
  decoding the first frame of its ``view.mp4``; and the listing's own time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx

from ..keys import generate_key
from ..media import PacketSource, encode_synthetic
from ..store import Store
from .seek import percentiles

NS = 1_000_000_000
T0 = 1_763_700_000 * NS
HOUR_CAMERA, WEEK_CAMERA = "hour", "week"
STARTUP_ALLOWANCE_S = 3.0
ALLOWED_LAG_S = 2.0
VIEWER_LADDER = (8, 16, 32, 48, 64, 96, 128)


@dataclass
class ViewResult:
    hour_bytes: int = 0
    hour_frames: int = 0
    bitrate_bps: float = 0.0
    build_seconds: float = 0.0
    raw_ttfb_ms: float = 0.0
    raw_ttfb_warm_ms: float = 0.0
    raw_ttfb_cached_ms: float = 0.0
    raw_first_frame_ms: float = 0.0
    plain_ttfb_ms: float = 0.0
    plain_first_frame_ms: float = 0.0
    redacted_ttfb_ms: float | None = None
    redacted_first_frame_ms: float | None = None
    redacted_error: str = ""
    raw_download_mb_s: float = 0.0
    plain_download_mb_s: float = 0.0
    viewer_bps: float = 0.0
    viewers: dict[int, float] = field(default_factory=dict)  # N -> worst lag (s)
    plain_viewers: dict[int, float] = field(default_factory=dict)
    timeline_p50_ms: float = 0.0
    timeline_p99_ms: float = 0.0
    cameras_p50_ms: float = 0.0
    cameras_p99_ms: float = 0.0
    week_timeline_ms: float = 0.0
    seek_at_s: int = 0
    seek_listing_ms: dict[str, float] = field(default_factory=dict)  # "raw" / "desensitized" -> ms
    seek_view_ms: dict[str, float] = field(default_factory=dict)  # before: view.mp4 of the ten minutes
    seek_part_ms: dict[str, float] = field(default_factory=dict)  # after: the part at the instant
    seek_error: str = ""


def build_store(path: Path, key: bytes, *, hour_seconds: int, say: Callable[[str], None]) -> tuple[int, int]:
    """The hour and week cameras; returns (frames, payload bytes) of the hour."""
    source = encode_synthetic(path.parent / "gop.mp4", width=1280, height=720, fps=25, seconds=10.0, gop=50)
    with PacketSource(source) as src:
        info, packets = src.info, list(src)
    first = min(p.pts for p in packets)
    tb = info.time_base
    span_pts = round(10 / tb)
    frames = size = 0
    with Store.create(path, key=key) as store:
        store.add_camera(HOUR_CAMERA)
        store.add_camera(WEEK_CAMERA)
        with store.writer(HOUR_CAMERA, **info.writer_kwargs()) as w:
            for rep in range(hour_seconds // 10):
                shift = rep * span_pts
                for p in packets:
                    ts = T0 + round((p.pts - first + shift) * tb * NS)
                    w.append(ts, p.data, keyframe=p.keyframe, pts=p.pts + shift, dts=p.dts + shift,
                             duration=p.duration)
                    frames += 1
                    size += len(p.data)
        say(f"view: an hour of 720p H.264 stored ({frames:,} frames, {size / 1e9:.2f} GB)")
        with store.writer(WEEK_CAMERA, codec="h264") as w:
            payload = bytes(16)
            for i in range(7 * 86_400 // 2):
                t = T0 + i * 2 * NS
                if (t - T0) % (86_400 * NS) < 3600 * NS:
                    continue  # an hour's gap every day
                w.append(t, payload, keyframe=True, duration=2 * NS)
    return frames, size


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str] | None = None) -> Iterator[str]:
    """A server process on a free loopback port (``{port}`` in ``args``); yields its base URL."""
    port = _free_port()
    proc = subprocess.Popen([a.replace("{port}", str(port)) for a in args], env={**os.environ, **(env or {})},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args[2]} exited {proc.returncode}: {proc.stderr.read()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{args[2]} did not listen within 120 s") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _ttfb_ms(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> float:
    t = time.perf_counter()
    with client.stream("GET", url, headers=headers) as r:
        r.raise_for_status()
        next(r.iter_raw(1))
        return (time.perf_counter() - t) * 1000


def _first_frame_ms(url: str) -> float:
    import av

    t = time.perf_counter()
    # As a browser does: decode what arrives, without FFmpeg's stream probing
    # (which reads up to 5 s of footage ahead before it returns).
    with av.open(url, options={"rw_timeout": "60000000", "analyzeduration": "0", "probesize": "32768"}) as c:
        next(c.decode(video=0))
    return (time.perf_counter() - t) * 1000


def _part_at(http: httpx.Client, base: str, start: int, end: int, raw: bool, at: int) -> tuple[float, str, str]:
    """How long listing the parts of [start, end) took (ms), the URL of the
    part playing ``at`` and that of the first part."""
    q = time.perf_counter()
    r = http.get(f"{base}/api/cameras/{HOUR_CAMERA}/parts",
                 params={"start": start, "end": end, **({"raw": 1} if raw else {})})
    r.raise_for_status()
    listed = r.json()
    took = (time.perf_counter() - q) * 1000
    def url(part: dict[str, Any]) -> str:
        return f"{base}{listed['part_url']}&start={part['start']}&end={part['end']}"

    return took, url(next(p for p in listed["parts"] if int(p["start"]) <= at < int(p["end"]))), url(listed["parts"][0])


def _download_mb_s(client: httpx.Client, url: str, target: Path | None = None) -> float:
    t, n = time.perf_counter(), 0
    with client.stream("GET", url) as r, (open(target, "wb") if target else contextlib.nullcontext()) as out:
        r.raise_for_status()
        for chunk in r.iter_raw(1 << 20):
            n += len(chunk)
            if out is not None:
                out.write(chunk)
    return n / 1e6 / (time.perf_counter() - t)


async def _viewer(client: httpx.AsyncClient, url: str, offset: int, pace: float, seconds: float) -> float:
    """Reads ``url`` from ``offset`` at ``pace`` bytes/s for ``seconds``;
    returns its worst lag behind real time (s) after the start-up allowance."""
    got, worst = 0, 0.0
    t0 = time.monotonic()
    async with client.stream("GET", url, headers={"Range": f"bytes={offset}-"}) as r:
        if r.status_code != 206:
            return float("inf")
        async for chunk in r.aiter_raw(64 * 1024):
            got += len(chunk)
            elapsed = time.monotonic() - t0
            if elapsed >= seconds:
                break
            if elapsed > STARTUP_ALLOWANCE_S:
                worst = max(worst, elapsed - STARTUP_ALLOWANCE_S - got / pace)
            ahead = got / pace - elapsed
            if ahead > 1.0:
                await asyncio.sleep(ahead - 1.0)  # a player's buffer is full: it reads no further ahead
    if got / pace < seconds - STARTUP_ALLOWANCE_S - ALLOWED_LAG_S:
        worst = max(worst, seconds - STARTUP_ALLOWANCE_S - got / pace)
    return worst


async def _viewers(url: str, n: int, size: int, pace: float, seconds: float, rng: random.Random) -> float:
    limits = httpx.Limits(max_connections=n + 4, max_keepalive_connections=n + 4)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        offsets = [rng.randrange(0, max(1, size - int(pace * seconds * 2))) for _ in range(n)]
        lags = await asyncio.gather(*(_viewer(client, url, o, pace, seconds) for o in offsets))
    return max(lags)


def viewer_ladder(url: str, size: int, pace: float, seconds: float, say: Callable[[str], None],
                  label: str, max_viewers: int) -> dict[int, float]:
    rng = random.Random(7)
    out: dict[int, float] = {}
    for n in [n for n in VIEWER_LADDER if n <= max_viewers]:
        lag = asyncio.run(_viewers(url, n, size, pace, seconds, rng))
        out[n] = lag
        say(f"view: {label}: {n} viewers, worst lag {lag:.2f} s")
        if lag > ALLOWED_LAG_S:
            break
    return out


def run(work: Path, *, hour_seconds: int, viewer_seconds: float, timeline_requests: int, viewer_bps: float,
        max_viewers: int, say: Callable[[str], None]) -> ViewResult:
    result = ViewResult(viewer_bps=viewer_bps)
    key = generate_key()
    path = work / "store"
    t = time.perf_counter()
    result.hour_frames, result.hour_bytes = build_store(path, key, hour_seconds=hour_seconds, say=say)
    result.build_seconds = time.perf_counter() - t
    result.bitrate_bps = result.hour_bytes * 8 / hour_seconds
    with Store.open(path, key=key) as store:
        token = store.issue_grant(to="bench.viewer", actions=["view_raw"], cameras=["*"],
                                  valid_until=time.time_ns() + 6 * 3600 * NS, case="BENCH", issued_by="bench")
    auth = {"Authorization": f"Bearer {token}"}
    start, end = T0, T0 + hour_seconds * NS
    serve = [sys.executable, "-m", "vidvault.cli", "serve", str(path), "--port", "{port}"]
    clip_path = work / "clip.mp4"
    with _process(serve, {"VIDVAULT_KEY": key.hex()}) as base, httpx.Client(timeout=600, headers=auth) as http:
        def media_url(s: int, e: int, raw: bool) -> str:
            r = http.post(f"{base}/api/media-urls", json={"camera": HOUR_CAMERA, "start": str(s), "end": str(e),
                                                          "raw": raw})
            r.raise_for_status()
            return base + r.json()["url"]

        raw_url = media_url(start, end, True)
        result.raw_ttfb_ms = _ttfb_ms(http, raw_url)  # cold: this request lays the hour out
        result.raw_ttfb_warm_ms = _ttfb_ms(http, raw_url, {"Range": f"bytes={result.hour_bytes // 2}-"})
        # Another new range over the same files, now in the page cache: the
        # layout's own cost, without the first reading of the files from disk.
        result.raw_ttfb_cached_ms = _ttfb_ms(http, media_url(start + NS, end, True))
        result.raw_first_frame_ms = _first_frame_ms(media_url(start, end - NS, True))  # another cold range
        say(f"view: raw hour: first byte {result.raw_ttfb_ms:.0f} ms, first frame {result.raw_first_frame_ms:.0f} ms")
        result.raw_download_mb_s = _download_mb_s(http, raw_url, clip_path)
        try:
            redacted = media_url(start, end, False)
            result.redacted_ttfb_ms = _ttfb_ms(http, redacted)
            result.redacted_first_frame_ms = _first_frame_ms(media_url(start, end - NS, False))
        except (httpx.HTTPStatusError, OSError) as e:  # no models installed: 503, said in the report
            result.redacted_error = str(e)[:200]
        result.seek_at_s = min(45 * 60, hour_seconds * 3 // 4)
        at = start + result.seek_at_s * NS
        for mode, raw in (("raw", True), ("desensitized", False)):
            try:
                q = time.perf_counter()  # before: the page minted a link for ten minutes from the instant
                _first_frame_ms(media_url(at, min(at + 600 * NS, end), raw))
                result.seek_view_ms[mode] = (time.perf_counter() - q) * 1000
                result.seek_listing_ms[mode], part, first = _part_at(http, base, start, end, raw, at)
                http.get(first).raise_for_status()  # the page played the range's start before the viewer seeks
                result.seek_part_ms[mode] = _first_frame_ms(part)
            except (httpx.HTTPStatusError, OSError) as e:  # no models installed: 503, said in the report
                result.seek_error = str(e)[:200]
        say(f"view: seek {result.seek_at_s} s in: view.mp4 {result.seek_view_ms}, parts {result.seek_part_ms} ms")
        day_starts = [T0 + d * 86_400 * NS for d in range(7)]
        rng = random.Random(3)
        timeline, cameras = [], []
        for _ in range(timeline_requests):
            d = rng.choice(day_starts)
            q = time.perf_counter()
            http.get(f"{base}/api/cameras/{WEEK_CAMERA}/timeline", params={"start": d, "end": d + 86_400 * NS})\
                .raise_for_status()
            timeline.append((time.perf_counter() - q) * 1000)
            q = time.perf_counter()
            http.get(f"{base}/api/cameras").raise_for_status()
            cameras.append((time.perf_counter() - q) * 1000)
        result.timeline_p50_ms, result.timeline_p99_ms, _ = percentiles(timeline)
        result.cameras_p50_ms, result.cameras_p99_ms, _ = percentiles(cameras)
        q = time.perf_counter()
        http.get(f"{base}/api/cameras/{WEEK_CAMERA}/timeline",
                 params={"start": T0, "end": T0 + 7 * 86_400 * NS}).raise_for_status()
        result.week_timeline_ms = (time.perf_counter() - q) * 1000
        size = clip_path.stat().st_size
        pace = viewer_bps / 8
        result.viewers = viewer_ladder(raw_url, size, pace, viewer_seconds, say, "vidvault raw", max_viewers)
    plain = [sys.executable, "-m", "vidvault.bench.plain_file_server", str(clip_path), "{port}"]
    with _process(plain) as base, httpx.Client(timeout=600) as http:
        url = f"{base}/clip.mp4"
        http.get(url, headers={"Range": "bytes=0-0"})  # as the POST that mints a media URL warms the other server
        result.plain_ttfb_ms = _ttfb_ms(http, url)
        result.plain_first_frame_ms = _first_frame_ms(url)
        result.plain_download_mb_s = _download_mb_s(http, url)
        result.plain_viewers = viewer_ladder(url, size, pace, viewer_seconds, say, "plain file", max_viewers)
    clip_path.unlink()
    return result


def largest_held(viewers: dict[int, float]) -> int:
    held = [n for n, lag in viewers.items() if lag <= ALLOWED_LAG_S]
    return max(held, default=0)


def summarize(r: ViewResult, report: Any) -> None:
    report.add("raw hour: time to first byte (new range)", r.raw_ttfb_ms, "ms", baseline=r.plain_ttfb_ms,
               baseline_name="plain file, same server stack", target="< 300 ms", met=r.raw_ttfb_ms < 300)
    report.add("raw hour: time to first byte (new range, files in page cache)", r.raw_ttfb_cached_ms, "ms",
               baseline=r.plain_ttfb_ms, baseline_name="plain file", target="< 300 ms",
               met=r.raw_ttfb_cached_ms < 300)
    report.add("raw hour: time to first byte (laid out)", r.raw_ttfb_warm_ms, "ms", baseline=r.plain_ttfb_ms,
               baseline_name="plain file")
    report.add("raw hour: time to first decoded frame", r.raw_first_frame_ms, "ms", baseline=r.plain_first_frame_ms,
               baseline_name="plain file (PyAV)")
    report.add("raw hour: whole download", r.raw_download_mb_s, "MB/s", baseline=r.plain_download_mb_s,
               baseline_name="plain file")
    if r.redacted_ttfb_ms is not None and r.redacted_first_frame_ms is not None:
        report.add("desensitized hour: time to first byte", r.redacted_ttfb_ms, "ms", target="< 1.5 s",
                   met=r.redacted_ttfb_ms < 1500)
        report.add("desensitized hour: time to first decoded frame", r.redacted_first_frame_ms, "ms",
                   target="< 1.5 s", met=r.redacted_first_frame_ms < 1500)
    else:
        report.notes.append(f"desensitized view not measured: {r.redacted_error}")
    n, plain = largest_held(r.viewers), largest_held(r.plain_viewers)
    report.add(f"raw viewers held at {r.viewer_bps / 1e6:.1f} Mbit/s each", n, "viewers",
               baseline=plain, baseline_name="plain file", target=">= 32", met=n >= 32)
    report.add("timeline of one day in a week: p50", r.timeline_p50_ms, "ms", baseline=r.cameras_p50_ms,
               baseline_name="GET /api/cameras")
    report.add("timeline of one day in a week: p99", r.timeline_p99_ms, "ms", baseline=r.cameras_p99_ms,
               baseline_name="GET /api/cameras")
    report.add("timeline of the whole week", r.week_timeline_ms, "ms")
    for mode in r.seek_part_ms:
        report.add(f"seek {r.seek_at_s // 60} min into the hour, {mode}: time to first decoded frame (part)",
                   r.seek_part_ms[mode], "ms", baseline=r.seek_view_ms[mode],
                   baseline_name="view.mp4 of the ten minutes from there (mint + first frame)")
        report.add(f"listing the hour's parts, {mode} (once per look)", r.seek_listing_ms[mode], "ms")
    if r.seek_error:
        report.notes.append(f"seek not measured in every mode: {r.seek_error}")
    report.details["viewers"] = {"vidvault": r.viewers, "plain file": r.plain_viewers}
    report.notes.append(f"the hour: {r.hour_frames:,} frames, {r.hour_bytes / 1e9:.2f} GB "
                        f"({r.bitrate_bps / 1e6:.1f} Mbit/s: viewers read it faster than its real time), built in "
                        f"{r.build_seconds:.0f} s; viewers' worst lag per N: {r.viewers} (plain file: "
                        f"{r.plain_viewers}); the load clients run on the same cores as the server")
