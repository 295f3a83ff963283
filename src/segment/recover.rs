//! Crash recovery of a segment that was not sealed. Records are framed with a
//! length and CRC32C and authenticated by AES-GCM, so a scan can tell exactly
//! where the last intact record ends: the file is cut there, its index rebuilt
//! from the surviving records, and the segment sealed. Everything a `sync()`
//! acknowledged lies before that point, because sync writes records in order
//! and only then calls fdatasync.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::segment::format::{self, RecordBody, SegmentHeader, SegmentSummary, RECORD_PREFIX_LEN};
use crate::segment::reader::{open_header, KekLookup, OpenedHeader};
use crate::segment::writer::SegmentWriter;

/// Result of scanning the records of a segment.
pub struct Scan {
    pub writer: SegmentWriter,
    pub summary: SegmentSummary,
    /// Offset just past the last intact record.
    pub valid_end: u64,
    /// The first bad record: offset and what was wrong with it.
    pub problem: Option<(u64, String)>,
    /// Offset of a footer record met during the scan.
    pub footer_at: Option<u64>,
}

/// Gap threshold used when a scan has no store options at hand.
pub const DEFAULT_GAP_THRESHOLD_NS: i64 = 2_000_000_000;

/// Scans records from the end of the header up to `limit` (or the file end).
pub(crate) fn scan_records(file: &File, path: &Path, opened: &OpenedHeader, limit: u64) -> Result<Scan> {
    scan_with(file, path, opened, limit, DEFAULT_GAP_THRESHOLD_NS)
}

fn scan_with(
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
    let mut footer_at = None;
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
            Ok(RecordBody::Footer) => {
                footer_at = Some(offset);
                break;
            }
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
    Ok(Scan { writer, summary, valid_end, problem, footer_at })
}

/// What recovery did to one segment file.
#[derive(Debug)]
pub enum Recovery {
    /// The file was already sealed (the crash came after sealing).
    AlreadySealed { header: SegmentHeader, codec: String, summary: SegmentSummary },
    /// The torn tail was cut and the segment sealed.
    Repaired {
        header: SegmentHeader,
        codec: String,
        summary: SegmentSummary,
        discarded_bytes: u64,
        problem: Option<(u64, String)>,
    },
    /// Not one complete frame (or not even a header: a crash came before
    /// the first commit): nothing in it was ever acknowledged.
    Empty { header: Option<SegmentHeader> },
    /// The header itself is unreadable; the file should be quarantined.
    Unreadable { detail: String },
}

/// Recovers the unsealed segment at `path` in place (truncate + seal).
pub fn recover_segment(path: &Path, keys: &mut KekLookup, gap_threshold: i64) -> Result<Recovery> {
    let file = OpenOptions::new().read(true).write(true).open(path).ctx("open segment", path)?;
    // The direct-I/O writer puts the header on disk with the first commit:
    // an empty or zero-filled start means the segment never got one.
    let mut start = [0u8; 16];
    let readable = file.read_at(&mut start, 0).ctx("read segment", path)?;
    if readable < start.len() || start.iter().all(|&b| b == 0) {
        return Ok(Recovery::Empty { header: None });
    }
    let opened = match open_header(&file, path, keys) {
        Ok(h) => h,
        Err(Error::Corrupt { detail, .. }) => return Ok(Recovery::Unreadable { detail }),
        Err(e) => return Err(e),
    };
    let header = opened.parsed.header.clone();
    let codec = opened.parsed.codec.clone();
    let file_len = file.metadata().ctx("stat segment", path)?.len();

    // A complete footer and trailer: sealed already, the catalog just missed it.
    if let Ok(seg) = crate::segment::reader::SegmentFile::open(path, keys) {
        if seg.seal == crate::segment::reader::SealState::Sealed {
            return Ok(Recovery::AlreadySealed { header, codec, summary: seg.summary.clone() });
        }
    }

    let scan = scan_with(&file, path, &opened, u64::MAX, gap_threshold)?;
    if scan.writer.frame_count() == 0 {
        return Ok(Recovery::Empty { header: Some(header) });
    }
    let discarded = file_len - scan.valid_end;
    file.set_len(scan.valid_end).ctx("truncate torn tail", path)?;
    let (summary, footer) = scan.writer.finish();
    file.write_all_at(&footer, scan.valid_end).ctx("write footer", path)?;
    file.sync_all().ctx("fsync segment", path)?;
    Ok(Recovery::Repaired { header, codec, summary, discarded_bytes: discarded, problem: scan.problem })
}
