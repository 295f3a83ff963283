"""The upload rounds of a long-running recorder (vidvault/tier/link.py): one
S3 client for the life of the link, not one per round (building one costs
a tenth of a second of CPU: every 2 s on an idle recorder), and a HEAD
before a PUT only where an object may exist without a ledger row, so that
nothing is uploaded twice: after a crash (segments sealed before the link
began) and after a PUT that failed but may have landed. Real H.264, a real
S3 server (SeaweedFS `weed mini`)."""

from __future__ import annotations

import collections

import botocore.exceptions
import pytest

import vidvault
from vidvault import S3Tier
from vidvault.tier import s3 as tier_s3
from vidvault.tier import upload

from helpers import ingest_file
from s3_server import launched, use_test_credentials

CAM = "34020000001320000001"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    yield from launched(tmp_path_factory, "rounds")


@pytest.fixture(autouse=True)
def _aws(monkeypatch, tmp_path):
    use_test_credentials(monkeypatch, tmp_path)


_buckets = iter(range(10_000))


@pytest.fixture
def bucket(s3):
    name = f"vv-rounds-{next(_buckets)}"
    s3.client().create_bucket(Bucket=name)
    return name


class Counted:
    """How often each S3 request was made, by operation and object key."""

    def __init__(self, monkeypatch):
        self.clients = 0
        self.calls: collections.Counter = collections.Counter()
        build = tier_s3.S3Tier.client

        def counting_client(tier):
            self.clients += 1
            client = build(tier)
            client.meta.events.register("before-parameter-build.s3.*", self._count)
            return client

        monkeypatch.setattr(tier_s3.S3Tier, "client", counting_client)

    def _count(self, model, params, **_):
        self.calls[(model.name, params.get("Key"))] += 1

    def of(self, operation: str) -> collections.Counter:
        return collections.Counter({k: n for (op, k), n in self.calls.items() if op == operation})


def test_a_live_recorder_builds_one_client_and_puts_new_segments_without_asking_first(
        s3, bucket, store_path, key, clip, monkeypatch):
    counted = Counted(monkeypatch)
    with vidvault.Store.create(store_path, key=key, roll_after=0.5) as store:
        store.add_camera(CAM)
    with vidvault.Store.open(store_path, key=key, roll_after=0.5, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="1d"))
        built_by_set_tier = counted.clients
        for _ in range(3):  # rounds with nothing to upload
            assert not store.sync_tier().failed
        ingest_file(store, CAM, clip(seconds=4.0, gop=25))  # sealed while the link runs
        report = store.sync_tier()
        assert len(report.uploaded) == 4 and not report.failed
        keys = {f"{store.store_id}/{s.path}" for s in store.segments(CAM)}
        assert counted.clients == built_by_set_tier + 1, "one client for every round"
        assert set(counted.of("PutObject")) >= keys and all(counted.of("PutObject")[k] == 1 for k in keys)
        assert not set(counted.of("HeadObject")) & keys, "a segment sealed since the link began is not HEADed"
        for s in store.segments(CAM):
            assert s3.client().head_object(Bucket=bucket, Key=f"{store.store_id}/{s.path}")["ContentLength"] == s.bytes


def test_a_put_that_failed_but_landed_is_found_and_not_sent_again(s3, bucket, store_path, key, clip, monkeypatch):
    counted = Counted(monkeypatch)
    with vidvault.Store.create(store_path, key=key, roll_after=0.5) as store:
        store.add_camera(CAM)
    with vidvault.Store.open(store_path, key=key, roll_after=0.5, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="1d"))
        ingest_file(store, CAM, clip(seconds=2.0, gop=25))
        put = upload.put_segment_file

        def landed_then_lost(client, tier, key_, *args, **kwargs):
            put(client, tier, key_, *args, **kwargs)  # the server stored it; the answer never came back
            raise botocore.exceptions.ReadTimeoutError(endpoint_url=s3.endpoint)

        monkeypatch.setattr(upload, "put_segment_file", landed_then_lost)
        first = store.sync_tier()
        victims = [segment_id for segment_id, _ in first.failed]  # those in flight when the round failed
        assert victims and not first.uploaded and all("timeout" in why.lower() for _, why in first.failed)
        monkeypatch.setattr(upload, "put_segment_file", put)
        second = store.sync_tier()
        assert set(victims) <= set(second.uploaded) and not second.failed
        for victim in victims:
            victim_key = next(f"{store.store_id}/{s.path}" for s in store.segments(CAM) if s.id == victim)
            assert counted.of("PutObject")[victim_key] == 1, "found by its HEAD, recorded without a second PUT"
            assert counted.of("HeadObject")[victim_key] >= 1
        assert store.tier_status().backlog_segments == 0


def test_segments_sealed_before_the_link_began_are_asked_about_first(s3, bucket, store_path, key, clip,
                                                                      monkeypatch):
    """A recorder that crashed between a PUT and its ledger row: the next
    process HEADs what was sealed before it began and records the objects
    it finds without sending them again."""
    with vidvault.Store.create(store_path, key=key, roll_after=0.5) as store:
        store.add_camera(CAM)
        ingest_file(store, CAM, clip(seconds=2.0, gop=25))
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="1d"))
        assert len(store.sync_tier().uploaded) == 2
    (store_path / "tier" / "ledger.sqlite").unlink()  # the rows the crash did not write
    (store_path / "tier" / "ledger.sqlite-journal").unlink(missing_ok=True)
    counted = Counted(monkeypatch)
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        report = store.sync_tier()
        assert len(report.uploaded) == 2 and report.uploaded_bytes == 0
        keys = {f"{store.store_id}/{s.path}" for s in store.segments(CAM)}
        assert not set(counted.of("PutObject")) & keys and set(counted.of("HeadObject")) >= keys
