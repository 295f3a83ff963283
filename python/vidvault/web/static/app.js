// The vidvault page: camera list, a day's timeline (footage, gaps, holds) and a
// player. The grant token stays in this tab (sessionStorage); it comes from the
// sign-in form or the URL fragment #token=..., which browsers never send to a
// server. The <video> plays the parts of a listing through Media Source
// Extensions (parts_player.js): a seek fetches only the parts around it.
"use strict";

const DAY_NS = 86400n * 1000000000n;
const NS_PER_MINUTE = 60n * 1000000000n;
// A listing covers this much before and after the chosen time (one audit entry; seeks inside it fetch parts only).
const LIST_BEFORE = 30n * NS_PER_MINUTE, LIST_AFTER = 90n * NS_PER_MINUTE;
const DOWNLOAD_SECONDS = 600n; // "Download MP4": ten minutes from the play position, one file (view.mp4)
const $ = (id) => document.getElementById(id);
const NS = 1000000000n;
// view: the stretch the timeline shows (the day, or a zoomed part of it around the play position)
const state = { camera: null, dayStart: 0n, viewStart: 0n, viewSpan: DAY_NS, startNs: 0n, timeline: null };

function token() { return sessionStorage.getItem("vidvault-token"); }

function takeTokenFromFragment() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem("vidvault-token", decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search); // out of the address bar and history
  }
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
  const r = await fetch(path, Object.assign({}, options, { headers }));
  const body = (r.headers.get("content-type") || "").includes("json") ? await r.json() : null;
  if (r.status === 401) { signOut(body ? body.message : "signed out"); throw new Error("unauthenticated"); }
  if (!r.ok) throw new Error(body && body.message ? body.message : r.status + " " + r.statusText);
  return body;
}

function say(text) { $("status").textContent = text || ""; }
function isoOf(ns) { return new Date(Number(ns / 1000000n)).toISOString(); }
function localOf(ns) { return new Date(Number(ns / 1000000n)).toLocaleString(); }
function nsOf(date) { return BigInt(date.getTime()) * 1000000n; }

function signOut(why) {
  sessionStorage.removeItem("vidvault-token");
  for (const t of document.querySelectorAll(".tab")) t.hidden = true;
  $("tabs").hidden = true;
  $("main").hidden = true; $("sign-out").hidden = true; $("sign-in").hidden = false; $("who").textContent = "";
  say(why);
}

async function start() {
  takeTokenFromFragment();
  $("sign-in-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem("vidvault-token", $("token").value.trim());
    $("token").value = "";
    enter();
  });
  $("sign-out").onclick = () => signOut("signed out");
  $("day").onchange = () => { if (state.camera) pickDay(new Date($("day").value + "T00:00:00Z")); };
  $("zoom").onchange = () => { if (state.camera) zoom(); };
  $("go-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const [h, m, sec] = $("go-time").value.split(":").map(Number);
    play(state.dayStart + BigInt(h * 3600 + m * 60 + (sec || 0)) * NS);
  });
  $("raw").onchange = () => { if (state.camera && player.listing) play(player.nsAt($("player").currentTime)); };
  $("timeline").onclick = (e) => {
    const box = $("timeline").getBoundingClientRect();
    const frac = Math.min(Math.max((e.clientX - box.left) / box.width, 0), 1);
    play(state.viewStart + BigInt(Math.floor(frac * Number(state.viewSpan / 1000000n))) * 1000000n);
  };
  $("player").ontimeupdate = showTime;
  $("download").onclick = downloadStretch;
  for (const b of document.querySelectorAll("#tabs button")) b.onclick = () => showTab(b.dataset.tab);
  $("export-form").addEventListener("submit", requestExport);
  $("verify-form").addEventListener("submit", verifyPackage);
  await enter();
}

// Signed in (a token in this tab): the cameras, and the player on the camera
// and time the address names. Called at start and after each sign-in.
async function enter() {
  if (!token()) { $("sign-in").hidden = false; return; }
  let cameras;
  try { cameras = await api("/api/cameras"); } catch (e) { if (e.message !== "unauthenticated") say(e.message); return; }
  $("sign-in").hidden = true; $("main").hidden = false; $("sign-out").hidden = false; $("tabs").hidden = false;
  $("export-camera").replaceChildren(...cameras.map((c) => new Option(c.id, c.id)));
  $("who").textContent = "signed in as " + (sessionPrincipal() || "?");
  const list = $("cameras");
  list.replaceChildren();
  for (const c of cameras) {
    const b = document.createElement("button");
    b.dataset.camera = c.id;
    b.textContent = c.id;
    const labels = document.createElement("span");
    labels.className = "labels";
    labels.textContent = Object.entries(c.labels).map(([k, v]) => k + "=" + v).join(", ");
    b.append(labels);
    b.onclick = () => pickCamera(c.id);
    const li = document.createElement("li");
    li.append(b);
    list.append(li);
  }
  if (!cameras.length) say("No cameras in this store yet.");
  const params = new URLSearchParams(location.search);
  if (params.get("camera")) {
    const at = params.get("start") ? new Date(params.get("start")) : null;
    await pickCamera(params.get("camera"), at && !isNaN(at) ? at : null);
  }
}

async function pickCamera(id, at) {
  state.camera = id;
  for (const b of document.querySelectorAll("#cameras button")) b.classList.toggle("selected", b.dataset.camera === id);
  $("camera-title").textContent = id;
  let day = at;
  if (!day) { // the latest day with footage: the clerk usually wants the most recent
    const now = new Date();
    const tl = await api(`/api/cameras/${encodeURIComponent(id)}/timeline?start=${nsOf(now) - 6n * DAY_NS}&end=${nsOf(now) + DAY_NS}`).catch((e) => { say(e.message); return null; });
    const last = tl && tl.segments.length ? tl.segments[tl.segments.length - 1] : null;
    day = last ? new Date(Number(BigInt(last.start) / 1000000n)) : now;
  }
  if (at) state.startNs = nsOf(at);
  await pickDay(day);
  if (at) await play(nsOf(at));
}

async function pickDay(date) {
  state.dayStart = nsOf(date) - (nsOf(date) % DAY_NS);
  $("day").value = isoOf(state.dayStart).slice(0, 10);
  await zoom(nsOf(date));
}

// Shows [viewStart, viewStart + span) of the day: the chosen zoom, around `around` (default: the play position).
async function zoom(around) {
  const span = BigInt($("zoom").value) * NS;
  const centre = around ?? (state.startNs || state.viewStart + state.viewSpan / 2n);
  let start = centre - span / 2n;
  if (start < state.dayStart) start = state.dayStart;
  if (start + span > state.dayStart + DAY_NS) start = state.dayStart + DAY_NS - span;
  state.viewStart = start; state.viewSpan = span;
  try {
    state.timeline = await api(`/api/cameras/${encodeURIComponent(state.camera)}/timeline?start=${start}&end=${start + span}`);
  } catch (e) { say(e.message); return; }
  drawTimeline();
}

function viewPos(ns) {
  return Math.min(Math.max(Number(BigInt(ns) - state.viewStart) / Number(state.viewSpan) * 100, 0), 100);
}

function drawTimeline() {
  const t = state.timeline, spans = $("timeline-spans"), hours = $("hours");
  spans.replaceChildren(); hours.replaceChildren();
  const add = (cls, s, e, title) => {
    const d = document.createElement("div");
    d.className = cls;
    d.dataset.start = s; d.dataset.end = e;
    d.style.left = viewPos(s) + "%";
    d.style.width = Math.max(viewPos(e) - viewPos(s), 0.1) + "%";
    d.title = title;
    spans.append(d);
  };
  const nowNs = nsOf(new Date());
  for (const s of t.segments) add("footage", s.start, s.end ?? nowNs.toString(), "footage from " + isoOf(BigInt(s.start)));
  for (const g of t.gaps) add("gap", g.start, g.end, "no footage " + isoOf(BigInt(g.start)) + " – " + isoOf(BigInt(g.end)));
  for (const h of t.holds) add("hold", h.start, h.end, "legal hold, case " + h.case);
  for (let i = 0; i <= 6; i++) {
    const at = state.viewStart + state.viewSpan * BigInt(i) / 6n;
    const s = document.createElement("span");
    s.style.left = (i / 6 * 100) + "%";
    s.textContent = isoOf(at).slice(11, state.viewSpan > 3600n * NS ? 16 : 19);
    hours.append(s);
  }
  say(t.segments.length ? "" : "No footage in this stretch.");
  showTime();
}

const player = new PartsPlayer(document.getElementById("player"), {
  onGap: (from, to) => say("No footage from " + isoOf(from).slice(11, 19) + " to " + isoOf(to).slice(11, 19) + " UTC: skipped."),
  onFailure: (status, message) => {
    if (status === 401 && state.startNs) { play(player.nsAt($("player").currentTime), true); return; } // the listing expired
    say(status === 503 ? message : "This part cannot be played: " + message);
  },
});

// Plays from startNs: a seek when the listing being played covers it, else a new listing around it.
async function play(startNs, relist) {
  state.startNs = startNs;
  const raw = $("raw").checked;
  say("");
  const current = player.listing;
  if (!relist && current && current.camera === state.camera && current.raw === raw && player.covers(startNs)
      && current.expires * 1000 > Date.now() + 30000) {
    player.seekTo(startNs);
  } else {
    const dayStart = startNs - (startNs % DAY_NS);
    const from = startNs - LIST_BEFORE > dayStart ? startNs - LIST_BEFORE : dayStart;
    let listing;
    try {
      listing = await api(`/api/cameras/${encodeURIComponent(state.camera)}/parts?start=${from}&end=${startNs + LIST_AFTER}` + (raw ? "&raw=1" : ""));
    } catch (e) { say(e.message); return; }
    $("mode").textContent = raw ? "RAW (unredacted)" : "desensitized (faces and people hidden)";
    await player.open(listing, startNs);
  }
  await $("player").play().catch(() => {});
  showTime();
}

// The whole stretch from the play position as one MP4 file (view.mp4, through a signed link).
async function downloadStretch() {
  if (!state.camera || !player.listing) return;
  const from = player.nsAt($("player").currentTime);
  try {
    const link = await api("/api/media-urls", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ camera: state.camera, start: from.toString(), end: (from + DOWNLOAD_SECONDS * NS).toString(), raw: $("raw").checked }),
    });
    const a = document.createElement("a");
    a.href = link.url; a.download = `${state.camera}-${isoOf(from).slice(0, 19)}.mp4`;
    document.body.append(a); a.click(); a.remove();
  } catch (e) { say(e.message); }
}

function showTime() {
  if (!state.startNs || !player.listing) return;
  const ns = player.nsAt($("player").currentTime || 0);
  $("time-utc").textContent = isoOf(ns).replace("T", " ").replace("Z", " UTC");
  $("time-local").textContent = localOf(ns);
  const c = $("cursor");
  c.style.display = "block";
  c.style.left = viewPos(ns) + "%";
}

// ------------------------------------------------------------------ exports, approvals, verification

let refresh = null;

function showTab(name) {
  for (const t of document.querySelectorAll(".tab")) t.hidden = t.id !== name;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("selected", b.dataset.tab === name);
  clearInterval(refresh);
  say("");
  if (name === "exports" || name === "approvals") {
    if (name === "exports" && state.startNs) { // the range being watched, as a starting point
      $("export-camera").value = state.camera;
      $("export-start").value = isoOf(state.startNs).slice(0, 19);
      $("export-end").value = isoOf(state.startNs + 60n * NS).slice(0, 19);
    }
    listExports();
    refresh = setInterval(listExports, 1000);
  }
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.append(td);
  return td;
}

function rangeText(r) { return isoOf(BigInt(r.start)).slice(0, 19).replace("T", " ") + " – " + isoOf(BigInt(r.end)).slice(11, 19); }

function stateText(r) {
  if (r.state === "building" && r.waiting) return r.waiting;
  if (r.state === "building") return "building" + (r.progress != null ? " " + Math.round(r.progress * 100) + "%" : "…");
  if (r.state === "failed") return "failed: " + r.error;
  if (r.state === "rejected") return "rejected by " + r.decided_by + (r.decision_note ? ": " + r.decision_note : "");
  if (r.state === "ready") return "ready (approved by " + r.decided_by + ")";
  return r.state;
}

async function listExports() {
  let all;
  try { all = await api("/api/exports"); } catch (e) { say(e.message); return; }
  const me = sessionPrincipal();
  const mine = $("my-exports").tBodies[0], todo = $("to-approve").tBodies[0];
  mine.replaceChildren(); todo.replaceChildren();
  for (const r of all) {
    if (r.requester === me) {
      const row = mine.insertRow();
      row.dataset.request = r.id;
      for (const t of [r.case, r.camera, rangeText(r), r.raw ? "raw" : "redacted", r.approver]) cell(row, t);
      cell(row, stateText(r), "state");
      const act = cell(row, "");
      if (r.state === "ready") {
        const b = document.createElement("button");
        b.textContent = "Download zip";
        b.className = "download";
        b.onclick = () => download(r);
        act.append(b);
      }
    }
    if (r.approver === me) {
      const row = todo.insertRow();
      row.dataset.request = r.id;
      for (const t of [r.case, r.requester, r.camera, rangeText(r), r.raw ? "raw" : "redacted", r.reason]) cell(row, t);
      cell(row, stateText(r), "state");
      const act = cell(row, "");
      if (r.state === "pending") {
        for (const [label, approve] of [["Approve", true], ["Reject", false]]) {
          const b = document.createElement("button");
          b.textContent = label;
          b.className = approve ? "approve" : "reject";
          b.onclick = () => decide(r, approve);
          act.append(b);
        }
      }
    }
  }
}

function sessionPrincipal() {
  try { return JSON.parse(atob(token().split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).principal; }
  catch (e) { return null; }
}

async function requestExport(e) {
  e.preventDefault();
  const utc = (v) => new Date(v + (v.length === 16 ? ":00" : "") + "Z").toISOString();
  try {
    await api("/api/exports", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        camera: $("export-camera").value, start: utc($("export-start").value), end: utc($("export-end").value),
        case: $("export-case").value, reason: $("export-reason").value, kind: $("export-kind").value,
        watermark: $("export-watermark").value.trim() || null,
      }),
    });
    say("Requested: it waits for your approver.");
  } catch (err) { say(err.message); }
  listExports();
}

async function decide(r, approve) {
  const note = approve ? "" : (prompt("Why is it rejected?") || "");
  try {
    await api(`/api/exports/${r.id}/decision`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ approve, note }),
    });
  } catch (err) { say(err.message); }
  listExports();
}

async function download(r) {
  const resp = await fetch(`/api/exports/${r.id}/package.zip`, { headers: { Authorization: "Bearer " + token() } });
  if (!resp.ok) { say((await resp.json()).message); return; }
  const url = URL.createObjectURL(await resp.blob());
  const a = document.createElement("a");
  a.href = url; a.download = `export-${r.case}-${r.id}.zip`;
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

async function verifyPackage(e) {
  e.preventDefault();
  const file = $("verify-file").files[0];
  if (!file) return;
  $("verify-status").textContent = "Verifying…";
  let report;
  try {
    report = await api("/api/verify", { method: "POST", headers: { "Content-Type": "application/zip" }, body: file });
  } catch (err) { $("verify-status").textContent = ""; say(err.message); return; }
  $("verify-status").textContent = report.status + " (" + report.frames + " frames)";
  const body = $("verify-checks").tBodies[0];
  body.replaceChildren();
  for (const c of report.checks) {
    const row = body.insertRow();
    cell(row, c.name);
    cell(row, c.ok === true ? "pass" : c.ok === false ? "FAIL" : "not checked", c.ok === true ? "pass" : c.ok === false ? "fail" : "skip");
    cell(row, c.detail);
  }
}

start();
