"""The S3 object-storage tier against a real server: SeaweedFS's `weed
mini` on loopback (tests/s3_server.py), one per module. Real H.264 footage,
real uploads, the server killed and restarted mid-sync."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path

import pytest

import vidvault
from vidvault import S3Tier, TierError
from vidvault.cli import main as cli_main
from vidvault.tier import link, upload
from vidvault.tier.s3 import HOLDS_BY_BUCKET, HOLDS_BY_VIDVAULT
from vidvault.tier.upload import UPLOAD_CONCURRENCY

from helpers import T0, NS, ingest_file
from s3_server import ACCESS_KEY, SECRET_KEY, S3Server, use_test_credentials

CAM, OTHER = "34020000001320000001", "34020000001320000002"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = S3Server.launch(tmp_path_factory.mktemp("weed"))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    """The standard variables boto3 reads, and nothing else from this host
    (no ~/.aws, no instance-metadata lookups)."""
    use_test_credentials(monkeypatch, tmp_path)


_buckets = iter(range(10_000))


@pytest.fixture
def bucket(s3):
    name = f"vv-tier-{next(_buckets)}"
    s3.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def recorded(store_path, key, clip):
    """A closed store with two cameras of real H.264, one keyframe a
    second and a segment per keyframe: 12 sealed segments."""
    path = clip(seconds=6.0, gop=25)
    with vidvault.Store.create(store_path, key=key, roll_after=0.5) as store:
        for cam, t0 in ((CAM, T0), (OTHER, T0 + 3600 * NS)):
            store.add_camera(cam)
            ingest_file(store, cam, path, start_ns=t0)
    return store_path


def sealed(store) -> list:
    return [s for c in store.cameras() for s in store.segments(c.id) if s.state == "sealed"]


def objects(s3, bucket: str, *, meta: bool = False) -> dict[str, bytes]:
    """The bucket's objects; without the replica of the store's metadata
    (``STORE-ID/meta/``, tests/test_tier_restore.py) unless ``meta``."""
    client = s3.client()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    keys = [k for k in keys if meta or "/meta/" not in k]
    return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def assert_bucket_mirrors(s3, bucket: str, store) -> None:
    """Every sealed segment exactly once in the bucket, byte for byte, under
    STORE-ID/segments/CAMERA/DAY/ID.vvs, and nothing else."""
    segs = sealed(store)
    held = objects(s3, bucket)
    assert sorted(held) == sorted(f"{store.store_id}/{s.path}" for s in segs)
    for s in segs:
        assert held[f"{store.store_id}/{s.path}"] == (store.path / s.path).read_bytes()


# ---------------------------------------------------------------- set_tier: checks and settings


def test_set_tier_checks_the_bucket_and_a_reopened_store_knows_it(s3, bucket, recorded, key):
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        assert not store.tier_status().configured
        status = store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="2d"))
        assert status.configured and status.bucket == bucket and status.backlog_segments == 12
        assert status.holds == HOLDS_BY_VIDVAULT  # a plain bucket has no Object Lock
        assert [e.action for e in store.audit()][-1] == "tier_set"
    saved = json.loads((recorded / "tier.json").read_text())
    assert saved["tier"]["bucket"] == bucket and saved["tier"]["keep_local"] == "2d"
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        status = store.tier_status()
        assert (status.endpoint, status.bucket, status.keep_local) == (s3.endpoint, bucket, "2d")
    # The lock probe left nothing behind in the bucket.
    assert objects(s3, bucket) == {}


def test_a_missing_bucket_is_refused_by_name_and_recording_goes_on(s3, store, clip):
    with pytest.raises(TierError) as err:
        store.set_tier(S3Tier(s3.endpoint, "vv-no-such-bucket"))
    assert "'vv-no-such-bucket'" in str(err.value) and s3.endpoint in str(err.value)
    assert "does not exist" in str(err.value)
    assert not (store.path / "tier.json").exists() and not store.tier_status().configured
    store.add_camera(CAM)
    _, packets, _ = ingest_file(store, CAM, clip(seconds=2.0))
    assert len(list(store.read(CAM, T0, T0 + 10 * NS))) == len(packets)


def test_wrong_credentials_are_refused_by_name_without_echoing_them(s3, bucket, store, monkeypatch):
    wrong_secret = "vv-wrong-secret-0123456789abcdef"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong_secret)
    with pytest.raises(TierError) as err:
        store.set_tier(S3Tier(s3.endpoint, bucket))
    text = str(err.value)
    assert "refused these credentials" in text and repr(bucket) in text and s3.endpoint in text
    assert wrong_secret not in text and wrong_secret not in repr(err.value.__cause__) + repr(err.value.__context__)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "someone-else")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    with pytest.raises(TierError, match="refused these credentials"):
        store.set_tier(S3Tier(s3.endpoint, bucket))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(TierError, match="no S3 credentials"):
        store.set_tier(S3Tier(s3.endpoint, bucket))
    assert not (store.path / "tier.json").exists()


def test_an_unreachable_endpoint_is_refused_by_name(store):
    from helpers import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TierError, match="cannot reach") as err:
        store.set_tier(S3Tier(endpoint, "vv-somewhere"))
    assert endpoint in str(err.value)


@pytest.mark.parametrize("endpoint, bucket, prefix, why", [
    ("s3.example.org", "b-1", "", "http:// or https://"),
    ("https://AKIA:hunter2@s3.example.org", "b-1", "", "must not carry credentials"),
    ("https://s3.example.org", "", "", "not an S3 bucket name"),
    ("https://s3.example.org", "Bad_Bucket", "", "not an S3 bucket name"),
    ("https://s3.example.org", "b-1", "site/../other", "prefix"),
])
def test_a_bad_tier_is_refused_before_anything_is_sent(endpoint, bucket, prefix, why):
    with pytest.raises(TierError, match=why) as err:
        S3Tier(endpoint, bucket, prefix=prefix)
    assert "hunter2" not in str(err.value)


def test_holds_are_enforced_by_the_bucket_only_where_it_refuses_the_delete(s3, store):
    client = s3.client()
    client.create_bucket(Bucket="vv-tier-locked", ObjectLockEnabledForBucket=True)
    status = store.set_tier(S3Tier(s3.endpoint, "vv-tier-locked", prefix="site-a"))
    assert status.holds == HOLDS_BY_BUCKET and "holds enforced by the bucket" in status.summary()
    versions = client.list_object_versions(Bucket="vv-tier-locked")
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")  # the probe cleaned up


# ---------------------------------------------------------------- uploads


def test_sync_uploads_every_sealed_segment_once_as_ciphertext(s3, bucket, recorded, key, clip):
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket))
        seen = []
        report = store.sync_tier(progress=lambda done, total, seg: seen.append((done, total, seg.id)))
        assert not report.failed and len(report.uploaded) == 12 and [d for d, _, _ in seen] == list(range(1, 13))
        assert_bucket_mirrors(s3, bucket, store)
        status = store.tier_status()
        assert (status.uploaded_segments, status.backlog_segments, status.alarm) == (12, 0, None)
        assert status.uploaded_bytes == sum(s.bytes for s in sealed(store))
        assert store.fsck(deep=True).problems == []  # tier.json and tier/ are part of the store
        again = store.sync_tier()
        assert again.uploaded == [] and not again.failed
    # Only ciphertext left the store: no access unit of the clip is in any object.
    from vidvault import media

    with media.PacketSource(clip(seconds=6.0, gop=25)) as src:
        big = [p.data[:256] for p in src if len(p.data) > 1024][:20]
    blob = b"".join(objects(s3, bucket, meta=True).values())
    assert big and not any(b in blob for b in big)


def test_upload_after_holds_segments_back_until_due(s3, bucket, recorded, key):
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket, upload_after="1h"))
        report = store.sync_tier()
        assert report.uploaded == [] and report.not_due == 12
        assert objects(s3, bucket) == {}


def test_the_server_refuses_bytes_that_do_not_match_our_checksum(s3, bucket, tmp_path):
    path = tmp_path / "segment.vvs"
    path.write_bytes(b"sealed ciphertext" * 1000)
    want = upload.digest_file(path)
    forged = upload.Digest(want.size, want.sha256,
                           base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode(), False)
    tier = S3Tier(s3.endpoint, bucket)
    with pytest.raises(Exception, match="BadDigest"):
        upload.put_segment_file(tier.client(), tier, "k.vvs", path, forged)
    assert objects(s3, bucket) == {}
    upload.put_segment_file(tier.client(), tier, "k.vvs", path, want)
    assert objects(s3, bucket) == {"k.vvs": path.read_bytes()}


class _CountingClient:
    """A boto3 client that counts HEADs; ``echo=False`` hides the checksum
    a PUT's answer carries (a server that does not echo it)."""

    def __init__(self, client, echo: bool) -> None:
        self._client, self._echo, self.heads = client, echo, 0

    def head_object(self, **kw):
        self.heads += 1
        return self._client.head_object(**kw)

    def put_object(self, **kw):
        answer = self._client.put_object(**kw)
        return answer if self._echo else {k: v for k, v in answer.items() if k != "ChecksumSHA256"}

    def __getattr__(self, name):
        return getattr(self._client, name)


@pytest.mark.parametrize("echo, heads", [(True, 1), (False, 2)])
def test_a_put_is_confirmed_by_the_checksum_the_server_verified_or_else_by_a_head(s3, bucket, recorded, key,
                                                                                  echo, heads):
    from vidvault.tier.ledger import Ledger

    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        tier, seg = S3Tier(s3.endpoint, bucket), sealed(store)[0]
        client, ledger = _CountingClient(tier.client(), echo), Ledger(recorded)
        try:
            assert upload.upload_segment(client, tier, recorded, store.store_id, seg, ledger) == seg.bytes
            # One HEAD before the PUT (is it there already?), and one after only when the answer
            # does not say the server stored our SHA-256.
            assert client.heads == heads
            row = ledger.upload(seg.id)
            assert (row.bytes, row.sha256) == (seg.bytes, hashlib.sha256((recorded / seg.path).read_bytes()).hexdigest())
        finally:
            ledger.close()
    assert objects(s3, bucket)[row.object_key] == (recorded / seg.path).read_bytes()


def test_a_large_segment_goes_up_in_parts_and_is_confirmed_by_its_composite_checksum(s3, bucket, store_path, key):
    import random

    with vidvault.Store.create(store_path, key=key, roll_bytes=1 << 30, roll_after=3600.0) as store:
        store.add_camera(CAM)
        rnd = random.Random(7)
        with store.writer(CAM, codec="h264") as w:
            for i in range(70):  # 70 x 256 KiB: over the 16 MiB multipart threshold
                w.append(T0 + i * 40_000_000, rnd.randbytes(256 << 10), keyframe=i == 0)
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket, prefix="/big/"))
        (seg,) = sealed(store)
        assert seg.bytes > upload.MULTIPART_THRESHOLD
        report = store.sync_tier()
        assert report.uploaded == [seg.id] and not report.failed
        head = s3.client().head_object(Bucket=bucket, Key=f"big/{store.store_id}/{seg.path}", ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"].endswith("-2") and head["ContentLength"] == seg.bytes
        assert objects(s3, bucket)[f"big/{store.store_id}/{seg.path}"] == (store_path / seg.path).read_bytes()


def test_server_killed_mid_sync_and_restarted_loses_and_duplicates_nothing(s3, bucket, recorded, key, clip,
                                                                              monkeypatch):
    monkeypatch.setattr(link, "ROUND_SECONDS", 0.2)
    monkeypatch.setattr(link, "MAX_BACKOFF_SECONDS", 0.5)
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket))

        def kill_after_third(done, total, segment):
            if done == 3:
                s3.stop()

        report = store.sync_tier(progress=kill_after_third)
        # The uploads in flight when it died fail (UPLOAD_CONCURRENCY at a time); nothing more starts.
        assert len(report.uploaded) == 3 and 1 <= len(report.failed) <= UPLOAD_CONCURRENCY
        assert all(bucket in why and s3.endpoint in why for _, why in report.failed)
        status = store.storage_status()
        assert status.alarm and "9 sealed segments wait on local disk only" in status.alarm
        assert store.tier_status().backlog_segments == 9
        assert [e.outcome for e in store.audit() if e.action == "tier_upload_failing"] == ["raised"]
    # Recording goes on with the bucket down, with the uploader running.
    with vidvault.Store.open(recorded, key=key, roll_after=0.5) as store:
        store.add_camera("34020000001320000003")
        _, packets, _ = ingest_file(store, "34020000001320000003", clip(seconds=3.0, gop=25))
        assert len(list(store.read("34020000001320000003", T0, T0 + 10 * NS))) == len(packets)
        s3.start()
        deadline = time.monotonic() + 60
        # Until the round that uploads the last one has ended (it clears the alarm at its end).
        while (store.tier_status().backlog_segments or store.tier_status().alarm) and time.monotonic() < deadline:
            time.sleep(0.2)
        status = store.tier_status()
        assert status.backlog_segments == 0 and status.uploaded_segments == len(sealed(store)) > 12
        assert status.alarm is None and store.storage_status().alarm is None
        assert_bucket_mirrors(s3, bucket, store)
        assert [e.outcome for e in store.audit() if e.action == "tier_upload_failing"] == ["raised", "ended"]


def test_server_killed_in_the_middle_of_a_multipart_upload(s3, bucket, store_path, key, monkeypatch):
    """The kill lands while a 17 MiB segment's parts are on the wire: the
    round fails, nothing is recorded, and after the restart the segment is
    uploaded whole, once, byte for byte."""
    import random

    with vidvault.Store.create(store_path, key=key, roll_bytes=1 << 30, roll_after=3600.0) as store:
        store.add_camera(CAM)
        rnd = random.Random(11)
        with store.writer(CAM, codec="h264") as w:
            for i in range(70):
                w.append(T0 + i * 40_000_000, rnd.randbytes(256 << 10), keyframe=i == 0)
    real_put = upload.put_segment_file
    sent = []

    def put_and_kill_midway(client, tier, k, path, want, on_bytes=None):
        def count(n):
            sent.append(n)
            if sum(sent) > 4 << 20 and s3.process is not None:
                s3.stop()  # SIGKILL, with about 4 MiB of the first part sent
        return real_put(client, tier, k, path, want, count)

    monkeypatch.setattr(upload, "put_segment_file", put_and_kill_midway)
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket))
        report = store.sync_tier()
        assert report.uploaded == [] and len(report.failed) == 1 and 0 < sum(sent) < sealed(store)[0].bytes
        assert store.tier_status().backlog_segments == 1 and store.storage_status().alarm
        s3.start()
        monkeypatch.setattr(upload, "put_segment_file", real_put)
        report = store.sync_tier()
        assert len(report.uploaded) == 1 and not report.failed
        assert_bucket_mirrors(s3, bucket, store)
        assert store.storage_status().alarm is None


def test_a_confirmed_object_is_not_uploaded_twice_after_a_lost_ledger(s3, bucket, recorded, key):
    """A crash after the upload and before the ledger write: the next sync
    finds the object, checks it, and records it without a second PUT."""
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket))
        assert len(store.sync_tier().uploaded) == 12
    (recorded / "tier" / "ledger.sqlite").unlink()
    (recorded / "tier" / "ledger.sqlite-journal").unlink(missing_ok=True)
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        report = store.sync_tier()
        assert len(report.uploaded) == 12 and report.uploaded_bytes == 0
        assert store.tier_status().backlog_segments == 0


def test_moving_an_uploading_store_to_another_bucket_is_refused(s3, bucket, recorded, key):
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket))
        store.sync_tier()
        s3.client().create_bucket(Bucket=bucket + "-b")
        with pytest.raises(TierError, match="not supported yet"):
            store.set_tier(S3Tier(s3.endpoint, bucket + "-b"))
        store.set_tier(S3Tier(s3.endpoint, bucket, upload_after="10s"))  # same bucket: settings may change
        assert store.tier_status().upload_after == "10s"


# ---------------------------------------------------------------- the command line, and the secret


def test_cli_tier_set_status_sync_and_the_secret_is_nowhere(s3, bucket, recorded, key, monkeypatch, capsys):
    monkeypatch.setenv("VIDVAULT_KEY", key.hex())
    out = []

    def run(*argv):
        code = cli_main(list(argv))
        captured = capsys.readouterr()
        out.append(captured.out + captured.err)
        return code, captured.out

    code, text = run("tier", "status", str(recorded))
    assert code == 0 and "no tier" in text
    code, _ = run("tier", "set", str(recorded), "--endpoint", s3.endpoint, "--bucket", "vv-not-there")
    assert code == 2 and "vv-not-there" in out[-1] and "does not exist" in out[-1]
    code, text = run("tier", "set", str(recorded), "--endpoint", s3.endpoint, "--bucket", bucket, "--prefix", "rec-1")
    assert code == 0 and bucket in text and "holds enforced by vidvault only" in text
    code, text = run("tier", "sync", str(recorded))
    assert code == 0 and "uploaded 12 segments" in text
    code, text = run("tier", "status", str(recorded), "--json")
    assert code == 0 and json.loads(text)["uploaded_segments"] == 12
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY[::-1])
    code, _ = run("tier", "set", str(recorded), "--endpoint", s3.endpoint, "--bucket", bucket, "--prefix", "rec-1")
    assert code == 2 and "refused these credentials" in out[-1]
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        audit = [json.dumps([e.action, e.reason, e.details]) for e in store.audit()]
        out.append("\n".join(audit))
        assert any("tier_set" in a for a in audit)
    for secret in (SECRET_KEY, SECRET_KEY[::-1]):
        for text in out:
            assert secret not in text
        for f in Path(recorded).rglob("*"):
            if f.is_file():
                assert secret.encode() not in f.read_bytes(), f
    assert ACCESS_KEY.encode() not in (recorded / "tier.json").read_bytes()


# ---------------------------------------------------------------- disk pressure with a tier


@pytest.mark.parametrize("keep_local", ["1d", "0s"])
def test_disk_pressure_spares_segments_not_yet_uploaded_unless_expired(s3, bucket, small_fs, key, keep_local):
    """On a real 48 MiB filesystem: with a tier set, disk pressure deletes
    no unexpired segment the bucket has not confirmed (it may be the only
    copy) and says so in the alarm; expired footage still goes; once
    uploaded, disk pressure evicts the oldest instead. With keep_local
    0s the upload round evicts: the disk is freed and every segment keeps
    its row (disk pressure never picks an evicted one)."""
    with _small_store(small_fs, key, 16 << 20) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local=keep_local))
        store.add_camera("old", retention=vidvault.Retention(max_age="1d", min_age="0s"))
        store.add_camera("cam", retention=vidvault.Retention(min_age="0s"))
        _fill(store, "old", T0, 4)
        _fill(store, "cam", T0 + 60 * NS, 40)  # ~30 MB: the disk falls under the floor
        cam_segments = [s.id for s in store.segments("cam")]
        status = store.check_disk_pressure()
        assert status.free_bytes < 16 << 20
        assert status.alarm and "wait for their upload to the object-storage tier" in status.alarm
        assert [s.id for s in store.segments("cam")] == cam_segments  # nothing un-uploaded went
        assert store.segments("old") == []  # expired: retention may delete it, uploaded or not
        if keep_local == "1d":
            assert not store.sync_tier().failed
            status = store.check_disk_pressure()
            assert status.alarm is None and status.free_bytes >= 16 << 20
            # Uploaded: disk pressure evicts the oldest (keep_local or
            # not) and deletes nothing (test_disk_pressure_evicts_...).
            assert [s.id for s in store.segments("cam")] == cam_segments
            assert 0 < status.remote_only_segments < len(cam_segments)
            return
    with _small_store(small_fs, key, 1) as store:
        report = store.sync_tier()
        assert not report.failed and sorted(report.evicted) == cam_segments
    with _small_store(small_fs, key, 16 << 20) as store:
        status = store.check_disk_pressure()
        assert status.alarm is None and status.free_bytes >= 16 << 20
        assert [s.id for s in store.segments("cam")] == cam_segments  # evicted, never deleted
        assert status.local_bytes == 0 and status.remote_only_segments == len(cam_segments)
        assert len(list(store.read("cam", T0 + 60 * NS, T0 + 64 * NS))) == 4 * 25  # from the bucket
        # New footage fills the disk again: deleting an evicted segment
        # would free nothing here and lose its row, so none is picked.
        store.add_camera("new", retention=vidvault.Retention(min_age="0s"))
        _fill(store, "new", T0 + 7200 * NS, 45)  # ~34 MB
        status = store.check_disk_pressure()
        assert status.free_bytes < 16 << 20 and status.alarm
        assert [s.id for s in store.segments("cam")] == cam_segments


def _fill(store, camera, start, seconds):
    """``seconds`` of 25 fps footage at ~30 kB a frame (random: incompressible)."""
    import os

    with store.writer(camera, codec="h264") as w:
        for i in range(seconds * 25):
            w.append(start + i * 40_000_000, os.urandom(30_000), keyframe=i % 25 == 0)


def _small_store(small_fs, key, min_free_bytes: int):
    """The store on the small filesystem (created on first use), opened
    with this free-space floor and without the background uploader."""
    path = small_fs / "store"
    if not path.exists():
        vidvault.Store.create(path, key=key).close()
    return vidvault.Store.open(path, key=key, min_free_bytes=min_free_bytes, roll_after=2.0, sync_interval=0.05,
                               tier_uploads=False)


def _tombstoned(path: Path) -> dict[int, str]:
    lines = (path / "tombstones.jsonl").read_text().splitlines() if (path / "tombstones.jsonl").exists() else []
    return {int(t["id"]): t["reason"] for t in map(json.loads, lines)}


def test_disk_pressure_trims_the_read_cache_then_evicts_uploaded_segments_and_deletes_nothing(
        s3, bucket, small_fs, key):
    """On a real 48 MiB filesystem: a store under its floor whose footage
    the bucket holds frees the disk by dropping its read cache, then by
    evicting the oldest uploaded segments, keep_local notwithstanding;
    every row stays, nothing is deleted, and the evicted footage reads back
    bit-exact from the bucket."""
    path = small_fs / "store"
    with _small_store(small_fs, key, 1) as store:
        store.add_camera("a", retention=vidvault.Retention(min_age="0s"))
        store.add_camera("b", retention=vidvault.Retention(min_age="0s"))
        _fill(store, "a", T0, 10)  # ~7.5 MB: evicted, then read back into the cache
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="0s"))
        assert store.sync_tier().evicted
        a_frames = frames_of(store, "a", T0, T0 + 3600 * NS)
        assert store.tier_status().cache_bytes > 7 << 20
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="1d"))
        _fill(store, "b", T0 + 600 * NS, 40)  # ~30 MB, uploaded, local copies kept a day
        report = store.sync_tier()
        assert report.uploaded and not report.evicted and not report.failed
        b_segments = [s.id for s in store.segments("b")]
        b_frames = frames_of(store, "b", T0, T0 + 3600 * NS)
        # The oldest one's object altered in the bucket: its local copy is the only good one.
        altered = store.segments("b")[0]
        s3.client().put_object(Bucket=bucket, Key=f"{store.store_id}/{altered.path}", Body=b"altered")
    with _small_store(small_fs, key, 16 << 20) as store:
        assert store.storage_status().free_bytes < 16 << 20
        status = store.check_disk_pressure()
        assert status.alarm is None and status.free_bytes >= 16 << 20
        assert store.tier_status().cache_bytes == 0  # the cache went first
        assert (path / altered.path).exists()  # neither evicted nor deleted
        evicted = [s.id for s in store.segments("b") if not (path / s.path).exists()]
        assert evicted and evicted == b_segments[1:1 + len(evicted)] and len(evicted) < len(b_segments) - 1
        assert [s.id for s in store.segments("b")] == b_segments  # every row kept
        assert not _tombstoned(path) and not [e for e in store.audit() if e.action == "disk_pressure_sweep"]
        assert any(e.action == "tier_evicted" and "disk pressure" in e.reason for e in store.audit())
        assert frames_of(store, "b", T0, T0 + 3600 * NS) == b_frames  # through the bucket, bit-exact
        assert frames_of(store, "a", T0, T0 + 3600 * NS) == a_frames


def test_disk_pressure_with_the_bucket_down_deletes_uploaded_segments_loudly_never_unuploaded_ones(
        s3, bucket, small_fs, key):
    """The bucket unreachable: eviction fails, and disk pressure does what
    it does without a relief: it deletes the oldest footage the rules allow,
    uploaded segments included (their objects stay in the bucket), never a
    segment waiting for its upload. None of it silently: the alarm says
    so, the audit log names the failure and every deleted segment, and the
    tombstone journal gives the reason."""
    path = small_fs / "store"
    with _small_store(small_fs, key, 1) as store:
        store.add_camera("b", retention=vidvault.Retention(min_age="0s"))
        store.add_camera("c", retention=vidvault.Retention(min_age="0s"))
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="1d"))
        _fill(store, "b", T0, 36)  # ~27 MB, uploaded
        assert not store.sync_tier().failed
        _fill(store, "c", T0 + 600 * NS, 8)  # ~6 MB, never uploaded
        b_segments = [s.id for s in store.segments("b")]
        c_segments = [s.id for s in store.segments("c")]
        store_id = store.store_id
    s3.stop()
    try:
        with _small_store(small_fs, key, 16 << 20) as store:
            status = store.check_disk_pressure()
            assert status.free_bytes >= 16 << 20
            assert status.alarm and "could not evict uploaded segments" in status.alarm
            assert s3.endpoint in status.alarm and "deleted" in status.alarm
            left = [s.id for s in store.segments("b")]
            gone = b_segments[:len(b_segments) - len(left)]
            assert gone and left == b_segments[len(gone):]  # the oldest uploaded ones
            assert [s.id for s in store.segments("c")] == c_segments  # waiting for upload: kept
            assert store.tier_status().remote_only_segments == 0  # nothing half-evicted
            audit = store.audit()
            failed = [e for e in audit if e.action == "tier_pressure_evict"]
            assert failed and failed[-1].outcome == "failed" and s3.endpoint in failed[-1].reason
            sweeps = [e for e in audit if e.action == "disk_pressure_sweep"]
            assert sweeps and sorted(sweeps[-1].details["segment_ids"]) == gone
            assert {i: r for i, r in _tombstoned(path).items()} == {i: "disk_pressure" for i in gone}
    finally:
        s3.start()
    # Their objects are still in the bucket (retention did not expire them).
    held = objects(s3, bucket)
    assert sum(k.startswith(f"{store_id}/segments/b/") for k in held) == len(b_segments)


# ---------------------------------------------------------------- retention across tiers


@pytest.mark.parametrize("versioned", [False, True])
def test_retention_deletes_the_objects_of_expired_segments_every_version(s3, bucket, recorded, key, versioned):
    client = s3.client()
    if versioned:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket))
        assert len(store.sync_tier().uploaded) == 12
        if versioned:  # a second version of one object, as a re-upload by hand would leave
            seg = next(s for s in sealed(store) if s.camera == CAM)
            client.put_object(Bucket=bucket, Key=f"{store.store_id}/{seg.path}", Body=(recorded / seg.path).read_bytes())
        store.set_retention(CAM, vidvault.Retention(max_age="1d", min_age="0s"))  # its 2025 footage expired
        store.set_retention(OTHER, vidvault.Retention(min_age="0s"))  # kept for ever
        report = store.enforce_retention()
        gone = {d.id for d in report.deleted}
        assert len(gone) == 6 and all(d.camera == CAM for d in report.deleted)
        round_ = store.sync_tier()
        assert sorted(round_.retired) == sorted(gone) and not round_.failed
        left = {f"{store.store_id}/{s.path}" for s in sealed(store)}
        versions = client.list_object_versions(Bucket=bucket)
        keys = {v["Key"] for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])
                if "/meta/" not in v["Key"]}  # the replica of the metadata: tests/test_tier_restore.py
        assert keys == left and len(left) == 6  # every version of the expired ones gone; the others kept
        assert store.tier_status().uploaded_segments == 6
        assert sum(e.action == "tier_object_deleted" for e in store.audit()) == 6
        assert store.sync_tier().retired == []  # nothing deleted twice


# ---------------------------------------------------------------- eviction and reads of evicted segments


def frames_of(store, camera, start, end) -> list[tuple[int, bool, bytes]]:
    return [(f.ts, f.keyframe, bytes(f.data)) for f in store.read(camera, start, end)]


def evicted_store(s3, bucket, recorded, key, **tier):
    """The recorded store with every segment uploaded and evicted
    (keep_local 0s); returns the frames of both cameras read before."""
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        before = {c: frames_of(store, c, T0 - 3600 * NS, T0 + 7200 * NS) for c in (CAM, OTHER)}
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="0s", **tier))
        report = store.sync_tier()
        assert not report.failed and len(report.evicted) == 12
        assert [e.action for e in store.audit()][-1] == "tier_evicted"
    return before


def test_evicted_segments_read_back_bit_exact_and_seek_lands_on_the_same_keyframe(s3, bucket, recorded, key):
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        segs = sealed(store)
        seek_before = store.seek(CAM, T0 + 2 * NS + NS // 3)
    before = evicted_store(s3, bucket, recorded, key)
    assert not list((recorded / "segments").rglob("*.vvs"))  # every local file gone
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        status = store.tier_status()
        assert (status.remote_only_segments, status.remote_only_bytes) == (12, sum(s.bytes for s in segs))
        disk = store.storage_status()
        assert (disk.local_segments, disk.local_bytes, disk.remote_only_segments) == (0, 0, 12)
        assert [s.id for s in sealed(store)] == [s.id for s in segs]  # the catalog keeps every row
        for cam in (CAM, OTHER):
            assert frames_of(store, cam, T0 - 3600 * NS, T0 + 7200 * NS) == before[cam]
        seek = store.seek(CAM, T0 + 2 * NS + NS // 3)
        assert (seek.ts, bytes(seek.data)) == (seek_before.ts, bytes(seek_before.data))
        # The cache holds the objects byte for byte: ciphertext, never plaintext. Each is a
        # partial copy (the upload recorded its blocks' digests), complete once every frame was read.
        held = objects(s3, bucket)
        cached = sorted((recorded / "tier" / "cache").iterdir())
        assert len(cached) == 12 and {p.suffix for p in cached} == {".partial"}
        by_id = {s.id: s for s in segs}
        for p in cached:
            assert p.read_bytes() == held[f"{store.store_id}/{by_id[int(p.stem)].path}"]
            assert before[CAM][0][2][:64] not in p.read_bytes()
        assert "remote only (evicted): 12 segments" in store.tier_status().summary()
        assert store.fsck().problems == []  # remote-only segments are no missing files


def test_keep_local_and_legal_holds_keep_the_local_copy(s3, bucket, recorded, key):
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="1d"))
        report = store.sync_tier()
        assert len(report.uploaded) == 12 and report.evicted == []  # uploaded, but not a day ago
        store.hold(CAM, T0, T0 + NS, case="C-1", actor="clerk")
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="0s"))
        report = store.sync_tier()
        held = [s.id for s in store.segments(CAM) if s.start < T0 + NS]
        assert held and sorted(report.held_local) == held
        assert len(report.evicted) == 12 - len(held)
        for s in sealed(store):
            assert (store.path / s.path).exists() == (s.id in held)
        assert store.tier_status().holds == HOLDS_BY_VIDVAULT


@pytest.fixture
def locked_bucket(s3):
    name = f"vv-tier-lock-{next(_buckets)}"
    s3.client().create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def s3_legal_hold(client, bucket: str, key: str) -> str:
    """The server's word on the object's legal hold: "ON" or "OFF"."""
    import botocore.exceptions as bx

    try:
        return client.get_object_legal_hold(Bucket=bucket, Key=key)["LegalHold"]["Status"]
    except bx.ClientError as e:
        if e.response["Error"]["Code"] in ("NoSuchObjectLegalHold", "NoSuchObjectLockConfiguration"):
            return "OFF"
        raise


def test_legal_holds_lock_the_held_objects_where_the_bucket_enforces_it_and_release_unlocks(
        s3, locked_bucket, recorded, key, clip):
    import botocore.exceptions as bx

    client = s3.client()
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        assert store.set_tier(S3Tier(s3.endpoint, locked_bucket, keep_local="1d")).holds == HOLDS_BY_BUCKET
        assert len(store.sync_tier().uploaded) == 12
        key_of = {s.id: f"{store.store_id}/{s.path}" for s in sealed(store)}

        def locked() -> set[int]:
            return {i for i, k in key_of.items() if s3_legal_hold(client, locked_bucket, k) == "ON"}

        assert locked() == set()
        first = store.hold(CAM, T0, T0 + 2 * NS, case="C-1", actor="clerk")
        two = [s.id for s in store.segments(CAM) if s.start < T0 + 2 * NS]
        assert len(two) == 2 and locked() == set(two)  # placed by hold(), at once
        # The server itself refuses to delete the held version, whatever vidvault does.
        victim = key_of[two[0]]
        version = client.head_object(Bucket=locked_bucket, Key=victim)["VersionId"]
        with pytest.raises(bx.ClientError):
            client.delete_object(Bucket=locked_bucket, Key=victim, VersionId=version)
        assert client.head_object(Bucket=locked_bucket, Key=victim, VersionId=version)["ContentLength"] > 0
        # A second hold over part of the footage keeps that object locked when the first goes.
        second = store.hold(CAM, T0, T0 + NS, case="C-2", actor="clerk")
        store.release(first.id, actor="clerk")
        assert locked() == {two[0]}
        # Retention never deletes held footage, so never its object.
        cam_ids = {s.id for s in store.segments(CAM)}
        store.set_retention(CAM, vidvault.Retention(max_age="1d", min_age="0s"))  # its 2025 footage expired
        store.set_retention(OTHER, vidvault.Retention(min_age="0s"))  # kept for ever
        assert {d.id for d in store.enforce_retention().deleted} == cam_ids - {two[0]}
        assert [s.id for s in store.segments(CAM)] == [two[0]]
        round_ = store.sync_tier()
        assert not round_.failed and two[0] not in round_.retired and len(round_.retired) == 5
        for gone in round_.retired:  # their objects are deleted (their holds were lifted first)
            del key_of[gone]
        assert s3_legal_hold(client, locked_bucket, victim) == "ON"
        # A held segment whose object is locked may be evicted: its bucket copy cannot be deleted.
        store.set_tier(S3Tier(s3.endpoint, locked_bucket, keep_local="0s"))
        round_ = store.sync_tier()
        assert round_.held_local == [] and two[0] in round_.evicted and not (store.path / store.segments(CAM)[0].path).exists()
        # Footage uploaded while a hold covers it is locked in the round that uploads it.
        third = store.hold(OTHER, T0 + 7200 * NS, T0 + 7300 * NS, case="C-3", actor="clerk")
        ingest_file(store, OTHER, clip(seconds=2.0, gop=25), start_ns=T0 + 7200 * NS)
        new = [s for s in store.segments(OTHER) if s.start >= T0 + 7200 * NS]
        key_of.update({s.id: f"{store.store_id}/{s.path}" for s in new})
        round_ = store.sync_tier()
        assert sorted(round_.uploaded) == sorted(round_.legal_holds_placed) == [s.id for s in new]
        assert locked() == {two[0], *(s.id for s in new)}
        store.release(second.id, actor="clerk")
        store.release(third.id, actor="clerk")
        assert locked() == set()
        entries = [e for e in store.audit() if e.action == "tier_legal_hold"]
        assert sum(e.outcome == "placed" for e in entries) == 2 + len(new)
        assert sum(e.outcome == "lifted" for e in entries) == 2 + len(new)
        assert all(locked_bucket in e.reason for e in entries)


def test_a_legal_hold_lifted_behind_vidvaults_back_keeps_the_held_segment_local(s3, locked_bucket, recorded, key):
    """Eviction of a held segment trusts the object's hold as the server
    reports it now, not the ledger's record of placing it."""
    client = s3.client()
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, locked_bucket, keep_local="1d"))
        assert len(store.sync_tier().uploaded) == 12
        store.hold(CAM, T0, T0 + NS, case="C-1", actor="clerk")
        held = store.segments(CAM)[0]
        victim = f"{store.store_id}/{held.path}"
        assert s3_legal_hold(client, locked_bucket, victim) == "ON"
        client.put_object_legal_hold(Bucket=locked_bucket, Key=victim, LegalHold={"Status": "OFF"})
        store.set_tier(S3Tier(s3.endpoint, locked_bucket, keep_local="0s"))
        report = store.sync_tier()
        assert report.held_local == [held.id] and len(report.evicted) == 11
        assert (store.path / held.path).exists()  # the bucket would let it be deleted: the local copy stays
        assert frames_of(store, CAM, held.start, held.start + NS)


def test_export_of_an_evicted_range_verifies_against_the_store(s3, bucket, recorded, key, tmp_path):
    before = evicted_store(s3, bucket, recorded, key)
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        result = store.export_clip(CAM, T0, T0 + 4 * NS, tmp_path / "pkg", raw=True)
        assert result.frames == len([f for f in before[CAM] if f[0] < T0 + 4 * NS])
        report = vidvault.verify(tmp_path / "pkg", public_key=store.export_public_key(), store=store)
        assert report.ok, report.to_dict()


def test_the_read_cache_stays_under_its_cap(s3, bucket, recorded, key):
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        biggest = max(s.bytes for s in sealed(store))
    cap = 3 * biggest
    before = evicted_store(s3, bucket, recorded, key, read_cache_bytes=cap)
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        for cam in (CAM, OTHER):
            assert frames_of(store, cam, T0 - 3600 * NS, T0 + 7200 * NS) == before[cam]
        status = store.tier_status()
        assert status.cache_cap_bytes == cap and 0 < status.cache_bytes <= cap and status.cache_segments <= 3
        # What was let go is fetched again on the next read.
        assert frames_of(store, CAM, T0, T0 + 7 * NS) == before[CAM]


def test_an_object_altered_in_the_bucket_is_refused_by_name(s3, bucket, recorded, key):
    evicted_store(s3, bucket, recorded, key)
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        victim = store.segments(CAM)[1]
        object_key = f"{store.store_id}/{victim.path}"
        client = s3.client()
        good = client.get_object(Bucket=bucket, Key=object_key)["Body"].read()
        bad = bytearray(good)
        bad[len(bad) // 2] ^= 0x01
        client.put_object(Bucket=bucket, Key=object_key, Body=bytes(bad))
        with pytest.raises(TierError) as err:
            list(store.read(CAM, victim.start, victim.start + NS))
        message = str(err.value)
        assert f"segment {victim.id}" in message and object_key in message and bucket in message
        assert "altered or truncated" in message and "Restore it" in message
        assert [e.action for e in store.audit()][-1] == "tier_object_mismatch"
        client.put_object(Bucket=bucket, Key=object_key, Body=good[: len(good) // 2])  # truncated
        with pytest.raises(TierError, match="altered or truncated"):
            store.seek(CAM, victim.start)
        assert not list((recorded / "tier" / "cache").glob(f"{victim.id}.*"))  # nothing bad kept
        assert store.tier_status().remote_only_segments == 12  # nothing forgotten
        client.put_object(Bucket=bucket, Key=object_key, Body=good)  # the object restored: it reads again
        assert list(store.read(CAM, victim.start, victim.start + NS))


def test_a_bucket_down_on_read_is_a_clear_error_and_local_footage_still_reads(s3, bucket, recorded, key, clip):
    evicted_store(s3, bucket, recorded, key)
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        ingest_file(store, CAM, clip(seconds=2.0, gop=25), start_ns=T0 + 600 * NS)  # new, local footage
        s3.stop()
        try:
            with pytest.raises(TierError) as err:
                list(store.read(CAM, T0, T0 + NS))
            assert "cannot read segment" in str(err.value) and s3.endpoint in str(err.value)
            assert "nothing was deleted" in str(err.value)
            assert len(list(store.read(CAM, T0 + 600 * NS, T0 + 602 * NS))) > 0  # never waits on the tier
        finally:
            s3.start()
        assert store.tier_status().remote_only_segments == 12
        assert list(store.read(CAM, T0, T0 + NS))


def test_a_session_granted_one_camera_cannot_pull_anothers_remote_segment(s3, bucket, recorded, key):
    before = evicted_store(s3, bucket, recorded, key)
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        grant = store.issue_grant(to="officer.wang", actions=["view_raw"], cameras=[CAM],
                                  valid_until=time.time_ns() + 3600 * NS, case="C-2", issued_by="admin.zhao")
        session = store.session("officer.wang", [grant])
        with pytest.raises(vidvault.AccessDenied):
            list(session.read(OTHER, T0 + 3600 * NS, T0 + 3606 * NS))
        other_ids = {s.id for s in store.segments(OTHER)}
        assert not {int(p.stem) for p in (recorded / "tier" / "cache").glob("*.vvs")} & other_ids
        assert [(f.ts, bytes(f.data)) for f in session.read(CAM, T0, T0 + 7 * NS)] == \
            [(ts, data) for ts, _, data in before[CAM]]


def test_retention_of_an_evicted_segment_deletes_its_object_and_cached_copy(s3, bucket, recorded, key):
    evicted_store(s3, bucket, recorded, key)
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        list(store.read(CAM, T0, T0 + 7 * NS))  # every CAM segment in the cache
        gone = [s for s in store.segments(CAM)]
        store.set_retention(CAM, vidvault.Retention(max_age="1h"))
        store.enforce_retention(now=T0 + 86400 * NS)
        assert store.segments(CAM) == []
        report = store.sync_tier()
        assert sorted(report.retired) == sorted(s.id for s in gone)
        assert sorted(objects(s3, bucket)) == sorted(f"{store.store_id}/{s.path}" for s in store.segments(OTHER))
        assert not any((recorded / "tier" / "cache" / f"{s.id}.vvs").exists() for s in gone)


def test_a_process_killed_between_marking_and_unlinking_reopens_correctly(s3, bucket, recorded, key):
    import os
    import signal
    import subprocess
    import sys

    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        before = frames_of(store, CAM, T0, T0 + 7 * NS)
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="0s"))
    here = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": str(here) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    child = subprocess.Popen([sys.executable, str(here / "tier_evict_child.py"), str(recorded), key.hex()],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert child.stdout.readline().strip() == "go", child.stderr.read()
        marked = child.stdout.readline().strip()
        assert marked.startswith("marked "), child.stderr.read()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    first = recorded / marked.removeprefix("marked ")
    assert first.exists()  # killed after the ledger's mark, before the unlink
    with vidvault.Store.open(recorded, key=key, tier_uploads=False) as store:
        status = store.tier_status()
        assert status.uploaded_segments == 12 and status.remote_only_segments == 1
        assert frames_of(store, CAM, T0, T0 + 7 * NS) == before  # the local file is read, not fetched
        assert store.fsck().problems == []
        report = store.sync_tier()  # finishes the interrupted eviction, then evicts the rest
        assert not first.exists() and len(report.evicted) == 11
        assert frames_of(store, CAM, T0, T0 + 7 * NS) == before


def test_a_version_1_ledger_is_upgraded_with_every_segment_local(tmp_path):
    import sqlite3

    from vidvault.tier.ledger import LEDGER_FILE, Ledger

    (tmp_path / "tier").mkdir()
    db = sqlite3.connect(tmp_path / LEDGER_FILE)
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE uploads (segment_id INTEGER PRIMARY KEY, object_key TEXT NOT NULL, bytes INTEGER NOT NULL,
            sha256 TEXT NOT NULL, version_id TEXT, uploaded_ns INTEGER NOT NULL);
        INSERT INTO meta VALUES ('version', '1');
        INSERT INTO uploads VALUES (7, 'k/7.vvs', 10, 'ab', NULL, 5);
    """)
    db.commit()
    db.close()
    ledger = Ledger(tmp_path)
    assert ledger.get("version") == "4"
    assert ledger.uploads()[7].evicted_ns is None and ledger.uploads()[7].object_key == "k/7.vvs"
    assert ledger.uploads()[7].legal_hold_ns is None
    assert ledger.uploads()[7].block_sha256 is None  # uploaded before block digests: fetched whole
    ledger.mark_evicted(7)
    ledger.close()
    reopened = Ledger(tmp_path)
    assert reopened.upload(7).evicted_ns is not None and reopened.get("version") == "4"
    reopened.close()
