"""A read-only view of a store on another node (Store.open_remote,
`vidvault restore --read-only`): it searches, reads, exports and verifies
what the recorder put in the bucket, and changes nothing, neither there nor
in its own copy of the recorder's metadata. Real H.264, a real S3 server
(SeaweedFS `weed mini`), two recorders under two prefixes of one bucket,
and a reader in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import boto3
import pytest

import vidvault
from vidvault import ReadOnlyStoreError, S3Tier, TierError
from vidvault.cli import main as cli_main
from vidvault.tier.link import ROUND_SECONDS

from helpers import NS, T0, ingest_file
from s3_server import READER_ACCESS_KEY, READER_SECRET_KEY, launched, use_test_credentials

CAM = "34020000001320000001"
BUCKET = "vv-reader"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    for server in launched(tmp_path_factory, "reader", read_only=(READER_ACCESS_KEY, READER_SECRET_KEY)):
        server.client().create_bucket(Bucket=BUCKET)
        yield server


@pytest.fixture(autouse=True)
def _aws(monkeypatch, tmp_path):
    use_test_credentials(monkeypatch, tmp_path)


_prefixes = iter(range(10_000))


class Recorder:
    """A live store under its own prefix of the shared bucket: 6 sealed
    segments uploaded (local copies kept), a snapshot sent."""

    def __init__(self, s3, tmp_path, clip, name: str):
        self.s3, self.prefix, self.key = s3, f"{name}-{next(_prefixes)}", vidvault.generate_key()
        self.path = tmp_path / name
        with vidvault.Store.create(self.path, key=self.key, roll_after=0.5) as store:
            store.add_camera(CAM, retention=vidvault.Retention(min_age="0s"))
            ingest_file(store, CAM, clip(seconds=6.0, gop=25))
        self.store = vidvault.Store.open(self.path, key=self.key, tier_uploads=False)
        self.store.set_tier(S3Tier(s3.endpoint, BUCKET, prefix=self.prefix, keep_local="1d"))
        report = self.store.sync_tier()
        assert len(report.uploaded) == 6 and report.replica_seq is not None and not report.failed
        self.url = f"s3://{BUCKET}/{self.prefix}"

    def view(self, path, **kw):
        return vidvault.Store.open_remote(self.url, path, key=self.key, endpoint=self.s3.endpoint, **kw)

    def bucket(self) -> dict[str, str]:
        """Every object under the prefix: key -> ETag (what a write would change)."""
        listed = self.s3.client().list_objects_v2(Bucket=BUCKET, Prefix=self.prefix + "/")
        return {o["Key"]: o["ETag"] for o in listed.get("Contents", [])}


@pytest.fixture
def recorder(s3, tmp_path, clip):
    r = Recorder(s3, tmp_path, clip, "site-a")
    yield r
    r.store.close()


def frames(store, start=T0 - NS, end=T0 + 60 * NS):
    return [(f.ts, f.keyframe, bytes(f.data)) for f in store.read(CAM, start, end)]


def test_a_view_reads_seeks_and_exports_the_recorders_footage_and_writes_nothing_to_the_bucket(
        recorder, tmp_path):
    before = recorder.bucket()
    with recorder.view(tmp_path / "view", operator="analyst.kim") as view:
        assert view.read_only and not recorder.store.read_only and view.tier_status().read_only
        assert "READ-ONLY VIEW" in view.tier_status().summary()
        assert view.store_id == recorder.store.store_id
        assert view.remote_report is not None and view.remote_report.remote_segments == 6
        assert frames(view) == frames(recorder.store)  # bit-exact, through the view's read cache
        assert not list((tmp_path / "view" / "segments").rglob("*.vvs"))  # no segment file of its own
        assert view.seek(CAM, T0 + 3 * NS + NS // 3).ts == recorder.store.seek(CAM, T0 + 3 * NS + NS // 3).ts
        assert view.gaps(CAM, T0, T0 + 6 * NS) == recorder.store.gaps(CAM, T0, T0 + 6 * NS)
        view.export_clip(CAM, T0 + NS, T0 + 3 * NS, tmp_path / "pkg", raw=True, case="CASE-77",
                         reason="second-node review", actor="analyst.kim")
        assert vidvault.verify(tmp_path / "pkg", public_key=recorder.store.export_public_key()).ok
        assert view.fsck(deep=True).ok
        actions = [(e.action, e.principal) for e in view.audit()]
        assert ("remote_view_opened", "analyst.kim") in actions  # audited in the view's own log
        assert ("export_raw", "analyst.kim") in actions and ("view_raw", "analyst.kim") in actions, actions
        assert view.audit_verify().ok  # which continues the recorder's chain
    # Reopened as a plain store with uploads on: still a view, still silent towards the bucket.
    with vidvault.Store.open(tmp_path / "view", key=recorder.key) as view:
        assert view.read_only
        time.sleep(ROUND_SECONDS * 1.5)  # an uploader would have run a round by now
        assert frames(view, T0, T0 + NS)
    assert recorder.bucket() == before
    assert not [e for e in recorder.store.audit() if e.principal == "analyst.kim"]  # nor the recorder's log


CHANGES = {
    "writer": lambda s: s.writer(CAM, codec="h264", extradata=b"\x01\x64\x00\x1f", time_base=(1, 90000)),
    "add_camera": lambda s: s.add_camera("34020000001320000009"),
    "set_labels": lambda s: s.set_labels(CAM, {"area": "x"}),
    "set_retention": lambda s: s.set_retention(CAM, vidvault.Retention(max_age="1d", min_age="0s")),
    "define_retention_class": lambda s: s.define_retention_class("short", vidvault.Retention(max_age="1d")),
    "set_default_retention_class": lambda s: s.set_default_retention_class("general"),
    "hold": lambda s: s.hold(CAM, T0, T0 + NS, case="C-1", actor="clerk"),
    "enforce_retention": lambda s: s.enforce_retention(),
    "set_tier": lambda s: s.set_tier(S3Tier(s.tier_status().endpoint, BUCKET, prefix="elsewhere")),
    "sync_tier": lambda s: s.sync_tier(),
    "rotate_master_key": lambda s: s.rotate_master_key(vidvault.generate_key()),
    "record_outage": lambda s: s.record_outage(CAM, start=T0, end=T0 + NS, cause="unreachable", reason="x"),
    "rebuild_catalog": lambda s: s.rebuild_catalog(),
}


def test_every_change_is_refused_on_a_view_by_name_and_nothing_changes(recorder, tmp_path, clip):
    before = recorder.bucket()
    with recorder.view(tmp_path / "view") as view:
        listed = repr((view.cameras(), view.camera_retention(CAM), view.segments(CAM), view.holds()))
        for what, change in CHANGES.items():
            with pytest.raises(ReadOnlyStoreError) as err:
                change(view)
            message = str(err.value)
            assert what in message and str(view.path) in message and "recorder" in message, message
            assert BUCKET in message
        with pytest.raises(ReadOnlyStoreError):
            vidvault.ingest(view, CAM, clip(seconds=2.0, gop=25), start=T0 + 600 * NS)
        clerk = view.session("clerk.ode", [view.issue_grant(
            to="clerk.ode", actions=["hold", "view_redacted"], cameras=[CAM], valid_until=time.time_ns() + 3600 * NS,
            issued_by="admin.zhao", case="C-2")])
        with pytest.raises(ReadOnlyStoreError):
            clerk.hold(CAM, T0, T0 + NS, case="C-2")
        assert view.enforce_retention(dry_run=True).deleted == []  # a look at what would go is allowed
        assert repr((view.cameras(), view.camera_retention(CAM), view.segments(CAM), view.holds())) == listed
    assert recorder.bucket() == before


def test_footage_the_recorder_deleted_since_is_named_as_such_and_a_new_view_no_longer_lists_it(
        recorder, tmp_path):
    view = recorder.view(tmp_path / "view")
    try:
        recorder.store.set_retention(CAM, vidvault.Retention(max_age="1d", min_age="0s"))  # its 2025 footage expired
        assert len(recorder.store.enforce_retention().deleted) == 6
        assert len(recorder.store.sync_tier().retired) == 6
        with pytest.raises(TierError) as err:
            frames(view)
        message = str(err.value)
        assert "missing from the bucket" in message and "retention may have deleted it" in message
        assert "open a new view" in message
        assert len(view.segments(CAM)) == 6  # the view's listing is as of its snapshot: nothing forgotten
    finally:
        view.close()
    with recorder.view(tmp_path / "view-2") as fresh:
        assert fresh.segments(CAM) == [] and frames(fresh) == []


def test_an_unknown_role_in_the_settings_is_refused_not_taken_for_a_recorder(recorder, tmp_path):
    recorder.view(tmp_path / "view").close()
    settings = tmp_path / "view" / "tier.json"
    doc = json.loads(settings.read_text())
    doc["role"] = "writer"
    settings.write_text(json.dumps(doc))
    with pytest.raises(TierError, match="role 'writer'"):
        vidvault.Store.open(tmp_path / "view", key=recorder.key)
    doc["role"] = "reader"
    settings.write_text(json.dumps(doc))
    with vidvault.Store.open(tmp_path / "view", key=recorder.key) as view:  # the lock was released
        assert view.read_only


def test_two_recorders_share_the_bucket_and_a_reader_process_exports_from_one(s3, tmp_path, clip, capsys,
                                                                               monkeypatch):
    a, b = Recorder(s3, tmp_path, clip, "site-a"), Recorder(s3, tmp_path, clip, "site-b")
    try:
        before = {**a.bucket(), **b.bucket()}
        # The reader node: a process of its own, with only the bucket, the key and the command line, and
        # credentials the bucket lets read and list only: what the view's role promises, the bucket enforces.
        env = dict(os.environ, VIDVAULT_KEY=a.key.hex(), AWS_ACCESS_KEY_ID=READER_ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=READER_SECRET_KEY)
        reader_client = boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1",
                                     aws_access_key_id=READER_ACCESS_KEY, aws_secret_access_key=READER_SECRET_KEY)
        with pytest.raises(Exception, match="AccessDenied"):
            reader_client.put_object(Bucket=BUCKET, Key=f"{a.prefix}/probe", Body=b"x")
        view, pkg = tmp_path / "node-2" / "view", tmp_path / "node-2" / "pkg"

        def vidvault_cli(*argv: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "vidvault.cli", *argv], env=env, capture_output=True,
                                  text=True, timeout=300)

        made = vidvault_cli("restore", a.url, str(view), "--endpoint", s3.endpoint, "--read-only")
        assert made.returncode == 0, made.stderr
        assert "made a read-only view of store" in made.stdout and "6 segments read from the bucket" in made.stdout
        status = vidvault_cli("tier", "status", str(view))
        assert "READ-ONLY VIEW" in status.stdout
        refused = vidvault_cli("hold", str(view), "--camera", CAM, "--start", str(T0), "--end", str(T0 + NS),
                               "--case", "C-3", "--actor", "clerk")
        assert refused.returncode == 2 and "read-only view" in refused.stderr, refused.stderr
        exported = vidvault_cli("export-clip", str(view), "--camera", CAM, "--start", str(T0 + NS),
                                "--end", str(T0 + 3 * NS), "--out", str(pkg), "--raw", "--case", "C-3",
                                "--reason", "review on node 2")
        assert exported.returncode == 0, exported.stderr
        public = tmp_path / "a.pub"
        public.write_text(a.store.export_public_key().hex())
        checked = vidvault_cli("verify", str(pkg), "--public-key", str(public))
        assert checked.returncode == 0 and "VERIFIED" in checked.stdout, checked.stdout + checked.stderr
        for run in (made, status, refused, exported, checked):
            assert READER_SECRET_KEY not in run.stdout + run.stderr
        for f in view.rglob("*"):
            assert not f.is_file() or READER_SECRET_KEY.encode() not in f.read_bytes(), f
        # The other recorder's footage is its own: another key does not open its replica.
        wrong = vidvault_cli("restore", b.url, str(tmp_path / "node-2" / "b"), "--endpoint", s3.endpoint,
                             "--read-only")
        assert wrong.returncode == 2 and not (tmp_path / "node-2" / "b").exists()
        # Both recorders go on recording while the view exists.
        for r in (a, b):
            ingest_file(r.store, CAM, clip(seconds=2.0, gop=25), start_ns=T0 + 600 * NS)
        assert {**a.bucket(), **b.bucket()}.items() >= before.items()
    finally:
        a.store.close()
        b.store.close()
