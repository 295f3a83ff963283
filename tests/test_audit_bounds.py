"""A footage window with one open side is logged as such, never dropped:
the audit log is the record of what was granted and asked for."""

from __future__ import annotations

import time

import pytest

import vidvault

from helpers import NS, T0

CAM = "34020000001320000001"


def test_a_grant_with_only_footage_from_is_logged_with_its_window(store_path, key):
    with vidvault.Store.create(store_path, key=key) as s:
        s.add_camera(CAM)
        s.issue_grant(to="officer.wang", actions=["view_raw"], cameras=[CAM], case="C-7",
                      issued_by="admin", valid_until=time.time_ns() + 3600 * NS, footage_from=T0)
        issued = [e for e in s.audit() if e.action == "grant_issue"][-1]
        assert issued.start == T0  # the open end is logged as the end of time
        assert s.audit_verify().ok


def test_an_audit_record_with_one_bound_is_refused_not_dropped(store_path, key):
    with vidvault.Store.create(store_path, key=key) as s:
        s.add_camera(CAM)
        with pytest.raises(vidvault.InvalidArgumentError, match="both start and end"):
            s._core.audit_record("ops", "note", outcome="done", camera=CAM, start=T0, end=None)
