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
use crate::segment::format::FrameMeta;
use crate::segment::format::IndexEntry;
use crate::segment::reader::{Frame, FrameInfo, SegmentFile};
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

/// What a cursor reads at each record: the decrypted frame, or only its
/// clear metadata and length (a plan of the footage, no payload read).
pub trait StoredRecord: Sized {
    /// What reading one segment needs besides its file, made when the
    /// cursor enters the segment.
    type Source;
    fn source(seg: &SegmentFile) -> Self::Source;
    fn meta(&self) -> &FrameMeta;
    fn read(
        seg: &SegmentFile,
        source: &Self::Source,
        offset: u64,
        expected_seq: u64,
    ) -> Result<Option<(Self, u64)>>;
}

impl StoredRecord for Frame {
    type Source = ();
    fn source(_: &SegmentFile) {}
    fn meta(&self) -> &FrameMeta {
        &self.meta
    }
    fn read(seg: &SegmentFile, _: &(), offset: u64, expected_seq: u64) -> Result<Option<(Self, u64)>> {
        seg.read_frame_expecting(offset, expected_seq)
    }
}

impl StoredRecord for FrameInfo {
    /// The sealed segment's frame table: one read for all its frames,
    /// instead of one per record across the file. Without one (an older
    /// format, a segment still being written, a damaged footer or table)
    /// the records are read one by one, as before: their metadata is only a
    /// plan either way (`Store::read_frame` authenticates each frame), and
    /// fsck reports a damaged table.
    type Source = Option<Vec<FrameInfo>>;
    fn source(seg: &SegmentFile) -> Option<Vec<FrameInfo>> {
        seg.frame_table().ok().flatten()
    }
    fn meta(&self) -> &FrameMeta {
        &self.meta
    }
    fn read(
        seg: &SegmentFile,
        table: &Option<Vec<FrameInfo>>,
        offset: u64,
        expected_seq: u64,
    ) -> Result<Option<(Self, u64)>> {
        match table {
            Some(table) => seg.table_info_expecting(table, offset, expected_seq),
            None => seg.read_info_expecting(offset, expected_seq),
        }
    }
}

/// Iterator over the decrypted frames of one camera in a time range.
pub type FrameCursor = RecordCursor<Frame>;
/// The same frames as `FrameCursor`, as metadata and lengths only.
pub type FrameInfoCursor = RecordCursor<FrameInfo>;

/// Iterator over the stored records of one camera in a time range.
pub struct RecordCursor<R: StoredRecord> {
    shared: Arc<Shared>,
    camera: String,
    end: Timestamp,
    /// The segment being read and what reading it needs (`StoredRecord::source`).
    segment: Option<(Arc<SegmentFile>, R::Source)>,
    /// The current segment's catalog key: the next segment is the one after
    /// it in the catalog, so a file that lies about itself cannot send the
    /// cursor back (a loop) or sideways.
    key: CatalogKey,
    offset: u64,
    /// The sequence number the record at `offset` must carry: the index
    /// entry's on a seek, 0 at the start of a segment, then one more per
    /// frame. Records are authenticated one by one, so only this tells a
    /// record moved, copied or blanked inside a file from the one written.
    expected_seq: u64,
    /// Frames presented at/after `end` that may still be needed as references.
    held: VecDeque<R>,
    ready: VecDeque<R>,
    done: bool,
}

impl<R: StoredRecord> RecordCursor<R> {
    pub(crate) fn new(shared: Arc<Shared>, camera: &str, range: TimeRange) -> Result<RecordCursor<R>> {
        let start = if range.is_empty() { None } else { start_in_catalog(&shared, camera, range.start)? };
        let (segment, key, offset, expected_seq, done) = match start {
            Some((key, seg, entry)) if entry.ts < range.end => {
                let source = R::source(&seg);
                (Some((seg, source)), key, entry.offset, entry.seq, false)
            }
            _ => (None, (Timestamp(0), 0), 0, 0, true),
        };
        Ok(RecordCursor {
            shared,
            camera: camera.to_string(),
            end: range.end,
            segment,
            key,
            offset,
            expected_seq,
            held: VecDeque::new(),
            ready: VecDeque::new(),
            done,
        })
    }

    /// The next stored frame in decode order, crossing into later segments.
    fn next_stored(&mut self) -> Result<Option<R>> {
        loop {
            let Some((seg, source)) = &self.segment else {
                return Ok(None);
            };
            if let Some((frame, next)) = R::read(seg, source, self.offset, self.expected_seq)? {
                self.offset = next;
                self.expected_seq += 1;
                return Ok(Some(frame));
            }
            let (start, id) = self.key;
            let next = self.shared.catalog()?.next_segment(&self.camera, start, id)?;
            match next {
                Some(row) if row.start_ts < self.end => {
                    let seg = self.shared.open_segment(&row)?;
                    self.key = (row.start_ts, row.id);
                    self.offset = seg.header_len;
                    self.expected_seq = 0;
                    let source = R::source(&seg);
                    self.segment = Some((seg, source));
                }
                _ => {
                    self.segment = None;
                    return Ok(None);
                }
            }
        }
    }

    fn advance(&mut self) -> Result<Option<R>> {
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
                Some(frame) if frame.meta().ts < self.end => {
                    self.ready.extend(self.held.drain(..));
                    self.ready.push_back(frame);
                }
                Some(frame) => {
                    if frame.meta().keyframe || self.held.len() >= MAX_REORDER {
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

impl<R: StoredRecord> Iterator for RecordCursor<R> {
    type Item = Result<R>;

    fn next(&mut self) -> Option<Result<R>> {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use crate::error::Error;
    use crate::segment::format::{self, RECORD_PREFIX_LEN};
    use crate::segment::writer::NewFrame;
    use crate::store::tests::config;
    use crate::time::{TimeRange, Timestamp, NANOS_PER_SECOND};
    use crate::{SecretKey, Store, StoreOptions};

    const T0: i64 = 1_763_700_000 * NANOS_PER_SECOND;
    const FRAME: i64 = 40_000_000;

    fn key() -> SecretKey {
        SecretKey::from_bytes([0x5A; 32])
    }

    fn options() -> StoreOptions {
        StoreOptions { roll_after_ns: 10 * NANOS_PER_SECOND, ..StoreOptions::default() }
    }

    /// 100 frames (4 s, one sealed segment), GOP 25; frames i and i + 7 have
    /// payloads of the same length, so their records have the same length.
    fn sealed_store(dir: &Path) -> PathBuf {
        let root = dir.join("store");
        let store = Store::create(&root, key(), options()).unwrap();
        store.add_camera("cam", BTreeMap::new(), crate::RetentionSetting::StoreDefault).unwrap();
        let w = store.writer("cam", config()).unwrap();
        for i in 0..100i64 {
            let mut data = format!("frame {i} ").into_bytes();
            data.resize(200 + (i as usize % 7) * 50, i as u8);
            let ts = Timestamp(T0 + i * FRAME);
            w.append(&NewFrame {
                ts,
                data: &data,
                keyframe: i % 25 == 0,
                pts: None,
                dts: None,
                duration: None,
            })
            .unwrap();
        }
        w.close().unwrap();
        let rows = store.segments("cam", all()).unwrap();
        assert_eq!(rows.len(), 1);
        root.join(&rows[0].path)
    }

    fn all() -> TimeRange {
        TimeRange::new(Timestamp(T0), Timestamp(T0 + 100 * FRAME))
    }

    /// Byte ranges of the frame records, in file order (skipping padding).
    fn records(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
        let mut at = format::peek_header_len(&bytes[..16]).unwrap();
        let mut out = Vec::new();
        loop {
            let prefix = &bytes[at..at + RECORD_PREFIX_LEN];
            if prefix.iter().all(|&b| b == 0) {
                at = (at + RECORD_PREFIX_LEN).next_multiple_of(format::BLOCK as usize);
                continue;
            }
            let len = u32::from_le_bytes(prefix[..4].try_into().unwrap()) as usize;
            if [format::KIND_FOOTER, format::KIND_FRAME_TABLE].contains(&bytes[at + RECORD_PREFIX_LEN]) {
                return out;
            }
            out.push(at..at + RECORD_PREFIX_LEN + len);
            at += RECORD_PREFIX_LEN + len;
        }
    }

    fn read_all(root: &Path, range: TimeRange) -> Result<Vec<u64>, Error> {
        let store = Store::open(root, key(), options(), false).unwrap();
        let cursor = store.read("cam", range)?;
        cursor.map(|f| f.map(|f| f.meta.seq)).collect()
    }

    fn corrupt_detail(r: Result<Vec<u64>, Error>) -> String {
        match r {
            Err(Error::Corrupt { detail, .. }) => detail,
            other => panic!("expected a corrupt-segment error, got {other:?}"),
        }
    }

    #[test]
    fn swapped_records_of_the_same_length_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = sealed_store(dir.path());
        let root = dir.path().join("store");
        assert_eq!(read_all(&root, all()).unwrap(), (0..100).collect::<Vec<_>>());

        let mut bytes = std::fs::read(&path).unwrap();
        let recs = records(&bytes);
        let (a, b) = (recs[1].clone(), recs[8].clone());
        assert_eq!(a.len(), b.len());
        let (ra, rb) = (bytes[a.clone()].to_vec(), bytes[b.clone()].to_vec());
        bytes[a].copy_from_slice(&rb);
        bytes[b].copy_from_slice(&ra);
        std::fs::write(&path, &bytes).unwrap();

        let detail = corrupt_detail(read_all(&root, all()));
        assert!(detail.contains("expected frame 1") && detail.contains("found frame 8"), "{detail}");
    }

    #[test]
    fn a_record_copied_over_another_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = sealed_store(dir.path());
        let root = dir.path().join("store");
        let mut bytes = std::fs::read(&path).unwrap();
        let recs = records(&bytes);
        let copy = bytes[recs[3].clone()].to_vec();
        bytes[recs[10].clone()].copy_from_slice(&copy);
        std::fs::write(&path, &bytes).unwrap();

        let detail = corrupt_detail(read_all(&root, all()));
        assert!(detail.contains("expected frame 10") && detail.contains("found frame 3"), "{detail}");
    }

    #[test]
    fn a_seek_checks_the_record_at_the_index_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = sealed_store(dir.path());
        let root = dir.path().join("store");
        let mut bytes = std::fs::read(&path).unwrap();
        let recs = records(&bytes);
        // Keyframe 25 overwritten by frame 32 (same length): a seek into the
        // second GOP lands on the entry for frame 25.
        let copy = bytes[recs[32].clone()].to_vec();
        bytes[recs[25].clone()].copy_from_slice(&copy);
        std::fs::write(&path, &bytes).unwrap();

        let second_gop = TimeRange::new(Timestamp(T0 + 30 * FRAME), Timestamp(T0 + 40 * FRAME));
        let detail = corrupt_detail(read_all(&root, second_gop));
        assert!(detail.contains("keyframe 25") && detail.contains("frame 32"), "{detail}");
    }

    #[test]
    fn frame_infos_list_what_read_returns_without_the_payload() {
        let dir = tempfile::tempdir().unwrap();
        sealed_store(dir.path());
        let store = Store::open(&dir.path().join("store"), key(), options(), false).unwrap();
        let range = TimeRange::new(Timestamp(T0 + 30 * FRAME), Timestamp(T0 + 60 * FRAME));
        let frames: Vec<_> = store.read("cam", range).unwrap().map(|f| f.unwrap()).collect();
        let infos: Vec<_> = store.frame_infos("cam", range).unwrap().map(|f| f.unwrap()).collect();
        assert_eq!(frames.len(), infos.len());
        assert_eq!(infos[0].meta.seq, 25, "starts at the keyframe before the range, as read does");
        for (f, i) in frames.iter().zip(&infos) {
            assert_eq!((f.meta, f.segment_id, f.data.len()), (i.meta, i.segment_id, i.size));
            let again = store.read_frame(i.segment_id, i.offset, i.meta.seq).unwrap();
            assert_eq!(&again, f);
        }
    }

    #[test]
    fn a_changed_frame_table_byte_is_not_trusted_and_fsck_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = sealed_store(dir.path());
        let root = dir.path().join("store");
        let listed = |root: &Path| {
            let store = Store::open(root, key(), options(), false).unwrap();
            let infos: Vec<_> = store.frame_infos("cam", all()).unwrap().map(|f| f.unwrap()).collect();
            (infos, store.fsck(false).unwrap().problems)
        };
        let (from_table, problems) = listed(&root);
        assert_eq!(from_table.len(), 100);
        assert!(problems.is_empty(), "{problems:?}");

        let mut bytes = std::fs::read(&path).unwrap();
        let trailer: [u8; format::TRAILER_LEN] =
            bytes[bytes.len() - format::TRAILER_LEN..].try_into().unwrap();
        let (footer_at, footer_len) = format::parse_trailer(&trailer).unwrap();
        let footer = format::parse_footer(&bytes[footer_at as usize..][..footer_len], None).unwrap();
        let table = footer.frame_table.expect("segments are written with a frame table");
        assert_eq!(footer.records_end + table.len, footer_at);
        // A byte inside the compressed rows: its hash no longer matches.
        bytes[(footer.records_end + table.len / 2) as usize] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();

        let (listed_after, problems) = listed(&root);
        assert_eq!(listed_after, from_table, "listed from the records, not from the changed table");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].detail.contains("frame table is damaged"), "{problems:?}");
        assert_eq!(problems[0].offset, Some(footer.records_end));
    }

    #[test]
    fn a_frame_read_at_another_frames_offset_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        sealed_store(dir.path());
        let store = Store::open(&dir.path().join("store"), key(), options(), false).unwrap();
        let infos: Vec<_> = store.frame_infos("cam", all()).unwrap().map(|f| f.unwrap()).collect();
        let (a, b) = (&infos[3], &infos[4]);
        let err = store.read_frame(a.segment_id, b.offset, a.meta.seq).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    }

    #[test]
    fn altered_clear_metadata_is_neither_listed_nor_served() {
        let dir = tempfile::tempdir().unwrap();
        let path = sealed_store(dir.path());
        let root = dir.path().join("store");
        let written = {
            let store = Store::open(&root, key(), options(), false).unwrap();
            store.frame_infos("cam", all()).unwrap().map(|f| f.unwrap()).collect::<Vec<_>>()
        };
        let mut bytes = std::fs::read(&path).unwrap();
        let recs = records(&bytes);
        // Frame 5's timestamp field (body offset 16) moved by one second: the
        // listing comes from the authenticated frame table, which still says
        // what was written; reading the frame refuses the altered record, and
        // fsck names the disagreement.
        let ts_at = recs[5].start + RECORD_PREFIX_LEN + 16;
        let ts = i64::from_le_bytes(bytes[ts_at..ts_at + 8].try_into().unwrap()) + NANOS_PER_SECOND;
        bytes[ts_at..ts_at + 8].copy_from_slice(&ts.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();

        let store = Store::open(&root, key(), options(), false).unwrap();
        let infos: Vec<_> = store.frame_infos("cam", all()).unwrap().map(|f| f.unwrap()).collect();
        assert_eq!(infos, written);
        let listed = &infos[5];
        let err = store.read_frame(listed.segment_id, listed.offset, listed.meta.seq).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
        let problems = store.fsck(false).unwrap().problems;
        assert!(
            problems.iter().any(|p| p.detail.contains("frame table and records disagree at frame 5")),
            "{problems:?}"
        );
    }
}
