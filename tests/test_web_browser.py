"""The page in a real browser: Debian's chromium driven by Playwright
(headless, the system's binary: no browser download). A clerk opens a deep
link, sees the camera list and the day's timeline with its gap, the video
plays desensitized, zooms in and seeks by clicking the timeline; then
requests an export, which a second principal approves in their own browser
session, downloads the zip and verifies it by upload.
Screenshots of each step go to the test's temporary directory."""

from __future__ import annotations

import os
import shutil

import pytest

import vidvault
from vidvault.timeutil import iso

from helpers import NS, T0, ingest_file
from web_support import CAMERA, GAP, OTHER, footage_store, grant, served

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")

#: Where the screenshot the README shows is refreshed from, when asked.
README_SHOT = os.environ.get("VIDVAULT_SCREENSHOT")


@pytest.fixture(scope="module")
def site(tmp_path_factory, clip):
    key = vidvault.generate_key()
    path = tmp_path_factory.mktemp("site") / "store"
    store = footage_store(path, key, clip)
    token = grant(store, "clerk.li", ["export_raw"], approver="chief.wu")
    chief = grant(store, "chief.wu", ["view_redacted"])
    store.close()
    with served(path, key) as base:
        yield base, token, chief


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


def played_seconds(page):
    return page.evaluate("document.getElementById('player').currentTime")


@pytest.fixture(scope="module")
def hour_site(tmp_path_factory, clip):
    """An hour of footage on one camera (a minute of real H.264 stored 60 times
    end to end, 5 fps with a 2 s GOP), a desensitized viewer, and how many
    bytes the hour holds."""
    key = vidvault.generate_key()
    path = tmp_path_factory.mktemp("hour") / "store"
    store = vidvault.Store.create(path, key=key)
    store.add_camera(CAMERA)
    minute = clip(seconds=60.0, width=320, height=240, fps=5, gop=10)
    for m in range(60):
        ingest_file(store, CAMERA, minute, T0 + m * 60 * NS)
    stored = sum(len(f.data) for f in store.read(CAMERA, T0, T0 + 3600 * NS))
    token = grant(store, "viewer.zhao", ["view_redacted"])
    store.close()
    with served(path, key) as base:
        yield base, token, stored


#: A <canvas> copy of the picture the video shows: its width and mean brightness.
DRAWN = """() => { const v = document.getElementById('player'), c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight; const g = c.getContext('2d'); g.drawImage(v, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data; let sum = 0;
  for (let i = 0; i < d.length; i += 4) sum += d[i] + d[i + 1] + d[i + 2];
  return [c.width, sum / (3 * d.length / 4)]; }"""


def test_a_seek_45_minutes_into_an_hour_plays_there_and_fetches_a_small_part_of_it(hour_site, browser, tmp_path):
    base, token, stored = hour_site
    page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    errors, parts, received = [], set(), {}
    page.on("pageerror", lambda e: errors.append(str(e)))
    # The bytes that reach the browser, per request (chromium's network events, through Playwright's CDP session).
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.requestWillBeSent",
           lambda e: parts.add(e["requestId"]) if "/part.mp4" in e["request"]["url"] else None)
    cdp.on("Network.dataReceived",
           lambda e: received.__setitem__(e["requestId"], received.get(e["requestId"], 0) + e["dataLength"]))
    page.goto(f"{base}/?camera={CAMERA}&start={iso(T0)}#token={token}", wait_until="load")
    page.wait_for_function("document.getElementById('time-utc').textContent.startsWith('2025-11-21 04:40:0')",
                           timeout=60_000)

    # 45 minutes in (T0 is 04:40:00 UTC), with the page's own "Go to" form.
    page.fill("#go-time", "05:25:00")
    page.click("#go-form button[type=submit]")
    page.wait_for_function("document.getElementById('time-utc').textContent.startsWith('2025-11-21 05:25:0')",
                           timeout=60_000)
    first = played_seconds(page)
    page.wait_for_function(f"document.getElementById('player').currentTime > {first} + 1.0", timeout=60_000)
    width, brightness = page.evaluate(DRAWN)
    # On into the next part (each part brings its own init segment): playback goes on across it.
    page.wait_for_function("document.getElementById('time-utc').textContent >= '2025-11-21 05:25:05'",
                           timeout=60_000)
    assert width == 320 and brightness > 5, (width, brightness)
    page.screenshot(path=str(tmp_path / "45-minutes-in.png"))

    # Paused, the page asks for nothing more; what is in flight arrives (a part a seek abandoned counts what came).
    page.evaluate("document.getElementById('player').pause()")
    page.wait_for_timeout(3000)
    fetched = sum(received.get(r, 0) for r in parts)
    assert len(parts) <= 2 * (1 + 3) + 3, "the parts at the start and 45 minutes in, three ahead of each, and on"
    assert 0 < fetched < stored / 50, f"fetched {fetched} bytes of parts for an hour of {stored} bytes"
    assert not errors, errors
    page.close()


def test_a_clerk_watches_a_camera_and_seeks_on_the_timeline(site, browser, tmp_path):
    base, token, _ = site
    page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)  # the test's own probes
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    start = iso(T0 + 1 * NS)
    page.goto(f"{base}/?camera={CAMERA}&start={start}#token={token}", wait_until="load")
    assert "token" not in page.url, "the token must leave the address bar"

    # The camera list, with labels; the deep link picked the camera.
    page.wait_for_selector(f"#cameras button[data-camera='{OTHER}']")
    assert "area=gate" in page.inner_text(f"#cameras button[data-camera='{CAMERA}']")
    assert "selected" in page.get_attribute(f"#cameras button[data-camera='{CAMERA}']", "class")

    # The video plays (desensitized, the default) from the linked time.
    page.wait_for_function("document.getElementById('time-utc').textContent.startsWith('2025-11-21 04:40:0')",
                           timeout=60_000)
    first = played_seconds(page)
    page.wait_for_function(f"document.getElementById('player').currentTime > {first} + 0.5", timeout=60_000)
    assert "desensitized" in page.inner_text("#mode")
    assert page.inner_text("#time-local")
    page.screenshot(path=str(tmp_path / "1-playing.png"))

    # Zoomed to one minute, the gap between the two recordings is on the timeline.
    page.select_option("#zoom", "60")
    page.wait_for_function(
        f"[...document.querySelectorAll('#timeline-spans .gap')].some(g => BigInt(g.dataset.start) >= {GAP[0] - NS}n "
        f"&& BigInt(g.dataset.end) <= {GAP[1] + NS}n && g.getBoundingClientRect().width > 50)", timeout=30_000)
    page.screenshot(path=str(tmp_path / "2-gap.png"))

    # A click on the timeline after the gap plays from there.
    bar = page.locator("#timeline").bounding_box()
    view_start = int(page.evaluate("state.viewStart.toString()"))
    target = T0 + 21 * NS
    x = bar["x"] + bar["width"] * (target - view_start) / (60 * NS)
    page.mouse.click(x, bar["y"] + bar["height"] / 2)
    page.wait_for_function("document.getElementById('time-utc').textContent.startsWith('2025-11-21 04:40:2')",
                           timeout=30_000)
    first = played_seconds(page)
    page.wait_for_function(f"document.getElementById('player').currentTime > {first} + 0.5", timeout=60_000)
    page.screenshot(path=str(tmp_path / "3-seeked.png"))

    # Played up to the gap, the player skips it and says so.
    page.fill("#go-time", "04:40:04")
    page.click("#go-form button[type=submit]")
    page.wait_for_function("document.getElementById('time-utc').textContent.startsWith('2025-11-21 04:40:0')",
                           timeout=30_000)
    page.wait_for_function("document.getElementById('time-utc').textContent >= '2025-11-21 04:40:20'"
                           " && document.getElementById('time-utc').textContent < '2025-11-21 04:40:26'",
                           timeout=60_000)
    assert "skipped" in page.inner_text("#status")
    if README_SHOT:
        page.screenshot(path=README_SHOT)
    assert not errors, errors
    page.close()


def test_without_a_token_the_page_asks_for_one_and_a_bad_one_is_explained(site, browser):
    base = site[0]
    page = browser.new_page(bypass_csp=True)
    page.goto(base + "/", wait_until="load")
    page.wait_for_selector("#sign-in:not([hidden])")
    page.fill("#token", "vvg1.not.a-token")
    page.click("#sign-in button")
    page.wait_for_function("document.getElementById('status').textContent.includes('refused')", timeout=30_000)
    assert page.is_hidden("#main")
    # The same form with a good token signs in, once: one camera button each, not one per attempt.
    page.fill("#token", site[1])
    page.click("#sign-in button")
    page.wait_for_selector("#main:not([hidden])", timeout=30_000)
    page.wait_for_selector(f"#cameras button[data-camera='{CAMERA}']")
    assert page.locator(f"#cameras button[data-camera='{CAMERA}']").count() == 1
    page.close()


def test_an_export_is_requested_approved_by_a_second_principal_downloaded_and_verified(site, browser, tmp_path):
    base, clerk_token, chief_token = site
    clerk = browser.new_context(bypass_csp=True, accept_downloads=True).new_page()
    chief = browser.new_context(bypass_csp=True).new_page()
    clerk.goto(f"{base}/#token={clerk_token}", wait_until="load")
    clerk.wait_for_selector(f"#cameras button[data-camera='{CAMERA}']")
    clerk.click("#tabs button[data-tab='exports']")
    clerk.select_option("#export-camera", CAMERA)
    clerk.fill("#export-start", iso(T0 + 1 * NS)[:19])
    clerk.fill("#export-end", iso(T0 + 3 * NS)[:19])
    clerk.fill("#export-case", "CASE-9")
    clerk.fill("#export-reason", "court request 4411")
    clerk.select_option("#export-kind", "raw")
    clerk.click("#export-form button[type=submit]")
    clerk.wait_for_selector("#my-exports tbody tr td.state:text('pending')")
    clerk.screenshot(path=str(tmp_path / "4-requested.png"))

    # The requester sees no way to approve; the approver does, in a session of their own.
    assert clerk.locator("#to-approve button.approve").count() == 0
    chief.goto(f"{base}/#token={chief_token}", wait_until="load")
    chief.wait_for_selector("#tabs:not([hidden])")
    chief.click("#tabs button[data-tab='approvals']")
    chief.wait_for_selector("#to-approve button.approve")
    assert "clerk.li" in chief.inner_text("#to-approve tbody")
    chief.screenshot(path=str(tmp_path / "5-approval.png"))
    chief.click("#to-approve button.approve")

    clerk.wait_for_selector("#my-exports button.download", timeout=120_000)
    with clerk.expect_download() as download:
        clerk.click("#my-exports button.download")
    package = tmp_path / "package.zip"
    download.value.save_as(package)
    assert package.stat().st_size > 1000

    clerk.click("#tabs button[data-tab='verify']")
    clerk.set_input_files("#verify-file", str(package))
    clerk.click("#verify-form button[type=submit]")
    clerk.wait_for_selector("#verify-status:text('VERIFIED')", timeout=60_000)
    assert clerk.locator("#verify-checks td.fail").count() == 0
    assert clerk.locator("#verify-checks td.pass").count() >= 3
    clerk.screenshot(path=str(tmp_path / "6-verified.png"))


@pytest.fixture(scope="module")
def short_hole_site(tmp_path_factory, clip):
    """Two 6 s recordings 1.5 s apart: a hole shorter than the store's gap
    threshold (2 s), so no gap on the timeline; a desensitized viewer."""
    key = vidvault.generate_key()
    path = tmp_path_factory.mktemp("short-hole-site") / "store"
    store = vidvault.Store.create(path, key=key)
    store.add_camera(CAMERA)
    source = clip(seconds=6.0, width=320, height=240, gop=25)
    ingest_file(store, CAMERA, source, T0)
    ingest_file(store, CAMERA, source, T0 + 7500 * NS // 1000)
    assert store.gaps(CAMERA, T0, T0 + 13500 * NS // 1000) == []
    token = grant(store, "viewer.zhao", ["view_redacted"])
    store.close()
    with served(path, key) as base:
        yield base, token


def test_playback_runs_on_across_a_hole_shorter_than_the_gap_threshold(short_hole_site, browser):
    base, token = short_hole_site
    page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/?camera={CAMERA}&start={iso(T0 + 4 * NS)}#token={token}", wait_until="load")
    page.wait_for_function("document.getElementById('time-utc').textContent.startsWith('2025-11-21 04:40:04')",
                           timeout=60_000)
    # The hole is 04:40:06 .. 04:40:07.5: played on into the second recording, not stuck before it.
    page.wait_for_function("document.getElementById('time-utc').textContent >= '2025-11-21 04:40:09'",
                           timeout=30_000)
    assert not errors, errors
    page.close()
