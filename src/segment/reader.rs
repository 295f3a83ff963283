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
use crate::segment::format::{
    self, CodecConfig, FormatError, FrameMeta, IndexEntry, RecordBody, SegmentHeader, SegmentSummary,
    FRAME_META_LEN, RECORD_PREFIX_LEN, TRAILER_LEN,
};
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
/// its record starts and its payload's length. The metadata is authenticated
/// only as the payload's AAD, so it is a plan: `Store::read_frame` at
/// `offset` returns the authenticated frame, which the caller compares with it.
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
    file: Arc<File>,
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
}

impl SegmentFile {
    /// Opens `path`, authenticating the header and reading the footer (or
    /// scanning the records when the footer is missing or damaged).
    /// `gap_threshold` is the store's (StoreOptions::gap_threshold_ns), used
    /// to find the recording gaps of a segment indexed by scanning.
    pub fn open(path: &Path, keys: &mut KekLookup, gap_threshold: i64) -> Result<SegmentFile> {
        Self::open_as(path, None, keys, gap_threshold)
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
        let file = File::open(path).ctx("open segment", path)?;
        let file_len = file.metadata().ctx("stat segment", path)?.len();
        let opened = open_header_as(&file, path, expect, keys)?;
        let header = opened.parsed.header.clone();
        let header_len = opened.parsed.header_len as u64;
        let binding = format::segment_binding(&header.store_id, header.segment_id, &header.camera);

        let footer = read_footer(&file, file_len, &opened, &binding);
        let (summary, seal) = match footer {
            Ok(Some(summary)) => (summary, SealState::Sealed),
            Ok(None) | Err(_) => {
                let footer_damaged = footer.is_err();
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
        let file = File::open(&meta.path).ctx("open segment", &meta.path)?;
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
        };
        SegmentFile { meta: Arc::new(meta), file }
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
        }
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

/// Reads the footer through the trailer. `Ok(None)`: no trailer (unsealed).
/// `Err`: a trailer exists but the footer is damaged or fails authentication.
fn read_footer(
    file: &File,
    file_len: u64,
    opened: &OpenedHeader,
    binding: &[u8; 32],
) -> std::result::Result<Option<SegmentSummary>, FormatError> {
    let header_len = opened.parsed.header_len as u64;
    if file_len < header_len + TRAILER_LEN as u64 {
        return Ok(None);
    }
    let mut trailer = [0u8; TRAILER_LEN];
    if file.read_exact_at(&mut trailer, file_len - TRAILER_LEN as u64).is_err() {
        return Ok(None);
    }
    if trailer[24..] != format::TRAILER_MAGIC {
        return Ok(None);
    }
    let (offset, len) = format::parse_trailer(&trailer)?;
    if offset < header_len || offset + len as u64 + TRAILER_LEN as u64 != file_len {
        return Err(FormatError { at: 0, detail: "trailer points outside the file".into() });
    }
    let mut footer = vec![0u8; len];
    file.read_exact_at(&mut footer, offset)
        .map_err(|e| FormatError { at: 0, detail: format!("footer unreadable: {e}") })?;
    let summary =
        format::parse_footer_versioned(&footer, opened.parsed.version, Some((&opened.cipher, binding)))?;
    if summary.records_end != offset {
        return Err(FormatError { at: 0, detail: "footer and trailer disagree on the footer offset".into() });
    }
    Ok(Some(summary))
}
