"""fsck looks in the bucket too (vidvault/tier/object_check.py): an object
deleted, truncated or altered behind vidvault's back is found before
anyone needs the footage, named by camera, segment, bucket and key, with
what can still be done. Real H.264, a real S3 server (SeaweedFS `weed
mini`) whose objects the tests edit with another client."""

from __future__ import annotations

import json

import pytest

import vidvault
from vidvault import S3Tier
from vidvault.cli import main as cli_main

from helpers import NS, T0, ingest_file
from s3_server import launched, use_test_credentials

CAM = "34020000001320000001"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    yield from launched(tmp_path_factory, "fsck")


@pytest.fixture(autouse=True)
def _aws(monkeypatch, tmp_path):
    use_test_credentials(monkeypatch, tmp_path)


_buckets = iter(range(10_000))


def tiered(s3, store_path, key, clip, keep_local: str):
    """A store of 6 sealed segments of real H.264, all uploaded (and with
    keep_local 0s evicted); returns (bucket, {segment id: object key})."""
    bucket = f"vv-fsck-{next(_buckets)}"
    s3.client().create_bucket(Bucket=bucket)
    with vidvault.Store.create(store_path, key=key, roll_after=0.5) as store:
        store.add_camera(CAM)
        ingest_file(store, CAM, clip(seconds=6.0, gop=25))
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local=keep_local))
        report = store.sync_tier()
        assert not report.failed and len(report.uploaded) == 6
        assert len(report.evicted) == (6 if keep_local == "0s" else 0)
        keys = {s.id: f"{store.store_id}/{s.path}" for s in store.segments(CAM)}
    return bucket, keys


def test_fsck_finds_objects_deleted_truncated_or_altered_in_the_bucket(s3, store_path, key, clip):
    bucket, keys = tiered(s3, store_path, key, clip, keep_local="0s")
    client = s3.client()
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        for deep in (False, True):
            clean = store.fsck(deep=deep)
            assert clean.ok and clean.remote_objects == 6, clean.problems
        assert clean.remote_bytes == sum(s.bytes for s in store.segments(CAM))
        deleted, truncated, flipped = list(keys)[1:4]
        good = {i: client.get_object(Bucket=bucket, Key=keys[i])["Body"].read() for i in (deleted, truncated, flipped)}
        client.delete_object(Bucket=bucket, Key=keys[deleted])
        client.put_object(Bucket=bucket, Key=keys[truncated], Body=good[truncated][:-100])
        bad = bytearray(good[flipped])
        bad[len(bad) // 2] ^= 0x01  # same size: only reading it back finds it
        client.put_object(Bucket=bucket, Key=keys[flipped], Body=bytes(bad))

        quick = store.fsck()
        assert sorted(p.segment_id for p in quick.problems) == [deleted, truncated]
        found = {p.segment_id: p for p in store.fsck(deep=True).problems}
        assert sorted(found) == [deleted, truncated, flipped]
        for segment_id, p in found.items():
            assert p.camera == CAM and bucket in p.path and keys[segment_id] in p.path and s3.endpoint in p.path
            assert "cannot be read" in p.detail and "restore the object" in p.detail
        assert "missing from the bucket" in found[deleted].detail
        assert "altered or truncated" in found[flipped].detail and str(len(bad)) in found[flipped].detail
        audited = [e for e in store.audit() if e.action in ("tier_object_missing", "tier_object_mismatch")]
        assert {e.action for e in audited} == {"tier_object_missing", "tier_object_mismatch"}
        assert any(f"segment {flipped}" in e.reason for e in audited)

        # fsck changed nothing: every row and ledger record stays, and the restored objects check clean.
        assert store.tier_status().remote_only_segments == 6 and len(store.segments(CAM)) == 6
        for i, body in good.items():
            client.put_object(Bucket=bucket, Key=keys[i], Body=body)
        assert store.fsck(deep=True).ok
        assert list(store.read(CAM, T0, T0 + 6 * NS))


def test_a_bad_object_of_a_segment_kept_locally_names_the_good_local_copy(s3, store_path, key, clip):
    bucket, keys = tiered(s3, store_path, key, clip, keep_local="1d")
    victim = next(iter(keys))
    s3.client().put_object(Bucket=bucket, Key=keys[victim], Body=b"not a segment")
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        [p] = store.fsck().problems
        assert p.segment_id == victim and "local file is still here" in p.detail and "aws s3 cp" in p.detail
        assert (store.path / store.segments(CAM)[0].path).exists()
        # and eviction keeps that copy while the object differs
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="0s"))
        store.sync_tier()
        assert (store.path / store.segments(CAM)[0].path).exists()
        assert victim in [q.segment_id for q in store.fsck(deep=True).problems]


def test_with_the_bucket_down_fsck_says_what_it_did_not_check(s3, store_path, key, clip):
    tiered(s3, store_path, key, clip, keep_local="0s")
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        s3.stop()
        try:
            report = store.fsck(deep=True)
        finally:
            s3.start()
        assert not report.ok and report.segments == 6
        [p] = report.problems
        assert s3.endpoint in p.path + p.detail and "not checked" in p.detail and "run fsck again" in p.detail
        assert store.fsck(deep=True).ok


def test_cli_fsck_deep_reports_the_bucket_and_fails_on_a_missing_object(s3, store_path, key, clip, monkeypatch,
                                                                        capsys):
    bucket, keys = tiered(s3, store_path, key, clip, keep_local="0s")
    monkeypatch.setenv("VIDVAULT_KEY", key.hex())
    assert cli_main(["fsck", str(store_path), "--deep"]) == 0
    assert "checked 6 objects in the tier's bucket: read back" in capsys.readouterr().out
    victim = list(keys)[-1]
    s3.client().delete_object(Bucket=bucket, Key=keys[victim])
    assert cli_main(["fsck", str(store_path)]) == 1
    out = capsys.readouterr().out
    assert f"PROBLEM camera {CAM!r} s3://{bucket}/{keys[victim]}" in out and "1 problem(s)" in out
    assert cli_main(["fsck", str(store_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["remote_objects"] == 6 and [p["segment_id"] for p in report["problems"]] == [victim]
