//! segment/open.rs: the first step of every way into a segment file (read,
//! scan, recover): read and authenticate the header and unwrap the
//! segment's data key. Kept apart from reader.rs and recover.rs so both can
//! use it without depending on each other.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::crypto::{self, RecordCipher, SecretKey};
use crate::error::{Error, Result};
use crate::segment::format::{self, CodecConfig, FormatError, ParsedHeader, SegmentHeader};

/// Looks up the key-encryption key of (camera, UTC day).
pub type KekLookup<'a> = dyn FnMut(&str, i32) -> Result<SecretKey> + 'a;

pub(crate) fn corrupt(camera: &str, path: &Path, offset: u64, detail: impl Into<String>) -> Error {
    Error::Corrupt { camera: camera.to_string(), path: path.to_path_buf(), offset, detail: detail.into() }
}

pub(crate) fn format_err(camera: &str, path: &Path, base: u64, e: FormatError) -> Error {
    corrupt(camera, path, base + e.at as u64, e.detail)
}

/// Header fields plus the opened key material; the first step of every open.
pub(crate) struct OpenedHeader {
    pub parsed: ParsedHeader,
    pub header_bytes: Vec<u8>,
    pub config: CodecConfig,
    pub cipher: RecordCipher,
}

/// What the catalog says a segment file is. A file is a segment of one
/// store, camera and id; one copied or moved over another's path (another
/// camera's, or an earlier segment of the same camera) still authenticates
/// under the store's keys, so only comparing its header with what the
/// catalog expects stops it being served as the footage it replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub store_id: [u8; 16],
    pub camera: String,
    pub segment_id: u64,
    pub kek_day: i32,
}

impl Identity {
    /// Ok when `header` is the segment expected; else a corruption error
    /// naming the file, what it claims to be and what was expected.
    pub fn check(&self, header: &SegmentHeader, path: &Path) -> Result<()> {
        let same = header.store_id == self.store_id
            && header.camera == self.camera
            && header.segment_id == self.segment_id
            && header.kek_day == self.kek_day;
        if same {
            return Ok(());
        }
        let store = if header.store_id == self.store_id { "this store" } else { "another store" };
        Err(corrupt(
            &self.camera,
            path,
            16,
            format!(
                "the file is not the segment the catalog expects: it claims to be segment {} of camera \
                 {:?} (key day {}) from {store}, the catalog expects segment {} of camera {:?} (key day \
                 {}); it was copied or moved over this path, so nothing is read from it (restore the \
                 original file from a backup, or move this one back where it belongs)",
                header.segment_id, header.camera, header.kek_day, self.segment_id, self.camera, self.kek_day
            ),
        ))
    }
}

/// Reads and parses the header without any key: its fields are not yet
/// authenticated (only its CRC is checked), enough to tell which segment a
/// file claims to be before anything else touches it.
pub(crate) fn read_header(file: &File, path: &Path) -> Result<ParsedHeader> {
    Ok(read_header_bytes(file, path)?.0)
}

/// Bytes read at once from the start of a segment: a header with its codec
/// configuration fits, so opening a segment costs one read for it.
const HEADER_READ: usize = 4096;

fn read_header_bytes(file: &File, path: &Path) -> Result<(ParsedHeader, Vec<u8>)> {
    let mut header_bytes = vec![0u8; HEADER_READ];
    let got =
        read_up_to(file, &mut header_bytes).map_err(|e| corrupt("", path, 0, format!("unreadable: {e}")))?;
    if got < 16 {
        return Err(corrupt("", path, 0, "file is shorter than a segment header"));
    }
    let header_len = format::peek_header_len(&header_bytes[..16]).map_err(|e| format_err("", path, 0, e))?;
    let truncated = || corrupt("", path, 0, format!("truncated header ({header_len} bytes expected)"));
    if header_len <= got {
        header_bytes.truncate(header_len);
    } else if got < HEADER_READ {
        return Err(truncated());
    } else {
        header_bytes.resize(header_len, 0);
        file.read_exact_at(&mut header_bytes[got..], got as u64).map_err(|_| truncated())?;
    }
    let parsed = format::parse_header(&header_bytes).map_err(|e| format_err("", path, 0, e))?;
    Ok((parsed, header_bytes))
}

/// Reads from offset 0 until `buf` is full or the file ends: the bytes read.
fn read_up_to(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

pub(crate) fn open_header(file: &File, path: &Path, keys: &mut KekLookup) -> Result<OpenedHeader> {
    open_header_as(file, path, None, keys)
}

/// Like `open_header`, and when `expect` is given the header must be that
/// segment: checked before any key is looked up, so a foreign file costs
/// no key unwrap and yields nothing.
pub(crate) fn open_header_as(
    file: &File,
    path: &Path,
    expect: Option<&Identity>,
    keys: &mut KekLookup,
) -> Result<OpenedHeader> {
    let (parsed, header_bytes) = read_header_bytes(file, path)?;
    let h = &parsed.header;
    if let Some(expect) = expect {
        expect.check(h, path)?;
    }
    let kek = keys(&h.camera, h.kek_day)?;
    let aad = format::dek_wrap_aad(&h.store_id, h.segment_id, &h.camera, h.kek_day);
    let dek = crypto::unwrap_key(&kek, &h.wrapped_dek, &aad)
        .ok_or_else(|| corrupt(&h.camera, path, 84, "the segment's data key does not authenticate"))?;
    let cipher = dek.cipher();
    let config = parsed
        .open_config(&header_bytes, &cipher)
        .ok_or_else(|| corrupt(&h.camera, path, 0, "header authentication failed"))?;
    Ok(OpenedHeader { parsed, header_bytes, config, cipher })
}
