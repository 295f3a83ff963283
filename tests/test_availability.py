"""Store.availability and `vidvault availability`: the share of a period
each camera recorded, and its outages, from the catalog."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sqlite3
import subprocess
import sys
import time

import pytest

import vidvault

from helpers import NS

#: The footage of these tests lies in the future (inside the store's default
#: clock-skew bound of a day), so every camera the tests add exists before
#: the period starts; a camera added during the period is tested on its own.
T0 = time.time_ns() + 6 * 3600 * NS


def record(store, camera, start_s, seconds):
    record_at(store, camera, T0 + int(start_s * NS), seconds)


@pytest.fixture
def site(store):
    store.add_camera("steady")
    store.add_camera("flaky")
    store.add_camera("dark")
    record(store, "steady", 0, 100)
    record(store, "flaky", 0, 40)
    record(store, "flaky", 70, 30)   # 30 s outage between
    return store


def test_fractions_and_outages_per_camera(site):
    report = site.availability(T0, T0 + 100 * NS)
    by = {c.camera: c for c in report.cameras}
    assert set(by) == {"steady", "flaky", "dark"}
    assert by["steady"].fraction == pytest.approx(1.0, abs=0.001) and by["steady"].outages == ()
    (outage,) = by["flaky"].outages
    assert outage.start == pytest.approx(T0 + 40 * NS, abs=NS // 10) and outage.end == T0 + 70 * NS
    assert by["flaky"].fraction == pytest.approx(0.7, abs=0.002)
    assert by["dark"].fraction == 0.0 and by["dark"].outages == (vidvault.Gap(T0, T0 + 100 * NS),)
    assert report.intact_rate(0.98) == pytest.approx(1 / 3) and report.intact_rate(0.6) == pytest.approx(2 / 3)
    only = site.availability(T0, T0 + 100 * NS, cameras=["flaky"])
    assert [c.camera for c in only.cameras] == ["flaky"]


def test_bad_requests_are_clear_errors(site):
    with pytest.raises(vidvault.InvalidArgumentError, match="ends .* before it starts"):
        site.availability(T0 + NS, T0)
    with pytest.raises(vidvault.UnknownCameraError):
        site.availability(T0, T0 + NS, cameras=["nobody"])
    with pytest.raises(vidvault.InvalidArgumentError, match="not a fraction"):
        site.availability(T0, T0 + NS).intact_rate(98)


def test_cli_table_json_and_csv(tmp_path):
    key = vidvault.generate_key()
    with vidvault.Store.create(tmp_path / "s", key=key) as store:
        store.add_camera("steady")
        store.add_camera("flaky")
        record(store, "steady", 0, 100)
        record(store, "flaky", 0, 40)
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    base = [sys.executable, "-m", "vidvault.cli", "availability", str(tmp_path / "s"),
            "--start", str(T0), "--end", str(T0 + 100 * NS)]

    def run(*extra):
        r = subprocess.run([*base, *extra], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout

    table = run()
    assert re.search(r"flaky +39\.9\d% recorded +1 outage\(s\), longest 60\.0 s", table), table
    assert "50.0% of 2 camera(s) recorded at least 98% of the period" in table
    data = json.loads(run("--json", "--target", "0.95"))
    assert data["intact_rate"] == 0.5 and data["target"] == 0.95
    flaky = next(c for c in data["cameras"] if c["camera"] == "flaky")
    assert flaky["recorded_fraction"] == pytest.approx(0.4, abs=0.002) and len(flaky["outages"]) == 1
    rows = list(csv.DictReader(io.StringIO(run("--csv", "--camera", "steady"))))
    assert [r["camera"] for r in rows] == ["steady"] and float(rows[0]["recorded_fraction"]) > 0.99


def test_the_chart_shows_each_camera_red_where_its_footage_is_missing(site, tmp_path):
    from PIL import Image

    from vidvault.availability_chart import bar_x, row_y, write_chart

    report = site.availability(T0, T0 + 100 * NS)
    write_chart(report, tmp_path / "site.png")
    chart = Image.open(tmp_path / "site.png").convert("RGB")
    index = {c.camera: i for i, c in enumerate(report.cameras)}

    def colour(camera, second):
        return chart.getpixel((bar_x(report, T0 + int(second * NS)), row_y(index[camera]) + 5))

    red, green = (207, 34, 46), (46, 160, 67)
    assert colour("steady", 10) == green and colour("steady", 90) == green
    assert colour("flaky", 20) == green and colour("flaky", 55) == red and colour("flaky", 85) == green
    assert colour("dark", 50) == red


def test_the_chart_option_writes_a_png_and_refuses_an_unwritable_path(site, tmp_path, key):
    site.close()
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    argv = [sys.executable, "-m", "vidvault.cli", "availability", str(site.path), "--start", str(T0),
            "--end", str(T0 + 100 * NS)]
    ok = subprocess.run([*argv, "--chart", str(tmp_path / "a.png")], capture_output=True, text=True, env=env)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = subprocess.run([*argv, "--chart", str(tmp_path / "no" / "such" / "dir" / "a.png")],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "cannot write the chart" in bad.stderr and "Traceback" not in bad.stderr


# ------------------------------------------------------------------ cameras added during the period


def test_a_camera_added_during_the_period_is_counted_from_when_it_was_added(store):
    period_start = time.time_ns() - 100 * NS  # the camera is added 100 s into the period
    store.add_camera("new")
    added = store.camera("new").created
    record_at(store, "new", added + NS, 100)  # from a second after it was added to the period's end
    report = store.availability(period_start, period_start + 200 * NS)
    (new,) = report.cameras
    assert new.start == added and new.end == period_start + 200 * NS
    assert new.outages == () and new.fraction == pytest.approx(1.0, abs=0.02)  # was 0.5: the time before it existed
    assert report.intact_rate(0.98) == 1.0 and report.not_in_service == ()
    assert report.to_dict()["cameras"][0]["in_service_from"] == vidvault.timeutil.iso(added)


def test_footage_imported_from_before_the_camera_was_added_counts_from_the_footage(store):
    store.add_camera("imported")
    past = store.camera("imported").created - 3600 * NS  # an hour's old recording, imported now
    record_at(store, "imported", past + 10 * NS, 50)
    (cam,) = store.availability(past, past + 100 * NS).cameras
    assert cam.start == past + 10 * NS  # its first footage: the camera existed then
    assert cam.fraction == pytest.approx(50 / 90, abs=0.02) and len(cam.outages) == 1


def test_a_camera_added_after_the_period_is_not_counted_against_the_site(store):
    store.add_camera("old")
    later = time.time_ns() - 300 * NS  # a period that ended before "late" was added
    record_at(store, "old", later, 100)
    store.add_camera("late")
    report = store.availability(later, later + 100 * NS)
    assert [c.camera for c in report.cameras] == ["old"] and report.not_in_service == ("late",)
    assert report.intact_rate(0.98) == 1.0  # not 0.5: "late" did not exist yet
    assert report.to_dict()["not_in_service"] == ["late"]


def test_the_chart_and_table_show_when_a_camera_came_into_service(store, tmp_path, key):
    from PIL import Image

    from vidvault.availability_chart import GREY, bar_x, row_y, write_chart

    period_start = time.time_ns() - 100 * NS
    store.add_camera("new")
    added = store.camera("new").created
    record_at(store, "new", added, 100)
    report = store.availability(period_start, period_start + 200 * NS)
    write_chart(report, tmp_path / "c.png")
    chart = Image.open(tmp_path / "c.png").convert("RGB")
    assert chart.getpixel((bar_x(report, period_start + 50 * NS), row_y(0) + 5)) == GREY
    assert chart.getpixel((bar_x(report, period_start + 150 * NS), row_y(0) + 5)) == (46, 160, 67)
    store.close()
    r = subprocess.run([sys.executable, "-m", "vidvault.cli", "availability", str(store.path),
                        "--start", str(period_start), "--end", str(period_start + 200 * NS)],
                       capture_output=True, text=True, env={**os.environ, "VIDVAULT_KEY": key.hex()}, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "in service from" in r.stdout and "100.0% of 1 camera(s)" in r.stdout, r.stdout


def record_at(store, camera, start_ns, seconds):
    with store.writer(camera, codec="h264") as w:
        for i in range(int(seconds * 25)):
            w.append(start_ns + i * 40_000_000, b"frame %d" % i, keyframe=i % 25 == 0)


# ------------------------------------------------------------------ under a session


def test_a_session_reads_availability_as_desensitized_metadata_and_each_camera_is_logged(site):
    officer = site.session("officer.li")  # no grant: the desensitized level every principal has
    report = officer.availability(T0, T0 + 100 * NS)
    assert report == site.availability(T0, T0 + 100 * NS)
    logged = [e for e in site.audit() if e.principal == "officer.li"]
    assert sorted(e.camera for e in logged) == ["dark", "flaky", "steady"]
    assert {e.action for e in logged} == {"view_redacted"} and {e.outcome for e in logged} == {"allowed"}
    with pytest.raises(vidvault.AccessDenied, match="view_raw"):  # judging pictures decodes them
        officer.availability(T0, T0 + 100 * NS, cameras=["steady"], pictures=True)


def test_an_outage_cause_is_found_among_many_retrievals_and_read_by_its_own_index(site, store_path, key):
    site.record_outage("flaky", start=T0 + 40 * NS, end=None, cause="unreachable", reason="no route to host")
    site.record_outage("flaky", start=T0 + 40 * NS, end=T0 + 70 * NS, cause="unreachable", reason="back")
    for _ in range(300):  # a camera that is watched a lot: its retrievals outnumber its outages
        site.audit_record("viewer", "read", outcome="allowed", camera="flaky", start=T0, end=T0 + NS)
    outages = site.audit("flaky", action="camera_outage")
    assert [(e.action, e.outcome) for e in outages] == [("camera_outage", "raised"), ("camera_outage", "ended")]
    assert site.audit("steady", action="camera_outage") == []
    by = {c.camera: c for c in site.availability(T0, T0 + 100 * NS).cameras}
    assert by["flaky"].causes == (("unreachable",),)

    # A log written before the index existed gets it when the store opens.
    site.close()
    audit_db = store_path / "audit.sqlite"
    with sqlite3.connect(audit_db) as db:
        db.execute("DROP INDEX entries_by_camera_action")
    with vidvault.Store.open(store_path, key=key) as again:
        with sqlite3.connect(audit_db) as db:
            plan = " ".join(r[-1] for r in db.execute(
                "EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE camera = 'flaky' AND action = 'camera_outage' "
                "AND ts_ns >= 0 ORDER BY seq"))
        assert "entries_by_camera_action" in plan
        assert len(again.audit("flaky", action="camera_outage")) == 2
