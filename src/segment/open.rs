//! segment/open.rs: the first step of every way into a segment file (read,
//! scan, recover): read and authenticate the header and unwrap the
//! segment's data key. Kept apart from reader.rs and recover.rs so both can
//! use it without depending on each other.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::crypto::{self, RecordCipher, SecretKey};
use crate::error::{Error, Result};
use crate::segment::format::{self, CodecConfig, FormatError, ParsedHeader};

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

pub(crate) fn open_header(file: &File, path: &Path, keys: &mut KekLookup) -> Result<OpenedHeader> {
    let mut prefix = [0u8; 16];
    file.read_exact_at(&mut prefix, 0)
        .map_err(|_| corrupt("", path, 0, "file is shorter than a segment header"))?;
    let header_len = format::peek_header_len(&prefix).map_err(|e| format_err("", path, 0, e))?;
    let mut header_bytes = vec![0u8; header_len];
    file.read_exact_at(&mut header_bytes, 0)
        .map_err(|_| corrupt("", path, 0, format!("truncated header ({header_len} bytes expected)")))?;
    let parsed = format::parse_header(&header_bytes).map_err(|e| format_err("", path, 0, e))?;
    let h = &parsed.header;
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
