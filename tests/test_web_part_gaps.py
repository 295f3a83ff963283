"""The gaps of the parts listing (GET /api/cameras/{id}/parts) are the
store's: the ones the timeline shows, at the store's gap threshold. A hole
shorter than the threshold is no gap (a part runs on across it), the same
hole under a lower threshold is listed where the store puts it, and no part
spans a gap (the planner, on synthetic frames)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import av
import pytest
from fastapi.testclient import TestClient

import vidvault
from vidvault.records import Gap
from vidvault.web import app
from vidvault.web.part_plan import plan

from helpers import FRAME_NS, NS, T0, ingest_file
from web_support import CAMERA, GAP, bearer, footage_store, grant

#: A hole in the footage of the short-hole store: shorter than the default threshold (2 s), longer than 1 s.
HOLE_NS = 1500 * NS // 1000


def listing(client, token, start, end):
    r = client.get(f"/api/cameras/{CAMERA}/parts", params={"start": start, "end": end, "raw": 1},
                   headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def spans(items):
    return [(int(g["start"]), int(g["end"])) for g in items]


def overlaps(part, gap):
    return part[0] < gap[1] and part[1] > gap[0]


# ------------------------------------------------------------------ real footage, through the API


@pytest.fixture(scope="module")
def gap_env(tmp_path_factory, clip):
    store = footage_store(tmp_path_factory.mktemp("part-gaps") / "store", vidvault.generate_key(), clip)
    yield store, TestClient(app(store)), grant(store, "officer.qian", ["view_raw"])
    store.close()


@pytest.mark.parametrize("start, end", [
    (T0 + NS // 2, T0 + 26 * NS),  # from inside a GOP to the footage's end
    (T0 - 5 * NS, T0 + 30 * NS),  # no footage before T0 nor after T0+26 s
    (T0 + 7 * NS, T0 + 23 * NS),  # from inside the gap
])
def test_the_listings_gaps_are_the_timelines(gap_env, start, end):
    _, client, token = gap_env
    listed = listing(client, token, start, end)
    r = client.get(f"/api/cameras/{CAMERA}/timeline", params={"start": listed["start"], "end": listed["end"]},
                   headers=bearer(token))
    assert r.status_code == 200, r.text
    timeline_gaps = spans(r.json()["gaps"])
    assert spans(listed["gaps"]) == timeline_gaps
    assert any(abs(s - GAP[0]) < NS // 10 and abs(e - GAP[1]) < NS // 10 for s, e in timeline_gaps) \
        or start > GAP[0], timeline_gaps
    for part in spans(listed["parts"]):
        assert not any(overlaps(part, g) for g in timeline_gaps), (part, timeline_gaps)


@pytest.fixture(scope="module")
def short_hole(tmp_path_factory, clip):
    """The same 6 s clip stored twice with a 1.5 s hole between, in a store at
    the default gap threshold (2 s) and in one at 1 s; the hole; the footage's
    whole stretch (the range listed: at its ends the listing has no frame to
    play either way)."""
    base = tmp_path_factory.mktemp("short-hole")
    source = clip(seconds=6.0, width=320, height=240, gop=25)
    stores = {}
    for name, threshold in [("default", None), ("1s", 1.0)]:
        store = vidvault.Store.create(base / name, key=vidvault.generate_key(),
                                      **({} if threshold is None else {"gap_threshold": threshold}))
        store.add_camera(CAMERA)
        _, _, tss = ingest_file(store, CAMERA, source, T0)
        first_end = tss[-1] + FRAME_NS  # its last frame lasts one frame interval
        _, _, tss = ingest_file(store, CAMERA, source, first_end + HOLE_NS)
        stores[name] = store
    yield stores, (first_end, first_end + HOLE_NS), (T0, tss[-1] + FRAME_NS)
    for store in stores.values():
        store.close()


def test_a_hole_shorter_than_the_stores_threshold_is_no_gap(short_hole):
    stores, hole, footage = short_hole
    store = stores["default"]
    assert store.gaps(CAMERA, *footage, min_gap=0.5) == [Gap(*hole)], "the footage has the hole"
    client = TestClient(app(store))
    token = grant(store, "officer.qian", ["view_raw"])
    listed = listing(client, token, *footage)
    assert store.gaps(CAMERA, *footage) == []
    assert listed["gaps"] == [], "the timeline shows no gap there, nor does the player"
    parts = spans(listed["parts"])
    across = [(p, q) for p, q in zip(parts, parts[1:]) if p[0] < hole[0] and q[0] >= hole[1]]
    assert across and across[0][0][1] == across[0][1][0], "the part before the hole runs on to the next part"
    before = listed["parts"][parts.index(across[0][0])]
    r = client.get(listed["part_url"] + f"&start={before['start']}&end={before['end']}")
    assert r.status_code == 200, r.text
    with av.open(io.BytesIO(r.content)) as c:
        assert sum(1 for _ in c.decode(c.streams.video[0])) == before["frames"], "the part plays its own frames"


def test_under_a_lower_threshold_the_same_hole_is_listed_where_the_store_puts_it(short_hole):
    stores, hole, footage = short_hole
    store = stores["1s"]
    assert store.gaps(CAMERA, *footage) == [Gap(*hole)]
    client = TestClient(app(store))
    listed = listing(client, grant(store, "officer.qian", ["view_raw"]), *footage)
    assert spans(listed["gaps"]) == [hole]
    parts = spans(listed["parts"])
    assert not any(overlaps(p, hole) for p in parts)
    assert hole[0] in [end for _, end in parts], "the part before the hole ends where it begins"
    assert hole[1] in [start for start, _ in parts], "the next part begins after it (a keyframe)"


# ------------------------------------------------------------------ the planner, on synthetic frames


def frames(start_ms, end_ms, *, keyframe_at_ms=None, segment=1):
    """Synthetic frame infos every 40 ms over [start_ms, end_ms) after T0, a keyframe each second
    from ``keyframe_at_ms`` (default: the first frame)."""
    first_key = (start_ms if keyframe_at_ms is None else keyframe_at_ms) // 40
    return [SimpleNamespace(ts=T0 + i * FRAME_NS, keyframe=(i - first_key) % 25 == 0, segment=segment, size=1000)
            for i in range(start_ms // 40, end_ms // 40)]


def test_no_part_spans_a_gap_even_inside_a_gop():
    # 0..4.4 s, a gap, then footage from 7.2 s: its keyframes at 8 s, 9 s (the frames 7.2..8 s
    # need a GOP from before the gap).
    infos = frames(0, 4400) + frames(7200, 10000, keyframe_at_ms=8000)
    gap = Gap(T0 + 44 * NS // 10, T0 + 72 * NS // 10)
    parts, gaps = plan(infos, T0, T0 + 10 * NS, [gap])
    for p in parts:
        assert not overlaps((p.start, p.end), gap), p
    assert [p.start for p in parts] == [T0, T0 + 4 * NS, T0 + 8 * NS]
    assert parts[1].end == gap.start and parts[1].frames == 10
    assert gaps == [Gap(gap.start, T0 + 8 * NS)], "the frames that cannot start a part are not listed"
    assert sum(p.frames for p in parts) == len(infos) - 20


def test_a_part_before_a_gap_ends_where_the_gap_begins():
    infos = frames(0, 3000) + frames(6000, 9000)
    gap = Gap(T0 + 3 * NS, T0 + 6 * NS)  # the store's: the last frame before it lasts to 3 s
    parts, gaps = plan(infos, T0, T0 + 9 * NS, [gap])
    assert [(p.start, p.end) for p in parts] == [(T0, T0 + 3 * NS), (T0 + 6 * NS, T0 + 9 * NS)]
    assert gaps == [gap]


def test_a_part_before_a_gap_never_ends_before_its_last_frame():
    infos = frames(0, 3000) + frames(6000, 9000)
    last = T0 + 2960 * NS // 1000
    for gap_start in (last, last - FRAME_NS):  # a last frame of no duration; a gap the store puts early
        gap = Gap(gap_start, T0 + 6 * NS)
        parts, gaps = plan(infos, T0, T0 + 9 * NS, [gap])
        assert parts[0].end == last + 1 and parts[0].frames == 75, gap
        assert gaps == [Gap(last + 1, T0 + 6 * NS)]


def test_without_a_store_gap_a_part_runs_on_across_a_hole():
    infos = frames(0, 3000) + frames(4520, 9000, segment=2)  # a 1.52 s hole, below the store's threshold
    parts, gaps = plan(infos, T0, T0 + 9 * NS, [])
    assert gaps == []
    assert (parts[0].start, parts[0].end) == (T0, T0 + 452 * NS // 100)


def test_a_gap_at_the_ranges_end_ends_the_last_part_where_it_begins():
    infos = frames(0, 3000)
    parts, gaps = plan(infos, T0, T0 + 9 * NS, [Gap(T0 + 3 * NS, T0 + 9 * NS)])
    assert (parts[-1].start, parts[-1].end) == (T0, T0 + 3 * NS)
    assert gaps == [Gap(T0 + 3 * NS, T0 + 9 * NS)]
