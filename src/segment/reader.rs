//! segment/reader.rs: opens one segment file and reads frames from it. A sealed segment is read
//! through its footer index; one without a valid footer (still being written
//! by a crashed process, or with a damaged footer) is indexed by scanning its
//! records, so frames stay readable either way.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::crypto::RecordCipher;
use crate::error::{IoContext, Result};
use crate::segment::bytes::{FetchRange, SegmentBytes, BLOCK};
use crate::segment::format::{
    self, CodecConfig, FormatError, FrameMeta, IndexEntry, RecordBody, SegmentHeader, SegmentSummary,
    FRAME_META_LEN, RECORD_PREFIX_LEN, TRAILER_LEN,
};
use crate::segment::frame_table;
pub(crate) use crate::segment::open::read_header;
use crate::segment::open::{corrupt, format_err, open_header_as, OpenedHeader};
pub use crate::segment::open::{Identity, KekLookup};
use crate::segment::scan::scan_records;

/// A decrypted frame and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub segment_id: u64,
    pub meta: FrameMeta,
    pub data: Vec<u8>,
}

/// A frame record located without decrypting it: its clear metadata, where
/// its record starts and its payload's length. Listed from a sealed
/// segment's frame table (format 4) it is authenticated with the footer;
/// read from the record itself, only as the payload's AAD. Either way it is
/// a plan: `Store::read_frame` at `offset` returns the authenticated frame,
/// which the caller compares with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameInfo {
    pub segment_id: u64,
    pub meta: FrameMeta,
    pub offset: u64,
    pub size: usize,
}

/// A record's first bytes as read by `skip_to_record`.
type RecordHead = [u8; RECORD_PREFIX_LEN + FRAME_META_LEN];

/// Where `locate_record` found a record: its offset, body length and CRC,
/// the offset of the next record, and its first bytes.
struct Located {
    offset: u64,
    len: usize,
    crc: u32,
    next: u64,
    head: RecordHead,
}

/// Whether the file ends in a valid footer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealState {
    Sealed,
    /// No usable footer: the index was rebuilt by scanning. `problem` is the
    /// first bad record (offset, what), if the scan stopped early.
    Unsealed {
        problem: Option<(u64, String)>,
        footer_damaged: bool,
    },
}

/// An open segment: what is known about it, and a file handle to read it.
/// The two are cached separately (store/shared.rs): the index and keys of many
/// segments stay in memory, file descriptors of fewer.
pub struct SegmentFile {
    meta: Arc<SegmentMeta>,
    file: Arc<SegmentBytes>,
}

impl std::ops::Deref for SegmentFile {
    type Target = SegmentMeta;

    fn deref(&self) -> &SegmentMeta {
        &self.meta
    }
}

/// Everything about a segment except its file handle: header, keys, index.
#[derive(Clone)]
pub struct SegmentMeta {
    pub path: PathBuf,
    pub header: SegmentHeader,
    pub header_len: u64,
    pub config: CodecConfig,
    pub(crate) cipher: RecordCipher,
    pub(crate) binding: [u8; 32],
    pub summary: SegmentSummary,
    pub seal: SealState,
    /// Format version of the file (see segment/format.rs).
    pub version: u16,
    /// Frames the catalog says a sealed segment holds. When the file lost its
    /// footer (truncation), reading past the surviving records reports the
    /// loss instead of ending quietly.
    expected_frames: Option<u64>,
    /// For a partial copy of an evicted segment (segment/bytes.rs): how its
    /// missing blocks are fetched, so a reopened handle completes it too.
    fetch: Option<FetchRange>,
}

impl SegmentFile {
    /// Opens `path`, authenticating the header and reading the footer (or
    /// scanning the records when the footer is missing or damaged).
    /// `gap_threshold` is the store's (StoreOptions::gap_threshold_ns), used
    /// to find the recording gaps of a segment indexed by scanning.
    pub fn open(path: &Path, keys: &mut KekLookup, gap_threshold: i64) -> Result<SegmentFile> {
        Self::open_as(path, None, keys, gap_threshold)
    }

    /// `open_as` on a partial copy of an evicted segment's object (a sparse
    /// file of its size): what each read covers is fetched first.
    pub fn open_partial(
        path: &Path,
        fetch: FetchRange,
        expect: Option<&Identity>,
        keys: &mut KekLookup,
        gap_threshold: i64,
    ) -> Result<SegmentFile> {
        Self::open_bytes(SegmentBytes::partial(path, fetch)?, path, expect, keys, gap_threshold)
    }

    /// Like `open`, and when `expect` is given the file must be that segment
    /// (store, camera, id and key day in its authenticated header): a file
    /// copied over another's path is refused before anything is read from it.
    pub fn open_as(
        path: &Path,
        expect: Option<&Identity>,
        keys: &mut KekLookup,
        gap_threshold: i64,
    ) -> Result<SegmentFile> {
        Self::open_bytes(SegmentBytes::open(path)?, path, expect, keys, gap_threshold)
    }

    fn open_bytes(
        file: SegmentBytes,
        path: &Path,
        expect: Option<&Identity>,
        keys: &mut KekLookup,
        gap_threshold: i64,
    ) -> Result<SegmentFile> {
        let file_len = file.metadata().ctx("stat segment", path)?.len();
        file.ensure(0, HEADER_BLOCK)?;
        let opened = open_header_as(&file, path, expect, keys)?;
        let header = opened.parsed.header.clone();
        let header_len = opened.parsed.header_len as u64;
        let binding = format::segment_binding(&header.store_id, header.segment_id, &header.camera);

        let footer = read_footer(&file, file_len, &opened, &binding)?;
        let (summary, seal) = match footer {
            Ok(Some(summary)) => (summary, SealState::Sealed),
            Ok(None) | Err(_) => {
                let footer_damaged = footer.is_err();
                file.ensure_all()?;
                let scan = scan_records(&file, path, &opened, u64::MAX, gap_threshold)?;
                (scan.summary, SealState::Unsealed { problem: scan.problem, footer_damaged })
            }
        };
        let meta = SegmentMeta {
            version: opened.parsed.version,
            path: path.to_path_buf(),
            header,
            header_len,
            config: opened.config,
            cipher: opened.cipher,
            binding,
            summary,
            seal,
            expected_frames: None,
            fetch: file.fetch_range(),
        };
        Ok(SegmentFile { meta: Arc::new(meta), file: Arc::new(file) })
    }

    /// Declares how many frames the catalog recorded for this segment.
    pub fn expect_frames(self, frames: Option<u64>) -> SegmentFile {
        let mut meta = Arc::try_unwrap(self.meta).unwrap_or_else(|shared| shared.as_ref().clone());
        meta.expected_frames = frames;
        SegmentFile { meta: Arc::new(meta), file: self.file }
    }

    /// The same segment through a new file handle (its metadata was cached).
    /// The header is read again and must be the cached one: the file at the
    /// path may have been replaced since.
    pub fn reopen(meta: Arc<SegmentMeta>) -> Result<SegmentFile> {
        let file = match &meta.fetch {
            Some(fetch) => SegmentBytes::partial(&meta.path, fetch.clone())?,
            None => SegmentBytes::open(&meta.path)?,
        };
        file.ensure(0, HEADER_BLOCK)?;
        let header = read_header(&file, &meta.path)?;
        let expect = Identity {
            store_id: meta.header.store_id,
            camera: meta.header.camera.clone(),
            segment_id: meta.header.segment_id,
            kek_day: meta.header.kek_day,
        };
        expect.check(&header.header, &meta.path)?;
        if header.header != meta.header {
            return Err(corrupt(
                meta.camera(),
                &meta.path,
                0,
                "the segment's header changed since it was opened",
            ));
        }
        Ok(SegmentFile { meta, file: Arc::new(file) })
    }

    pub fn meta(&self) -> &Arc<SegmentMeta> {
        &self.meta
    }

    /// A view of a segment still being written by this process.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn live(
        path: PathBuf,
        file: Arc<File>,
        header: SegmentHeader,
        header_len: u64,
        config: CodecConfig,
        cipher: RecordCipher,
        binding: [u8; 32],
        summary: SegmentSummary,
    ) -> SegmentFile {
        let meta = SegmentMeta {
            version: format::FORMAT_VERSION,
            path,
            header,
            header_len,
            config,
            cipher,
            binding,
            summary,
            seal: SealState::Unsealed { problem: None, footer_damaged: false },
            expected_frames: None,
            fetch: None,
        };
        SegmentFile { meta: Arc::new(meta), file: Arc::new(SegmentBytes::shared(file)) }
    }
}

impl SegmentMeta {
    pub fn id(&self) -> u64 {
        self.header.segment_id
    }

    pub fn camera(&self) -> &str {
        &self.header.camera
    }
}

impl SegmentFile {
    /// Reads and decrypts the frame record at `offset`; `None` at the end of
    /// the records. Returns the frame and the offset of the next record.
    ///
    /// When `offset` is an index entry's, the record found there must be the
    /// keyframe the entry names (seq and ts): a seek serves what the index
    /// promises or fails. Reading on from there, use `read_frame_expecting`,
    /// which also checks that each record is the next in sequence.
    pub fn read_frame_at(&self, offset: u64) -> Result<Option<(Frame, u64)>> {
        Ok(self.read_record(offset)?.map(|(frame, _, next)| (frame, next)))
    }

    /// Like `read_frame_at`, and the record must be frame `expected_seq` of
    /// this segment; at the end of a sealed segment's records `expected_seq`
    /// must be its frame count. Each record authenticates on its own (its
    /// nonce is its seq), so without this a record copied over another of the
    /// same length, two swapped ones, or one blanked into padding would be
    /// served in the wrong place or skipped without an error.
    pub fn read_frame_expecting(&self, offset: u64, expected_seq: u64) -> Result<Option<(Frame, u64)>> {
        match self.read_record(offset)? {
            Some((frame, at, next)) => {
                if frame.meta.seq != expected_seq {
                    return Err(self.out_of_order(at, expected_seq, &format!("frame {}", frame.meta.seq)));
                }
                Ok(Some((frame, next)))
            }
            None => self.expect_end(expected_seq),
        }
    }

    /// At the end of the records, expecting frame `expected_seq` next: a
    /// sealed segment must end after its footer's frame count.
    fn expect_end<T>(&self, expected_seq: u64) -> Result<Option<T>> {
        let count = self.summary.frame_count;
        if self.seal == SealState::Sealed && expected_seq != count {
            let found = format!("the end of the records (the footer lists {count} frames)");
            return Err(self.out_of_order(self.summary.records_end, expected_seq, &found));
        }
        Ok(None)
    }

    fn out_of_order(&self, at: u64, expected_seq: u64, found: &str) -> crate::error::Error {
        corrupt(
            self.camera(),
            &self.path,
            at,
            format!(
                "expected frame {expected_seq} of the segment here, found {found}: records were \
                 moved, copied or removed inside the file (restore it from a backup)"
            ),
        )
    }

    /// The frame record at or after `offset` (past any padding): the frame,
    /// the offset of its record, and the offset of the next one.
    fn read_record(&self, requested: u64) -> Result<Option<(Frame, u64, u64)>> {
        let Some(Located { offset, len, crc, next, .. }) = self.locate_record(requested)? else {
            return self.end_of_records();
        };
        let camera = self.camera();
        let path = &self.path;
        let mut body = vec![0u8; len];
        self.file.ensure(offset + RECORD_PREFIX_LEN as u64, len as u64)?;
        self.file
            .read_exact_at(&mut body, offset + RECORD_PREFIX_LEN as u64)
            .map_err(|e| corrupt(camera, path, offset, format!("record body unreadable: {e}")))?;
        let body_offset = offset + RECORD_PREFIX_LEN as u64;
        match format::parse_record_body(&body, crc).map_err(|e| format_err(camera, path, body_offset, e))? {
            RecordBody::Frame { meta, sealed, meta_bytes } => {
                let data =
                    format::open_frame_payload(meta_bytes, meta.seq, sealed, &self.cipher, &self.binding)
                        .ok_or_else(|| {
                            corrupt(camera, path, offset, format!("frame {} does not authenticate", meta.seq))
                        })?;
                self.check_index_entry(offset, &meta)?;
                Ok(Some((Frame { segment_id: self.id(), meta, data }, offset, next)))
            }
            RecordBody::Footer => Err(corrupt(camera, path, offset, "unexpected footer inside the records")),
            RecordBody::FrameTable => {
                Err(corrupt(camera, path, offset, "unexpected frame table inside the records"))
            }
        }
    }

    /// The frames of a sealed segment as its frame table lists them, in
    /// record order: one read, nothing decrypted, every entry authenticated
    /// (the footer's tag covers the table's hash). `Ok(None)` when there is
    /// no table to read (a segment of format 1 to 3, or without a valid
    /// footer): list those with `read_info_expecting`. A table that fails
    /// its hash or disagrees with the footer is an error naming the file;
    /// the records still list the frames, and fsck reports the damage.
    pub fn frame_table(&self) -> Result<Option<Vec<FrameInfo>>> {
        let (SealState::Sealed, Some(table)) = (&self.seal, self.summary.frame_table) else {
            return Ok(None);
        };
        let at = self.summary.records_end;
        let damaged = |detail: String| {
            corrupt(self.camera(), &self.path, at, format!("frame table is damaged: {detail}"))
        };
        let len = usize::try_from(table.len)
            .ok()
            .filter(|&l| l <= format::MAX_FOOTER_BODY)
            .ok_or_else(|| damaged(format!("implausible length {}", table.len)))?;
        let mut bytes = vec![0u8; len];
        self.file.ensure(at, len as u64)?;
        self.file.read_exact_at(&mut bytes, at).map_err(|e| damaged(format!("unreadable: {e}")))?;
        let rows = frame_table::decode_frame_table(&bytes, &self.summary, self.header_len)
            .map_err(|e| damaged(e.detail))?;
        let segment_id = self.id();
        Ok(Some(
            rows.into_iter()
                .map(|r| FrameInfo { segment_id, meta: r.meta, offset: r.offset, size: r.size })
                .collect(),
        ))
    }

    /// Compares the frame table, row by row, with the metadata of the
    /// records themselves (fsck): a table that disagrees with them is
    /// damage, reported naming the first frame that differs. Ok for a
    /// segment without a table.
    pub fn check_frame_table(&self) -> Result<()> {
        let Some(table) = self.frame_table()? else {
            return Ok(());
        };
        let mut offset = self.header_len;
        for listed in &table {
            let seq = listed.meta.seq;
            let Some((found, next)) = self.read_info_expecting(offset, seq)? else {
                let detail =
                    format!("frame table and records disagree: the table lists frame {seq}, the records end before it");
                return Err(corrupt(self.camera(), &self.path, offset, detail));
            };
            if found != *listed {
                let detail = format!(
                    "frame table and records disagree at frame {seq}: the table lists offset {} (ts {}, \
                     {} bytes), the record says offset {} (ts {}, {} bytes){}; the table is \
                     authenticated, so the record was altered or the table written wrongly (restore \
                     the file from a backup)",
                    listed.offset,
                    listed.meta.ts.0,
                    listed.size,
                    found.offset,
                    found.meta.ts.0,
                    found.size,
                    if found.meta == listed.meta { "" } else { " and other metadata" },
                );
                return Err(corrupt(self.camera(), &self.path, found.offset, detail));
            }
            offset = next;
        }
        self.read_info_expecting(offset, table.len() as u64).map(|_| ())
    }

    /// `read_info_expecting` answered from `table` (this segment's
    /// `frame_table`): the frame `expected_seq`, whose record must start at
    /// `offset` (or, for the first frame, past padding after the header).
    pub fn table_info_expecting(
        &self,
        table: &[FrameInfo],
        offset: u64,
        expected_seq: u64,
    ) -> Result<Option<(FrameInfo, u64)>> {
        let Some(info) = usize::try_from(expected_seq).ok().and_then(|i| table.get(i)) else {
            self.end_of_records::<()>()?;
            return self.expect_end(expected_seq);
        };
        let first = expected_seq == 0 && offset == self.header_len && info.offset >= offset;
        if info.offset != offset && !first {
            return Err(self.out_of_order(offset, expected_seq, "no record there in the frame table"));
        }
        let next = table.get(expected_seq as usize + 1).map_or(self.summary.records_end, |i| i.offset);
        Ok(Some((info.clone(), next)))
    }

    /// Like `read_frame_expecting`, reading only the record's clear metadata
    /// and length: no payload is read or decrypted (see `FrameInfo`).
    pub fn read_info_expecting(&self, offset: u64, expected_seq: u64) -> Result<Option<(FrameInfo, u64)>> {
        let Some(Located { offset: at, len, next, head, .. }) = self.locate_record(offset)? else {
            self.end_of_records::<()>()?;
            return self.expect_end(expected_seq);
        };
        // A record that fits before the end of the records (checked above)
        // holds its whole metadata: skip_to_record read it with the prefix.
        let body_offset = at + RECORD_PREFIX_LEN as u64;
        let (meta, size) = format::parse_frame_meta_only(&head[RECORD_PREFIX_LEN..], len)
            .map_err(|e| format_err(self.camera(), &self.path, body_offset, e))?;
        if meta.seq != expected_seq {
            return Err(self.out_of_order(at, expected_seq, &format!("frame {}", meta.seq)));
        }
        self.check_index_entry(at, &meta)?;
        Ok(Some((FrameInfo { segment_id: self.id(), meta, offset: at, size }, next)))
    }

    /// Where the record at or after `requested` lies (past any padding);
    /// `None` at the end of the records.
    fn locate_record(&self, requested: u64) -> Result<Option<Located>> {
        let found = self.skip_to_record(requested)?;
        // An index entry names the offset of its record itself, never padding
        // before it: a seek that had to skip padding to find a record would
        // serve whatever lies after it (a record moved there) as the keyframe.
        if found.map(|(at, _)| at) != Some(requested) {
            if let Some(entry) = self.index_entry_at(requested) {
                return Err(corrupt(
                    self.camera(),
                    &self.path,
                    requested,
                    format!(
                        "the index names keyframe {} at this offset, and no record starts here: \
                         records were moved or removed inside the file (restore it from a backup)",
                        entry.seq
                    ),
                ));
            }
        }
        let Some((offset, head)) = found else {
            return Ok(None);
        };
        let (len, crc) = format::parse_record_prefix(head[..RECORD_PREFIX_LEN].try_into().unwrap())
            .map_err(|e| format_err(self.camera(), &self.path, offset, e))?;
        let next = offset + (RECORD_PREFIX_LEN + len) as u64;
        if next > self.summary.records_end {
            return Err(corrupt(
                self.camera(),
                &self.path,
                offset,
                "record runs past the end of the segment's records",
            ));
        }
        Ok(Some(Located { offset, len, crc, next, head }))
    }

    /// Skips zero padding (format 2) from `offset`: the offset of the next
    /// record and its first bytes (the prefix, then as much of the clear
    /// metadata as lies before the end of the records: one read for a frame's
    /// info); `None` at the end of the records.
    fn skip_to_record(&self, mut offset: u64) -> Result<Option<(u64, RecordHead)>> {
        let end = self.summary.records_end;
        let mut head = [0u8; RECORD_PREFIX_LEN + FRAME_META_LEN];
        while offset < end {
            let n = (end - offset).clamp(RECORD_PREFIX_LEN as u64, head.len() as u64) as usize;
            self.file.ensure(offset, n as u64)?;
            self.file.read_exact_at(&mut head[..n], offset).map_err(|e| {
                corrupt(self.camera(), &self.path, offset, format!("record prefix unreadable: {e}"))
            })?;
            let prefix: &[u8; RECORD_PREFIX_LEN] = head[..RECORD_PREFIX_LEN].try_into().unwrap();
            match format::skip_padding(prefix, offset, self.version) {
                Some(Some(next)) => offset = next,
                Some(None) => {
                    return Err(corrupt(
                        self.camera(),
                        &self.path,
                        offset,
                        "a zeroed block where records should be",
                    ))
                }
                None => return Ok(Some((offset, head))),
            }
        }
        Ok(None)
    }

    /// At the end of the records: a sealed segment the catalog says held
    /// more frames than survive was truncated.
    fn end_of_records<T>(&self) -> Result<Option<T>> {
        match self.expected_frames {
            Some(n) if self.summary.frame_count < n => Err(corrupt(
                self.camera(),
                &self.path,
                self.summary.records_end,
                format!(
                    "segment is truncated: the catalog records {n} frames, the file holds {} \
                     intact ones; the rest is lost (restore the file from a backup)",
                    self.summary.frame_count
                ),
            )),
            _ => Ok(None),
        }
    }

    /// The index entry naming `offset`, if any. Entries are in offset order:
    /// the footer parser refuses an index that is not.
    fn index_entry_at(&self, offset: u64) -> Option<&IndexEntry> {
        let keys = &self.summary.keyframes;
        let i = keys.partition_point(|k| k.offset < offset);
        keys.get(i).filter(|k| k.offset == offset)
    }

    /// A record at an index entry's offset must be the keyframe the entry
    /// names: seeks trust the entry's seq and ts.
    fn check_index_entry(&self, offset: u64, meta: &FrameMeta) -> Result<()> {
        let Some(entry) = self.index_entry_at(offset) else {
            return Ok(());
        };
        if entry.seq == meta.seq && entry.ts == meta.ts && meta.keyframe {
            return Ok(());
        }
        Err(corrupt(
            self.camera(),
            &self.path,
            offset,
            format!(
                "the index names keyframe {} (ts {}) at this offset, the record there is frame {} \
                 (ts {}, keyframe: {}): records were moved or copied inside the file (restore it \
                 from a backup)",
                entry.seq, entry.ts.0, meta.seq, meta.ts.0, meta.keyframe
            ),
        ))
    }
}

/// What a partial copy fetches before its header is read: its first block
/// (a header with its codec configuration fits in far less).
const HEADER_BLOCK: u64 = BLOCK;

/// Reads the footer through the trailer. `Ok(None)`: no trailer (unsealed).
/// `Err`: a trailer exists but the footer is damaged or fails authentication.
/// The outer error: a partial copy's fetch failed (nothing to fall back on).
fn read_footer(
    file: &SegmentBytes,
    file_len: u64,
    opened: &OpenedHeader,
    binding: &[u8; 32],
) -> Result<std::result::Result<Option<SegmentSummary>, FormatError>> {
    let header_len = opened.parsed.header_len as u64;
    if file_len < header_len + TRAILER_LEN as u64 {
        return Ok(Ok(None));
    }
    // The last block holds the trailer and, for most segments, the footer.
    file.ensure_tail(file_len, BLOCK)?;
    let mut trailer = [0u8; TRAILER_LEN];
    if file.read_exact_at(&mut trailer, file_len - TRAILER_LEN as u64).is_err() {
        return Ok(Ok(None));
    }
    if trailer[24..] != format::TRAILER_MAGIC {
        return Ok(Ok(None));
    }
    let (offset, len) = match format::parse_trailer(&trailer) {
        Ok(found) => found,
        Err(e) => return Ok(Err(e)),
    };
    if offset < header_len || offset + len as u64 + TRAILER_LEN as u64 != file_len {
        return Ok(Err(FormatError { at: 0, detail: "trailer points outside the file".into() }));
    }
    file.ensure(offset, len as u64)?;
    let mut footer = vec![0u8; len];
    if let Err(e) = file.read_exact_at(&mut footer, offset) {
        return Ok(Err(FormatError { at: 0, detail: format!("footer unreadable: {e}") }));
    }
    let summary =
        match format::parse_footer_versioned(&footer, opened.parsed.version, Some((&opened.cipher, binding)))
        {
            Ok(summary) => summary,
            Err(e) => return Ok(Err(e)),
        };
    if summary.footer_offset() != offset || summary.records_end < header_len {
        return Ok(Err(FormatError {
            at: 0,
            detail: "footer and trailer disagree on the footer offset".into(),
        }));
    }
    Ok(Ok(Some(summary)))
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::crypto::{self, SecretKey};
    use crate::error::Error;
    use crate::segment::recover::{recover_segment, Recovery};
    use crate::segment::writer::{NewFrame, SegmentWriter};
    use crate::time::{TimeBase, Timestamp};

    const KEK: [u8; 32] = [0x4B; 32];
    const T0: i64 = 1_763_700_000_000_000_000;
    const GAP: i64 = 2_000_000_000;

    fn kek(_: &str, _: i32) -> Result<SecretKey> {
        Ok(SecretKey::from_bytes(KEK))
    }

    /// H.264 as an encoder with B-frames hands it out, in decode order:
    /// I P B B P B B ... at 25 fps in a 90 kHz time base, dts running 2 frames
    /// behind, a keyframe every 25 frames, sizes varying.
    fn b_frame_metas(n: i64) -> Vec<(Timestamp, i64, i64, bool, usize)> {
        (0..n)
            .map(|i| {
                let shown = match i % 3 {
                    0 => i,
                    1 => i + 2,
                    _ => i - 1,
                };
                let pts = shown * 3600;
                (
                    Timestamp(T0 + shown * 40_000_000),
                    pts,
                    i * 3600 - 7200,
                    i % 25 == 0,
                    300 + (i as usize * 53) % 900,
                )
            })
            .collect()
    }

    /// A segment of `version` written the way the camera writer writes one:
    /// records, padding to a block at every tenth frame (a commit), sealed.
    fn write_segment(path: &Path, version: u16, frames: i64, seal: bool) -> Vec<u8> {
        let dek = SecretKey::from_bytes([0x11; 32]);
        let (store_id, segment_id, camera, kek_day) = ([7u8; 16], 9u64, "cam".to_string(), 20_413);
        let aad = format::dek_wrap_aad(&store_id, segment_id, &camera, kek_day);
        let header = SegmentHeader {
            store_id,
            segment_id,
            kek_day,
            created: Timestamp(T0),
            prev_hash: [0; 32],
            wrapped_dek: crypto::wrap_key(&SecretKey::from_bytes(KEK), &dek, &aad).unwrap(),
            camera,
        };
        let config = CodecConfig {
            codec: "h264".into(),
            extradata: vec![1, 100, 0, 31],
            time_base: TimeBase::new(1, 90_000).unwrap(),
            width: 1280,
            height: 720,
            params: "{}".into(),
        };
        let (mut writer, mut out) = SegmentWriter::new_version(header, config, &dek, GAP, version);
        for (i, (ts, pts, dts, keyframe, size)) in b_frame_metas(frames).into_iter().enumerate() {
            let data = vec![i as u8; size];
            let frame =
                NewFrame { ts, data: &data, keyframe, pts: Some(pts), dts: Some(dts), duration: Some(3600) };
            writer.append(&frame, &mut out);
            if i % 10 == 9 {
                writer.pad_to_block(&mut out);
            }
        }
        if seal {
            out.extend_from_slice(&writer.finish().1);
        }
        std::fs::write(path, &out).unwrap();
        out
    }

    fn open(path: &Path) -> SegmentFile {
        SegmentFile::open(path, &mut kek, GAP).unwrap()
    }

    /// The infos as the records themselves say, one read per record.
    fn scanned_infos(seg: &SegmentFile) -> Vec<FrameInfo> {
        let (mut out, mut offset) = (Vec::new(), seg.header_len);
        while let Some((info, next)) = seg.read_info_expecting(offset, out.len() as u64).unwrap() {
            out.push(info);
            offset = next;
        }
        out
    }

    fn file(dir: &tempfile::TempDir, name: &str) -> PathBuf {
        dir.path().join(name)
    }

    /// A sparse copy of `bytes` at `path` opened as a partial copy whose
    /// fetch serves `served` (the object as the bucket holds it), and the
    /// bytes fetched so far.
    fn partial_copy(
        path: &Path,
        served: Vec<u8>,
    ) -> (Result<SegmentFile>, Arc<std::sync::atomic::AtomicU64>) {
        use std::sync::atomic::{AtomicU64, Ordering};
        std::fs::File::create(path).unwrap().set_len(served.len() as u64).unwrap();
        let fetched = Arc::new(AtomicU64::new(0));
        let counter = fetched.clone();
        let fetch: FetchRange = Arc::new(move |offset, len| {
            counter.fetch_add(len, Ordering::SeqCst);
            Ok(served[offset as usize..(offset + len) as usize].to_vec())
        });
        (SegmentFile::open_partial(path, fetch, None, &mut kek, GAP), fetched)
    }

    #[test]
    fn a_seek_into_a_partial_copy_fetches_its_ends_and_one_keyframe_and_reads_as_the_file() {
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().unwrap();
        let whole = file(&dir, "whole.vvs");
        let bytes = write_segment(&whole, format::FORMAT_VERSION, 9000, true);
        assert!(bytes.len() as u64 > 6 * BLOCK, "{} bytes", bytes.len());
        let local = open(&whole);
        let (copy, fetched) = partial_copy(&file(&dir, "copy.vvs"), bytes.clone());
        let copy = copy.unwrap();
        assert_eq!(copy.summary, local.summary);
        let opened = fetched.load(Ordering::SeqCst);
        // The first block (header), the last (trailer), and the one before
        // it where the footer crosses a block boundary, as it does here.
        assert!(opened <= 3 * BLOCK, "opening fetched {opened} bytes");
        let middle = local.summary.keyframes[local.summary.keyframes.len() / 2];
        let (frame, _) = copy.read_frame_at(middle.offset).unwrap().unwrap();
        assert_eq!(frame, local.read_frame_at(middle.offset).unwrap().unwrap().0);
        let seek = fetched.load(Ordering::SeqCst) - opened;
        assert!(seek <= 2 * BLOCK, "a seek fetched {seek} bytes");
        // Reading every frame on from there completes the copy: the frames are the file's.
        let (mut at, mut seq) = (middle.offset, middle.seq);
        while let Some((got, next)) = copy.read_frame_expecting(at, seq).unwrap() {
            assert_eq!(got, local.read_frame_expecting(at, seq).unwrap().unwrap().0);
            (at, seq) = (next, seq + 1);
        }
        assert_eq!(seq, 9000, "read through to the last frame");
        assert!(fetched.load(Ordering::SeqCst) <= bytes.len() as u64, "no block fetched twice");
        // A handle opened again on the same copy fetches what it reads.
        let again = SegmentFile::reopen(copy.meta().clone()).unwrap();
        assert_eq!(again.read_frame_at(middle.offset).unwrap().unwrap().0, frame);
    }

    #[test]
    fn a_partial_copy_served_altered_bytes_refuses_the_frame() {
        let dir = tempfile::tempdir().unwrap();
        let whole = file(&dir, "whole.vvs");
        let mut bytes = write_segment(&whole, format::FORMAT_VERSION, 9000, true);
        let local = open(&whole);
        let middle = local.summary.keyframes[local.summary.keyframes.len() / 2];
        bytes[middle.offset as usize + 200] ^= 1;
        let (copy, _) = partial_copy(&file(&dir, "copy.vvs"), bytes);
        let err = copy.unwrap().read_frame_at(middle.offset).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains("copy.vvs"), "{err}");
    }

    #[test]
    fn a_format_4_table_lists_what_the_records_say_with_b_frames() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir, "v4.vvs");
        write_segment(&path, format::FORMAT_VERSION, 240, true);
        let seg = open(&path);
        assert_eq!(seg.seal, SealState::Sealed);
        let table = seg.frame_table().unwrap().expect("a format-4 segment has a frame table");
        let scanned = scanned_infos(&seg);
        assert_eq!(scanned.len(), 240);
        assert_eq!(table, scanned);
        assert!(table.windows(2).any(|w| w[1].meta.pts < w[0].meta.pts), "pts runs back (B-frames)");
        seg.check_frame_table().unwrap();
        // Walking the table as the store's cursor does, from a keyframe too.
        for start in [0usize, 75] {
            let (mut offset, mut walked) =
                (if start == 0 { seg.header_len } else { table[start].offset }, vec![]);
            while let Some((info, next)) =
                seg.table_info_expecting(&table, offset, (start + walked.len()) as u64).unwrap()
            {
                walked.push(info);
                offset = next;
            }
            assert_eq!(walked, scanned[start..]);
        }
    }

    #[test]
    fn a_format_3_file_has_no_table_and_lists_the_same_infos() {
        let dir = tempfile::tempdir().unwrap();
        let (v3, v4) = (file(&dir, "v3.vvs"), file(&dir, "v4.vvs"));
        write_segment(&v3, 3, 120, true);
        write_segment(&v4, format::FORMAT_VERSION, 120, true);
        let (old, new) = (open(&v3), open(&v4));
        assert_eq!((old.version, old.seal.clone()), (3, SealState::Sealed));
        assert_eq!(old.summary.frame_table, None);
        assert!(old.frame_table().unwrap().is_none(), "format 3 lists by scanning its records");
        assert_eq!(scanned_infos(&old), new.frame_table().unwrap().unwrap());
    }

    #[test]
    fn a_changed_table_byte_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(&dir, "v4.vvs");
        let bytes = write_segment(&path, format::FORMAT_VERSION, 100, true);
        let good = open(&path);
        let (start, table) = (good.summary.records_end as usize, good.summary.frame_table.unwrap());
        let scanned = scanned_infos(&good);
        for at in [start + 3, start + RECORD_PREFIX_LEN, start + table.len as usize - 1] {
            let mut b = bytes.clone();
            b[at] ^= 0x04;
            std::fs::write(&path, &b).unwrap();
            let seg = open(&path);
            assert_eq!(seg.seal, SealState::Sealed, "the footer itself is intact");
            match seg.frame_table() {
                Err(Error::Corrupt { detail, offset, .. }) => {
                    assert!(detail.contains("frame table is damaged"), "{detail}");
                    assert_eq!(offset, start as u64);
                }
                other => panic!("a changed table byte at {at} was trusted: {other:?}"),
            }
            assert!(seg.check_frame_table().is_err());
            assert_eq!(scanned_infos(&seg), scanned, "the records still list the frames");
        }
        // The hash in the footer is under the footer's tag: changing it
        // damages the footer, and the segment is read by scanning.
        let mut b = bytes.clone();
        let footer = good.summary.footer_offset() as usize;
        let hash_at = b.len() - TRAILER_LEN - crypto::TAG_LEN - 32;
        assert!(hash_at > footer);
        b[hash_at] ^= 1;
        std::fs::write(&path, &b).unwrap();
        let seg = open(&path);
        assert_eq!(seg.seal, SealState::Unsealed { problem: None, footer_damaged: true });
        assert!(seg.frame_table().unwrap().is_none());
    }

    #[test]
    fn recovery_seals_format_4_with_a_table_and_older_files_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        for version in [3u16, format::FORMAT_VERSION] {
            let path = file(&dir, &format!("torn-v{version}.vvs"));
            let bytes = write_segment(&path, version, 95, false);
            // Torn inside the last record.
            std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
            let Recovery::Repaired { summary, .. } = recover_segment(&path, &mut kek, GAP).unwrap() else {
                panic!("not repaired");
            };
            let seg = open(&path);
            assert_eq!((seg.seal.clone(), seg.version), (SealState::Sealed, version));
            assert_eq!(seg.summary, summary);
            assert_eq!(summary.frame_count, 94);
            let table = seg.frame_table().unwrap();
            if version >= format::FRAME_TABLE_VERSION {
                assert_eq!(table.unwrap(), scanned_infos(&seg));
            } else {
                assert!(table.is_none() && summary.frame_table.is_none());
            }
        }
        // A sealed file that lost its footer and trailer: the scan stops at
        // the intact table record quietly (at a torn one, as at a torn
        // footer, reporting it), and recovery seals it again.
        let path = file(&dir, "no-footer.vvs");
        let bytes = write_segment(&path, format::FORMAT_VERSION, 60, true);
        let sealed = open(&path);
        let (records_end, scanned) = (sealed.summary.records_end as usize, scanned_infos(&sealed));
        let table_len = sealed.summary.frame_table.unwrap().len as usize;
        for (cut, quiet) in [(table_len, true), (table_len - 1, false)] {
            std::fs::write(&path, &bytes[..records_end + cut]).unwrap();
            let Recovery::Repaired { problem, discarded_bytes, .. } =
                recover_segment(&path, &mut kek, GAP).unwrap()
            else {
                panic!("not repaired");
            };
            assert_eq!((problem.is_none(), discarded_bytes), (quiet, cut as u64), "{problem:?}");
            assert_eq!(open(&path).frame_table().unwrap().unwrap(), scanned);
        }
    }
}
