//! segment/frame_table.rs: the frame table of a sealed format-4 segment, in
//! bytes: one row per frame record (its clear metadata, where the record
//! starts and its payload's length), so listing a segment's frames costs one
//! read of the table instead of one read per record across the whole file.
//! docs/FORMAT.md section 2.3 specifies the bytes; the footer carries the
//! table's length and SHA-256, so its tag authenticates the table.
//!
//! The table is framed like a record (length, CRC-32C, body of kind `'T'`),
//! so a scan of a file that lost its footer stops at it as at a footer.
//! Rows are varints of deltas (timestamps move by about a frame each, records
//! follow each other), compressed with zstd: a few bytes per frame.

use sha2::{Digest, Sha256};

use crate::crypto::TAG_LEN;
use crate::segment::format::{
    self, FormatError, FrameMeta, FrameTableRef, RecordBody, SegmentSummary, FLAG_HAS_DTS, FLAG_HAS_DURATION,
    FLAG_HAS_PTS, FLAG_KEYFRAME, FRAME_META_LEN, KIND_FRAME_TABLE, MAX_FRAME_BYTES, RECORD_PREFIX_LEN,
};
use crate::time::Timestamp;

/// Bytes a record takes besides its payload: prefix, clear metadata, tag.
const RECORD_OVERHEAD: u64 = (RECORD_PREFIX_LEN + FRAME_META_LEN + TAG_LEN) as u64;
/// A row is a flags byte and six varints of at most 10 bytes.
const MAX_ROW_LEN: usize = 1 + 6 * 10;
/// The table record's body starts with its kind and 7 reserved zero bytes.
const TABLE_BODY_FIXED_LEN: usize = 8;

/// One frame record as the table lists it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TableRow {
    pub meta: FrameMeta,
    /// Offset of the record's prefix from the start of the file.
    pub offset: u64,
    /// Length of the frame's payload (the access unit, without the tag).
    pub size: usize,
}

/// Collects the rows of a segment as its records are written (or scanned
/// by recovery), already in their compact form: the writer of a camera
/// keeps a few bytes per frame until the seal.
#[derive(Clone, Debug)]
pub struct FrameTableBuilder {
    rows: Vec<u8>,
    last: Delta,
}

/// The previous row's values the next row is written relative to.
#[derive(Copy, Clone, Debug)]
struct Delta {
    ts: i64,
    pts: i64,
    dts: i64,
    /// End of the previous record (the header's end before the first).
    record_end: u64,
}

impl Delta {
    fn start(header_len: u64) -> Delta {
        Delta { ts: 0, pts: 0, dts: 0, record_end: header_len }
    }
}

impl FrameTableBuilder {
    pub fn new(header_len: u64) -> FrameTableBuilder {
        FrameTableBuilder { rows: Vec::new(), last: Delta::start(header_len) }
    }

    /// Adds the record of `meta`, which starts at `offset` and is
    /// `record_len` bytes long (prefix included).
    pub fn push(&mut self, meta: &FrameMeta, offset: u64, record_len: u64) {
        let out = &mut self.rows;
        out.push(meta.flags());
        let (pts, dts) = (meta.pts.unwrap_or(0), meta.dts.unwrap_or(0));
        put_signed(out, meta.ts.0.wrapping_sub(self.last.ts));
        put_signed(out, pts.wrapping_sub(self.last.pts));
        put_signed(out, dts.wrapping_sub(self.last.dts));
        put_signed(out, meta.duration.unwrap_or(0));
        put_varint(out, record_len - RECORD_OVERHEAD);
        put_varint(out, offset - self.last.record_end);
        self.last = Delta { ts: meta.ts.0, pts, dts, record_end: offset + record_len };
    }

    /// The table record's bytes and the footer's reference to them.
    pub fn finish(&self) -> (Vec<u8>, FrameTableRef) {
        let rows = zstd::bulk::compress(&self.rows, 3).expect("zstd compression of an in-memory buffer");
        let mut body = Vec::with_capacity(TABLE_BODY_FIXED_LEN + rows.len());
        body.push(KIND_FRAME_TABLE);
        body.extend_from_slice(&[0u8; TABLE_BODY_FIXED_LEN - 1]);
        body.extend_from_slice(&rows);
        let mut record = Vec::with_capacity(RECORD_PREFIX_LEN + body.len());
        record.extend_from_slice(&(body.len() as u32).to_le_bytes());
        record.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
        record.extend_from_slice(&body);
        let table = FrameTableRef { len: record.len() as u64, hash: Sha256::digest(&record).into() };
        (record, table)
    }
}

/// Decodes the table of a segment whose footer is `summary` and whose header
/// is `header_len` bytes long. The bytes must hash to the footer's value,
/// hold exactly `frame_count` rows, place every record inside the records
/// and list exactly the keyframes of the footer's index: a table that
/// disagrees with its footer is damage, never partly believed.
pub fn decode_frame_table(
    bytes: &[u8],
    summary: &SegmentSummary,
    header_len: u64,
) -> Result<Vec<TableRow>, FormatError> {
    let Some(table) = summary.frame_table else {
        return bad(0, "the footer names no frame table");
    };
    if bytes.len() as u64 != table.len || <[u8; 32]>::from(Sha256::digest(bytes)) != table.hash {
        return bad(0, "frame table does not match its hash in the footer");
    }
    // Hashed, so written as it is: the framing is checked for the record
    // scan's sake (it ends the records there), not for trust.
    let framed =
        bytes.get(..RECORD_PREFIX_LEN).and_then(|p| format::parse_record_prefix(p.try_into().ok()?).ok());
    let framed =
        framed.filter(|&(len, _)| len == bytes.len() - RECORD_PREFIX_LEN && len >= TABLE_BODY_FIXED_LEN);
    let is_table = framed.is_some_and(|(_, crc)| {
        matches!(format::parse_record_body(&bytes[RECORD_PREFIX_LEN..], crc), Ok(RecordBody::FrameTable))
    });
    if !is_table {
        return bad(0, "frame table is not framed as a table record");
    }
    let bytes = &bytes[RECORD_PREFIX_LEN + TABLE_BODY_FIXED_LEN..];
    let count = usize::try_from(summary.frame_count).map_err(|_| err(0, "implausible frame count"))?;
    let limit = count.checked_mul(MAX_ROW_LEN).ok_or_else(|| err(0, "implausible frame count"))?;
    let plain = format::decompress_at_most(bytes, limit)
        .map_err(|e| err(0, format!("frame table does not decompress: {e}")))?;
    if plain.len() > limit {
        return bad(0, "frame table holds more rows than the footer's frame count");
    }
    let mut c = Reader { buf: &plain, pos: 0 };
    // Rows are at least 7 bytes: the data bounds the allocation, not the count.
    let mut rows = Vec::with_capacity(count.min(plain.len() / 7));
    let mut last = Delta::start(header_len);
    for seq in 0..summary.frame_count {
        let at = c.pos;
        let flags = c.byte()?;
        if flags & !0x0F != 0 {
            return bad(at, format!("frame {seq}: unknown frame flags {flags:#04x}"));
        }
        let ts = last.ts.wrapping_add(c.signed()?);
        let pts = last.pts.wrapping_add(c.signed()?);
        let dts = last.dts.wrapping_add(c.signed()?);
        let duration = c.signed()?;
        let size = c.varint()?;
        let offset = last.record_end.checked_add(c.varint()?);
        let record_end = offset.zip(size.checked_add(RECORD_OVERHEAD)).and_then(|(o, l)| o.checked_add(l));
        let (Some(offset), Some(record_end)) = (offset, record_end) else {
            return bad(at, format!("frame {seq}: record offset overflows"));
        };
        if size > MAX_FRAME_BYTES as u64 || record_end > summary.records_end {
            return bad(at, format!("frame {seq}: record runs past the end of the records"));
        }
        let meta = FrameMeta {
            seq,
            ts: Timestamp(ts),
            pts: (flags & FLAG_HAS_PTS != 0).then_some(pts),
            dts: (flags & FLAG_HAS_DTS != 0).then_some(dts),
            duration: (flags & FLAG_HAS_DURATION != 0).then_some(duration),
            keyframe: flags & FLAG_KEYFRAME != 0,
        };
        rows.push(TableRow { meta, offset, size: size as usize });
        last = Delta { ts, pts, dts, record_end };
    }
    if c.pos != plain.len() {
        return bad(c.pos, "frame table holds more rows than the footer's frame count");
    }
    check_against_index(&rows, summary)?;
    Ok(rows)
}

/// The table's keyframes must be the footer index's, entry for entry, and
/// its largest ts the footer's `max_ts`: seeks use the index, listings the
/// table, and the two must describe the same records.
fn check_against_index(rows: &[TableRow], summary: &SegmentSummary) -> Result<(), FormatError> {
    let mut keys = rows.iter().filter(|r| r.meta.keyframe);
    for entry in &summary.keyframes {
        let same = keys.next().is_some_and(|r| {
            r.meta.seq == entry.seq
                && r.meta.ts == entry.ts
                && r.offset == entry.offset
                && r.meta.pts.unwrap_or(0) == entry.pts
        });
        if !same {
            return bad(0, format!("frame table and keyframe index disagree on keyframe {}", entry.seq));
        }
    }
    if keys.next().is_some() {
        return bad(0, "frame table lists a keyframe the index does not");
    }
    let max_ts = rows.iter().map(|r| r.meta.ts).max();
    if max_ts.is_some_and(|m| m != summary.max_ts) {
        return bad(0, "frame table and footer disagree on the latest frame time");
    }
    Ok(())
}

fn err(at: usize, detail: impl Into<String>) -> FormatError {
    FormatError { at, detail: detail.into() }
}

fn bad<T>(at: usize, detail: impl Into<String>) -> Result<T, FormatError> {
    Err(err(at, detail))
}

/// LEB128: 7 bits a byte, low bits first, high bit set on all but the last.
fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Zigzag first, so small negative deltas (B-frames' pts) stay short.
fn put_signed(out: &mut Vec<u8>, v: i64) {
    put_varint(out, ((v << 1) ^ (v >> 63)) as u64);
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, FormatError> {
        let b = *self.buf.get(self.pos).ok_or_else(|| err(self.pos, "frame table ends inside a row"))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, FormatError> {
        let at = self.pos;
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7F);
            if shift == 63 && bits > 1 {
                break;
            }
            v |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        bad(at, "frame table holds a varint longer than 64 bits")
    }

    fn signed(&mut self) -> Result<i64, FormatError> {
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::format::IndexEntry;
    use proptest::prelude::*;

    /// Rows of records laid end to end after a 300-byte header, with a
    /// stretch of padding before every tenth record; the summary a writer
    /// would give them.
    fn table_of(metas: &[FrameMeta]) -> (Vec<TableRow>, SegmentSummary, Vec<u8>) {
        let mut builder = FrameTableBuilder::new(300);
        let mut rows = Vec::new();
        let mut at = 300u64;
        for (i, meta) in metas.iter().enumerate() {
            if i % 10 == 9 {
                at += 100;
            }
            let size = 1000 + i * 37 % 500;
            let record_len = size as u64 + RECORD_OVERHEAD;
            builder.push(meta, at, record_len);
            rows.push(TableRow { meta: *meta, offset: at, size });
            at += record_len;
        }
        let (bytes, table) = builder.finish();
        let keyframes = rows
            .iter()
            .filter(|r| r.meta.keyframe)
            .map(|r| IndexEntry {
                ts: r.meta.ts,
                pts: r.meta.pts.unwrap_or(0),
                offset: r.offset,
                seq: r.meta.seq,
            })
            .collect();
        let summary = SegmentSummary {
            frame_count: metas.len() as u64,
            start_ts: metas.first().map_or(Timestamp(0), |m| m.ts),
            max_ts: metas.iter().map(|m| m.ts).max().unwrap_or(Timestamp::MIN),
            end_ts: Timestamp(0),
            records_end: at,
            content_hash: [0; 32],
            keyframes,
            gaps: vec![],
            frame_table: Some(table),
        };
        (rows, summary, bytes)
    }

    fn arb_metas() -> impl Strategy<Value = Vec<FrameMeta>> {
        proptest::collection::vec(
            (any::<i64>(), any::<Option<i64>>(), any::<Option<i64>>(), any::<Option<i64>>(), any::<bool>()),
            0..300,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(seq, (ts, pts, dts, duration, keyframe))| FrameMeta {
                    seq: seq as u64,
                    ts: Timestamp(ts),
                    pts,
                    dts,
                    duration,
                    keyframe,
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn rows_round_trip(metas in arb_metas()) {
            let (rows, summary, bytes) = table_of(&metas);
            prop_assert_eq!(decode_frame_table(&bytes, &summary, 300).unwrap(), rows);
        }
    }

    fn b_frames(n: u64) -> Vec<FrameMeta> {
        // Decode order I P B B P B B ...: pts jumps ahead and back.
        (0..n)
            .map(|seq| {
                let pts = match seq % 3 {
                    0 => seq as i64,
                    1 => seq as i64 + 2,
                    _ => seq as i64 - 1,
                } * 3600;
                FrameMeta {
                    seq,
                    ts: Timestamp(1_763_700_000_000_000_000 + pts * 100_000 / 9),
                    pts: Some(pts),
                    dts: Some(seq as i64 * 3600 - 7200),
                    duration: Some(3600),
                    keyframe: seq % 50 == 0,
                }
            })
            .collect()
    }

    #[test]
    fn a_five_minute_segment_costs_a_few_bytes_a_frame() {
        let (_, summary, bytes) = table_of(&b_frames(7_500));
        assert!(bytes.len() < 7_500 * 4, "{} bytes for 7,500 frames", bytes.len());
        decode_frame_table(&bytes, &summary, 300).unwrap();
    }

    #[test]
    fn every_changed_byte_is_refused() {
        let (_, summary, bytes) = table_of(&b_frames(40));
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            assert!(decode_frame_table(&b, &summary, 300).is_err(), "flip at {i} went unnoticed");
        }
    }

    #[test]
    fn a_table_that_disagrees_with_its_footer_is_refused() {
        // Each one rehashed, as by someone who can write the footer's hash
        // but not its tag, or by a writer bug: the checks still hold.
        let (_, summary, bytes) = table_of(&b_frames(120));
        let detail = |s: &SegmentSummary| decode_frame_table(&bytes, s, 300).unwrap_err().detail;
        let mut fewer = summary.clone();
        fewer.frame_count -= 1;
        assert!(detail(&fewer).contains("more rows"), "{}", detail(&fewer));
        let mut more = summary.clone();
        more.frame_count += 1;
        assert!(detail(&more).contains("ends inside a row"), "{}", detail(&more));
        let mut moved = summary.clone();
        moved.keyframes[1].offset += 1;
        assert!(detail(&moved).contains("keyframe 50"), "{}", detail(&moved));
        let mut short = summary.clone();
        short.records_end -= 1;
        assert!(detail(&short).contains("past the end"), "{}", detail(&short));
        let mut later = summary.clone();
        later.max_ts = Timestamp(later.max_ts.0 + 1);
        assert!(detail(&later).contains("latest frame time"), "{}", detail(&later));
        // A frame count no data backs allocates nothing for it.
        let mut huge = summary.clone();
        huge.frame_count = u64::MAX / 128;
        assert!(decode_frame_table(&bytes, &huge, 300).is_err());
    }

    #[test]
    fn varints_refuse_more_than_64_bits() {
        let mut r = Reader { buf: &[0xFF; 10], pos: 0 };
        assert!(r.varint().is_err());
        let mut max = Vec::new();
        put_varint(&mut max, u64::MAX);
        assert_eq!(Reader { buf: &max, pos: 0 }.varint().unwrap(), u64::MAX);
        let mut over = max.clone();
        *over.last_mut().unwrap() = 0x02;
        assert!(Reader { buf: &over, pos: 0 }.varint().is_err());
    }
}
