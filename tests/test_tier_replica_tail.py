"""What a recorder did between two snapshots of its metadata survives its
disk (vidvault/tier/replica_tail.py): the audit entries of every retrieval
since the last snapshot, the day keys of footage recorded since (without
them the footage uploaded meanwhile cannot be decrypted), and a legal hold
placed since (a policy change: the snapshot follows within seconds, not
minutes). Real H.264, a real S3 server (SeaweedFS `weed mini`); the
bucket is not trusted: the attacks edit, drop and swap tail objects."""

from __future__ import annotations

import shutil

import pytest

import vidvault
from vidvault import S3Tier
from vidvault.cli import main as cli_main
from vidvault.tier import replica
from vidvault.tier.replica import blob_key, list_seqs, tail_names

from helpers import NS, T0, ingest_file
from s3_server import launched, use_test_credentials

CAM = "34020000001320000001"
VIEWER, CLERK, CASE = "viewer-ida-marrow", "clerk-tomas-vey", "CASE-TAIL-5120"
NEXT_DAY = T0 + 86400 * NS  # footage of the next UTC day: a day key the last snapshot does not hold


@pytest.fixture(autouse=True)
def _aws(monkeypatch, tmp_path):
    use_test_credentials(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    yield from launched(tmp_path_factory, "tail")


def frames(store, start, end):
    return [(f.ts, bytes(f.data)) for f in store.read(CAM, start, end)]


class Recorder:
    """A store with its tier, one snapshot sent (by `tier sync`), then a
    life after it that only upload rounds see (never forced)."""

    def __init__(self, s3, tmp_path, clip, bucket):
        self.s3, self.bucket, self.key = s3, bucket, vidvault.generate_key()
        self.path = tmp_path / "recorder"
        s3.client().create_bucket(Bucket=bucket)
        with vidvault.Store.create(self.path, key=self.key, roll_after=0.5) as store:
            store.add_camera(CAM)
            ingest_file(store, CAM, clip(seconds=2.0, gop=25))
        self.store = vidvault.Store.open(self.path, key=self.key, roll_after=0.5, tier_uploads=False)
        self.store.set_tier(S3Tier(s3.endpoint, bucket, keep_local="1d"))
        assert self.store.sync_tier().replica_seq == 1
        self.store_id = self.store.store_id

    def round(self):
        """One background upload round, as the uploader thread runs it."""
        report = self.store._tier.sync()
        assert not report.failed, report.failed
        return report

    def die(self):
        self.store.close()
        shutil.rmtree(self.path)

    def restore(self, target):
        return vidvault.restore(f"s3://{self.bucket}", target, key=self.key, endpoint=self.s3.endpoint)

    def tail_objects(self, seq=1):
        client = self.s3.client()
        tier = self.store._tier.tier if self.store is not None and self.store._tier else S3Tier(self.s3.endpoint,
                                                                                              self.bucket)
        return {n: blob_key(tier, self.store_id, seq, n) for n in tail_names(client, tier, self.store_id, seq)}


def test_retrievals_and_new_day_footage_after_the_last_snapshot_survive_the_disk(s3, tmp_path, clip):
    rec = Recorder(s3, tmp_path, clip, "vv-tail-life")
    store = rec.store
    grant = store.issue_grant(to=VIEWER, actions=["view_raw"], cameras=[CAM], valid_until=T0 + 10**9 * NS,
                              case=CASE, issued_by=CLERK, purpose="review for " + CASE)
    session = store.session(VIEWER, [grant], purpose="who took the bag")
    assert list(session.read(CAM, T0, T0 + NS))
    report = rec.round()
    assert report.replica_seq is None  # within the snapshot interval: no snapshot, a tail
    # The next day's footage: its day key is newer than the snapshot's keystore.
    ingest_file(store, CAM, clip(seconds=2.0, gop=25), start_ns=NEXT_DAY)  # closing its writer seals it
    report = rec.round()
    assert report.uploaded and report.replica_seq is None
    assert list(session.read(CAM, NEXT_DAY, NEXT_DAY + NS))
    want_next_day = frames(store, NEXT_DAY, NEXT_DAY + 3 * NS)  # the operator's read: audited too
    rec.round()  # the last round before the disk dies: what was audited until now is in the bucket
    assert len(store._tier.replicator.tails_sent) >= 2
    entries_before = [(e.seq, e.action, e.principal, e.start) for e in store.audit()]
    viewer_reads = [e for e in entries_before if e[2] == VIEWER]
    assert len(viewer_reads) == 2  # both after the snapshot
    rec.die()

    target = tmp_path / "restored"
    restored = rec.restore(target)
    assert restored.snapshot_seq == 1 and restored.tail.problem is None and restored.tail.entries > 0
    assert restored.unindexed == []  # the next day's segments decrypt: their day key came in a tail
    with vidvault.Store.open(target, key=rec.key, tier_uploads=False) as back:
        got = [(e.seq, e.action, e.principal, e.start) for e in back.audit()]
        # Every entry the recorder wrote, the viewer's reads after the snapshot included, then the restore's.
        assert got[: len(entries_before)] == entries_before
        assert got[len(entries_before)][1] == "store_restored"
        assert frames(back, NEXT_DAY, NEXT_DAY + 3 * NS) == want_next_day
    assert vidvault.verify_store_audit_log(target, rec.key).ok


def test_a_hold_placed_after_the_last_snapshot_reaches_the_bucket_in_seconds(s3, tmp_path, clip, monkeypatch):
    """A hold is a change of the catalog, which a tail does not carry: the
    next snapshot is due after the short urgent interval, not after the
    five minutes between ordinary snapshots."""
    monkeypatch.setattr(replica, "URGENT_SNAPSHOT_INTERVAL_S", 0.0)
    rec = Recorder(s3, tmp_path, clip, "vv-tail-hold")
    rec.round()
    assert rec.round().replica_seq is None  # nothing of policy changed: no snapshot
    rec.store.hold(CAM, T0, T0 + NS, case=CASE, reason="evidence of the assault", actor=CLERK)
    assert rec.round().replica_seq == 2  # the hold: a snapshot at once, the 300 s interval notwithstanding
    rec.die()
    target = tmp_path / "restored"
    rec.restore(target)
    with vidvault.Store.open(target, key=rec.key, tier_uploads=False) as back:
        [hold] = back.holds(active=True)
        assert (hold.camera, hold.case) == (CAM, CASE)


def _recorder_with_three_tails(s3, tmp_path, clip, bucket):
    rec = Recorder(s3, tmp_path, clip, bucket)
    for i in range(3):
        rec.store.seek(CAM, T0 + i * NS // 4)  # an audited retrieval per round
        rec.round()
    assert [n for _, n in rec.store._tier.replicator.tails_sent] == [0, 1, 2]
    objects = rec.tail_objects()
    rec.die()
    return rec, objects


def test_a_tampered_tail_stops_the_tail_there_and_says_what_is_lost(s3, tmp_path, clip):
    rec, objects = _recorder_with_three_tails(s3, tmp_path, clip, "vv-tail-edit")
    client = s3.client()
    key = objects["tail/0000000001"]
    body = bytearray(client.get_object(Bucket=rec.bucket, Key=key)["Body"].read())
    body[len(body) // 2] ^= 1
    client.put_object(Bucket=rec.bucket, Key=key, Body=bytes(body))
    target = tmp_path / "restored"
    code = cli_main(["restore", f"s3://{rec.bucket}", str(target), "--endpoint", s3.endpoint,
                     "--key-file", _key_file(tmp_path, rec.key)])
    assert code == 1  # restored, but not all of it: the operator must see it
    with vidvault.Store.open(target, key=rec.key, tier_uploads=False) as back:
        [restored] = [e for e in back.audit() if e.action == "store_restored"]
        assert "tail 1 is refused" in restored.details["tail_problem"]
        assert restored.details["tails_applied"] == 1
    assert vidvault.verify_store_audit_log(target, rec.key).ok


@pytest.mark.parametrize("attack", ["drop the middle one", "copy one over the next"])
def test_a_dropped_or_swapped_tail_is_never_skipped_over(s3, tmp_path, clip, attack):
    rec, objects = _recorder_with_three_tails(s3, tmp_path, clip, f"vv-tail-{attack.split()[0]}")
    client = s3.client()
    if attack == "drop the middle one":
        client.delete_object(Bucket=rec.bucket, Key=objects["tail/0000000001"])
        expected, not_applied = "tail 1 is not in the bucket", [2]
    else:  # tail 0's sealed document put where tail 1 was: it opens only as tail 0
        body = client.get_object(Bucket=rec.bucket, Key=objects["tail/0000000000"])["Body"].read()
        client.put_object(Bucket=rec.bucket, Key=objects["tail/0000000001"], Body=body)
        expected, not_applied = "tail 1 is refused", [1, 2]
    report = rec.restore(tmp_path / "restored")
    assert expected in report.tail.problem and report.tail.tails == 1 and report.tail.not_applied == not_applied
    assert "TAIL STOPS" in report.summary()
    assert vidvault.verify_store_audit_log(tmp_path / "restored", rec.key).ok


def test_tails_go_with_their_snapshot_when_it_is_pruned(s3, tmp_path, clip):
    rec = Recorder(s3, tmp_path, clip, "vv-tail-prune")
    rec.store.seek(CAM, T0)
    rec.round()
    assert rec.tail_objects(1)
    for _ in range(replica.KEEP_SNAPSHOTS):
        rec.store.sync_tier()
    assert list_seqs(s3.client(), rec.store._tier.tier, rec.store_id) == [2, 3]
    assert rec.tail_objects(1) == {}
    rec.store.close()


def _key_file(tmp_path, key):
    path = tmp_path / "master.key"
    path.write_text(key.hex())
    path.chmod(0o600)
    return str(path)
