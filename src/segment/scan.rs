//! segment/scan.rs: indexing a segment by walking its records, for files
//! without a usable footer. The walk stops at the first record that is torn,
//! fails its CRC32C or does not authenticate, so everything before that
//! point is intact. The reader uses it to read such files as they are;
//! recovery uses it to decide where to cut before sealing.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{IoContext, Result};
use crate::segment::format::{self, RecordBody, SegmentSummary, RECORD_PREFIX_LEN};
use crate::segment::open::OpenedHeader;
use crate::segment::writer::SegmentWriter;

/// Result of scanning the records of a segment.
pub struct Scan {
    pub writer: SegmentWriter,
    pub summary: SegmentSummary,
    /// Offset just past the last intact record.
    pub valid_end: u64,
    /// The first bad record: offset and what was wrong with it.
    pub problem: Option<(u64, String)>,
}

/// Scans records from the end of the header up to `limit` (or the file end);
/// jumps in frame time over `gap_threshold` ns are recorded as gaps.
pub(crate) fn scan_records(
    file: &File,
    path: &Path,
    opened: &OpenedHeader,
    limit: u64,
    gap_threshold: i64,
) -> Result<Scan> {
    let file_len = file.metadata().ctx("stat segment", path)?.len().min(limit);
    let mut writer = SegmentWriter::resume(
        opened.parsed.header.clone(),
        opened.config.clone(),
        opened.cipher.clone(),
        &opened.header_bytes,
        gap_threshold,
    );
    let binding = *writer.binding();
    let mut offset = opened.parsed.header_len as u64;
    let mut problem = None;
    let mut record = Vec::new();
    while offset < file_len {
        let mut stop = |detail: String| problem = Some((offset, detail));
        if offset + RECORD_PREFIX_LEN as u64 > file_len {
            stop("torn record prefix at the end of the file".into());
            break;
        }
        let mut prefix = [0u8; RECORD_PREFIX_LEN];
        file.read_exact_at(&mut prefix, offset).ctx("read segment", path)?;
        match format::skip_padding(&prefix, offset, opened.parsed.version) {
            // Padding to a commit point: it must be zeros all the way.
            Some(Some(next)) => {
                let mut pad = vec![0u8; (next.min(file_len) - offset) as usize];
                file.read_exact_at(&mut pad, offset).ctx("read segment", path)?;
                if pad.iter().any(|&b| b != 0) || next > file_len {
                    stop("padding is not all zeros (torn write)".into());
                    break;
                }
                writer.account_padding(&pad);
                offset = next;
                continue;
            }
            // A zero block where the next record would start: nothing more was written.
            Some(None) => break,
            None => {}
        }
        let (len, crc) = match format::parse_record_prefix(&prefix) {
            Ok(v) => v,
            Err(e) => {
                stop(e.detail);
                break;
            }
        };
        let total = RECORD_PREFIX_LEN + len;
        if offset + total as u64 > file_len {
            stop(format!("torn record: {len} bytes announced, {} present", file_len - offset - 8));
            break;
        }
        record.resize(total, 0);
        file.read_exact_at(&mut record, offset).ctx("read segment", path)?;
        match format::parse_record_body(&record[RECORD_PREFIX_LEN..], crc) {
            Err(e) => {
                stop(e.detail);
                break;
            }
            // The frame table or the footer ends the records.
            Ok(RecordBody::Footer | RecordBody::FrameTable) => break,
            Ok(RecordBody::Frame { meta, sealed, meta_bytes }) => {
                if meta.seq != writer.frame_count() {
                    stop(format!("frame sequence {} where {} was expected", meta.seq, writer.frame_count()));
                    break;
                }
                if format::open_frame_payload(meta_bytes, meta.seq, sealed, &opened.cipher, &binding)
                    .is_none()
                {
                    stop(format!("frame {} does not authenticate", meta.seq));
                    break;
                }
                writer.account(&meta, &record);
            }
        }
        offset += total as u64;
    }
    let valid_end = writer.len();
    let summary = writer.summary();
    Ok(Scan { writer, summary, valid_end, problem })
}
