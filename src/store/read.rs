//! store/read.rs: reading a camera's footage by wall-clock time, across segment boundaries
//! and into the segment a live writer is still appending to.
//!
//! Frames come back in storage (decode) order, starting at the keyframe at or
//! before `start` and ending with the last frame presented before `end`,
//! including any reference frames that decode order places before it (with
//! B-frames a frame presented after `end` can be needed to decode one
//! presented before it). The write-side ordering rules (segment/writer.rs)
//! make this decidable with a short look-ahead.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::error::Result;
use crate::segment::format::IndexEntry;
use crate::segment::reader::{Frame, SegmentFile};
use crate::store::shared::Shared;
use crate::time::{TimeRange, Timestamp};

/// H.264/H.265 reorder at most 16 frames; after that many consecutive frames
/// presented at or after `end`, no later frame can be presented before it.
pub const MAX_REORDER: usize = 16;

/// Where reading for instant `t` starts: the keyframe at or before `t` in the
/// recording that covers `t`, or the first keyframe after `t` when `t` falls
/// in a gap. Two catalog index seeks and a binary search in one footer index.
pub(crate) fn start_position(
    shared: &Shared,
    camera: &str,
    t: Timestamp,
) -> Result<Option<(Arc<SegmentFile>, IndexEntry)>> {
    Ok(start_in_catalog(shared, camera, t)?.map(|(_, seg, entry)| (seg, entry)))
}

/// A segment's place in the catalog's order of a camera's segments
/// (start_ts, id): the cursor moves on from here, never from what the file
/// says about itself.
type CatalogKey = (Timestamp, u64);

/// `start_position`, with the catalog key of the segment it starts in.
fn start_in_catalog(
    shared: &Shared,
    camera: &str,
    t: Timestamp,
) -> Result<Option<(CatalogKey, Arc<SegmentFile>, IndexEntry)>> {
    let tolerance = shared.options.gap_threshold_ns;
    let before = shared.catalog()?.segment_at_or_before(camera, t)?;
    if let Some(row) = before {
        let seg = shared.open_segment(&row)?;
        let s = &seg.summary;
        if s.frame_count > 0 && t.0 < s.end_ts.0.saturating_add(tolerance) {
            // Inside a recorded gap (past the same tolerance as between
            // segments): start at the first keyframe after it.
            let in_gap = s.gaps.iter().find(|g| g.start.0.saturating_add(tolerance) <= t.0 && t < g.end);
            let entry = match in_gap {
                Some(gap) => s.keyframes.iter().find(|k| k.ts >= gap.end).copied(),
                None => {
                    let i = s.keyframes.partition_point(|k| k.ts <= t);
                    (i > 0).then(|| s.keyframes[i - 1])
                }
            };
            if let Some(entry) = entry {
                return Ok(Some(((row.start_ts, row.id), seg, entry)));
            }
        }
    }
    let mut after = shared.catalog()?.segment_after(camera, t)?;
    while let Some(row) = after {
        let seg = shared.open_segment(&row)?;
        if let Some(first) = seg.summary.keyframes.first().copied() {
            return Ok(Some(((row.start_ts, row.id), seg, first)));
        }
        after = shared.catalog()?.next_segment(camera, row.start_ts, row.id)?;
    }
    Ok(None)
}

/// Iterator over the frames of one camera in a time range.
pub struct FrameCursor {
    shared: Arc<Shared>,
    camera: String,
    end: Timestamp,
    segment: Option<Arc<SegmentFile>>,
    /// The current segment's catalog key: the next segment is the one after
    /// it in the catalog, so a file that lies about itself cannot send the
    /// cursor back (a loop) or sideways.
    key: CatalogKey,
    offset: u64,
    /// Frames presented at/after `end` that may still be needed as references.
    held: VecDeque<Frame>,
    ready: VecDeque<Frame>,
    done: bool,
}

impl FrameCursor {
    pub(crate) fn new(shared: Arc<Shared>, camera: &str, range: TimeRange) -> Result<FrameCursor> {
        let start = if range.is_empty() { None } else { start_in_catalog(&shared, camera, range.start)? };
        let (segment, key, offset, done) = match start {
            Some((key, seg, entry)) if entry.ts < range.end => (Some(seg), key, entry.offset, false),
            _ => (None, (Timestamp(0), 0), 0, true),
        };
        Ok(FrameCursor {
            shared,
            camera: camera.to_string(),
            end: range.end,
            segment,
            key,
            offset,
            held: VecDeque::new(),
            ready: VecDeque::new(),
            done,
        })
    }

    /// The next stored frame in decode order, crossing into later segments.
    fn next_stored(&mut self) -> Result<Option<Frame>> {
        loop {
            let Some(seg) = &self.segment else {
                return Ok(None);
            };
            if let Some((frame, next)) = seg.read_frame_at(self.offset)? {
                self.offset = next;
                return Ok(Some(frame));
            }
            let (start, id) = self.key;
            let next = self.shared.catalog()?.next_segment(&self.camera, start, id)?;
            match next {
                Some(row) if row.start_ts < self.end => {
                    let seg = self.shared.open_segment(&row)?;
                    self.key = (row.start_ts, row.id);
                    self.offset = seg.header_len;
                    self.segment = Some(seg);
                }
                _ => {
                    self.segment = None;
                    return Ok(None);
                }
            }
        }
    }

    fn advance(&mut self) -> Result<Option<Frame>> {
        loop {
            if let Some(f) = self.ready.pop_front() {
                return Ok(Some(f));
            }
            if self.done {
                return Ok(None);
            }
            match self.next_stored()? {
                None => {
                    self.done = true;
                    self.held.clear();
                }
                Some(frame) if frame.meta.ts < self.end => {
                    self.ready.extend(self.held.drain(..));
                    self.ready.push_back(frame);
                }
                Some(frame) => {
                    if frame.meta.keyframe || self.held.len() >= MAX_REORDER {
                        self.done = true;
                        self.held.clear();
                    } else {
                        self.held.push_back(frame);
                    }
                }
            }
        }
    }
}

impl Iterator for FrameCursor {
    type Item = Result<Frame>;

    fn next(&mut self) -> Option<Result<Frame>> {
        match self.advance() {
            Ok(f) => f.map(Ok),
            Err(e) => {
                // A read error ends the iteration; frames before it were valid.
                self.done = true;
                self.ready.clear();
                self.held.clear();
                Some(Err(e))
            }
        }
    }
}
