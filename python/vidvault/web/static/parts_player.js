// The parts player: a <video> fed through Media Source Extensions from the
// parts of a listing (GET /api/cameras/{id}/parts). Each part is a fragmented
// MP4 with its own init, placed on the video's timeline at its wall-clock
// offset from the listing's start (SourceBuffer.timestampOffset), so a seek
// fetches only the parts around the instant sought (and a few ahead), never
// what lies between; gaps in the footage are skipped, and said.
"use strict";

class PartsPlayer {
  // onGap(fromNs, toNs): a gap was skipped; onFailure(status, message): a part could not be fetched.
  constructor(video, { onGap, onFailure }) {
    this.video = video;
    this.onGap = onGap;
    this.onFailure = onFailure;
    this.listing = null;
    this.generation = 0; // bumped by each seek: a fetch of an older generation stops
    this.fetched = 0; // bytes of parts fetched (for the curious; the tests count responses)
  }

  static PREFETCH = 3; // parts fetched ahead of the one playing
  static KEEP_BEHIND = 30; // seconds kept buffered behind the play position
  static KEEP_AHEAD = 120; // ...and ahead of it

  // Plays `listing` (the listing's JSON) from the instant atNs (BigInt).
  async open(listing, atNs) {
    this.close();
    const origin = BigInt(listing.start);
    this.listing = listing;
    this.origin = origin;
    this.parts = listing.parts.map((p) => ({
      start: BigInt(p.start), end: BigInt(p.end),
      from: Number(BigInt(p.start) - origin) / 1e9, to: Number(BigInt(p.end) - origin) / 1e9,
      query: "&start=" + p.start + "&end=" + p.end, done: false,
    }));
    this.source = new MediaSource();
    this.video.src = URL.createObjectURL(this.source);
    await new Promise((resolve) => this.source.addEventListener("sourceopen", resolve, { once: true }));
    this.buffer = this.source.addSourceBuffer(listing.mime);
    this.source.duration = Number(BigInt(listing.end) - origin) / 1e9;
    this.handlers = {
      seeking: () => { this.generation++; this.wake(); },
      timeupdate: () => { this.skipGap(); this.wake(); },
      waiting: () => this.skipGap(),
    };
    for (const [name, f] of Object.entries(this.handlers)) this.video.addEventListener(name, f);
    this.gapTimer = setInterval(() => this.skipGap(), 250);
    this.seekTo(atNs);
    this.pump(this.source);
  }

  close() {
    if (!this.listing) return;
    for (const [name, f] of Object.entries(this.handlers)) this.video.removeEventListener(name, f);
    clearInterval(this.gapTimer);
    this.generation++;
    if (this.inflight) this.inflight.abort();
    URL.revokeObjectURL(this.video.src);
    this.listing = null;
    this.wake();
  }

  covers(ns) { return this.listing && ns >= BigInt(this.listing.start) && ns < BigInt(this.listing.end); }
  nsAt(seconds) { return this.origin + BigInt(Math.round(seconds * 1000)) * 1000000n; }
  seekTo(ns) { this.video.currentTime = Number(ns - this.origin) / 1e9; }

  // The part playing at `t` (s on the video's timeline), else the next one after it; -1 past the last.
  partAt(t) {
    let lo = 0, hi = this.parts.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.parts[mid].to <= t) lo = mid + 1; else hi = mid; }
    return lo < this.parts.length ? lo : -1;
  }

  // In a gap, or stalled at the end of a part the gap follows: on to the next part.
  skipGap() {
    if (!this.listing || this.video.seeking) return;
    const t = this.video.currentTime, i = this.partAt(t);
    if (i < 0) return;
    let p = this.parts[i];
    const after = this.parts[i + 1];
    if (t >= p.from && this.video.readyState < 3 && this.skipHole(t, p)) return;
    if (t >= p.from && t >= p.to - 0.3 && this.video.readyState < 3 && after && after.from > p.to + 0.01) {
      p = after; // stalled at the end of a part a gap follows
    } else if (t >= p.from - 0.01) {
      return;
    }
    this.onGap(this.nsAt(t), p.start);
    this.video.currentTime = p.from + 0.001;
  }

  // Stalled where a part's pictures stop before its end: a hole in the footage shorter than the
  // store's gap threshold is no gap (the timeline shows footage there), so the part runs on to the
  // next one while its pictures do not. On to the next picture buffered, without a word.
  skipHole(t, p) {
    const b = this.video.buffered;
    for (let k = 0; k < b.length; k++) {
      if (b.start(k) <= t && t < b.end(k) - 0.3) return false; // pictures ahead: not at a hole
      if (b.start(k) > t) {
        if (b.start(k) > p.to + 0.01) return false; // beyond this part: not its hole
        this.video.currentTime = b.start(k) + 0.001;
        return true;
      }
    }
    return false;
  }

  wake() { if (this.waker) { const w = this.waker; this.waker = null; w(); } }
  sleep() { return new Promise((resolve) => { this.waker = resolve; }); }

  // Fetches and appends the part at the play position and a few after it, in order; waits for a
  // seek or for playback to move on, and again. One loop per MediaSource.
  async pump(source) {
    while (this.listing && this.source === source) {
      const generation = this.generation;
      const t = this.video.currentTime;
      const first = this.partAt(t);
      let next = -1;
      if (first >= 0) {
        for (let i = first; i < Math.min(first + 1 + PartsPlayer.PREFETCH, this.parts.length); i++) {
          if (!this.parts[i].done) { next = i; break; }
        }
      }
      if (next < 0) { await this.sleep(); continue; }
      try {
        await this.trim(t);
        await this.append(next, generation);
      } catch (e) {
        if (e.name === "AbortError" || this.source !== source) continue;
        this.onFailure(e.status || 0, e.message);
        await this.sleep();
      }
    }
  }

  async append(i, generation) {
    const p = this.parts[i];
    const control = new AbortController();
    this.inflight = control;
    const r = await fetch(this.listing.part_url + p.query, { signal: control.signal });
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      throw Object.assign(new Error(body.message || r.status + " " + r.statusText), { status: r.status });
    }
    await this.idle();
    this.buffer.timestampOffset = p.from; // the part's first picture is at 0 in its own timeline
    const reader = r.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (generation !== this.generation) { // sought elsewhere: stop here, start the next part afresh
        control.abort();
        this.buffer.abort();
        return;
      }
      this.fetched += value.length;
      await this.idle();
      this.buffer.appendBuffer(value);
      await this.idle();
    }
    p.done = true;
  }

  idle() {
    if (!this.buffer.updating) return Promise.resolve();
    return new Promise((resolve) => this.buffer.addEventListener("updateend", resolve, { once: true }));
  }

  // Frees what lies far behind or ahead of the play position; those parts are fetched again if wanted.
  async trim(t) {
    const keep = [t - PartsPlayer.KEEP_BEHIND, t + PartsPlayer.KEEP_AHEAD];
    const end = this.source.duration;
    for (const [a, b] of [[0, keep[0]], [keep[1], end]]) {
      if (b - a <= 0 || !this.parts.some((p) => p.done && p.to > a && p.from < b)) continue;
      await this.idle();
      this.buffer.remove(Math.max(a, 0), b);
      await this.idle();
      for (const p of this.parts) if (p.done && p.to > a && p.from < b) p.done = false;
    }
  }
}
