"""The object-storage step of `vidvault demo --s3`: the demo's store moves
its footage to a real S3 server on loopback (SeaweedFS's ``weed mini``),
reads and exports it from there, shows the bucket holds no plaintext, lets
another node open a read-only view, and then loses its disk and is restored
from the bucket alone. Each step checks its result against the frames the
demo read before any of this, and the demo fails if one differs."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Callable, Sequence

from ..errors import ReadOnlyStoreError
from ..export.verify import verify
from ..store import Store
from ..tier import S3Tier
from ..tier.loopback_server import S3Server, fresh_credentials

BUCKET = "vidvault-demo"
PREFIX = "district-3"


def _same(store: Store, cam: str, window: tuple[int, int], expected: Sequence[bytes]) -> tuple[bool, int]:
    frames = [f.data for f in store.read(cam, *window)]
    return frames == list(expected), len(frames)


def run(store_path: Path, key: bytes, cam: str, window: tuple[int, int], expected: Sequence[bytes],
        samples: Sequence[bytes], base: Path, say: Callable[[str], None]) -> bool:
    """``expected``: the window's access units as read from the local store;
    ``samples``: plaintext snippets of every camera's footage."""
    t = time.perf_counter()
    with fresh_credentials("demo") as creds:
        server = S3Server.launch(base / "weed", creds.access_key, creds.secret_key)
        try:
            server.client().create_bucket(Bucket=BUCKET)
            say(f"s3 server      weed mini (SeaweedFS) at {server.endpoint}, bucket {BUCKET!r}, started in "
                f"{time.perf_counter() - t:.1f} s; credentials random, in AWS_* variables only (never printed)")
            return _steps(server, store_path, key, cam, window, expected, samples, base, say)
        finally:
            server.stop()


def _steps(server: S3Server, store_path: Path, key: bytes, cam: str, window: tuple[int, int],
           expected: Sequence[bytes], samples: Sequence[bytes], base: Path, say: Callable[[str], None]) -> bool:
    url = f"s3://{BUCKET}/{PREFIX}"
    with Store.open(store_path, key=key, tier_uploads=False) as store:
        status = store.set_tier(S3Tier(server.endpoint, BUCKET, prefix=PREFIX, keep_local="0s"))
        say(f"tier set       {url}; legal holds: {status.holds}")
        t = time.perf_counter()
        sync = store.sync_tier()
        if sync.failed:
            say(f"ERROR: uploads failed: {sync.failed[:3]}")
            return False
        say(f"tier sync      {len(sync.uploaded)} segments, {sync.uploaded_bytes / 1e6:.1f} MB uploaded "
            f"(SHA-256 checked by the server), {len(sync.evicted)} local copies evicted, metadata snapshot sent, "
            f"in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        same, n = _same(store, cam, window, expected)
        say(f"read remote    {n} frames of the window fetched back from the bucket in "
            f"{(time.perf_counter() - t) * 1000:.0f} ms, identical to the local read: {same}")
        if not same:
            return False
        pkg = base / "evidence-from-bucket"
        store.export_clip(cam, *window, pkg, raw=True, watermark="COPY - demo export", case="DEMO-1",
                          reason="demo: export from the bucket", actor="vidvault demo")
        report = verify(pkg, public_key=store.export_public_key())
        say(f"export remote  clip of evicted footage to {pkg.name}/, verified offline: "
            f"{'VERIFIED' if report.ok else report.first_failure}")
        if not report.ok:
            return False
    if not _bucket_at_rest(server, samples, say):
        return False
    if not _read_only_view(server, url, key, cam, window, expected, base, say):
        return False
    return _restore_after_a_dead_disk(server, url, store_path, key, cam, window, expected, base, say)


def _bucket_at_rest(server: S3Server, samples: Sequence[bytes], say: Callable[[str], None]) -> bool:
    client = server.client()
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX)
            for o in page.get("Contents", [])]
    found = [k for k in keys if any(s in client.get_object(Bucket=BUCKET, Key=k)["Body"].read() for s in samples)]
    say(f"bucket at rest searched all {len(keys)} objects for {len(samples)} plaintext samples: "
        f"{'none found' if not found else 'FOUND in ' + ', '.join(found)}")
    return not found


def _read_only_view(server: S3Server, url: str, key: bytes, cam: str, window: tuple[int, int],
                    expected: Sequence[bytes], base: Path, say: Callable[[str], None]) -> bool:
    with Store.open_remote(url, base / "view", key=key, endpoint=server.endpoint) as view:
        same, n = _same(view, cam, window, expected)
        try:
            view.hold(cam, *window, case="DEMO-1", actor="vidvault demo", reason="demo")
            refused = "NOT REFUSED"
        except ReadOnlyStoreError:
            refused = "refused (ReadOnlyStoreError: do it on the recorder)"
        say(f"read-only view another node's view of the bucket: {n} frames identical: {same}; a hold: {refused}")
        return same and refused != "NOT REFUSED"


def _restore_after_a_dead_disk(server: S3Server, url: str, store_path: Path, key: bytes, cam: str,
                               window: tuple[int, int], expected: Sequence[bytes], base: Path,
                               say: Callable[[str], None]) -> bool:
    shutil.rmtree(store_path)
    t = time.perf_counter()
    result = Store.restore(url, base / "restored", key=key, endpoint=server.endpoint)
    say(f"dead disk      store directory deleted; restored from the bucket alone in "
        f"{time.perf_counter() - t:.1f} s: snapshot {result.snapshot_seq}, {result.remote_segments} segments, "
        f"{len(result.missing)} missing")
    with Store.open(base / "restored", key=key, tier_uploads=False) as store:
        same, n = _same(store, cam, window, expected)
        fsck = store.fsck()
        say(f"restored       {n} frames identical: {same}; fsck (bucket objects included): "
            f"{'OK' if fsck.ok else fsck.problems}")
        return same and fsck.ok and not result.missing
