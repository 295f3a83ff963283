"""Every retrieval is audited, on the trusted handle too: read, seek, play and
export_clip each log one entry (not one per frame) naming the handle's
operator; a session's retrieval is logged once, by its own check."""

from __future__ import annotations

import getpass
import time

import pytest

import vidvault

from helpers import NS, T0, ingest_file

CAM = "34020000001320000001"
HOUR = 3600 * NS


@pytest.fixture
def recorded(store_path, key, clip):
    with vidvault.Store.create(store_path, key=key) as s:
        s.add_camera(CAM)
        ingest_file(s, CAM, clip(seconds=4.0))
    return store_path, key


def _new_entries(store, since_seq):
    return [e for e in store.audit() if e.seq > since_seq]


def test_each_trusted_retrieval_logs_one_entry_naming_the_operator(recorded, tmp_path):
    path, key = recorded
    with vidvault.Store.open(path, key=key, operator="ops.sun") as store:
        assert store.operator == "ops.sun"
        calls = {
            "read": lambda: list(store.read(CAM, T0, T0 + 2 * NS)),
            "seek": lambda: store.seek(CAM, T0 + NS),
            "play": lambda: list(store.play(CAM, T0, T0 + NS, raw=True)),
            "export_clip": lambda: store.export_clip(CAM, T0, T0 + NS, tmp_path / "pkg", raw=True),
        }
        for call, run in calls.items():
            head = store.audit_head()[0]
            got = run()
            entries = _new_entries(store, head)
            if call == "export_clip":  # the request, then its completion
                assert [e.action for e in entries] == ["export_raw", "export_done"]
                assert got.manifest["audit"]["entry"] == entries[0].seq
            else:
                assert len(got if isinstance(got, list) else [got]) >= 1
                assert len(entries) == 1, (call, [(e.action, e.principal) for e in entries])
                assert entries[0].details["call"] == call
            e = entries[0]
            assert (e.principal, e.camera, e.outcome) == ("ops.sun", CAM, "allowed"), call
            assert e.start is not None and e.end is not None
        assert [e.action for e in store.audit() if e.principal == "ops.sun"][:3] == ["view_raw"] * 3


def test_the_operator_defaults_to_the_os_user_and_must_be_a_name(recorded):
    path, key = recorded
    with vidvault.Store.open(path, key=key) as store:
        store.seek(CAM, T0)
        assert store.audit()[-1].principal == getpass.getuser() == store.operator
        list(store.play(CAM, T0, T0 + NS // 2, raw=True))
        assert store.audit()[-1].action == "view_raw"
    for bad in ("", "   "):
        with pytest.raises(vidvault.InvalidArgumentError, match="operator"):
            vidvault.Store.open(path, key=key, operator=bad)


def test_a_session_retrieval_is_logged_once_by_its_check(recorded):
    path, key = recorded
    with vidvault.Store.open(path, key=key, operator="ops.sun") as store:
        token = store.issue_grant(to="officer.wang", actions=["view_raw"], cameras=[CAM],
                                  valid_until=time.time_ns() + HOUR, case="C-1", issued_by="admin")
        head = store.audit_head()[0]
        frames = list(store.session("officer.wang", [token]).read(CAM, T0, T0 + 2 * NS))
        entries = _new_entries(store, head)
        assert len(frames) > 1 and [(e.principal, e.action) for e in entries] == [("officer.wang", "view_raw")]


def test_ingest_writes_no_audit_entry(store):
    store.add_camera(CAM)
    head = store.audit_head()[0]
    with store.writer(CAM, codec="h264") as w:
        for i in range(200):
            w.append(T0 + i * 40_000_000, b"frame %d" % i, keyframe=i % 25 == 0)
    assert store.audit_head()[0] == head
