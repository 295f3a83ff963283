"""Reads of evicted segments fetch the blocks they need, not whole objects
(vidvault/tier/read_cache.py, src/segment/bytes.rs): a seek into a long
segment costs its first and last blocks and those around one keyframe,
every block is checked against the SHA-256 recorded at upload, and an
upload recorded without those digests is still fetched whole. Real H.264
(720p, 8 Mbit/s, one segment of 20 s), a real S3 server (SeaweedFS `weed
mini`) whose objects the tests edit with another client."""

from __future__ import annotations

import sqlite3

import pytest

import vidvault
from vidvault import S3Tier, TierError, media
from vidvault._core import PARTIAL_COPY_BLOCK as BLOCK

from helpers import NS, T0, ingest_file
from s3_server import launched, use_test_credentials

CAM = "34020000001320000001"
SECONDS = 20


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    yield from launched(tmp_path_factory, "ranged")


@pytest.fixture(autouse=True)
def _aws(monkeypatch, tmp_path):
    use_test_credentials(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    return media.encode_synthetic(tmp_path_factory.mktemp("long") / "long.mp4", width=1280, height=720, fps=25,
                                  seconds=SECONDS, gop=25, bitrate=8_000_000)


_buckets = iter(range(10_000))


def frames_of(store, start, end) -> list[tuple[int, bool, bytes]]:
    return [(f.ts, f.keyframe, bytes(f.data)) for f in store.read(CAM, start, end)]


def one_evicted_segment(s3, store_path, key, long_clip):
    """A store whose camera recorded one segment of SECONDS, uploaded and
    evicted; returns (bucket, object key, the segment, its frames as read
    locally before)."""
    bucket = f"vv-ranged-{next(_buckets)}"
    s3.client().create_bucket(Bucket=bucket)
    with vidvault.Store.create(store_path, key=key, roll_after=600.0) as store:
        store.add_camera(CAM)
        ingest_file(store, CAM, long_clip)
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        [segment] = store.segments(CAM)
        before = frames_of(store, T0, T0 + 60 * NS)
        store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="0s"))
        report = store.sync_tier()
        assert not report.failed and report.evicted == [segment.id]
    assert segment.bytes > 10 * BLOCK, f"the segment is {segment.bytes} bytes: too short to tell"
    return bucket, f"{store.store_id}/{segment.path}", segment, before


def cached_copy(store_path, segment):
    [copy] = (store_path / "tier" / "cache").glob(f"{segment.id}.*")
    return copy


def test_a_seek_into_a_long_evicted_segment_fetches_a_few_blocks_and_reads_bit_exact(s3, store_path, key,
                                                                                      long_clip):
    bucket, object_key, segment, before = one_evicted_segment(s3, store_path, key, long_clip)
    middle = T0 + SECONDS * NS // 2
    keyframe = [f for f in before if f[1] and f[0] <= middle][-1]
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        seek = store.seek(CAM, middle)
        assert (seek.ts, bytes(seek.data)) == keyframe[:1] + keyframe[2:]
        held = store.tier_status().cache_bytes
        # The header's block, the footer's (one or two), the keyframe's, and the blocks read ahead
        # once its record runs on into the next block (as a play reads on).
        assert 0 < held <= 8 * BLOCK and held < segment.bytes / 2, (held, segment.bytes)
        window = frames_of(store, middle, middle + 2 * NS)
        assert window == [f for f in before if middle <= f[0] < middle + 2 * NS] and window
        assert store.tier_status().cache_bytes < segment.bytes / 2
        assert frames_of(store, T0, T0 + 60 * NS) == before  # all of it, through the copy
    # The copy holds the object's bytes where it holds anything: ciphertext, never plaintext.
    copy = cached_copy(store_path, segment).read_bytes()
    whole = s3.client().get_object(Bucket=bucket, Key=object_key)["Body"].read()
    assert len(copy) == len(whole) == segment.bytes
    held_blocks = [i for i in range(0, len(copy), BLOCK) if copy[i:i + BLOCK] != bytes(len(copy[i:i + BLOCK]))]
    assert len(held_blocks) >= 10
    assert all(copy[i:i + BLOCK] == whole[i:i + BLOCK] for i in held_blocks)
    assert not any(f[2][:64] in copy for f in before[::25])


def test_a_block_altered_in_the_bucket_is_refused_by_name_and_the_others_still_read(s3, store_path, key,
                                                                                    long_clip):
    bucket, object_key, segment, before = one_evicted_segment(s3, store_path, key, long_clip)
    client = s3.client()
    good = client.get_object(Bucket=bucket, Key=object_key)["Body"].read()
    bad = bytearray(good)
    near_the_end = (len(good) // BLOCK - 2) * BLOCK + 100  # among the last seconds' records
    bad[near_the_end] ^= 0x01
    client.put_object(Bucket=bucket, Key=object_key, Body=bytes(bad))
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        # The first seconds lie in blocks the edit did not touch: each checks, each reads.
        assert frames_of(store, T0, T0 + 2 * NS) == [f for f in before if f[0] < T0 + 2 * NS]
        with pytest.raises(TierError) as err:
            frames_of(store, T0, T0 + 60 * NS)
        message = str(err.value)
        assert f"segment {segment.id}" in message and object_key in message and bucket in message
        assert f"at byte {near_the_end - 100}" in message and "altered or truncated" in message
        assert "Restore it" in message
        assert [e.action for e in store.audit()][-1] == "tier_object_mismatch"
        assert not list((store_path / "tier" / "cache").glob(f"{segment.id}.*"))  # nothing of it kept
        client.put_object(Bucket=bucket, Key=object_key, Body=good)  # the object restored: it reads again
        assert frames_of(store, T0, T0 + 60 * NS) == before


def test_an_upload_recorded_without_block_digests_is_fetched_whole_and_checked(s3, store_path, key, long_clip):
    """Uploads recorded before ledger version 4 (or by a restore from a
    HEAD) have no block digests: their reads fetch the whole object and
    check its SHA-256, as before."""
    _, _, segment, before = one_evicted_segment(s3, store_path, key, long_clip)
    db = sqlite3.connect(store_path / "tier" / "ledger.sqlite")
    db.execute("UPDATE uploads SET block_sha256 = NULL")
    db.commit()
    db.close()
    with vidvault.Store.open(store_path, key=key, tier_uploads=False) as store:
        seek = store.seek(CAM, T0 + SECONDS * NS // 2)
        copy = cached_copy(store_path, segment)
        assert copy.name == f"{segment.id}.vvs" and copy.stat().st_size == segment.bytes
        assert store.tier_status().cache_bytes == segment.bytes
        assert bytes(seek.data) in [f[2] for f in before]
        assert frames_of(store, T0, T0 + 60 * NS) == before


def test_a_restored_store_reads_its_segments_by_blocks(s3, store_path, key, long_clip, tmp_path):
    """The ledger's block digests travel in the replica: a store restored
    on a new machine fetches blocks too."""
    bucket, _, segment, before = one_evicted_segment(s3, store_path, key, long_clip)
    restored = tmp_path / "restored"
    result = vidvault.Store.restore(f"s3://{bucket}", restored, key=key, endpoint=s3.endpoint)
    assert result.remote_segments == 1 and not result.missing
    with vidvault.Store.open(restored, key=key, tier_uploads=False) as store:
        middle = T0 + SECONDS * NS // 2
        assert bytes(store.seek(CAM, middle).data) in [f[2] for f in before]
        assert cached_copy(restored, segment).suffix == ".partial"
        assert store.tier_status().cache_bytes < segment.bytes / 2


def test_a_server_that_ignores_range_is_named_not_taken_for_tampering(tmp_path):
    import io
    from types import SimpleNamespace

    from vidvault.tier.ledger import Ledger
    from vidvault.tier.read_cache import ReadCache
    from vidvault.tier.upload import block_digests

    whole = bytes(range(256)) * (3 * BLOCK // 256)
    ledger = Ledger(tmp_path)
    ledger.record(5, "s/5.vvs", len(whole), "00" * 32, None, block_digests(whole))
    ledger.mark_evicted(5)
    audited = []
    tier = SimpleNamespace(bucket="b", where="bucket 'b' at http://127.0.0.1:1", read_cache_bytes=1 << 30)
    cache = ReadCache(tmp_path, tier, ledger, lambda *entry: audited.append(entry))
    cache._client = SimpleNamespace(get_object=lambda **kw: {"Body": io.BytesIO(whole)})  # Range ignored
    _, read_range = cache.fetch(5)
    with pytest.raises(TierError, match="does not honour Range requests") as err:
        read_range(BLOCK, BLOCK)
    assert "altered" not in str(err.value) and not audited
    ledger.close()
