"""Ingest an RTSP camera, reconnecting when it drops.

Shows: ``vidvault.ingest(store, camera, "rtsp://...")`` records a live
camera as it comes (no re-encode), timed by the camera's RTCP clock when it
sends one. A live source never ends an ingest by itself: when the stream
drops or cannot be reached, ingest waits (doubling the wait from
``backoff[0]`` up to ``backoff[1]``), reconnects, records the outage and
carries on until ``duration`` has passed or ``stop`` is set. The progress
callback sees the states (connecting, receiving, reconnecting, done); the
store sees each outage as a gap (``store.gaps``). The example checks that
every frame reads back and that every outage longer than the store's gap
threshold appears as a gap.

Run against a camera (or any RTSP server)::

    python examples/ingest_rtsp.py [URL [SECONDS [WORKDIR]]]

URL defaults to rtsp://127.0.0.1:8554/x, SECONDS (wall time to record) to 8.
Pull the camera's cable (or restart the server) meanwhile to see a
reconnect. Exits non-zero when nothing was recorded or an outage is missing
from the store's gaps.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import vidvault

CAMERA = "34020000001320000001"
NS = 1_000_000_000
GAP_THRESHOLD = 2.0  # seconds without frames that the store calls a gap (the default)


def check(ok: object, what: str) -> None:
    """Fails the example (exit status 1) when a result is not what it should be."""
    if not ok:
        raise SystemExit(f"FAILED: {what}")


def main(url: str, seconds: float, workdir: Path) -> int:
    workdir.mkdir(parents=True)
    states: list[str] = []

    def progress(p: vidvault.IngestProgress) -> None:
        # Called on every state change and at most every progress_interval seconds.
        if not states or states[-1] != p.state:
            print(f"  {p.elapsed_seconds:5.1f} s  {p.state:12} {p.frames} frames {p.message}", flush=True)
        states.append(p.state)

    with vidvault.Store.create(workdir / "store", key=vidvault.generate_key(),
                               gap_threshold=GAP_THRESHOLD) as store:
        store.add_camera(CAMERA, labels={"place": "gate"})
        print(f"recording      {url} for {seconds:g} s")
        result = vidvault.ingest(
            store, CAMERA, url,
            duration=seconds,            # wall time, for a live source
            backoff=(0.25, 2.0),         # first and longest wait between reconnection attempts
            open_timeout=5.0, read_timeout=2.0,
            transport="tcp",
            progress=progress,
        )
        print(f"recorded       {result.frames} frames ({result.keyframes} keyframes, "
              f"{result.bytes} bytes), clock {result.clock}, {result.reconnects} reconnects")
        check(result.frames > 0 and result.first_ts is not None, f"nothing was recorded from {url}")

        frames = list(store.read(CAMERA, result.first_ts, result.last_ts + 1))
        check(len(frames) == result.frames, f"{len(frames)} frames read back, {result.frames} recorded")
        gaps = store.gaps(CAMERA, result.first_ts, result.last_ts)
        for outage in result.outages:
            end = "ongoing" if outage.end is None else f"{(outage.end - outage.start) / NS:.1f} s"
            print(f"outage         {end}: {outage.reason}")
        for gap in gaps:
            print(f"gap            {gap.duration.total_seconds():.1f} s without footage")
        for outage in result.outages:
            if outage.end is not None and outage.end - outage.start > (GAP_THRESHOLD + 1) * NS:
                check(any(g.start < outage.end and g.end > outage.start for g in gaps),
                      "an outage is missing from the store's gaps")
    print(f"reconnects={result.reconnects} outages={len(result.outages)} gaps={len(gaps)}")
    return 0


if __name__ == "__main__":
    url = sys.argv[1] if len(sys.argv) > 1 else "rtsp://127.0.0.1:8554/x"
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 8.0
    if len(sys.argv) > 3:
        sys.exit(main(url, seconds, Path(sys.argv[3])))
    with tempfile.TemporaryDirectory(prefix="vidvault-rtsp-") as tmp:
        sys.exit(main(url, seconds, Path(tmp) / "work"))
