//! Segment file bytes, and nothing else: encoding and decoding of the header,
//! frame records, footer and trailer exactly as docs/FORMAT.md specifies them.
//! No file I/O and no policy here: writer.rs, reader.rs and recover.rs decide
//! when these bytes are produced and what a failure means.
//!
//! All integers are little-endian. Layout summary (FORMAT.md has the tables):
//!
//! ```text
//! header   magic | version | flags | header_len | store | segment | kek_day | created
//!          | prev_hash | wrapped DEK | camera | codec | sealed codec config | crc32c
//! record   body_len u32 | crc32c(body) u32 | body
//!          frame body:  kind=1 | flags | 0*6 | seq | ts | pts | dts | duration | AEAD(payload)
//!          footer body: kind='F' | ... | content hash | zstd(index) | GMAC
//! trailer  footer_offset u64 | footer_len u32 | 0 u32 | crc32c u32 | 0 u32 | "VVSEGEND"
//! ```

use sha2::{Digest, Sha256};

use crate::crypto::{self, NonceDomain, RecordCipher, TAG_LEN, WRAPPED_KEY_LEN};
use crate::time::{TimeBase, Timestamp};

pub const MAGIC: [u8; 8] = *b"VVSEG\r\n\x1a";
/// Version written by this build. Version 2 adds zero padding between
/// records (to a 4 KiB boundary, where the writer committed); version 3
/// derives the footer tag's nonce from the footer, so a re-sealed footer
/// never reuses one; version 4 adds the frame table (frame_table.rs) before
/// the footer. Versions 1 to 3 are still read.
pub const FORMAT_VERSION: u16 = 4;
/// First version whose sealed segments carry a frame table.
pub const FRAME_TABLE_VERSION: u16 = 4;
pub const OLDEST_READABLE_VERSION: u16 = 1;
/// Commits end on a multiple of this many bytes (direct I/O block size).
pub const BLOCK: u64 = 4096;
pub const TRAILER_MAGIC: [u8; 8] = *b"VVSEGEND";

pub const HEADER_FIXED_LEN: usize = 144;
pub const RECORD_PREFIX_LEN: usize = 8;
pub const FRAME_META_LEN: usize = 48;
pub const FOOTER_FIXED_LEN: usize = 96;
pub const TRAILER_LEN: usize = 32;
pub const INDEX_ENTRY_LEN: usize = 32;
pub const GAP_ENTRY_LEN: usize = 16;

pub const KIND_FRAME: u8 = 1;
pub const KIND_FOOTER: u8 = b'F';
/// The frame table of a format-4 segment (frame_table.rs), between the
/// records and the footer.
pub const KIND_FRAME_TABLE: u8 = b'T';

/// Footer body byte 1: how the footer tag's nonce was chosen.
/// Fixed: nonce(2, 0) for every seal (formats 1 and 2; a second seal of the
/// same segment with other content reused it). Derived: nonce(2, n), n from
/// a hash of everything the tag covers (format 3), so two different
/// footers of one segment never share a nonce.
pub const FOOTER_NONCE_FIXED: u8 = 0;
pub const FOOTER_NONCE_DERIVED: u8 = 1;

/// Footer body byte 2, bit 0: the footer ends its index with the frame
/// table's length and hash (format 4 sets it; formats 1 to 3 write 0).
pub const FOOTER_HAS_FRAME_TABLE: u8 = 1;

pub const FLAG_KEYFRAME: u8 = 1;
pub const FLAG_HAS_PTS: u8 = 2;
pub const FLAG_HAS_DTS: u8 = 4;
pub const FLAG_HAS_DURATION: u8 = 8;

/// Largest access unit accepted (a 4K intra frame is a few MiB).
pub const MAX_FRAME_BYTES: usize = 64 << 20;
/// Largest record body a reader will allocate for.
pub const MAX_RECORD_BODY: usize = MAX_FRAME_BYTES + FRAME_META_LEN + TAG_LEN;
/// Largest header (bounded by codec extradata size).
pub const MAX_HEADER_LEN: usize = 4 << 20;
/// Largest footer (index of ~1M keyframes); guards allocations on corrupt input.
pub const MAX_FOOTER_BODY: usize = 64 << 20;

/// A structural problem in bytes handed to a decoder. `at` is relative to the
/// start of the slice given; callers add the file offset and name the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub at: usize,
    pub detail: String,
}

fn bad<T>(at: usize, detail: impl Into<String>) -> Result<T, FormatError> {
    Err(FormatError { at, detail: detail.into() })
}

// ---------------------------------------------------------------- helpers

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], FormatError> {
        if self.buf.len() - self.pos < n {
            return bad(
                self.pos,
                format!("truncated {what}: need {n} bytes, have {}", self.buf.len() - self.pos),
            );
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FormatError> {
        Ok(self.take(N, what)?.try_into().unwrap())
    }
    fn u8(&mut self, what: &str) -> Result<u8, FormatError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> Result<u16, FormatError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    fn u32(&mut self, what: &str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    fn i64(&mut self, what: &str) -> Result<i64, FormatError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }
    fn i32(&mut self, what: &str) -> Result<i32, FormatError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }
}

/// Binds records to their segment: SHA-256 over a label, the store id, the
/// segment id and the camera id. It prefixes every record's AAD, so a record
/// moved to another segment, camera or store fails authentication.
pub fn segment_binding(store_id: &[u8; 16], segment_id: u64, camera: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"vidvault/segment/v1");
    h.update(store_id);
    h.update(segment_id.to_le_bytes());
    h.update((camera.len() as u16).to_le_bytes());
    h.update(camera.as_bytes());
    h.finalize().into()
}

/// AAD for wrapping a segment's data key under its camera/day KEK.
pub fn dek_wrap_aad(store_id: &[u8; 16], segment_id: u64, camera: &str, kek_day: i32) -> Vec<u8> {
    let mut aad = Vec::with_capacity(64 + camera.len());
    aad.extend_from_slice(b"vidvault/dek/v1");
    aad.extend_from_slice(store_id);
    aad.extend_from_slice(&segment_id.to_le_bytes());
    aad.extend_from_slice(&kek_day.to_le_bytes());
    aad.extend_from_slice(camera.as_bytes());
    aad
}

// ---------------------------------------------------------------- codec config

/// How to decode the access units of a segment. Stored sealed inside the
/// header; a change of any field starts a new segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecConfig {
    /// FFmpeg codec name: "h264", "hevc", "mjpeg", ...
    pub codec: String,
    /// avcC/hvcC or Annex B parameter sets, exactly as the source gave them.
    pub extradata: Vec<u8>,
    pub time_base: TimeBase,
    pub width: u32,
    pub height: u32,
    /// Opaque UTF-8 (JSON by convention) the media layer keeps with the stream.
    pub params: String,
}

impl CodecConfig {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.extradata.len() + self.params.len());
        out.extend_from_slice(&self.time_base.num.to_le_bytes());
        out.extend_from_slice(&self.time_base.den.to_le_bytes());
        out.extend_from_slice(&self.width.to_le_bytes());
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&(self.extradata.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.extradata);
        out.extend_from_slice(&(self.params.len() as u32).to_le_bytes());
        out.extend_from_slice(self.params.as_bytes());
        out
    }

    pub fn decode(codec: &str, bytes: &[u8]) -> Result<CodecConfig, FormatError> {
        let mut c = Cursor::new(bytes);
        let num = c.u32("time base")?;
        let den = c.u32("time base")?;
        let time_base = TimeBase::new(num, den)
            .ok_or(FormatError { at: 0, detail: format!("invalid time base {num}/{den}") })?;
        let width = c.u32("width")?;
        let height = c.u32("height")?;
        let xlen = c.u32("extradata length")? as usize;
        let extradata = c.take(xlen, "extradata")?.to_vec();
        let plen = c.u32("params length")? as usize;
        let params = std::str::from_utf8(c.take(plen, "params")?)
            .map_err(|_| FormatError { at: c.pos, detail: "params are not UTF-8".into() })?
            .to_string();
        if c.pos != bytes.len() {
            return bad(c.pos, "trailing bytes after codec config");
        }
        Ok(CodecConfig { codec: codec.to_string(), extradata, time_base, width, height, params })
    }
}

// ---------------------------------------------------------------- header

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    pub store_id: [u8; 16],
    pub segment_id: u64,
    /// UTC day whose key-encryption key wraps this segment's data key.
    pub kek_day: i32,
    pub created: Timestamp,
    /// Content hash of the camera's previous segment (zeros for the first).
    pub prev_hash: [u8; 32],
    pub wrapped_dek: [u8; WRAPPED_KEY_LEN],
    pub camera: String,
}

/// Encodes a header; the codec config is sealed under the segment's data key
/// with every header byte before it as AAD, which authenticates the header.
pub fn encode_header(h: &SegmentHeader, config: &CodecConfig, cipher: &RecordCipher) -> Vec<u8> {
    encode_header_version(h, config, cipher, FORMAT_VERSION)
}

/// `encode_header` with another format version in it: tests write the files
/// of older builds with it, to show they are still read.
pub fn encode_header_version(
    h: &SegmentHeader,
    config: &CodecConfig,
    cipher: &RecordCipher,
    version: u16,
) -> Vec<u8> {
    let config_plain = config.encode();
    let sealed_len = config_plain.len() + TAG_LEN;
    let header_len = HEADER_FIXED_LEN + 2 + h.camera.len() + 1 + config.codec.len() + 4 + sealed_len + 4;
    let mut out = Vec::with_capacity(header_len);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(header_len as u32).to_le_bytes());
    out.extend_from_slice(&h.store_id);
    out.extend_from_slice(&h.segment_id.to_le_bytes());
    out.extend_from_slice(&h.kek_day.to_le_bytes());
    out.extend_from_slice(&h.created.0.to_le_bytes());
    out.extend_from_slice(&h.prev_hash);
    out.extend_from_slice(&h.wrapped_dek);
    debug_assert_eq!(out.len(), HEADER_FIXED_LEN);
    out.extend_from_slice(&(h.camera.len() as u16).to_le_bytes());
    out.extend_from_slice(h.camera.as_bytes());
    out.push(config.codec.len() as u8);
    out.extend_from_slice(config.codec.as_bytes());
    out.extend_from_slice(&(sealed_len as u32).to_le_bytes());
    let aad = out.clone();
    let start = out.len();
    out.extend_from_slice(&config_plain);
    cipher.seal_tail(&crypto::structured_nonce(NonceDomain::CodecConfig, 0), &aad, &mut out, start);
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    debug_assert_eq!(out.len(), header_len);
    out
}

/// Reads `header_len` from the first 16 bytes so the caller knows how much to read.
pub fn peek_header_len(prefix: &[u8]) -> Result<usize, FormatError> {
    let mut c = Cursor::new(prefix);
    let magic: [u8; 8] = c.array("magic")?;
    if magic != MAGIC {
        return bad(0, "not a vidvault segment (bad magic)");
    }
    let version = c.u16("version")?;
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return bad(
            8,
            format!(
                "segment format version {version}; this build reads versions {OLDEST_READABLE_VERSION} to {FORMAT_VERSION}"
            ),
        );
    }
    let _flags = c.u16("flags")?;
    let len = c.u32("header length")? as usize;
    if !(HEADER_FIXED_LEN + 8..=MAX_HEADER_LEN).contains(&len) {
        return bad(12, format!("implausible header length {len}"));
    }
    Ok(len)
}

/// A decoded header whose codec config is still sealed (opening it needs the key).
#[derive(Clone, Debug)]
pub struct ParsedHeader {
    pub header: SegmentHeader,
    pub codec: String,
    pub header_len: usize,
    /// Format version of the file (padding between records from version 2).
    pub version: u16,
    config_aad_len: usize,
    sealed_config: Vec<u8>,
}

pub fn parse_header(bytes: &[u8]) -> Result<ParsedHeader, FormatError> {
    let header_len = peek_header_len(bytes)?;
    if bytes.len() < header_len {
        return bad(bytes.len(), format!("truncated header: {} of {header_len} bytes", bytes.len()));
    }
    let bytes = &bytes[..header_len];
    let stored_crc = u32::from_le_bytes(bytes[header_len - 4..].try_into().unwrap());
    if crc32c::crc32c(&bytes[..header_len - 4]) != stored_crc {
        return bad(header_len - 4, "header checksum mismatch");
    }
    let mut c = Cursor::new(bytes);
    c.pos = 16;
    let store_id = c.array("store id")?;
    let segment_id = c.u64("segment id")?;
    let kek_day = c.i32("kek day")?;
    let created = Timestamp(c.i64("created")?);
    let prev_hash = c.array("previous hash")?;
    let wrapped_dek = c.array("wrapped key")?;
    let clen = c.u16("camera length")? as usize;
    let camera = std::str::from_utf8(c.take(clen, "camera id")?)
        .map_err(|_| FormatError { at: HEADER_FIXED_LEN + 2, detail: "camera id is not UTF-8".into() })?
        .to_string();
    let nlen = c.u8("codec length")? as usize;
    let codec = std::str::from_utf8(c.take(nlen, "codec")?)
        .map_err(|_| FormatError { at: c.pos, detail: "codec name is not UTF-8".into() })?
        .to_string();
    let slen = c.u32("config length")? as usize;
    let config_aad_len = c.pos;
    let sealed_config = c.take(slen, "sealed codec config")?.to_vec();
    if c.pos + 4 != header_len || slen < TAG_LEN {
        return bad(c.pos, "header fields do not add up to the header length");
    }
    Ok(ParsedHeader {
        header: SegmentHeader { store_id, segment_id, kek_day, created, prev_hash, wrapped_dek, camera },
        codec,
        header_len,
        version: u16::from_le_bytes(bytes[8..10].try_into().unwrap()),
        config_aad_len,
        sealed_config,
    })
}

impl ParsedHeader {
    /// Opens the sealed codec config; `bytes` are the raw header bytes it was
    /// parsed from (their prefix is the AAD). `None` means the key is wrong or
    /// the header was altered.
    pub fn open_config(&self, bytes: &[u8], cipher: &RecordCipher) -> Option<CodecConfig> {
        let nonce = crypto::structured_nonce(NonceDomain::CodecConfig, 0);
        let plain = cipher.open(&nonce, &bytes[..self.config_aad_len], &self.sealed_config)?;
        CodecConfig::decode(&self.codec, &plain).ok()
    }
}

// ---------------------------------------------------------------- frame records

/// Everything the store keeps about a frame besides its bytes. It is stored in
/// the clear (timestamps are catalog metadata anyway) and authenticated as AAD.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameMeta {
    pub seq: u64,
    /// Wall-clock presentation time, UTC ns.
    pub ts: Timestamp,
    /// Source presentation / decode timestamps and duration, in the segment's time base.
    pub pts: Option<i64>,
    pub dts: Option<i64>,
    pub duration: Option<i64>,
    pub keyframe: bool,
}

impl FrameMeta {
    /// The record's flags byte (FORMAT.md 2.2).
    pub fn flags(&self) -> u8 {
        let mut flags = 0u8;
        if self.keyframe {
            flags |= FLAG_KEYFRAME;
        }
        if self.pts.is_some() {
            flags |= FLAG_HAS_PTS;
        }
        if self.dts.is_some() {
            flags |= FLAG_HAS_DTS;
        }
        if self.duration.is_some() {
            flags |= FLAG_HAS_DURATION;
        }
        flags
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(KIND_FRAME);
        out.push(self.flags());
        out.extend_from_slice(&[0u8; 6]);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.ts.0.to_le_bytes());
        out.extend_from_slice(&self.pts.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.dts.unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.duration.unwrap_or(0).to_le_bytes());
    }

    fn decode(body: &[u8]) -> Result<FrameMeta, FormatError> {
        let mut c = Cursor::new(body);
        let _kind = c.u8("kind")?;
        let flags = c.u8("flags")?;
        if flags & !0x0F != 0 {
            return bad(1, format!("unknown frame flags {flags:#04x}"));
        }
        c.take(6, "reserved")?;
        let seq = c.u64("sequence")?;
        let ts = Timestamp(c.i64("timestamp")?);
        let pts = c.i64("pts")?;
        let dts = c.i64("dts")?;
        let duration = c.i64("duration")?;
        Ok(FrameMeta {
            seq,
            ts,
            pts: (flags & FLAG_HAS_PTS != 0).then_some(pts),
            dts: (flags & FLAG_HAS_DTS != 0).then_some(dts),
            duration: (flags & FLAG_HAS_DURATION != 0).then_some(duration),
            keyframe: flags & FLAG_KEYFRAME != 0,
        })
    }
}

fn record_aad(binding: &[u8; 32], meta_bytes: &[u8]) -> [u8; 32 + FRAME_META_LEN] {
    let mut aad = [0u8; 32 + FRAME_META_LEN];
    aad[..32].copy_from_slice(binding);
    aad[32..].copy_from_slice(meta_bytes);
    aad
}

/// Appends one sealed frame record to `out` and returns its encoded length.
pub fn encode_frame_record(
    meta: &FrameMeta,
    payload: &[u8],
    cipher: &RecordCipher,
    binding: &[u8; 32],
    out: &mut Vec<u8>,
) -> usize {
    let start = out.len();
    let body_len = FRAME_META_LEN + payload.len() + TAG_LEN;
    out.reserve(RECORD_PREFIX_LEN + body_len);
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&[0u8; 4]); // crc, filled below
    let body_start = out.len();
    meta.encode_into(out);
    let aad = record_aad(binding, &out[body_start..body_start + FRAME_META_LEN]);
    let payload_start = out.len();
    out.extend_from_slice(payload);
    let nonce = crypto::structured_nonce(NonceDomain::FrameRecord, meta.seq);
    cipher.seal_tail(&nonce, &aad, out, payload_start);
    let crc = crc32c::crc32c(&out[body_start..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    out.len() - start
}

/// The 8-byte record prefix: body length and its CRC32C.
/// Where a record may start after `offset` when the 8 bytes there are zero:
/// `Some(Some(end of the padding))` if `offset` is inside a block (the
/// writer padded to commit), `Some(None)` if it is on a boundary (no record
/// was ever written there: the end of the records), `None` when the bytes
/// are not zero. Format version 2 and later.
pub fn skip_padding(prefix: &[u8; RECORD_PREFIX_LEN], offset: u64, version: u16) -> Option<Option<u64>> {
    if version < 2 || prefix.iter().any(|&b| b != 0) {
        return None;
    }
    Some((offset % BLOCK != 0).then(|| padding_end(offset)))
}

/// Padding that starts at an unaligned `offset` runs to the first block
/// boundary at least 8 bytes on, so it always holds a whole zero record
/// prefix and can never be mistaken for the start of a record.
fn padding_end(offset: u64) -> u64 {
    (offset + RECORD_PREFIX_LEN as u64).next_multiple_of(BLOCK)
}

/// Zero bytes that end a stream of `len` bytes at a commit point.
pub fn padding_after(len: u64) -> usize {
    if len % BLOCK == 0 {
        0
    } else {
        (padding_end(len) - len) as usize
    }
}

pub fn parse_record_prefix(prefix: &[u8; RECORD_PREFIX_LEN]) -> Result<(usize, u32), FormatError> {
    let len = u32::from_le_bytes(prefix[..4].try_into().unwrap()) as usize;
    let crc = u32::from_le_bytes(prefix[4..].try_into().unwrap());
    if len == 0 || len > MAX_RECORD_BODY {
        return bad(0, format!("implausible record length {len}"));
    }
    Ok((len, crc))
}

/// A record body that passed its CRC.
pub enum RecordBody<'a> {
    Frame {
        meta: FrameMeta,
        sealed: &'a [u8],
        meta_bytes: &'a [u8],
    },
    Footer,
    /// A frame table (format 4): like the footer, it follows the last record.
    FrameTable,
}

pub fn parse_record_body(body: &[u8], crc: u32) -> Result<RecordBody<'_>, FormatError> {
    if crc32c::crc32c(body) != crc {
        return bad(0, "record checksum mismatch");
    }
    match body.first() {
        Some(&KIND_FRAME) => {
            if body.len() < FRAME_META_LEN + TAG_LEN {
                return bad(0, "frame record shorter than its fixed fields");
            }
            let meta = FrameMeta::decode(&body[..FRAME_META_LEN])?;
            Ok(RecordBody::Frame {
                meta,
                sealed: &body[FRAME_META_LEN..],
                meta_bytes: &body[..FRAME_META_LEN],
            })
        }
        Some(&KIND_FOOTER) => Ok(RecordBody::Footer),
        Some(&KIND_FRAME_TABLE) => Ok(RecordBody::FrameTable),
        Some(k) => bad(0, format!("unknown record kind {k}")),
        None => bad(0, "empty record"),
    }
}

/// The clear metadata at the start of a frame record's body, without the
/// rest of the body: no checksum covers it alone and it is authenticated only
/// when the payload is decrypted (it is the payload's AAD), so what is built
/// from it must be checked against the decrypted frame before it is served.
/// Returns the metadata and the payload's length.
pub fn parse_frame_meta_only(head: &[u8], body_len: usize) -> Result<(FrameMeta, usize), FormatError> {
    if body_len < FRAME_META_LEN + TAG_LEN || head.len() < FRAME_META_LEN {
        return bad(0, "frame record shorter than its fixed fields");
    }
    match head[0] {
        KIND_FRAME => Ok((FrameMeta::decode(&head[..FRAME_META_LEN])?, body_len - FRAME_META_LEN - TAG_LEN)),
        KIND_FOOTER => bad(0, "unexpected footer inside the records"),
        KIND_FRAME_TABLE => bad(0, "unexpected frame table inside the records"),
        k => bad(0, format!("unknown record kind {k}")),
    }
}

/// Decrypts a frame's payload; `None` when authentication fails.
pub fn open_frame_payload(
    meta_bytes: &[u8],
    seq: u64,
    sealed: &[u8],
    cipher: &RecordCipher,
    binding: &[u8; 32],
) -> Option<Vec<u8>> {
    let aad = record_aad(binding, meta_bytes);
    cipher.open(&crypto::structured_nonce(NonceDomain::FrameRecord, seq), &aad, sealed)
}

// ---------------------------------------------------------------- footer

/// One keyframe in the index: where decoding can start.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    pub ts: Timestamp,
    pub pts: i64,
    pub offset: u64,
    pub seq: u64,
}

/// A stretch inside a segment with no frames (the source paused).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Where the frame table lies and what it hashes to, as the footer says
/// (the table's own bytes: frame_table.rs).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FrameTableRef {
    /// Length in bytes of the table record (prefix and body); it starts at
    /// the footer's `records_end`.
    pub len: u64,
    /// SHA-256 of the table record's bytes.
    pub hash: [u8; 32],
}

/// What a sealed segment says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentSummary {
    pub frame_count: u64,
    /// Wall-clock time of the first keyframe.
    pub start_ts: Timestamp,
    /// Largest frame timestamp.
    pub max_ts: Timestamp,
    /// End of the last frame (`max ts + duration` where durations are known).
    pub end_ts: Timestamp,
    /// Offset of the footer record = length of the hashed content.
    pub records_end: u64,
    /// SHA-256 of every byte before the footer.
    pub content_hash: [u8; 32],
    pub keyframes: Vec<IndexEntry>,
    pub gaps: Vec<Gap>,
    /// The frame table between the records and the footer (format 4 on).
    pub frame_table: Option<FrameTableRef>,
}

impl SegmentSummary {
    /// Where the footer record starts: after the records, and after the
    /// frame table when there is one.
    pub fn footer_offset(&self) -> u64 {
        self.records_end.saturating_add(self.frame_table.map_or(0, |t| t.len))
    }
}

/// Encodes the footer record (prefix + body) followed by the trailer.
pub fn encode_footer(s: &SegmentSummary, cipher: &RecordCipher, binding: &[u8; 32]) -> Vec<u8> {
    let mut index = Vec::with_capacity(s.keyframes.len() * INDEX_ENTRY_LEN + s.gaps.len() * GAP_ENTRY_LEN);
    for k in &s.keyframes {
        index.extend_from_slice(&k.ts.0.to_le_bytes());
        index.extend_from_slice(&k.pts.to_le_bytes());
        index.extend_from_slice(&k.offset.to_le_bytes());
        index.extend_from_slice(&k.seq.to_le_bytes());
    }
    for g in &s.gaps {
        index.extend_from_slice(&g.start.0.to_le_bytes());
        index.extend_from_slice(&g.end.0.to_le_bytes());
    }
    let compressed = zstd::bulk::compress(&index, 3).expect("zstd compression of an in-memory buffer");

    let mut body = Vec::with_capacity(FOOTER_FIXED_LEN + compressed.len() + TAG_LEN);
    body.push(KIND_FOOTER);
    body.push(FOOTER_NONCE_DERIVED);
    body.push(if s.frame_table.is_some() { FOOTER_HAS_FRAME_TABLE } else { 0 });
    body.extend_from_slice(&[0u8; 5]);
    body.extend_from_slice(&s.frame_count.to_le_bytes());
    body.extend_from_slice(&s.start_ts.0.to_le_bytes());
    body.extend_from_slice(&s.max_ts.0.to_le_bytes());
    body.extend_from_slice(&s.end_ts.0.to_le_bytes());
    body.extend_from_slice(&s.records_end.to_le_bytes());
    body.extend_from_slice(&s.content_hash);
    body.extend_from_slice(&(s.keyframes.len() as u32).to_le_bytes());
    body.extend_from_slice(&(s.gaps.len() as u32).to_le_bytes());
    body.extend_from_slice(&(compressed.len() as u32).to_le_bytes());
    body.extend_from_slice(&0u32.to_le_bytes());
    debug_assert_eq!(body.len(), FOOTER_FIXED_LEN);
    body.extend_from_slice(&compressed);
    if let Some(table) = &s.frame_table {
        body.extend_from_slice(&table.len.to_le_bytes());
        body.extend_from_slice(&table.hash);
    }
    let mut aad = Vec::with_capacity(32 + body.len());
    aad.extend_from_slice(binding);
    aad.extend_from_slice(&body);
    let tag = cipher.mac(&footer_nonce(FOOTER_NONCE_DERIVED, &aad), &aad);
    body.extend_from_slice(&tag);

    let mut out = Vec::with_capacity(RECORD_PREFIX_LEN + body.len() + TRAILER_LEN);
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    out.extend_from_slice(&body);
    let footer_len = out.len() as u32;
    out.extend_from_slice(&encode_trailer(s.footer_offset(), footer_len));
    out
}

pub fn encode_trailer(footer_offset: u64, footer_len: u32) -> [u8; TRAILER_LEN] {
    let mut t = [0u8; TRAILER_LEN];
    t[..8].copy_from_slice(&footer_offset.to_le_bytes());
    t[8..12].copy_from_slice(&footer_len.to_le_bytes());
    let crc = crc32c::crc32c(&t[..16]);
    t[16..20].copy_from_slice(&crc.to_le_bytes());
    t[24..].copy_from_slice(&TRAILER_MAGIC);
    t
}

/// Returns (footer offset, footer length) when `t` is a valid trailer.
pub fn parse_trailer(t: &[u8; TRAILER_LEN]) -> Result<(u64, usize), FormatError> {
    if t[24..] != TRAILER_MAGIC {
        return bad(24, "no trailer (segment not sealed)");
    }
    let crc = u32::from_le_bytes(t[16..20].try_into().unwrap());
    if crc32c::crc32c(&t[..16]) != crc {
        return bad(16, "trailer checksum mismatch");
    }
    let off = u64::from_le_bytes(t[..8].try_into().unwrap());
    let len = u32::from_le_bytes(t[8..12].try_into().unwrap()) as usize;
    if !(RECORD_PREFIX_LEN + FOOTER_FIXED_LEN + TAG_LEN..=MAX_FOOTER_BODY + RECORD_PREFIX_LEN).contains(&len)
    {
        return bad(8, format!("implausible footer length {len}"));
    }
    Ok((off, len))
}

/// The nonce of a footer's tag. `aad` is what the tag covers (binding ‖
/// body before the tag). Derived: `u32` 2 ‖ the first 8 bytes of
/// SHA-256("vidvault/footer-nonce/v3" ‖ aad) as a `u64`: a nonce repeats
/// only for the same footer (same tag, nothing learned), and two different
/// footers share one with probability 2^-64.
pub fn footer_nonce(scheme: u8, aad: &[u8]) -> [u8; 12] {
    if scheme == FOOTER_NONCE_FIXED {
        return crypto::structured_nonce(NonceDomain::Footer, 0);
    }
    let mut h = Sha256::new();
    h.update(b"vidvault/footer-nonce/v3");
    h.update(aad);
    let digest = h.finalize();
    let n = u64::from_le_bytes(digest[..8].try_into().unwrap());
    crypto::structured_nonce(NonceDomain::Footer, n)
}

/// Decodes a footer record (prefix + body). When `auth` is given the GMAC is
/// checked too; fsck without a key can still check structure and CRCs.
/// Accepts either nonce scheme; `parse_footer_versioned` also holds a file
/// to the scheme its format version writes.
pub fn parse_footer(
    record: &[u8],
    auth: Option<(&RecordCipher, &[u8; 32])>,
) -> Result<SegmentSummary, FormatError> {
    parse_footer_versioned(record, OLDEST_READABLE_VERSION, auth)
}

/// `parse_footer` for a file of format `version`: from version 3 on the
/// footer must use the derived nonce (a fixed-nonce footer there is damage).
pub fn parse_footer_versioned(
    record: &[u8],
    version: u16,
    auth: Option<(&RecordCipher, &[u8; 32])>,
) -> Result<SegmentSummary, FormatError> {
    let prefix: [u8; RECORD_PREFIX_LEN] = record
        .get(..RECORD_PREFIX_LEN)
        .ok_or(FormatError { at: 0, detail: "truncated footer".into() })?
        .try_into()
        .unwrap();
    let (len, crc) = parse_record_prefix(&prefix)?;
    let body = record
        .get(RECORD_PREFIX_LEN..RECORD_PREFIX_LEN + len)
        .ok_or(FormatError { at: RECORD_PREFIX_LEN, detail: "truncated footer body".into() })?;
    if crc32c::crc32c(body) != crc {
        return bad(RECORD_PREFIX_LEN, "footer checksum mismatch");
    }
    if body.len() < FOOTER_FIXED_LEN + TAG_LEN || body[0] != KIND_FOOTER {
        return bad(RECORD_PREFIX_LEN, "not a footer record");
    }
    let (signed, tag) = body.split_at(body.len() - TAG_LEN);
    let scheme = body[1];
    match scheme {
        FOOTER_NONCE_DERIVED => {}
        FOOTER_NONCE_FIXED if version < 3 => {}
        FOOTER_NONCE_FIXED => {
            return bad(RECORD_PREFIX_LEN + 1, format!("fixed footer nonce in a format-{version} file"))
        }
        other => return bad(RECORD_PREFIX_LEN + 1, format!("unknown footer nonce scheme {other}")),
    }
    // A format-4 footer always names its table: one without it would have
    // readers fall back to the records' unauthenticated metadata.
    let has_table = match body[2] {
        FOOTER_HAS_FRAME_TABLE => true,
        0 if version < FRAME_TABLE_VERSION => false,
        0 => return bad(RECORD_PREFIX_LEN + 2, format!("format-{version} footer without a frame table")),
        other => return bad(RECORD_PREFIX_LEN + 2, format!("unknown footer contents {other:#04x}")),
    };
    if let Some((cipher, binding)) = auth {
        let mut aad = Vec::with_capacity(32 + signed.len());
        aad.extend_from_slice(binding);
        aad.extend_from_slice(signed);
        if !cipher.verify_mac(&footer_nonce(scheme, &aad), &aad, tag) {
            return bad(RECORD_PREFIX_LEN, "footer authentication failed (altered footer or wrong key)");
        }
    }
    let mut c = Cursor::new(signed);
    c.pos = 8;
    let frame_count = c.u64("frame count")?;
    let start_ts = Timestamp(c.i64("start")?);
    let max_ts = Timestamp(c.i64("max ts")?);
    let end_ts = Timestamp(c.i64("end")?);
    let records_end = c.u64("records end")?;
    let content_hash = c.array("content hash")?;
    let kcount = c.u32("keyframe count")? as usize;
    let gcount = c.u32("gap count")? as usize;
    let zlen = c.u32("index length")? as usize;
    c.u32("reserved")?;
    let compressed = c.take(zlen, "compressed index")?;
    let frame_table = if has_table {
        Some(FrameTableRef { len: c.u64("frame table length")?, hash: c.array("frame table hash")? })
    } else {
        None
    };
    if has_table && c.pos != signed.len() {
        return bad(RECORD_PREFIX_LEN + c.pos, "trailing bytes after the footer's frame table reference");
    }
    let expect = kcount * INDEX_ENTRY_LEN + gcount * GAP_ENTRY_LEN;
    if expect > MAX_FOOTER_BODY * 8 {
        return bad(80, "implausible index size");
    }
    let index = decompress_at_most(compressed, expect).map_err(|e| FormatError {
        at: RECORD_PREFIX_LEN + FOOTER_FIXED_LEN,
        detail: format!("index does not decompress: {e}"),
    })?;
    if index.len() != expect {
        return bad(RECORD_PREFIX_LEN + FOOTER_FIXED_LEN, "index size does not match its counts");
    }
    let mut ic = Cursor::new(&index);
    let mut keyframes = Vec::with_capacity(kcount);
    for _ in 0..kcount {
        keyframes.push(IndexEntry {
            ts: Timestamp(ic.i64("index")?),
            pts: ic.i64("index")?,
            offset: ic.u64("index")?,
            seq: ic.u64("index")?,
        });
    }
    // The writer appends entries as records go out: offsets and seqs rise.
    // Seeks look entries up by offset (a binary search), so an index in any
    // other order is refused rather than searched wrongly.
    if keyframes.windows(2).any(|w| w[1].offset <= w[0].offset || w[1].seq <= w[0].seq) {
        return bad(RECORD_PREFIX_LEN + FOOTER_FIXED_LEN, "index entries are not in file order");
    }
    let mut gaps = Vec::with_capacity(gcount);
    for _ in 0..gcount {
        gaps.push(Gap { start: Timestamp(ic.i64("gap")?), end: Timestamp(ic.i64("gap")?) });
    }
    Ok(SegmentSummary {
        frame_count,
        start_ts,
        max_ts,
        end_ts,
        records_end,
        content_hash,
        keyframes,
        gaps,
        frame_table,
    })
}

/// Decompresses up to `limit + 1` bytes, growing the buffer only as output
/// arrives: counts in a damaged footer must not size an allocation.
pub(crate) fn decompress_at_most(compressed: &[u8], limit: usize) -> std::io::Result<Vec<u8>> {
    use std::cell::RefCell;
    use std::io::Read;
    use zstd::zstd_safe::DCtx;
    thread_local! {
        // Every first seek into a segment decompresses its index; setting up
        // a context (~100 KiB of tables) cost more than decompressing a
        // 5-minute segment's index, so each thread keeps one. The stream
        // decoder resets its session before use.
        static CONTEXT: RefCell<Option<DCtx<'static>>> = const { RefCell::new(None) };
    }
    CONTEXT.with(|cell| {
        let mut slot = cell.borrow_mut();
        let context = match slot.as_mut() {
            Some(context) => context,
            None => slot.insert(DCtx::try_create().ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::OutOfMemory, "no zstd decompression context")
            })?),
        };
        let mut out = Vec::new();
        zstd::stream::read::Decoder::with_context(compressed, context)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)?;
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn padding_always_holds_a_zero_prefix_and_ends_on_a_boundary() {
        for len in [1u64, 4000, 4088, 4089, 4095, 4096, 8191, 123_456] {
            let n = padding_after(len) as u64;
            assert_eq!((len + n) % BLOCK, 0, "len {len}");
            assert!(n == 0 && len % BLOCK == 0 || n >= RECORD_PREFIX_LEN as u64, "len {len}: {n}");
            if n > 0 {
                assert_eq!(skip_padding(&[0; 8], len, 2), Some(Some(len + n)));
            }
        }
        assert_eq!(skip_padding(&[0; 8], 8192, 2), Some(None), "zeros on a boundary end the records");
        assert_eq!(skip_padding(&[0; 8], 100, 1), None, "version 1 has no padding");
        assert_eq!(skip_padding(&[0, 0, 0, 0, 1, 0, 0, 0], 100, 2), None);
    }
    use proptest::prelude::*;

    fn cipher() -> RecordCipher {
        SecretKey::from_bytes([7; 32]).cipher()
    }

    fn header() -> SegmentHeader {
        SegmentHeader {
            store_id: [1; 16],
            segment_id: 42,
            kek_day: 20_000,
            created: Timestamp(1_700_000_000_000_000_000),
            prev_hash: [9; 32],
            wrapped_dek: [3; WRAPPED_KEY_LEN],
            camera: "34020000001320000001".into(),
        }
    }

    fn config() -> CodecConfig {
        CodecConfig {
            codec: "h264".into(),
            extradata: vec![1, 100, 0, 31, 0xff],
            time_base: TimeBase::new(1, 90_000).unwrap(),
            width: 1280,
            height: 720,
            params: "{\"pix_fmt\":\"yuv420p\"}".into(),
        }
    }

    #[test]
    fn header_round_trip() {
        let bytes = encode_header(&header(), &config(), &cipher());
        assert_eq!(peek_header_len(&bytes[..16]).unwrap(), bytes.len());
        let parsed = parse_header(&bytes).unwrap();
        assert_eq!(parsed.header, header());
        assert_eq!(parsed.open_config(&bytes, &cipher()).unwrap(), config());
        let wrong = SecretKey::from_bytes([8; 32]).cipher();
        assert!(parsed.open_config(&bytes, &wrong).is_none());
    }

    #[test]
    fn header_detects_every_flipped_byte() {
        let bytes = encode_header(&header(), &config(), &cipher());
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let ok = parse_header(&b).ok().and_then(|p| p.open_config(&b, &cipher()));
            assert!(ok.is_none(), "flip at {i} went unnoticed");
        }
    }

    fn summary(frames: u64) -> SegmentSummary {
        SegmentSummary {
            frame_count: frames,
            start_ts: Timestamp(1),
            max_ts: Timestamp(2),
            end_ts: Timestamp(3),
            records_end: 1000 + frames,
            content_hash: [frames as u8; 32],
            keyframes: vec![IndexEntry { ts: Timestamp(1), pts: 0, offset: 200, seq: 0 }],
            gaps: vec![],
            frame_table: None,
        }
    }

    #[test]
    fn format_4_footers_name_their_frame_table_and_older_ones_may_not() {
        let binding = [1u8; 32];
        let auth = Some((&cipher(), &binding));
        let mut with_table = summary(5);
        with_table.frame_table = Some(FrameTableRef { len: 77, hash: [6; 32] });
        let bytes = encode_footer(&with_table, &cipher(), &binding);
        let (footer, trailer) = bytes.split_at(bytes.len() - TRAILER_LEN);
        assert_eq!(parse_trailer(trailer.try_into().unwrap()).unwrap().0, with_table.records_end + 77);
        assert_eq!(parse_footer_versioned(footer, 4, auth).unwrap(), with_table);
        // A format-4 file whose footer names no table (one stripped, and the
        // tag forged or the footer of another build) is damage.
        let bytes = encode_footer(&summary(5), &cipher(), &binding);
        let footer = &bytes[..bytes.len() - TRAILER_LEN];
        assert_eq!(parse_footer_versioned(footer, 3, auth).unwrap(), summary(5));
        let err = parse_footer_versioned(footer, 4, auth).unwrap_err();
        assert!(err.detail.contains("without a frame table"), "{}", err.detail);
    }

    /// (AAD the tag covers, tag) of an encoded footer + trailer.
    fn footer_aad_and_tag(bytes: &[u8], binding: &[u8; 32]) -> (Vec<u8>, Vec<u8>) {
        let body = &bytes[RECORD_PREFIX_LEN..bytes.len() - TRAILER_LEN];
        let (signed, tag) = body.split_at(body.len() - TAG_LEN);
        ([binding.as_slice(), signed].concat(), tag.to_vec())
    }

    #[test]
    fn resealing_a_footer_with_other_content_uses_another_nonce() {
        // Recovery seals a segment again under the same data key: if both
        // tags verify under one nonce, the GMAC key falls out of the pair.
        let binding = [1u8; 32];
        let (aad1, tag1) = footer_aad_and_tag(&encode_footer(&summary(5), &cipher(), &binding), &binding);
        let (aad2, tag2) = footer_aad_and_tag(&encode_footer(&summary(4), &cipher(), &binding), &binding);
        let fixed = crypto::structured_nonce(NonceDomain::Footer, 0);
        let both_fixed =
            cipher().verify_mac(&fixed, &aad1, &tag1) && cipher().verify_mac(&fixed, &aad2, &tag2);
        assert!(!both_fixed, "two different footers of one segment share the footer nonce");
        let (n1, n2) = (footer_nonce(FOOTER_NONCE_DERIVED, &aad1), footer_nonce(FOOTER_NONCE_DERIVED, &aad2));
        assert_ne!(n1, n2);
        assert_eq!(n1[..4], 2u32.to_le_bytes(), "footer nonces stay in the footer domain");
        assert!(cipher().verify_mac(&n1, &aad1, &tag1));
    }

    #[test]
    fn fixed_nonce_footers_of_format_2_are_read_and_refused_in_format_3() {
        // A footer as format-2 builds wrote it: byte 1 zero, nonce(2, 0).
        let binding = [1u8; 32];
        let mut bytes = encode_footer(&summary(5), &cipher(), &binding);
        let body_end = bytes.len() - TRAILER_LEN;
        bytes[RECORD_PREFIX_LEN + 1] = FOOTER_NONCE_FIXED;
        let (aad, _) = footer_aad_and_tag(&bytes, &binding);
        let tag = cipher().mac(&crypto::structured_nonce(NonceDomain::Footer, 0), &aad);
        bytes[body_end - TAG_LEN..body_end].copy_from_slice(&tag);
        let crc = crc32c::crc32c(&bytes[RECORD_PREFIX_LEN..body_end]);
        bytes[4..8].copy_from_slice(&crc.to_le_bytes());
        let footer = &bytes[..body_end];
        let auth = Some((&cipher(), &binding));
        assert_eq!(parse_footer_versioned(footer, 2, auth).unwrap(), summary(5));
        assert!(parse_footer_versioned(footer, 3, auth).is_err(), "no downgrade to the fixed nonce");
        let derived = &encode_footer(&summary(5), &cipher(), &binding)[..body_end];
        assert_eq!(parse_footer_versioned(derived, 2, auth).unwrap(), summary(5), "recovery of a v2 file");
    }

    #[test]
    fn footer_counts_do_not_size_allocations() {
        // A footer claiming 2^27 keyframes over a tiny index: refused, and
        // the output buffer grows only with what actually decompresses.
        let binding = [1u8; 32];
        let mut bytes = encode_footer(&summary(5), &cipher(), &binding);
        let body_end = bytes.len() - TRAILER_LEN;
        bytes[RECORD_PREFIX_LEN + 80..RECORD_PREFIX_LEN + 84].copy_from_slice(&(1u32 << 27).to_le_bytes());
        let crc = crc32c::crc32c(&bytes[RECORD_PREFIX_LEN..body_end]);
        bytes[4..8].copy_from_slice(&crc.to_le_bytes());
        let err = parse_footer(&bytes[..body_end], None).unwrap_err();
        assert!(err.detail.contains("index size"), "{}", err.detail);
    }

    #[test]
    fn a_broken_index_leaves_nothing_behind_for_the_next_one() {
        // The thread's decompression context is reused: a stream cut short
        // or garbled must not leak into the next index decompressed.
        let index: Vec<u8> = (0..20_000u32).flat_map(|i| (i / 7).to_le_bytes()).collect();
        let packed = zstd::bulk::compress(&index, 3).unwrap();
        let mut garbled = packed.clone();
        let mid = garbled.len() / 2;
        garbled[mid] ^= 0xFF;
        for broken in [&packed[..packed.len() / 2], &garbled[..]] {
            assert_ne!(decompress_at_most(broken, index.len()).ok().as_ref(), Some(&index));
            assert_eq!(decompress_at_most(&packed, index.len()).unwrap(), index);
        }
        // Past the limit: one byte more than allowed, never the whole output.
        assert_eq!(decompress_at_most(&packed, 100).unwrap().len(), 101);
    }

    #[test]
    fn trailer_round_trip() {
        let t = encode_trailer(1234, 200);
        assert_eq!(parse_trailer(&t).unwrap(), (1234, 200));
        let mut t2 = t;
        t2[3] ^= 1;
        assert!(parse_trailer(&t2).is_err());
    }

    fn arb_meta() -> impl Strategy<Value = FrameMeta> {
        (
            any::<u64>(),
            any::<i64>(),
            any::<Option<i64>>(),
            any::<Option<i64>>(),
            any::<Option<i64>>(),
            any::<bool>(),
        )
            .prop_map(|(seq, ts, pts, dts, duration, keyframe)| FrameMeta {
                seq,
                ts: Timestamp(ts),
                pts,
                dts,
                duration,
                keyframe,
            })
    }

    proptest! {
        #[test]
        fn frame_record_round_trip(meta in arb_meta(), payload in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let binding = [5u8; 32];
            let mut out = vec![0xEE; 3]; // records append after existing bytes
            let n = encode_frame_record(&meta, &payload, &cipher(), &binding, &mut out);
            prop_assert_eq!(n, out.len() - 3);
            let rec = &out[3..];
            let (len, crc) = parse_record_prefix(rec[..8].try_into().unwrap()).unwrap();
            prop_assert_eq!(len + 8, rec.len());
            match parse_record_body(&rec[8..], crc).unwrap() {
                RecordBody::Frame { meta: m, sealed, meta_bytes } => {
                    prop_assert_eq!(m, meta);
                    let plain = open_frame_payload(meta_bytes, m.seq, sealed, &cipher(), &binding).unwrap();
                    prop_assert_eq!(plain, payload.clone());
                    // Bound to its segment: another binding fails.
                    prop_assert!(open_frame_payload(meta_bytes, m.seq, sealed, &cipher(), &[6u8; 32]).is_none());
                }
                RecordBody::Footer | RecordBody::FrameTable => prop_assert!(false, "decoded a frame as footer"),
            }
        }

        #[test]
        fn frame_record_detects_flips(meta in arb_meta(), payload in proptest::collection::vec(any::<u8>(), 1..300), pos in any::<proptest::sample::Index>()) {
            let binding = [5u8; 32];
            let mut out = Vec::new();
            encode_frame_record(&meta, &payload, &cipher(), &binding, &mut out);
            let i = pos.index(out.len());
            out[i] ^= 0x20;
            let ok = parse_record_prefix(out[..8].try_into().unwrap()).ok().and_then(|(len, crc)| {
                let body = out.get(8..8 + len)?;
                match parse_record_body(body, crc).ok()? {
                    RecordBody::Frame { meta: m, sealed, meta_bytes } => open_frame_payload(meta_bytes, m.seq, sealed, &cipher(), &binding),
                    RecordBody::Footer | RecordBody::FrameTable => None,
                }
            });
            prop_assert!(ok.is_none());
        }

        #[test]
        fn footer_round_trip(
            kf in proptest::collection::vec((any::<i64>(), any::<i64>(), 1u64..1 << 40, 1u64..1 << 20), 0..200),
            gaps in proptest::collection::vec((any::<i64>(), any::<i64>()), 0..10),
            table in any::<Option<(u32, [u8; 32])>>(),
            count in any::<u64>(), a in any::<i64>(), b in any::<i64>(), c in any::<i64>(), end in any::<u64>(),
        ) {
            let s = SegmentSummary {
                frame_count: count, start_ts: Timestamp(a), max_ts: Timestamp(b), end_ts: Timestamp(c), records_end: end,
                content_hash: [4; 32],
                // Entries in record order (offset and seq rising), as the writer makes them.
                keyframes: kf.iter().scan((0u64, 0u64), |(offset, seq), &(ts, pts, d_offset, d_seq)| {
                    *offset += d_offset;
                    *seq += d_seq;
                    Some(IndexEntry { ts: Timestamp(ts), pts, offset: *offset, seq: *seq })
                }).collect(),
                gaps: gaps.iter().map(|&(s, e)| Gap { start: Timestamp(s), end: Timestamp(e) }).collect(),
                frame_table: table.map(|(len, hash)| FrameTableRef { len: len.into(), hash }),
            };
            let binding = [1u8; 32];
            let bytes = encode_footer(&s, &cipher(), &binding);
            let (footer, trailer) = bytes.split_at(bytes.len() - TRAILER_LEN);
            let (off, len) = parse_trailer(trailer.try_into().unwrap()).unwrap();
            prop_assert_eq!(off, s.footer_offset());
            prop_assert_eq!(len, footer.len());
            prop_assert_eq!(parse_footer(footer, Some((&cipher(), &binding))).unwrap(), s.clone());
            prop_assert!(parse_footer(footer, Some((&cipher(), &[2u8; 32]))).is_err());
            // The same entries in another order are refused, not searched wrongly.
            if s.keyframes.len() >= 2 {
                let mut swapped = s.clone();
                swapped.keyframes.swap(0, 1);
                let bytes = encode_footer(&swapped, &cipher(), &binding);
                let footer = &bytes[..bytes.len() - TRAILER_LEN];
                prop_assert!(parse_footer(footer, Some((&cipher(), &binding))).is_err());
            }
        }
    }
}
