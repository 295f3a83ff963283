//! The sample tables of a faststart MP4 clip laid out from frame metadata
//! alone (no payload), as FFmpeg's `movenc` writes them for one video track.
//!
//! An hour holds 90,000 frames: placing them on the clip's timeline and
//! writing `stts`/`stss`/`ctts`/`stsc`/`stsz`/`stco` is one pass here, where
//! the Python it replaces took most of a second. The boxes that do not
//! depend on the samples (the sample entry, handlers, `udta`) still come from
//! FFmpeg's muxer run on the first sample (python/vidvault/media/virtual_mp4.py
//! assembles the file); the bytes must equal what FFmpeg writes for the
//! whole clip, which the Python tests check against a real remux.
//!
//! The timeline rules are those of `vidvault.media.remux.plan`: decode times
//! strictly increase; a keyframe whose source time disagrees with its
//! wall-clock time by more than a second starts a new run placed by its
//! wall-clock time; the first frame presented at or after `start` gets pts 0.

use crate::error::{Error, Result};

/// FFmpeg's movenc closes a chunk before it reaches this many bytes.
pub const MAX_CHUNK_BYTES: u64 = 1 << 20;
/// A keyframe whose source and wall-clock times disagree by more than this
/// starts a new timeline run (remux.RUN_TOLERANCE_NS).
pub const RUN_TOLERANCE_NS: i128 = 1_000_000_000;
const NS_PER_SECOND: i128 = 1_000_000_000;

/// One stored frame's clear metadata (a `FrameInfo` without its location).
#[derive(Clone, Copy, Debug)]
pub struct ClipFrame {
    pub ts: i64,
    pub pts: Option<i64>,
    pub dts: Option<i64>,
    pub duration: Option<i64>,
    pub keyframe: bool,
    pub size: u64,
    /// For error messages: where the frame is.
    pub segment: u64,
    pub seq: u64,
}

/// What the clip presents and how its track is timed.
#[derive(Clone, Copy, Debug)]
pub struct ClipTiming {
    /// The source time base, seconds = num / den.
    pub time_base: (i64, i64),
    /// The track's timescale (`mdhd`) and the movie's (`mvhd`), as FFmpeg chose them.
    pub timescale: i64,
    pub movie_timescale: i64,
    /// `[start, end)` presented, UTC ns.
    pub start: i64,
    pub end: i64,
}

/// The laid-out clip: the sample tables and where each sample lies.
#[derive(Debug)]
pub struct ClipLayout {
    /// The first sample's place on the clip's timeline (source time base):
    /// the one-sample template is muxed with it.
    pub first_pts: i64,
    pub first_dts: i64,
    /// `stts`, `stss` (when not every sample is a keyframe), `ctts` (when
    /// any composition offset is not 0), `stsc`, `stsz`, `stco`.
    pub tables: Vec<u8>,
    /// File offset of each sample (decode order).
    pub sample_offsets: Vec<u64>,
    pub sample_sizes: Vec<u64>,
    /// Track units: last dts - first dts + last duration (`stts`, `btrt`).
    pub duration: i64,
    /// Track units: the presentation's length (`mdhd`).
    pub presented: i64,
    /// Track units: the composition time shown first (`elst`).
    pub media_time: i64,
    /// Movie units: the edit's length (`elst`, `tkhd`, `mvhd`).
    pub edit_duration: i64,
    /// Payload bytes of all samples (mdat's body).
    pub payload_bytes: u64,
}

/// Lays out `frames` (decode order, as `Store::frame_infos` lists them) for a
/// file whose bytes before the sample tables and after them up to the first
/// sample (`ftyp`, `free`, the rest of `moov`, the `mdat` header) number
/// `head_without_tables`. An error says why this footage cannot be laid out
/// from metadata; the caller then builds the clip from its bytes.
pub fn lay_out(frames: &[ClipFrame], timing: &ClipTiming, head_without_tables: u64) -> Result<ClipLayout> {
    let placed = place(frames, timing)?;
    let track = Track::of(frames, &placed, timing)?;
    let chunks = track.chunk_starts.len();
    let tables_len = track.tables_len(chunks);
    let head_len = head_without_tables + tables_len as u64;
    let mut sample_offsets = Vec::with_capacity(frames.len());
    let mut at = head_len;
    for f in frames {
        sample_offsets.push(at);
        at += f.size;
    }
    if at >= 1 << 32 {
        return Err(Error::invalid("the clip passes 4 GiB (64-bit chunk offsets)"));
    }
    let chunk_offsets: Vec<u64> = track.chunk_starts.iter().map(|&i| sample_offsets[i]).collect();
    let tables = track.tables(&chunk_offsets)?;
    debug_assert_eq!(tables.len(), tables_len);
    Ok(ClipLayout {
        first_pts: placed.pts[0],
        first_dts: placed.dts[0],
        tables,
        sample_offsets,
        sample_sizes: frames.iter().map(|f| f.size).collect(),
        duration: track.duration,
        presented: track.presented,
        media_time: track.media_time,
        edit_duration: track.edit_duration,
        payload_bytes: at - head_len,
    })
}

// ------------------------------------------------------------ the timeline

/// Each frame's pts/dts on the clip's timeline (source time base) and
/// whether it is presented inside `[start, end)`.
struct Placed {
    pts: Vec<i64>,
    dts: Vec<i64>,
    shown: Vec<bool>,
}

fn place(frames: &[ClipFrame], timing: &ClipTiming) -> Result<Placed> {
    if frames.is_empty() {
        return Err(Error::invalid("no frames to lay out"));
    }
    let (num, den) = (timing.time_base.0 as i128, timing.time_base.1 as i128);
    if num <= 0 || den <= 0 {
        return Err(Error::invalid(format!("time base {num}/{den} is not positive")));
    }
    let mut pts_out = Vec::with_capacity(frames.len());
    let mut dts_out = Vec::with_capacity(frames.len());
    let mut shown = Vec::with_capacity(frames.len());
    let mut offset: i64 = 0;
    let mut prev_dts: Option<i64> = None;
    let mut prev_key: Option<(i64, i64, i64)> = None; // (wall ts, source pts, clip pts)
    for f in frames {
        let Some(pts) = f.pts.or(f.dts) else {
            return Err(Error::invalid(format!(
                "frame {} of segment {} has no pts or dts; it cannot be placed in an MP4 timeline",
                f.seq, f.segment
            )));
        };
        let dts = f.dts.unwrap_or(pts);
        if let Some(prev) = prev_dts {
            let mut new_run = dts + offset <= prev;
            if let (true, Some((key_ts, key_pts, _)), false) = (f.keyframe, prev_key, new_run) {
                // |source ns - wall ns| > tolerance, in integers: source ns = (pts - key pts) * num/den * 1e9.
                let source = (pts - key_pts) as i128 * num * NS_PER_SECOND;
                let wall = (f.ts - key_ts) as i128 * den;
                new_run = (source - wall).abs() > RUN_TOLERANCE_NS * den;
            }
            if new_run {
                if let (true, Some((key_ts, _, key_clip_pts))) = (f.keyframe, prev_key) {
                    let steps = round_half_even((f.ts - key_ts) as i128 * den, num * NS_PER_SECOND);
                    offset = key_clip_pts + steps as i64 - pts;
                }
                if dts + offset <= prev {
                    offset = prev + 1 - dts;
                }
            }
        }
        prev_dts = Some(dts + offset);
        let clip_pts = pts + offset;
        if f.keyframe {
            prev_key = Some((f.ts, pts, clip_pts));
        }
        pts_out.push(clip_pts);
        dts_out.push(dts + offset);
        shown.push(timing.start <= f.ts && f.ts < timing.end);
    }
    let Some(zero) = pts_out.iter().zip(&shown).filter(|(_, &s)| s).map(|(&p, _)| p).min() else {
        return Err(Error::invalid("no frame is presented in the range"));
    };
    for v in pts_out.iter_mut().chain(dts_out.iter_mut()) {
        *v -= zero;
    }
    Ok(Placed { pts: pts_out, dts: dts_out, shown })
}

/// `p / q` rounded to the nearest integer, halves to even (Python's `round`
/// of a `Fraction`, which remux.plan uses); `q > 0`.
fn round_half_even(p: i128, q: i128) -> i128 {
    let (quotient, remainder) = (p.div_euclid(q), p.rem_euclid(q));
    match (2 * remainder).cmp(&q) {
        std::cmp::Ordering::Greater => quotient + 1,
        std::cmp::Ordering::Equal => quotient + (quotient & 1),
        std::cmp::Ordering::Less => quotient,
    }
}

/// FFmpeg's av_rescale_q from the source time base to 1/`timescale`: round
/// to nearest, halves away from zero.
fn rescaler(timing: &ClipTiming) -> impl Fn(i64) -> i64 {
    let n = timing.time_base.0 as i128 * timing.timescale as i128;
    let d = timing.time_base.1 as i128;
    move |v: i64| {
        let magnitude = (v as i128).abs() * n;
        let (q, r) = (magnitude / d, magnitude % d);
        let rounded = (q + i128::from(2 * r >= d)) as i64;
        if v >= 0 {
            rounded
        } else {
            -rounded
        }
    }
}

// ------------------------------------------------------------ the track

struct Track {
    dts: Vec<i64>,
    cts: Vec<i64>, // pts - dts
    sizes: Vec<u64>,
    sync: Vec<u32>, // 1-based numbers of keyframe samples
    duration: i64,
    presented: i64,
    chunk_starts: Vec<usize>,
    media_time: i64,
    edit_duration: i64,
}

impl Track {
    fn of(frames: &[ClipFrame], placed: &Placed, timing: &ClipTiming) -> Result<Track> {
        let rescale = rescaler(timing);
        let dts: Vec<i64> = placed.dts.iter().map(|&v| rescale(v)).collect();
        let pts: Vec<i64> = placed.pts.iter().map(|&v| rescale(v)).collect();
        let durations: Vec<i64> = frames.iter().map(|f| rescale(f.duration.unwrap_or(0))).collect();
        let (first_dts, last_dts) = (dts[0], dts[dts.len() - 1]);
        let duration = last_dts - first_dts + durations[durations.len() - 1];
        // mdhd: the end of the latest presentation after the first dts plus
        // the smallest composition offset (what FFmpeg's movenc writes).
        let latest_end = pts.iter().zip(&durations).map(|(p, d)| p + d).max().unwrap();
        let least_offset = pts.iter().zip(&dts).map(|(p, d)| p - d).min().unwrap();
        let presented = latest_end - first_dts - least_offset;
        let sizes: Vec<u64> = frames.iter().map(|f| f.size).collect();
        let mut chunk_starts = vec![0];
        let mut chunk = sizes[0];
        for (i, &size) in sizes.iter().enumerate().skip(1) {
            if chunk + size < MAX_CHUNK_BYTES {
                chunk += size;
            } else {
                chunk_starts.push(i);
                chunk = size;
            }
        }
        // The file's composition times start at the first dts; the edit
        // starts at the first frame shown and lasts up to the next
        // composition time after the last one shown.
        let file_cts: Vec<i64> = pts.iter().map(|p| p - first_dts).collect();
        let media_time = (-first_dts).max(0);
        let shown = || file_cts.iter().zip(&placed.shown).filter(|(_, &s)| s).map(|(&c, _)| c);
        if shown().min() != Some(media_time) {
            return Err(Error::invalid("the first presented frame is not where the edit starts"));
        }
        let last = shown().max().unwrap();
        let end_cts = match file_cts.iter().filter(|&&c| c > last).min() {
            Some(&next) => next,
            None => {
                let mut ordered = file_cts.clone();
                ordered.sort_unstable();
                let mut steps: Vec<i64> =
                    ordered.windows(2).map(|w| w[1] - w[0]).filter(|&s| s > 0).collect();
                steps.sort_unstable();
                last + steps.get(steps.len() / 2).copied().unwrap_or(1)
            }
        };
        let edit = (end_cts - media_time) as i128 * timing.movie_timescale as i128;
        let edit_duration = edit.div_euclid(timing.timescale as i128) as i64;
        let sync = frames
            .iter()
            .enumerate()
            .filter(|(_, f)| f.keyframe)
            .map(|(i, _)| u32::try_from(i + 1).map_err(|_| Error::invalid("more than 2^32 samples")))
            .collect::<Result<Vec<_>>>()?;
        let cts = pts.iter().zip(&dts).map(|(p, d)| p - d).collect();
        Ok(Track { dts, cts, sizes, sync, duration, presented, chunk_starts, media_time, edit_duration })
    }

    /// Decode-time steps, the last one the last sample's duration.
    fn deltas(&self) -> Vec<i64> {
        let mut deltas: Vec<i64> = self.dts.windows(2).map(|w| w[1] - w[0]).collect();
        deltas.push(self.duration - (self.dts[self.dts.len() - 1] - self.dts[0]));
        deltas
    }

    fn samples_per_chunk(&self) -> Vec<usize> {
        let ends = self.chunk_starts.iter().skip(1).copied().chain([self.sizes.len()]);
        self.chunk_starts.iter().zip(ends).map(|(a, b)| b - a).collect()
    }

    fn stsc_entries(&self) -> Vec<(u32, u32)> {
        let mut entries = Vec::new();
        let mut prev = None;
        for (number, n) in self.samples_per_chunk().into_iter().enumerate() {
            if Some(n) != prev {
                entries.push((number as u32 + 1, n as u32));
                prev = Some(n);
            }
        }
        entries
    }

    fn uniform_size(&self) -> bool {
        self.sizes.iter().all(|&s| s == self.sizes[0])
    }

    /// The length of `tables`, known before the chunk offsets are.
    fn tables_len(&self, chunks: usize) -> usize {
        let full = |payload: usize| 12 + payload;
        let mut n = full(4 + 8 * run_length(&self.deltas()).len());
        if self.sync.len() < self.sizes.len() {
            n += full(4 + 4 * self.sync.len());
        }
        if self.cts.iter().any(|&c| c != 0) {
            n += full(4 + 8 * run_length(&self.cts).len());
        }
        n += full(4 + 12 * self.stsc_entries().len());
        n += full(8 + if self.uniform_size() { 0 } else { 4 * self.sizes.len() });
        n + full(4 + 4 * chunks)
    }

    fn tables(&self, chunk_offsets: &[u64]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(self.tables_len(chunk_offsets.len()));
        let stts = run_length(&self.deltas());
        full_box(&mut out, b"stts", |b| {
            put_u32(b, stts.len() as u64)?;
            for &(n, d) in &stts {
                put_u32(b, n as u64)?;
                put_u32(b, u64::try_from(d).map_err(|_| Error::invalid("decode times go backwards"))?)?;
            }
            Ok(())
        })?;
        if self.sync.len() < self.sizes.len() {
            full_box(&mut out, b"stss", |b| {
                put_u32(b, self.sync.len() as u64)?;
                self.sync.iter().try_for_each(|&s| put_u32(b, s as u64))
            })?;
        }
        if self.cts.iter().any(|&c| c != 0) {
            let ctts = run_length(&self.cts);
            full_box(&mut out, b"ctts", |b| {
                put_u32(b, ctts.len() as u64)?;
                for &(n, c) in &ctts {
                    put_u32(b, n as u64)?;
                    let c =
                        i32::try_from(c).map_err(|_| Error::invalid("a composition offset needs 64 bits"))?;
                    b.extend_from_slice(&c.to_be_bytes());
                }
                Ok(())
            })?;
        }
        let stsc = self.stsc_entries();
        full_box(&mut out, b"stsc", |b| {
            put_u32(b, stsc.len() as u64)?;
            stsc.iter().try_for_each(|&(number, n)| {
                put_u32(b, number as u64)?;
                put_u32(b, n as u64)?;
                put_u32(b, 1)
            })
        })?;
        full_box(&mut out, b"stsz", |b| {
            if self.uniform_size() {
                put_u32(b, self.sizes[0])?;
                put_u32(b, self.sizes.len() as u64)
            } else {
                put_u32(b, 0)?;
                put_u32(b, self.sizes.len() as u64)?;
                self.sizes.iter().try_for_each(|&s| put_u32(b, s))
            }
        })?;
        full_box(&mut out, b"stco", |b| {
            put_u32(b, chunk_offsets.len() as u64)?;
            chunk_offsets.iter().try_for_each(|&o| put_u32(b, o))
        })?;
        Ok(out)
    }
}

fn run_length(values: &[i64]) -> Vec<(u32, i64)> {
    let mut runs: Vec<(u32, i64)> = Vec::new();
    for &v in values {
        match runs.last_mut() {
            Some((n, last)) if *last == v => *n += 1,
            _ => runs.push((1, v)),
        }
    }
    runs
}

fn put_u32(out: &mut Vec<u8>, v: u64) -> Result<()> {
    let v = u32::try_from(v).map_err(|_| Error::invalid(format!("{v} does not fit a 32-bit table field")))?;
    out.extend_from_slice(&v.to_be_bytes());
    Ok(())
}

/// A full box (version 0, no flags) whose payload `fill` appends.
fn full_box(out: &mut Vec<u8>, kind: &[u8; 4], fill: impl FnOnce(&mut Vec<u8>) -> Result<()>) -> Result<()> {
    let at = out.len();
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(kind);
    out.extend_from_slice(&[0; 4]);
    fill(out)?;
    let size = (out.len() - at) as u32;
    out[at..at + 4].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMING: ClipTiming = ClipTiming {
        time_base: (1, 12_800),
        timescale: 12_800,
        movie_timescale: 1000,
        start: 0,
        end: 1 << 62,
    };

    fn frame(i: i64, pts_step: i64) -> ClipFrame {
        ClipFrame {
            ts: i * 40_000_000,
            pts: Some(i * pts_step),
            dts: Some(i * pts_step),
            duration: Some(pts_step),
            keyframe: i % 50 == 0,
            size: 1000 + (i as u64 % 7),
            segment: 1,
            seq: i as u64,
        }
    }

    #[test]
    fn tables_have_the_length_announced_and_offsets_follow_the_head() {
        let frames: Vec<_> = (0..3000).map(|i| frame(i, 512)).collect();
        let layout = lay_out(&frames, &TIMING, 700).unwrap();
        let head = 700 + layout.tables.len() as u64;
        assert_eq!(layout.sample_offsets[0], head);
        assert_eq!(layout.sample_offsets[1], head + frames[0].size);
        assert_eq!(layout.payload_bytes, frames.iter().map(|f| f.size).sum::<u64>());
        assert_eq!(&layout.tables[4..8], b"stts");
        // 3000 frames of ~1 kB: chunks close before 1 MiB.
        assert!(layout.tables.windows(4).any(|w| w == b"stss"));
        assert_eq!(layout.duration, 3000 * 512);
        assert_eq!(layout.edit_duration, 3000 * 512 * 1000 / 12_800);
    }

    #[test]
    fn a_source_clock_jump_starts_a_new_run_placed_by_wall_clock() {
        // The stream restarts its clock at frame 100 (a reconnect): decode
        // times must keep increasing, placed where the wall clock says.
        let mut frames: Vec<_> = (0..200).map(|i| frame(i, 512)).collect();
        for (k, f) in frames[100..].iter_mut().enumerate() {
            f.pts = Some(k as i64 * 512);
            f.dts = f.pts;
            f.keyframe = k % 50 == 0;
        }
        let placed = place(&frames, &TIMING).unwrap();
        assert!(placed.dts.windows(2).all(|w| w[1] > w[0]));
        assert_eq!(placed.pts[100], 100 * 512);
    }

    #[test]
    fn rounding_matches_python_and_ffmpeg() {
        assert_eq!(round_half_even(5, 2), 2);
        assert_eq!(round_half_even(7, 2), 4);
        assert_eq!(round_half_even(-5, 2), -2);
        assert_eq!(round_half_even(-7, 2), -4);
        let r = rescaler(&ClipTiming { time_base: (1, 3), timescale: 2, ..TIMING });
        assert_eq!((r(1), r(-1), r(3)), (1, -1, 2)); // 2/3 -> 1, halves away from zero
    }

    #[test]
    fn footage_that_cannot_be_laid_out_says_why() {
        let mut frames: Vec<_> = (0..10).map(|i| frame(i, 512)).collect();
        frames[3].pts = None;
        frames[3].dts = None;
        let e = lay_out(&frames, &TIMING, 0).unwrap_err().to_string();
        assert!(e.contains("frame 3 of segment 1 has no pts or dts"), "{e}");
        let none_shown = ClipTiming { start: 1 << 60, ..TIMING };
        let frames: Vec<_> = (0..10).map(|i| frame(i, 512)).collect();
        assert!(lay_out(&frames, &none_shown, 0).unwrap_err().to_string().contains("no frame is presented"));
    }
}
