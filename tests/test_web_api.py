"""The web API over HTTP (Starlette's TestClient): authentication, rights,
the audit entry of every request, the timeline, byte ranges of the raw MP4,
the desensitized stream, and attacks on signed media URLs."""

from __future__ import annotations

import time
from fractions import Fraction
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

import vidvault
from vidvault.media import remux
from vidvault.web import app

from helpers import NS, T0
from web_support import CAMERA, DAY, GAP, OTHER, bearer, ffprobe, footage_store, grant, samples

RANGE = (T0 + 1 * NS, T0 + 5 * NS)


@pytest.fixture(scope="module")
def env(tmp_path_factory, clip):
    store = footage_store(tmp_path_factory.mktemp("web") / "store", vidvault.generate_key(), clip)
    tokens = {
        "viewer": grant(store, "viewer.zhao", ["view_redacted"]),
        "raw": grant(store, "officer.qian", ["view_raw"]),
        "raw_other": grant(store, "officer.sun", ["view_raw"], [OTHER]),
    }
    client = TestClient(app(store))
    yield store, client, tokens
    store.close()


def view_url(camera=CAMERA, start=RANGE[0], end=RANGE[1], **extra):
    return f"/api/cameras/{camera}/view.mp4?" + urlencode({"start": start, "end": end, **extra})


PROTECTED = [
    ("GET", "/api/cameras", None),
    ("GET", f"/api/cameras/{CAMERA}/timeline?start={DAY[0]}&end={DAY[1]}", None),
    ("GET", view_url(), None),
    ("GET", view_url(raw=1), None),
    ("POST", "/api/media-urls", {"camera": CAMERA, "start": str(RANGE[0]), "end": str(RANGE[1])}),
]


def entries_after(store, seq):
    return [e for e in store.audit() if e.seq > seq]


def head(store):
    return store.audit_head()[0]


# ------------------------------------------------------------------ authentication


@pytest.mark.parametrize("method,url,body", PROTECTED)
def test_every_route_refuses_a_request_without_a_valid_token_with_401_json(env, method, url, body):
    store, client, tokens = env
    other = vidvault.Store.create(store.path.parent / f"other-{time.time_ns()}", key=vidvault.generate_key())
    foreign = grant(other, "viewer.zhao", ["view_raw"])
    other.close()
    good = tokens["raw"]
    payload, sig = good.rsplit(".", 1)
    altered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + sig
    for headers, why in [({}, "no grant token"), ({"Authorization": good}, "not 'Bearer"),
                         (bearer("nonsense"), "refused"), (bearer(altered), "refused"),
                         (bearer(foreign), "not issued by this store")]:
        before = head(store)
        r = client.request(method, url, json=body, headers=headers)
        assert r.status_code == 401, (why, r.text)
        assert r.headers["content-type"].startswith("application/json")
        assert why in r.json()["message"]
        assert r.headers["www-authenticate"].startswith("Bearer")
        logged = entries_after(store, before)
        assert [(e.action, e.outcome) for e in logged] == [("authenticate", "denied")]


def test_an_expired_token_is_401(env):
    store, client, _ = env
    short = grant(store, "viewer.zhao", ["view_raw"], seconds=1)
    assert client.get("/api/cameras", headers=bearer(short)).status_code == 200
    time.sleep(1.1)
    r = client.get("/api/cameras", headers=bearer(short))
    assert r.status_code == 401 and "expired" in r.json()["message"]


# ------------------------------------------------------------------ rights and audit


def test_raw_footage_without_view_raw_is_403_naming_the_right(env):
    store, client, tokens = env
    for token in (tokens["viewer"], tokens["raw_other"]):
        before = head(store)
        r = client.get(view_url(raw=1), headers=bearer(token))
        assert r.status_code == 403
        assert r.json()["right"] == "view_raw" and "view_raw" in r.json()["message"]
        assert [(e.action, e.outcome, e.camera) for e in entries_after(store, before)] == [
            ("view_raw", "denied", CAMERA)]
    r = client.post("/api/media-urls", json={"camera": CAMERA, "start": str(RANGE[0]), "end": str(RANGE[1]),
                                             "raw": True}, headers=bearer(tokens["viewer"]))
    assert r.status_code == 403 and r.json()["right"] == "view_raw"


def test_each_request_writes_one_audit_entry_under_the_grants_subject(env):
    store, client, tokens = env
    for method, url, body in PROTECTED:
        if "raw=1" in url:
            continue  # covered with its own token below
        before = head(store)
        r = client.request(method, url, json=body, headers=bearer(tokens["viewer"]))
        assert r.status_code == 200, (url, r.text)
        logged = entries_after(store, before)
        assert len(logged) == 1, (url, logged)
        assert logged[0].principal == "viewer.zhao" and logged[0].outcome == "allowed"
    before = head(store)
    assert client.get(view_url(raw=1), headers=bearer(tokens["raw"])).status_code == 200
    [e] = entries_after(store, before)
    assert (e.principal, e.action, e.camera, e.start, e.end) == ("officer.qian", "view_raw", CAMERA, *RANGE)


# ------------------------------------------------------------------ cameras and timeline


def test_cameras_are_listed_with_their_labels(env):
    _, client, tokens = env
    r = client.get("/api/cameras", headers=bearer(tokens["viewer"]))
    by_id = {c["id"]: c for c in r.json()}
    assert by_id[CAMERA]["labels"] == {"area": "gate", "site": "district-3"}
    assert by_id[OTHER]["labels"] == {"area": "lobby"}


def test_the_timeline_shows_footage_the_gap_and_the_hold(env):
    _, client, tokens = env
    r = client.get(f"/api/cameras/{CAMERA}/timeline", params={"start": DAY[0], "end": DAY[1]},
                   headers=bearer(tokens["viewer"]))
    t = r.json()
    assert t["segments"] and min(s["start"] for s in t["segments"]) == T0
    gaps = [(g["start"], g["end"]) for g in t["gaps"]]
    assert any(s <= GAP[0] + NS and e >= GAP[1] - NS for s, e in gaps), gaps
    assert [(h["case"], h["start"], h["end"], h["active"]) for h in t["holds"]] == [
        ("CASE-9", T0 + 21 * NS, T0 + 23 * NS, True)]
    iso = client.get(f"/api/cameras/{CAMERA}/timeline",
                     params={"start": "2025-11-21T04:40:00Z", "end": "2025-11-21T04:41:00Z"},
                     headers=bearer(tokens["viewer"]))
    assert iso.status_code == 200 and iso.json()["start"] == T0


@pytest.mark.parametrize("params,status,words", [
    ({"start": "yesterday", "end": "1"}, 400, "not an instant"),
    ({"start": "5", "end": "1"}, 400, "must be after"),
    ({"start": "0", "end": str(30 * 86400 * NS)}, 400, "shorter"),
    ({"start": "1"}, 422, "end"),
])
def test_bad_times_are_explained(env, params, status, words):
    _, client, tokens = env
    r = client.get(f"/api/cameras/{CAMERA}/timeline", params=params, headers=bearer(tokens["viewer"]))
    assert r.status_code == status and words in r.json()["message"]


def test_an_unknown_camera_is_404_naming_it(env):
    _, client, tokens = env
    r = client.get("/api/cameras/nope-cam/timeline", params={"start": DAY[0], "end": DAY[1]},
                   headers=bearer(tokens["viewer"]))
    assert r.status_code == 404 and "nope-cam" in r.json()["message"]


# ------------------------------------------------------------------ raw footage


def test_raw_view_is_the_stored_frames_bit_exact_faststart_with_length_and_etag(env, tmp_path):
    store, client, tokens = env
    r = client.get(view_url(raw=1), headers=bearer(tokens["raw"]))
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    data = r.content
    assert int(r.headers["content-length"]) == len(data) and r.headers["etag"]
    assert r.headers["accept-ranges"] == "bytes"
    stored = [f.data for f in store.read(CAMERA, *RANGE)]
    assert samples(data) == stored
    frames = list(store.read(CAMERA, *RANGE))
    config = remux.one_config(store, CAMERA, frames)
    planned = remux.plan(frames, time_base=Fraction(*config.time_base), start=RANGE[0], end=RANGE[1],
                         annexb=remux.annexb_footage(config, frames))
    assert data == remux.to_bytes(planned, config)[0], "served from metadata: the remux's bytes exactly"
    assert data.index(b"moov") < data.index(b"mdat")
    (tmp_path / "raw.mp4").write_bytes(data)
    probe = ffprobe(tmp_path / "raw.mp4")
    assert (probe["codec_name"], probe["width"], probe["height"]) == ("h264", 320, 240)
    assert int(probe["nb_read_frames"]) >= 4 * 25 - 1


def test_byte_ranges_first_middle_last_are_the_same_bytes(env):
    _, client, tokens = env
    whole = client.get(view_url(raw=1), headers=bearer(tokens["raw"]))
    data, etag, size = whole.content, whole.headers["etag"], len(whole.content)
    mid = size // 2
    for header, (a, b) in [("bytes=0-0", (0, 0)), (f"bytes={mid}-{mid + 999}", (mid, mid + 999)),
                           ("bytes=-1", (size - 1, size - 1)), (f"bytes={size - 10}-", (size - 10, size - 1)),
                           (f"bytes=0-{size * 2}", (0, size - 1))]:
        r = client.get(view_url(raw=1), headers={**bearer(tokens["raw"]), "Range": header})
        assert r.status_code == 206, header
        assert r.headers["content-range"] == f"bytes {a}-{b}/{size}"
        assert int(r.headers["content-length"]) == b - a + 1
        assert r.headers["etag"] == etag
        assert r.content == data[a : b + 1], header
    r = client.get(view_url(raw=1), headers={**bearer(tokens["raw"]), "Range": f"bytes={size}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    stale = client.get(view_url(raw=1), headers={**bearer(tokens["raw"]), "Range": "bytes=0-9",
                                                  "If-Range": '"not-this-one"'})
    assert stale.status_code == 200 and stale.content == data


def test_raw_view_of_a_range_without_footage_is_404(env):
    _, client, tokens = env
    r = client.get(view_url(start=GAP[0] + NS, end=GAP[1] - NS, raw=1), headers=bearer(tokens["raw"]))
    assert r.status_code == 404 and "no footage" in r.json()["message"]


# ------------------------------------------------------------------ desensitized footage


def test_the_default_view_is_a_desensitized_fragmented_mp4(env, tmp_path):
    store, client, tokens = env
    before = head(store)
    r = client.get(view_url(), headers=bearer(tokens["viewer"]))
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    data = r.content
    assert data[4:8] == b"ftyp" and b"moof" in data
    (tmp_path / "red.mp4").write_bytes(data)
    probe = ffprobe(tmp_path / "red.mp4")
    assert probe["codec_name"] == "h264" and int(probe["nb_read_frames"]) >= 4 * 25 - 2
    [e] = entries_after(store, before)
    assert (e.action, e.outcome) == ("view_redacted", "allowed")


def test_without_the_detector_models_the_default_view_fails_closed(env, tmp_path, monkeypatch):
    _, client, tokens = env
    monkeypatch.setenv("VIDVAULT_MODELS", str(tmp_path / "no-models"))
    r = client.get(view_url(), headers=bearer(tokens["viewer"]))
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/json")
    assert "models install" in r.json()["message"]


# ------------------------------------------------------------------ signed media URLs


def minted(client, token, camera=CAMERA, raw=False):
    r = client.post("/api/media-urls", json={"camera": camera, "start": str(RANGE[0]), "end": str(RANGE[1]),
                                             "raw": raw}, headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()["url"]


def altered(url, **changes):
    """``url`` with query fields changed, and with ``camera=`` another camera in its path."""
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    path = parts.path
    if "camera" in changes:
        _, _, rest = path.removeprefix("/api/cameras/").partition("/")
        path = f"/api/cameras/{changes.pop('camera')}/{rest}"
    q.update({k: str(v) for k, v in changes.items()})
    return f"{path}?{urlencode(q)}"


def test_a_signed_url_plays_without_a_header_and_is_audited(env):
    store, client, tokens = env
    url = minted(client, tokens["raw"], raw=True)
    assert "vvg1" not in url, "the URL must not carry the grant token"
    before = head(store)
    r = client.get(url, headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100
    [e] = entries_after(store, before)
    assert (e.principal, e.action, e.outcome) == ("officer.qian", "view_raw", "allowed")


def test_altered_signed_urls_are_refused(env):
    _, client, tokens = env
    url = minted(client, tokens["raw"])
    raw_url = minted(client, tokens["raw"], raw=True)
    for bad, why in [(altered(url, end=RANGE[1] + NS), "longer range"),
                     (altered(url, start=RANGE[0] - NS), "earlier start"),
                     (altered(url, raw=1), "raw flag added"),
                     (altered(raw_url, camera=OTHER), "other camera"),
                     (altered(url, principal="chief.wu"), "other principal"),
                     (altered(url, expires=int(time.time()) + 86400), "later expiry"),
                     (altered(url, sig="A" * 43), "forged signature")]:
        r = client.get(bad)
        assert r.status_code == 401, (why, r.status_code)
        assert r.json()["error"] in ("bad_media_link", "expired_media_link"), why


def test_a_signed_url_expires(env):
    store, _, tokens = env
    client = TestClient(app(store, media_url_ttl=1))
    url = minted(client, tokens["raw"], raw=True)
    assert client.get(url, headers={"Range": "bytes=0-0"}).status_code == 206
    time.sleep(2.1)
    r = client.get(url)
    assert r.status_code == 401 and "expired" in r.json()["message"]
    other_server = TestClient(app(store))
    assert other_server.get(minted(client, tokens["raw"], raw=True)).status_code == 401
