"""The segmented form of a long range (GET /api/cameras/{id}/parts and
part.mp4): parts cover the range's footage exactly from keyframes, raw parts
are the stored access units bit for bit, desensitized parts decode on their
own and hide a real face, one audit entry per listing, and the attacks on a
part link (another camera, a longer range, raw added, outside the grant's
window, an expired grant) are refused."""

from __future__ import annotations

import io
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import av
import pytest
from fastapi.testclient import TestClient

import vidvault
from vidvault.redact.evaluation.scenes import encode
from vidvault.web import app

from helpers import NS, T0, ingest_file
from test_redact_playback import energy, small_scene, truth_box
from test_web_api import altered
from web_support import CAMERA, GAP, OTHER, bearer, footage_store, grant

RANGE = (T0 + NS // 2, T0 + 26 * NS)


@pytest.fixture(scope="module")
def env(tmp_path_factory, clip):
    store = footage_store(tmp_path_factory.mktemp("parts") / "store", vidvault.generate_key(), clip)
    tokens = {
        "viewer": grant(store, "viewer.zhao", ["view_redacted"]),
        "raw": grant(store, "officer.qian", ["view_raw"]),
        "raw_other": grant(store, "officer.sun", ["view_raw"], [OTHER]),
        "windowed": grant(store, "officer.li", ["view_raw"], footage_from=T0 + 2500 * NS // 1000,
                          footage_to=T0 + 22500 * NS // 1000),
    }
    yield store, TestClient(app(store)), tokens
    store.close()


def listing(client, token, camera=CAMERA, start=RANGE[0], end=RANGE[1], raw=True):
    r = client.get(f"/api/cameras/{camera}/parts", params={"start": start, "end": end, **({"raw": 1} if raw else {})},
                   headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def part_url(listed, part):
    return listed["part_url"] + f"&start={part['start']}&end={part['end']}"


def packets(data):
    """(bytes, keyframe) of every packet of an MP4, decode order, and how many pictures it decodes to alone."""
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.video[0]
        got = [(bytes(p), p.is_keyframe) for p in c.demux(stream) if p.size]
    with av.open(io.BytesIO(data)) as c:
        pictures = sum(1 for _ in c.decode(c.streams.video[0]))
    return got, pictures


def test_raw_parts_cover_the_footage_exactly_from_keyframes_bit_exact(env):
    store, client, tokens = env
    listed = listing(client, tokens["raw"])
    stored = list(store.read(CAMERA, *RANGE))
    keyframes = {f.ts for f in stored if f.keyframe}
    assert listed["start"] == str(stored[0].ts) == str(T0), "from the keyframe at or before start"
    served = []
    for p in listed["parts"]:
        start, end = int(p["start"]), int(p["end"])
        assert start in keyframes and 0 < end - start <= 10 * NS and p["duration"] == (end - start) / NS
        r = client.get(part_url(listed, p))
        assert r.status_code == 200 and r.headers["content-type"] == "video/mp4", r.text
        got, pictures = packets(r.content)
        assert got[0][1], "a part begins at a keyframe"
        assert pictures == len(got) == p["frames"], "a part decodes on its own"
        served.extend(data for data, _ in got)
    assert served == [f.data for f in stored], "the parts hold the stored access units, each once, in order"
    assert listed["mime"].startswith('video/mp4; codecs="avc1.')


def test_the_listing_shows_the_gap_and_no_part_spans_it(env):
    _, client, tokens = env
    listed = listing(client, tokens["raw"])
    gaps = [(int(g["start"]), int(g["end"])) for g in listed["gaps"]]
    assert any(abs(s - GAP[0]) < NS // 10 and abs(e - GAP[1]) < NS // 10 for s, e in gaps), gaps
    for p in listed["parts"]:
        assert not (int(p["start"]) < GAP[1] - NS // 10 and int(p["end"]) > GAP[0] + NS // 10), p
    assert gaps[-1] == (T0 + 26 * NS, RANGE[1]) or int(listed["parts"][-1]["end"]) >= RANGE[1] - NS // 10


def test_one_audit_entry_per_listing_none_per_part(env):
    store, client, tokens = env
    before = store.audit_head()[0]
    listed = listing(client, tokens["raw"])
    for p in listed["parts"][:3]:
        assert client.get(part_url(listed, p)).status_code == 200
    logged = [e for e in store.audit() if e.seq > before]
    assert [(e.principal, e.action, e.outcome, e.camera, e.start, e.end) for e in logged] == [
        ("officer.qian", "view_raw", "allowed", CAMERA, *RANGE)]


def test_no_part_lies_outside_the_grants_window(env):
    store, client, tokens = env
    window = (T0 + 2500 * NS // 1000, T0 + 22500 * NS // 1000)
    listed = listing(client, tokens["windowed"], start=window[0], end=window[1])  # the GOP at T0+2 s began before it
    assert listed["parts"] and listed["parts"][0]["start"] == str(T0 + 3 * NS)
    for p in listed["parts"]:
        assert window[0] <= int(p["start"]) < int(p["end"]) <= window[1], (p, window)
    inside = [f.data for f in store.read(CAMERA, window[0], window[1])
              if f.ts >= T0 + 3 * NS and window[0] <= f.ts < window[1]]  # from the first keyframe inside
    served = [d for p in listed["parts"] for d, _ in packets(client.get(part_url(listed, p)).content)[0]]
    assert served == inside
    # A part link edited to reach before the window (its signature still good) is refused.
    r = client.get(altered(part_url(listed, listed["parts"][0]), start=T0, end=T0 + 2 * NS))
    assert r.status_code == 403 and r.json()["error"] == "outside_listing"


def test_parts_need_the_right_for_the_camera_and_a_token(env):
    store, client, tokens = env
    for token, raw, right in [(tokens["raw_other"], True, "view_raw"), (tokens["viewer"], True, "view_raw")]:
        r = client.get(f"/api/cameras/{CAMERA}/parts", params={"start": RANGE[0], "end": RANGE[1], "raw": int(raw)},
                       headers=bearer(token))
        assert r.status_code == 403 and r.json()["right"] == right
    r = client.get(f"/api/cameras/{CAMERA}/parts", params={"start": RANGE[0], "end": RANGE[1]})
    assert r.status_code == 401
    r = client.get(f"/api/cameras/{CAMERA}/parts", params={"start": 0, "end": 2 * 86400 * NS},
                   headers=bearer(tokens["raw"]))
    assert r.status_code == 400 and "shorter" in r.json()["message"]


def test_edited_part_links_are_refused(env):
    _, client, tokens = env
    listed = listing(client, tokens["raw"], camera=OTHER, start=T0, end=T0 + 6 * NS)
    desensitized = listing(client, tokens["viewer"], raw=False)
    url = part_url(listed, listed["parts"][0])
    assert client.get(url).status_code == 200
    for bad, status, why in [
            (altered(url, camera=CAMERA), 401, "another camera"),
            (altered(url, listing_end=T0 + 30 * NS), 401, "a longer listing"),
            (altered(url, listing_start=T0 - NS), 401, "an earlier listing"),
            (altered(part_url(desensitized, desensitized["parts"][0]), raw=1), 401, "raw added"),
            (altered(url, principal="chief.wu"), 401, "another principal"),
            (altered(url, sig="A" * 43), 401, "a forged signature"),
            (altered(url, ticket="x" * 22), 401, "another ticket"),
            (altered(url, start=T0 + 5 * NS, end=T0 + 9 * NS), 403, "past the listing's end"),
            (altered(url, start=T0 + 40 * NS // 1000), 404, "not at a keyframe"),
            (altered(url, start=T0, end=T0 + 400 * NS), 400, "a part of minutes")]:
        r = client.get(bad)
        assert r.status_code == status, (why, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/json"), why
    # A view.mp4 link's signed query is no listing's.
    minted = client.post("/api/media-urls", json={"camera": CAMERA, "start": str(T0), "end": str(T0 + 4 * NS),
                                                  "raw": True}, headers=bearer(tokens["raw"])).json()["url"]
    q = {k: v[0] for k, v in parse_qs(urlsplit(minted).query).items()}
    forged = {**q, "listing_start": q.pop("start"), "listing_end": q.pop("end"), "start": T0, "end": T0 + 2 * NS}
    r = client.get(f"/api/cameras/{CAMERA}/part.mp4?{urlencode(forged)}")
    assert r.status_code == 401 and r.json()["error"] == "bad_media_link"


def test_a_listing_stops_serving_parts_when_its_grant_expires(env):
    store, client, _ = env
    short = grant(store, "officer.qian", ["view_raw"], seconds=2)
    listed = listing(client, short)
    assert client.get(part_url(listed, listed["parts"][0])).status_code == 200
    time.sleep(2.1)
    r = client.get(part_url(listed, listed["parts"][1]))
    assert r.status_code == 401 and "expired" in r.json()["message"]


@pytest.fixture(scope="module")
def scene_store(tmp_path_factory):
    """The 2 s scene (a real face photo, a real plate) stored on one camera, its ground truth."""
    base = tmp_path_factory.mktemp("parts-scene")
    truths = encode(small_scene(), base / "scene.mp4")
    store = vidvault.Store.create(base / "store", key=vidvault.generate_key())
    store.add_camera(CAMERA)
    ingest_file(store, CAMERA, base / "scene.mp4")
    token = grant(store, "viewer.zhao", ["view_redacted"])
    yield store, truths, token
    store.close()


def test_a_desensitized_part_decodes_on_its_own_and_hides_the_face(scene_store):
    store, truths, token = scene_store
    client = TestClient(app(store))
    listed = listing(client, token, start=T0, end=T0 + 3 * NS, raw=False)
    assert listed["mime"] == 'video/mp4; codecs="avc1.640028"'
    p = listed["parts"][0]
    r = client.get(part_url(listed, p))
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(r.content)) as c:
        pictures = [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]
    raw = [f.image for f in store.play(CAMERA, int(p["start"]), int(p["end"]), raw=True)]
    assert len(pictures) == len(raw) == p["frames"]
    for k in range(0, len(raw), 5):
        box = truth_box(truths, k, "face")
        assert energy(pictures[k], box) < 0.2 * energy(raw[k], box), f"picture {k}: the face shows"


def test_without_the_models_a_desensitized_part_fails_closed(scene_store, tmp_path, monkeypatch):
    store, _, token = scene_store
    client = TestClient(app(store))
    listed = listing(client, token, start=T0, end=T0 + 3 * NS, raw=False)
    monkeypatch.setenv("VIDVAULT_MODELS", str(tmp_path / "no-models"))
    r = client.get(part_url(listed, listed["parts"][0]))
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/json")
    assert "models install" in r.json()["message"]
