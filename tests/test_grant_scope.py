"""Grant scope: every session call names a camera or the whole store, store-wide
actions need a store-wide grant, a session never picks the sweep's `now`, and
camera selectors read one way only."""

from __future__ import annotations

import inspect
import time

import pytest

import vidvault

from helpers import NS, T0, record_two_cameras

CAM = "34020000001320000001"
OTHER = "34020000001320000002"
HOUR = 3600 * NS
DAY = 24 * HOUR
NOW = time.time_ns()
ALL_ACTIONS = ["view_redacted", "view_raw", "export", "export_raw", "hold", "manage", "audit_read"]


@pytest.fixture
def footage(store):
    record_two_cameras(store, CAM, OTHER)
    return store


def grant(store, actions, cameras, *, window=False, to="officer.wang"):
    bounds = dict(footage_from=T0, footage_to=T0 + HOUR) if window else {}
    return store.issue_grant(to=to, actions=actions, cameras=cameras, valid_until=NOW + HOUR, case="CASE-11",
                             issued_by="admin.zhao", approver="chief.li", **bounds)


# ------------------------------------------------------------------ breach 1: store-wide actions


def test_manage_on_one_camera_cannot_sweep_the_store_or_choose_now(footage):
    """The breach: manage on CAM swept every camera at a `now` of its choosing,
    deleting footage under a hold whose `until` it jumped past."""
    hold = footage.hold(OTHER, T0, T0 + 4 * NS, case="C-7", actor="clerk.li", until=NOW + 30 * DAY)
    before = [s.id for s in footage.segments(OTHER)]
    s = footage.session("officer.wang", [grant(footage, ["manage"], [CAM])])
    with pytest.raises(TypeError):
        s.enforce_retention(NOW + 400 * DAY)  # a session has no `now` to give
    with pytest.raises(vidvault.AccessDenied, match="whole store") as e:
        s.enforce_retention()
    assert footage.audit_entry(e.value.audit_seq).outcome == "denied"
    assert [x.id for x in footage.segments(OTHER)] == before
    assert footage.holds(OTHER)[0].id == hold.id and len(list(footage.read(OTHER, T0, T0 + 4 * NS))) == 100
    # A store-wide grant may sweep (here a dry run), at the clock's time.
    wide = footage.session("ops.sun", [grant(footage, ["manage"], ["*"], to="ops.sun")])
    report = wide.enforce_retention(dry_run=True)
    assert report.dry_run and abs(report.now - time.time_ns()) < HOUR
    assert "now" not in inspect.signature(vidvault.Session.enforce_retention).parameters


def test_audit_read_on_one_camera_returns_only_that_cameras_entries(footage):
    footage.session("guard.chen").segments(OTHER, T0, T0 + NS)  # an entry of OTHER
    s = footage.session("auditor.qian", [grant(footage, ["audit_read"], [CAM], to="auditor.qian")])
    mine = s.audit(CAM)
    assert mine and {e.camera for e in mine} == {CAM}
    with pytest.raises(vidvault.AccessDenied, match="whole store"):
        s.audit()
    with pytest.raises(vidvault.AccessDenied, match="covers camera"):
        s.audit(OTHER)
    everything = footage.session("auditor.qian", [grant(footage, ["audit_read"], ["*"], to="auditor.qian")]).audit()
    assert {OTHER, CAM, None} <= {e.camera for e in everything}


def test_a_prefix_or_label_grant_is_not_store_wide(footage):
    for cameras in (["3402*"], ["label:area=district-3"], [CAM, OTHER]):
        s = footage.session("officer.wang", [grant(footage, ["manage", "audit_read", "hold"], cameras)])
        for call in (lambda: s.enforce_retention(dry_run=True), s.audit, lambda: s.authorize("hold")):
            with pytest.raises(vidvault.AccessDenied, match="whole store"):
                call()


def test_releasing_a_hold_needs_a_grant_for_its_camera_or_the_store(footage):
    other_hold = footage.hold(OTHER, T0, T0 + NS, case="C-7", actor="clerk.li")
    s = footage.session("officer.wang", [grant(footage, ["hold"], [CAM])])
    with pytest.raises(vidvault.AccessDenied, match="covers camera"):
        s.release(other_hold.id)
    with pytest.raises(vidvault.AccessDenied, match="whole store"):
        s.release(999_999)  # unknown hold: its camera is unknown, so only a store-wide grant may try
    assert footage.holds(OTHER, active=True)
    mine = s.hold(CAM, T0, T0 + NS, case="C-8")
    assert s.release(mine.id).released_by == "officer.wang"


def test_camera_wide_actions_refuse_a_footage_window(footage):
    for action in ("manage", "audit_read"):
        with pytest.raises(vidvault.InvalidArgumentError, match="footage window"):
            grant(footage, [action], [CAM], window=True)
    s = footage.session("officer.wang", [grant(footage, ["manage"], [CAM])])
    s.set_retention(CAM, None)  # a grant without a window covers the camera's whole timeline
    with pytest.raises(vidvault.AccessDenied, match="covers camera"):
        s.set_retention(OTHER, None)


#: Each public Session method, called on OTHER (or on the store) by a
#: principal holding every right on CAM alone.
CALLS = {
    "read": lambda s: list(s.read(OTHER, T0, T0 + NS)),
    "seek": lambda s: s.seek(OTHER, T0),
    "raw_footage": lambda s: s.raw_footage(OTHER, T0, T0 + NS),  # frame metadata + reads (the raw view.mp4)
    "viewing": lambda s: s.viewing(OTHER, T0, T0 + NS, raw=True),  # a listing of parts, read piece by piece
    "segments": None,  # desensitized metadata: every principal may list it
    "gaps": None,
    "timeline": None,  # segments, gaps and holds: the same desensitized metadata
    "availability": lambda s: s.availability(T0, T0 + NS, cameras=[OTHER], pictures=True),  # decodes keyframes
    "cameras": None,  # ids and labels, no footage (logged as list_cameras)
    "play": lambda s: list(s.play(OTHER, T0, T0 + NS, raw=True)),
    "export_clip": lambda s: s.export_clip(OTHER, T0, T0 + NS, "/nonexistent/pkg", raw=True),
    "hold": lambda s: s.hold(OTHER, T0, T0 + NS, case="C-1"),
    "release": lambda s: s.release(999_999),
    "set_retention": lambda s: s.set_retention(OTHER, None),
    "enforce_retention": lambda s: s.enforce_retention(dry_run=True),
    "audit": lambda s: s.audit(),
    "authorize": lambda s: s.authorize("manage"),
}


def test_every_session_method_is_scoped(footage):
    public = {n for n, _ in inspect.getmembers(vidvault.Session, inspect.isfunction) if not n.startswith("_")}
    assert public == set(CALLS), "a new Session method needs a row here saying how it is scoped"
    s = footage.session("officer.wang", [grant(footage, ALL_ACTIONS, [CAM])])
    for name, call in CALLS.items():
        if call is None:
            continue
        with pytest.raises(vidvault.AccessDenied, match="covers camera|whole store"):
            call(s)


# ------------------------------------------------------------------ selectors


def test_selector_grammar_is_checked_at_issue(footage):
    for bad in ["area=district-3", "gate-?", "cam[12]", "a*b", "10.0.0.7:554", "lable:area=x", "label:area", "**"]:
        with pytest.raises(vidvault.InvalidArgumentError, match="camera selector"):
            grant(footage, ["view_raw"], [bad], window=True)
    for good in ["*", "3402*", "label:area=district-3", "id:gate*", CAM, "front door"]:
        assert grant(footage, ["view_raw"], [good], window=True).startswith("vvg1.")


@pytest.mark.parametrize("selector, covered, not_covered", [
    ("id:gate*", ["gate*"], ["gate-1", "gate"]),
    ("gate*", ["gate*", "gate-1", "gate"], ["lobby"]),
    ("gate", ["gate"], ["gate*", "gate-1"]),
    ("id:cam:1", ["cam:1"], ["cam:10", "cam"]),
    ("id:label:area=district-3", ["label:area=district-3"], ["lobby"]),
    ("label:area=district-3", ["lobby"], ["gate", "label:area=district-3"]),
])
def test_selectors_cover_exactly_what_they_say(store, selector, covered, not_covered):
    """Camera ids may hold '*', ':' and '=' (any printable string is an id);
    such a camera is named with id:, and a plain or prefix selector never
    reads one differently."""
    for cam in ["gate*", "gate-1", "gate", "cam:1", "cam:10", "cam", "label:area=district-3", "lobby"]:
        store.add_camera(cam, labels={"area": "district-3"} if cam == "lobby" else {})
    s = store.session("officer.wang", [grant(store, ["view_raw"], [selector], window=True)])
    for cam in covered:
        assert list(s.read(cam, T0, T0 + NS)) == [], cam  # allowed (no footage)
    for cam in not_covered:
        with pytest.raises(vidvault.AccessDenied, match="covers camera"):
            s.read(cam, T0, T0 + NS)


# ------------------------------------------------------------------ exact windows (real H.264)

#: Keyframes every 2 s (T0, T0+2s, T0+4s); the grant covers [T0+1s, T0+5s).
W_FROM, W_TO = T0 + NS, T0 + 5 * NS


@pytest.fixture(params=[0, 2], ids=["no-bframes", "bframes"])
def windowed(request, store, clip):
    from helpers import ingest_file

    store.add_camera(CAM)
    _, _, tss = ingest_file(store, CAM, clip(bframes=request.param, seconds=6.0, gop=50))
    token = store.issue_grant(to="clerk.li", actions=["view_raw", "export_raw"], cameras=[CAM],
                              footage_from=W_FROM, footage_to=W_TO, valid_until=NOW + HOUR, case="CASE-11",
                              issued_by="admin.zhao", approver="chief.li")
    return store, store.session("clerk.li", [token], purpose="court request"), tss


def test_a_raw_read_starts_at_the_first_keyframe_inside_the_window(windowed):
    store, s, _ = windowed
    trusted = list(store.read(CAM, W_FROM, W_FROM + NS))
    assert trusted[0].ts < W_FROM, "the trusted read starts at the keyframe before the window"
    frames = list(s.read(CAM, W_FROM, W_TO))
    assert frames[0].keyframe and frames[0].ts == T0 + 2 * NS
    assert all(W_FROM <= f.ts < W_TO for f in frames), [f.ts - T0 for f in frames if not W_FROM <= f.ts < W_TO]
    keyframe = s.seek(CAM, W_FROM + NS // 2)
    assert keyframe.keyframe and keyframe.ts == T0 + 2 * NS
    assert s.seek(CAM, T0 + 4 * NS + NS // 2).ts == T0 + 4 * NS  # inside the window: as the store's seek


def test_play_under_a_session_yields_only_pictures_inside_the_window(windowed):
    _, s, tss = windowed
    shown = [p.ts for p in s.play(CAM, W_FROM, W_TO, raw=True)]
    assert shown and all(W_FROM <= t < W_TO for t in shown)
    assert shown[0] == T0 + 2 * NS, "pictures before the window's first keyframe cannot be decoded without it"
    assert sorted(shown) == [t for t in sorted(tss) if T0 + 2 * NS <= t < W_TO]


def test_a_bit_exact_export_under_a_session_holds_no_frame_outside_the_window(windowed, tmp_path):
    from vidvault import media

    store, s, _ = windowed
    result = s.export_clip(CAM, W_FROM, W_FROM + 2 * NS, tmp_path / "pkg", raw=True, case="CASE-11")
    stored = [f["ts"] for f in result.manifest["frames"]]
    assert stored and all(W_FROM <= t < W_TO for t in stored), [t - T0 for t in stored]
    with media.PacketSource(tmp_path / "pkg" / "clip.mp4") as src:
        assert len(list(src)) == len(stored), "every sample in clip.mp4 is a frame the manifest lists"
    report = vidvault.verify(tmp_path / "pkg", public_key=store.export_public_key(), store=store)
    assert report.ok, report.first_failure
