//! segment/recover.rs: crash recovery of one segment file that was not sealed. Records are framed with a
//! length and CRC32C and authenticated by AES-GCM, so a scan can tell exactly
//! where the last intact record ends: the file is cut there, its index rebuilt
//! from the surviving records, and the segment sealed. Everything a `sync()`
//! acknowledged lies before that point, because sync writes records in order
//! and only then calls fdatasync.

use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::faults::{self, Op};
use crate::segment::format::{SegmentHeader, SegmentSummary};
use crate::segment::open::{open_header, KekLookup};
use crate::segment::reader::{SealState, SegmentFile};
use crate::segment::scan::scan_records;

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
    if let Ok(seg) = SegmentFile::open(path, keys, gap_threshold) {
        if seg.seal == SealState::Sealed {
            return Ok(Recovery::AlreadySealed { header, codec, summary: seg.summary.clone() });
        }
    }

    let scan = scan_records(&file, path, &opened, u64::MAX, gap_threshold)?;
    if scan.writer.frame_count() == 0 {
        return Ok(Recovery::Empty { header: Some(header) });
    }
    // A failure anywhere below leaves the file unsealed with its intact
    // records in place, so recovery can run again on the next open.
    let discarded = file_len.saturating_sub(scan.valid_end);
    faults::check(Op::Write).and_then(|()| file.set_len(scan.valid_end)).ctx("truncate torn tail", path)?;
    let (summary, footer) = scan.writer.finish();
    faults::check(Op::Write)
        .and_then(|()| file.write_all_at(&footer, scan.valid_end))
        .ctx("write footer", path)?;
    faults::check(Op::Fsync).and_then(|()| file.sync_all()).ctx("fsync segment", path)?;
    Ok(Recovery::Repaired { header, codec, summary, discarded_bytes: discarded, problem: scan.problem })
}
