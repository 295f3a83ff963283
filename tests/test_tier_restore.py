"""A recorder whose disk died, restored from its bucket alone: the replica
of the store's metadata (vidvault/tier/replica.py) and `vidvault restore`
(vidvault/tier/restore.py) against a real server (SeaweedFS `weed mini`,
tests/s3_server.py). Real H.264 from two cameras, a legal hold, a grant,
every segment uploaded and evicted; then the store directory is deleted.

The bucket is not trusted: the attacks edit, swap and read its objects."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

import vidvault
from vidvault import S3Tier, TierError, WrongKeyError
from vidvault.cli import main as cli_main
from vidvault.tier import upload
from vidvault.tier.replica import KEEP_SNAPSHOTS, Sealer, list_seqs

from helpers import NS, T0, ingest_file
from s3_server import ACCESS_KEY, SECRET_KEY, S3Server, use_test_credentials

CAM, OTHER = "34020000001320000001", "34020000001320000002"
CASE, CLERK, VIEWER = "CASE-RESTORE-7731", "clerk-hanna-ostrova", "viewer-ravi-quell"
WINDOW = (T0 - 3600 * NS, T0 + 7200 * NS)
LATE = 2  # segments uploaded after the newest snapshot


@pytest.fixture(autouse=True)
def _aws(monkeypatch, tmp_path):
    use_test_credentials(monkeypatch, tmp_path)


def frames_of(store, camera) -> list[tuple[int, bool, bytes]]:
    return [(f.ts, f.keyframe, bytes(f.data)) for f in store.read(camera, *WINDOW)]


class DeadRecorder:
    """What the bucket holds of a store whose disk died, and what the
    store held before: its frames, a seek, its grant and its hold."""

    def __init__(self, s3, bucket, key, store_id, frames, seek, grant, held_ids):
        self.s3, self.bucket, self.key, self.store_id = s3, bucket, key, store_id
        self.frames, self.seek, self.grant, self.held_ids = frames, seek, grant, held_ids
        self.url = f"s3://{bucket}/site-a"

    def client(self):
        return self.s3.client()

    def meta_objects(self) -> dict[str, bytes]:
        client = self.client()
        listed = client.list_objects_v2(Bucket=self.bucket, Prefix=f"site-a/{self.store_id}/meta/")
        return {o["Key"]: client.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read()
                for o in listed.get("Contents", [])}

    def restore(self, path, **kw):
        return vidvault.Store.restore(self.url, path, key=kw.pop("key", self.key), endpoint=self.s3.endpoint, **kw)


@pytest.fixture(scope="module")
def dead(tmp_path_factory, clip):
    """Records, uploads, evicts, snapshots (twice: the newest snapshot is
    taken after more audited reads), then deletes the store directory."""
    home = tmp_path_factory.mktemp("restore")
    with pytest.MonkeyPatch.context() as mp:
        use_test_credentials(mp, home)
        s3 = S3Server.launch(home / "weed")
        bucket = "vv-restore"
        s3.client().create_bucket(Bucket=bucket)
        key = vidvault.generate_key()
        path = home / "store"
        with vidvault.Store.create(path, key=key, roll_after=0.5) as store:
            for cam, t0 in ((CAM, T0), (OTHER, T0 + 3600 * NS)):
                store.add_camera(cam)
                ingest_file(store, cam, clip(seconds=6.0, gop=25), start_ns=t0)
        # No background rounds: the test decides when snapshots go out.
        with vidvault.Store.open(path, key=key, roll_after=0.5, tier_uploads=False) as store:
            store.hold(CAM, T0, T0 + 2 * NS, case=CASE, reason="assault on the platform", actor=CLERK)
            grant = store.issue_grant(to=VIEWER, actions=["view_raw"], cameras=[CAM], valid_until=T0 + 10**9 * NS,
                                      case=CASE, issued_by=CLERK, purpose="review for " + CASE)
            seek = store.seek(CAM, T0 + 2 * NS + NS // 3)
            seek = (seek.ts, bytes(seek.data))
            held_ids = [s.id for s in store.segments(CAM) if s.start < T0 + 2 * NS]
            store.set_tier(S3Tier(s3.endpoint, bucket, prefix="site-a", keep_local="0s"))
            report = store.sync_tier()
            # Uploaded, all but the held ones evicted (this bucket does not enforce Object Lock).
            assert not report.failed and len(report.uploaded) == 12 and report.replica_seq == 1
            assert sorted(report.held_local) == held_ids and len(report.evicted) == 12 - len(held_ids)
            session = store.session(VIEWER, [grant], purpose="second look")
            assert len(list(session.read(CAM, T0, T0 + NS))) > 0
            assert store.sync_tier().replica_seq == 2
            # Footage uploaded after the newest snapshot (an upload round whose snapshot never went out).
            ingest_file(store, CAM, clip(seconds=2.0, gop=25), start_ns=T0 + 600 * NS)
            tier_link = store._tier
            late = upload.sync(tier_link.tier.client(), tier_link.tier, path, store.store_id, store._sealed_segments(),
                               tier_link.ledger)
            assert len(late.uploaded) == LATE and not late.failed
            frames = {c: frames_of(store, c) for c in (CAM, OTHER)}
            store_id = store.store_id
        shutil.rmtree(path)  # the dead disk
        yield DeadRecorder(s3, bucket, key, store_id, frames, seek, grant, held_ids)
        s3.stop()


def test_a_restored_store_reads_every_frame_keeps_its_hold_grant_and_audit_and_exports(dead, tmp_path):
    target = tmp_path / "new-disk" / "store"
    report = dead.restore(target)
    assert (report.store_id, report.snapshot_seq, report.remote_segments) == (dead.store_id, 2, 12 + LATE)
    assert report.missing == [] and report.unindexed == [] and len(report.indexed) == LATE
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700
    for p in (p for p in target.rglob("*") if p.is_file()):  # credentials never land in the store
        data = p.read_bytes()
        assert SECRET_KEY.encode() not in data and ACCESS_KEY.encode() not in data, p
    with vidvault.Store.open(target, key=dead.key, tier_uploads=False) as store:
        assert store.store_id == dead.store_id
        status = store.tier_status()
        assert status.remote_only_segments == 12 + LATE and status.backlog_segments == 0
        for cam in (CAM, OTHER):
            # Bit-exact, fetched from the bucket: the footage uploaded after the snapshot too.
            assert frames_of(store, cam) == dead.frames[cam]
        seek = store.seek(CAM, T0 + 2 * NS + NS // 3)
        assert (seek.ts, bytes(seek.data)) == dead.seek
        # The hold is in force: retention far in the future deletes all but the held footage.
        [hold] = store.holds(active=True)
        assert (hold.camera, hold.case) == (CAM, CASE)
        store.enforce_retention(now=T0 + 400 * 86400 * NS, actor="retention")
        for cam in (CAM, OTHER):
            store.set_retention(cam, vidvault.Retention(max_age="1d"))
        store.enforce_retention(now=T0 + 400 * 86400 * NS, actor="retention")
        assert [s.id for s in store.segments(CAM)] == dead.held_ids
        assert store.segments(OTHER) == []
        # The grant signed before the disk died still opens a session (the admin key came back).
        session = store.session(VIEWER, [dead.grant], purpose="after restore")
        got = [(f.ts, f.keyframe, bytes(f.data)) for f in session.read(CAM, T0, T0 + 2 * NS)]
        assert got == [f for f in dead.frames[CAM] if f[0] < T0 + 2 * NS]
        result = store.export_clip(CAM, T0, T0 + 2 * NS, tmp_path / "pkg", raw=True, case=CASE, actor=CLERK,
                                   reason="court")
        assert result.frames == len(got)
        assert vidvault.verify(tmp_path / "pkg", public_key=store.export_public_key(), store=store).ok
        audit = store.audit()
        restored = [i for i, e in enumerate(audit) if e.action == "store_restored"]
        assert len(restored) == 1 and "snapshot 2" in audit[restored[0]].reason
        # The log reaches back before the disk died: the viewer's first session is in it.
        assert any(e.principal == VIEWER for e in audit[:restored[0]])
    assert vidvault.verify_store_audit_log(target, dead.key).ok


def test_the_command_line_restores_and_refuses_a_directory_that_is_not_empty(dead, tmp_path, capsys, monkeypatch):
    keyfile = tmp_path / "master.key"
    keyfile.write_text(dead.key.hex())
    target = tmp_path / "store"
    args = ["restore", dead.url, str(target), "--endpoint", dead.s3.endpoint, "--key-file", str(keyfile)]
    assert cli_main(args) == 0
    out = capsys.readouterr().out
    assert f"restored store {dead.store_id}" in out and f"{12 + LATE} segments read from the bucket" in out
    assert SECRET_KEY not in out and dead.key.hex() not in out
    assert cli_main(args) == 2  # the same directory again: not empty
    err = capsys.readouterr().err
    assert "is not empty" in err and "Traceback" not in err
    assert (target / "catalog.sqlite").exists()  # the refused restore touched nothing


def test_a_wrong_master_key_is_refused_and_leaves_nothing(dead, tmp_path):
    target = tmp_path / "store"
    with pytest.raises(WrongKeyError, match="does not open with this master key"):
        dead.restore(target, key=vidvault.generate_key())
    assert not target.exists()
    target.mkdir()  # an empty directory given: left as it was, empty
    with pytest.raises(WrongKeyError):
        dead.restore(target, key=vidvault.generate_key())
    assert target.is_dir() and list(target.iterdir()) == []


def put(dead, key: str, body: bytes) -> None:
    dead.client().put_object(Bucket=dead.bucket, Key=key, Body=body)


@pytest.fixture
def bucket_restored_after(dead):
    """Puts back every meta object an attack changed."""
    before = dead.meta_objects()
    yield before
    for k, body in before.items():
        put(dead, k, body)


def test_an_edited_manifest_is_refused(dead, tmp_path, bucket_restored_after):
    manifest = max(k for k in bucket_restored_after if "/manifests/" in k)
    body = bucket_restored_after[manifest]
    put(dead, manifest, body.replace(b'"created_ns":1', b'"created_ns":2', 1))
    with pytest.raises(TierError, match="signature does not verify") as err:
        dead.restore(tmp_path / "store")
    assert "nothing was restored" in str(err.value)
    assert not (tmp_path / "store").exists()
    # Refused, never skipped for the older snapshot: that would be a rollback. Asked for, it restores.
    assert dead.restore(tmp_path / "older", snapshot=1).snapshot_seq == 1


@pytest.mark.parametrize("name", ["catalog.sqlite", "audit.sqlite", "keys.vvk", "files.json"])
def test_a_blob_swapped_for_an_older_snapshots_is_refused(dead, tmp_path, bucket_restored_after, name):
    old = f"site-a/{dead.store_id}/meta/{1:020d}/{name}"
    new = f"site-a/{dead.store_id}/meta/{2:020d}/{name}"
    put(dead, new, bucket_restored_after[old])
    with pytest.raises(TierError, match="not the one its manifest names"):
        dead.restore(tmp_path / "store")
    assert not (tmp_path / "store").exists()


def test_the_snapshot_objects_hold_no_plaintext_camera_principal_or_case(dead):
    objects = dead.meta_objects()
    assert len(objects) == KEEP_SNAPSHOTS * 6  # five blobs and a manifest each
    secrets = [CAM, OTHER, CLERK, VIEWER, CASE, "assault on the platform", "second look"]
    for k, body in objects.items():
        for text in secrets:
            assert text.encode() not in body and text.encode("utf-16-le") not in body, (k, text)
            assert text not in k


def test_no_snapshot_several_stores_and_an_unreachable_bucket_are_clear_errors(dead, tmp_path, s3_other):
    client = dead.client()
    client.create_bucket(Bucket="vv-restore-empty")
    with pytest.raises(TierError, match="holds no snapshot of any store"):
        vidvault.restore("s3://vv-restore-empty", tmp_path / "a", key=dead.key, endpoint=dead.s3.endpoint)
    # Two stores under one prefix: restore lists them and asks which.
    other = "00000000-0000-4000-8000-000000000000"
    for k, body in dead.meta_objects().items():
        put(dead, k.replace(dead.store_id, other), body)
    with pytest.raises(TierError, match=f"snapshots of 2 stores: .*{dead.store_id}") as err:
        dead.restore(tmp_path / "b")
    assert other in str(err.value)
    with pytest.raises(TierError, match="the manifest of snapshot 2"):
        dead.restore(tmp_path / "c", store_id=other)  # a copy of another store's snapshot does not pass as this one
    for k in [k for k in dead.meta_objects()]:
        client.delete_object(Bucket=dead.bucket, Key=k.replace(dead.store_id, other))
    with pytest.raises(TierError, match="cannot reach"):
        vidvault.restore(dead.url, tmp_path / "d", key=dead.key, endpoint=s3_other)
    assert not any((tmp_path / d).exists() for d in "abcd")


@pytest.fixture
def s3_other():
    from helpers import free_port

    return f"http://127.0.0.1:{free_port()}"


def test_a_segment_missing_from_the_bucket_is_reported_not_invented(dead, tmp_path):
    client = dead.client()
    listed = client.list_objects_v2(Bucket=dead.bucket, Prefix=f"site-a/{dead.store_id}/segments/")["Contents"]
    victim = sorted(o["Key"] for o in listed)[0]  # one the snapshot's catalog lists
    body = client.get_object(Bucket=dead.bucket, Key=victim)["Body"].read()
    client.delete_object(Bucket=dead.bucket, Key=victim)
    try:
        report = dead.restore(tmp_path / "store")
    finally:
        put(dead, victim, body)
    assert report.remote_segments == 11 + LATE and len(report.missing) == 1
    assert f"MISSING: segment {report.missing[0][0]}" in report.summary()
    with vidvault.Store.open(tmp_path / "store", key=dead.key, tier_uploads=False) as store:
        [entry] = [e for e in store.audit() if e.action == "store_restored"]
        assert entry.details["missing_segments"] == [report.missing[0][0]]


def test_objects_newer_than_the_snapshot_are_reported_and_their_ids_never_reused(dead, tmp_path, clip):
    client = dead.client()
    listed = client.list_objects_v2(Bucket=dead.bucket, Prefix=f"site-a/{dead.store_id}/segments/")["Contents"]
    some = sorted(o["Key"] for o in listed)[0]
    newer = some.rsplit("/", 1)[0] + f"/{0x400:016x}.vvs"  # as if uploaded after the snapshot
    put(dead, newer, client.get_object(Bucket=dead.bucket, Key=some)["Body"].read())
    try:
        report = dead.restore(tmp_path / "store")
    finally:
        client.delete_object(Bucket=dead.bucket, Key=newer)
    # A copy of another segment under a new id: its own header says otherwise, so it is not catalogued.
    assert [k for k, _ in report.unindexed] == [newer] and "header says" in report.unindexed[0][1]
    assert f"NOT INDEXED: object {newer!r}" in report.summary()
    assert len(report.indexed) == LATE
    with vidvault.Store.open(tmp_path / "store", key=dead.key, tier_uploads=False) as store:
        ingest_file(store, CAM, clip(seconds=2.0, gop=25), start_ns=T0 + 86400 * NS)
        fresh = [s.id for s in store.segments(CAM, T0 + 86400 * NS, T0 + 86500 * NS)]
    assert fresh and min(fresh) > 0x400  # a new segment never takes the key of footage in the bucket



def test_a_snapshot_taken_while_the_audit_head_moves_restores_and_opens(dead, tmp_path, clip):
    """The audit head the keystore records moves on (here: a checkpoint)
    while a snapshot is taken: the audit copy, taken after the keystore,
    still reaches it, so the restored store opens."""
    client = dead.client()
    client.create_bucket(Bucket="vv-restore-race")
    path = tmp_path / "recorder"
    with vidvault.Store.create(path, key=dead.key) as store:
        store.add_camera(CAM)
        ingest_file(store, CAM, clip(seconds=1.0, gop=25))
    with vidvault.Store.open(path, key=dead.key, tier_uploads=False) as store:
        store.set_tier(S3Tier(dead.s3.endpoint, "vv-restore-race"))
        replicator = store._tier.replicator
        real = replicator.sealer

        def keystore_after_a_checkpoint(seq: int) -> bytes:
            for i in range(100):  # crosses a multiple of 100: a checkpoint, its head recorded in the keystore
                store._core.audit_record("tester", "test_entry", outcome="done", reason=f"entry {i}")
            return real.keystore(seq)

        replicator.sealer = Sealer(keystore=keystore_after_a_checkpoint, blob=real.blob, sign=real.sign,
                                   keystore_tail=real.keystore_tail)
        assert replicator.replicate(store._tier.tier.client(), force=True) == 1
    shutil.rmtree(path)
    restored = tmp_path / "restored"
    vidvault.restore("s3://vv-restore-race", restored, key=dead.key, endpoint=dead.s3.endpoint)
    with vidvault.Store.open(restored, key=dead.key, tier_uploads=False) as store:
        assert len([e for e in store.audit() if e.action == "test_entry"]) == 100
    assert vidvault.verify_store_audit_log(restored, dead.key).ok


# Last: it sends snapshots 3 and 4 (from the restored store), pruning 1 and 2.
def test_only_changed_rounds_send_a_snapshot_and_old_snapshots_are_pruned(dead, tmp_path):
    target = tmp_path / "store"
    dead.restore(target)
    with vidvault.Store.open(target, key=dead.key, tier_uploads=False) as store:
        link = store._tier
        client = link.tier.client()
        assert link.replicator.replicate(client) == 3  # a new process: its first round sends one
        assert link.replicator.replicate(client) is None  # nothing changed since
        frames_of(store, CAM)  # an audited read changes the log
        assert link.replicator.replicate(client) is None  # changed, but the last one is too recent
        link.replicator.min_interval_s = 0
        assert link.replicator.replicate(client) == 4
        assert list_seqs(client, link.tier, store.store_id) == [3, 4]  # the older ones deleted


def test_metadata_too_large_for_a_snapshot_fails_the_round_loudly(dead, tmp_path, monkeypatch):
    """A snapshot is copied and sealed in memory: past its bound the round
    fails, naming the size, and the tier's alarm says so, instead of the
    process exhausting memory or the replica silently going stale."""
    from vidvault.tier import replica

    target = tmp_path / "store"
    dead.restore(target)
    monkeypatch.setattr(replica, "MAX_SNAPSHOT_BYTES", 4096)
    with vidvault.Store.open(target, key=dead.key, tier_uploads=False) as store:
        before = list_seqs(dead.client(), store._tier.tier, store.store_id)
        report = store.sync_tier()
        assert report.replica_seq is None
        assert any("more than a snapshot of its metadata may (4096)" in why for _, why in report.failed)
        assert "not built" in store.tier_status().alarm
        assert list_seqs(dead.client(), store._tier.tier, store.store_id) == before
