//! segment/writer.rs: builds the bytes of one segment file in memory: seals frames into records, keeps the
//! running content hash, keyframe index, time range and gaps, and produces the
//! footer when the segment is sealed. It performs no I/O; the camera writer
//! (store/writer.rs) decides when the bytes reach the file. The rules a
//! frame must meet to be appended (`check_frame_order`) live here too.

use sha2::{Digest, Sha256};

use crate::crypto::{RecordCipher, SecretKey};
use crate::error::{Error, Result};
use crate::segment::format::{self, CodecConfig, FrameMeta, Gap, IndexEntry, SegmentHeader, SegmentSummary};
use crate::segment::frame_table::FrameTableBuilder;
use crate::time::Timestamp;

/// A frame as the caller hands it in.
#[derive(Copy, Clone, Debug)]
pub struct NewFrame<'a> {
    pub ts: Timestamp,
    pub data: &'a [u8],
    pub keyframe: bool,
    pub pts: Option<i64>,
    pub dts: Option<i64>,
    pub duration: Option<i64>,
}

/// Where a camera's stream stands, as far as the order rules care.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamPosition {
    /// Latest frame time recorded for the camera, across segments and
    /// writer sessions (None: nothing recorded yet).
    pub max_ts: Option<Timestamp>,
    /// Time of the keyframe that starts the current group of pictures; None
    /// when decoding must start afresh at a keyframe (new writer, codec
    /// change).
    pub gop_start: Option<Timestamp>,
}

/// The one check of whether `frame` may follow `at` in `camera`'s stream.
/// The rules keep seeking sound: decoding starts at a keyframe, keyframes
/// move strictly forward, and no frame is presented before its GOP's
/// keyframe. Durations may not be negative (an end before the start would
/// make a frame's time range meaningless); files written before this rule
/// may hold some, which readers count as 0.
pub fn check_frame_order(camera: &str, frame: &NewFrame, at: &StreamPosition) -> Result<()> {
    if frame.keyframe {
        if let Some(max) = at.max_ts.filter(|&m| frame.ts <= m) {
            return Err(Error::invalid(format!(
                "camera {camera:?}: keyframe at {} is not after the latest recorded frame at {max}; \
                 timestamps must increase from one group of pictures to the next",
                frame.ts
            )));
        }
    } else {
        match at.gop_start {
            None => {
                return Err(Error::invalid(format!(
                    "camera {camera:?}: the frame at {} is not a keyframe, but decoding must start at a \
                     keyframe here (new writer or codec change); skip frames until a keyframe arrives",
                    frame.ts
                )))
            }
            Some(key) if frame.ts < key => {
                return Err(Error::invalid(format!(
                    "camera {camera:?}: frame at {} is earlier than its keyframe at {key}",
                    frame.ts
                )))
            }
            Some(_) => {}
        }
    }
    if let Some(d) = frame.duration.filter(|&d| d < 0) {
        return Err(Error::invalid(format!(
            "camera {camera:?}: frame at {} has a negative duration ({d} in its time base)",
            frame.ts
        )));
    }
    Ok(())
}

/// The earliest instant a frame may carry: the Unix epoch. Earlier times
/// come from an unset or broken clock, never from a recording.
pub const EARLIEST_FRAME: Timestamp = Timestamp(0);

/// The other rule of frame time: a frame may not lie before the epoch, nor
/// further ahead of this host's clock (`now`) than `max_skew_ns`. The upper
/// bound matters because keyframes must move forward: one frame stamped in
/// the far future (e.g. 2**63-1 ns) would make every later frame of the
/// camera "earlier than the latest recorded one" and lock it out for good.
pub fn check_frame_time(camera: &str, ts: Timestamp, now: Timestamp, max_skew_ns: i64) -> Result<()> {
    if ts < EARLIEST_FRAME {
        return Err(Error::invalid(format!(
            "camera {camera:?}: frame at {ts} ({} ns) is before 1970-01-01T00:00:00Z; the camera's clock is \
             not set: fix it or time frames by arrival",
            ts.0
        )));
    }
    let latest = now.saturating_add(max_skew_ns.max(0));
    if ts > latest {
        return Err(Error::invalid(format!(
            "camera {camera:?}: frame at {ts} ({} ns) is more than {} s ahead of this host's clock ({now}); \
             recording it would refuse every later frame until that time. Fix the camera's clock (NTP), \
             time frames by arrival, or raise the store option max_clock_skew",
            ts.0,
            max_skew_ns / crate::time::NANOS_PER_SECOND
        )));
    }
    Ok(())
}

pub struct SegmentWriter {
    pub header: SegmentHeader,
    pub config: CodecConfig,
    binding: [u8; 32],
    cipher: RecordCipher,
    hasher: Sha256,
    header_len: u64,
    len: u64,
    next_seq: u64,
    keyframes: Vec<IndexEntry>,
    gaps: Vec<Gap>,
    max_ts: Timestamp,
    end_ts: Timestamp,
    gap_threshold: i64,
    /// The rows of the frame table, for files of format 4 on; a file of an
    /// older format (recovered by this build) is sealed as its format says.
    table: Option<FrameTableBuilder>,
}

impl SegmentWriter {
    /// Starts a segment; returns the writer and the header bytes to write first.
    pub fn new(
        header: SegmentHeader,
        config: CodecConfig,
        dek: &SecretKey,
        gap_threshold: i64,
    ) -> (SegmentWriter, Vec<u8>) {
        Self::new_version(header, config, dek, gap_threshold, format::FORMAT_VERSION)
    }

    /// `new` writing format `version`: tests make the files of older
    /// builds with it (older versions differ only in what the seal adds).
    pub fn new_version(
        header: SegmentHeader,
        config: CodecConfig,
        dek: &SecretKey,
        gap_threshold: i64,
        version: u16,
    ) -> (SegmentWriter, Vec<u8>) {
        let cipher = dek.cipher();
        let header_bytes = format::encode_header_version(&header, &config, &cipher, version);
        let w = SegmentWriter::resume(header, config, cipher, &header_bytes, gap_threshold);
        (w, header_bytes)
    }

    /// State for a segment whose header bytes already exist (recovery feeds
    /// the surviving records back through `account`).
    pub fn resume(
        header: SegmentHeader,
        config: CodecConfig,
        cipher: RecordCipher,
        header_bytes: &[u8],
        gap_threshold: i64,
    ) -> SegmentWriter {
        let binding = format::segment_binding(&header.store_id, header.segment_id, &header.camera);
        let mut hasher = Sha256::new();
        hasher.update(header_bytes);
        let version = u16::from_le_bytes([header_bytes[8], header_bytes[9]]);
        let header_len = header_bytes.len() as u64;
        let table = (version >= format::FRAME_TABLE_VERSION).then(|| FrameTableBuilder::new(header_len));
        SegmentWriter {
            header,
            config,
            binding,
            cipher,
            hasher,
            header_len: header_bytes.len() as u64,
            len: header_bytes.len() as u64,
            next_seq: 0,
            keyframes: Vec::new(),
            gaps: Vec::new(),
            max_ts: Timestamp::MIN,
            end_ts: Timestamp::MIN,
            gap_threshold,
            table,
        }
    }

    pub fn id(&self) -> u64 {
        self.header.segment_id
    }

    /// Bytes produced so far (header and records).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn header_len(&self) -> u64 {
        self.header_len
    }

    pub fn frame_count(&self) -> u64 {
        self.next_seq
    }

    pub fn binding(&self) -> &[u8; 32] {
        &self.binding
    }

    pub fn cipher(&self) -> &RecordCipher {
        &self.cipher
    }

    pub fn keyframes(&self) -> &[IndexEntry] {
        &self.keyframes
    }

    pub fn gaps(&self) -> &[Gap] {
        &self.gaps
    }

    /// Time of the first keyframe, once a frame was written.
    pub fn start_ts(&self) -> Option<Timestamp> {
        self.keyframes.first().map(|k| k.ts)
    }

    pub fn max_ts(&self) -> Option<Timestamp> {
        (self.next_seq > 0).then_some(self.max_ts)
    }

    pub fn end_ts(&self) -> Option<Timestamp> {
        (self.next_seq > 0).then_some(self.end_ts)
    }

    /// Seals `frame` into a record appended to `out`; call
    /// `check_frame_order` first.
    pub fn append(&mut self, frame: &NewFrame, out: &mut Vec<u8>) -> FrameMeta {
        let meta = FrameMeta {
            seq: self.next_seq,
            ts: frame.ts,
            pts: frame.pts,
            dts: frame.dts,
            duration: frame.duration,
            keyframe: frame.keyframe,
        };
        let start = out.len();
        format::encode_frame_record(&meta, frame.data, &self.cipher, &self.binding, out);
        self.account(&meta, &out[start..]);
        meta
    }

    /// Updates hash, index, time range and gaps for one record already encoded
    /// at offset `self.len()`.
    pub fn account(&mut self, meta: &FrameMeta, record: &[u8]) {
        self.hasher.update(record);
        if let Some(table) = &mut self.table {
            table.push(meta, self.len, record.len() as u64);
        }
        if meta.keyframe {
            self.keyframes.push(IndexEntry {
                ts: meta.ts,
                pts: meta.pts.unwrap_or(0),
                offset: self.len,
                seq: meta.seq,
            });
        }
        if self.next_seq > 0 && meta.ts.0.saturating_sub(self.end_ts.0) > self.gap_threshold {
            self.gaps.push(Gap { start: self.end_ts, end: meta.ts });
        }
        // Appends refuse negative durations; old files may hold some: 0.
        let dur = meta.duration.map(|d| self.config.time_base.ticks_to_nanos(d.max(0))).unwrap_or(0);
        self.max_ts = self.max_ts.max(meta.ts);
        self.end_ts = self.end_ts.max(meta.ts.saturating_add(dur));
        self.len += record.len() as u64;
        self.next_seq = meta.seq + 1;
    }

    /// Appends zero padding to `out` so the segment's bytes end on a block
    /// boundary (a commit point of the direct-I/O writer). The padding is
    /// part of the file and of its content hash. Returns the bytes added.
    pub fn pad_to_block(&mut self, out: &mut Vec<u8>) -> usize {
        let n = format::padding_after(self.len);
        if n > 0 {
            let start = out.len();
            out.resize(start + n, 0);
            self.hasher.update(&out[start..]);
            self.len += n as u64;
        }
        n
    }

    /// What the footer would say if the segment were sealed now (the frame
    /// table aside: it is made once, by `finish`).
    pub fn summary(&self) -> SegmentSummary {
        SegmentSummary {
            frame_count: self.next_seq,
            start_ts: self.start_ts().unwrap_or(Timestamp(0)),
            max_ts: self.max_ts,
            end_ts: self.end_ts,
            records_end: self.len,
            content_hash: self.hasher.clone().finalize().into(),
            keyframes: self.keyframes.clone(),
            gaps: self.gaps.clone(),
            frame_table: None,
        }
    }

    /// Accounts for padding found in a file (recovery scans).
    pub fn account_padding(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Seals the segment: its summary and the bytes that follow the records
    /// (the frame table from format 4 on, the footer and the trailer).
    pub fn finish(self) -> (SegmentSummary, Vec<u8>) {
        let mut summary = self.summary();
        let mut out = Vec::new();
        if let Some(builder) = &self.table {
            let (table, reference) = builder.finish();
            out = table;
            summary.frame_table = Some(reference);
        }
        out.extend_from_slice(&format::encode_footer(&summary, &self.cipher, &self.binding));
        (summary, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(ts: i64, keyframe: bool, duration: Option<i64>) -> NewFrame<'static> {
        NewFrame { ts: Timestamp(ts), data: b"x", keyframe, pts: None, dts: None, duration }
    }

    fn at(max_ts: Option<i64>, gop_start: Option<i64>) -> StreamPosition {
        StreamPosition { max_ts: max_ts.map(Timestamp), gop_start: gop_start.map(Timestamp) }
    }

    fn refused(f: &NewFrame, p: &StreamPosition) -> String {
        match check_frame_order("cam", f, p) {
            Err(Error::InvalidArgument(m)) => m,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn order_rules() {
        // Decoding starts at a keyframe.
        assert!(refused(&frame(10, false, None), &at(None, None)).contains("not a keyframe"));
        check_frame_order("cam", &frame(10, true, None), &at(None, None)).unwrap();
        // Keyframes move strictly forward, across segments and sessions.
        assert!(refused(&frame(10, true, None), &at(Some(10), Some(5))).contains("not after"));
        check_frame_order("cam", &frame(11, true, None), &at(Some(10), Some(5))).unwrap();
        // No frame before its GOP's keyframe; reordered frames within it are fine.
        assert!(refused(&frame(4, false, None), &at(Some(10), Some(5))).contains("earlier than"));
        check_frame_order("cam", &frame(7, false, None), &at(Some(10), Some(5))).unwrap();
    }

    #[test]
    fn frame_time_is_bounded_by_the_epoch_and_the_clock_skew() {
        let now = Timestamp(1_800_000_000 * crate::time::NANOS_PER_SECOND);
        let skew = 3_600 * crate::time::NANOS_PER_SECOND;
        check_frame_time("cam", now, now, skew).unwrap();
        check_frame_time("cam", EARLIEST_FRAME, now, skew).unwrap();
        check_frame_time("cam", now.saturating_add(skew), now, skew).unwrap();
        for bad in [Timestamp(-1), Timestamp::MIN, now.saturating_add(skew + 1), Timestamp::MAX] {
            match check_frame_time("cam", bad, now, skew) {
                Err(Error::InvalidArgument(m)) => {
                    assert!(m.contains("\"cam\"") && m.contains(&bad.0.to_string()), "{m}")
                }
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn negative_durations_are_refused_naming_camera_and_value() {
        let m = refused(&frame(11, true, Some(-1)), &at(Some(10), Some(5)));
        assert!(m.contains("\"cam\"") && m.contains("-1"), "{m}");
        check_frame_order("cam", &frame(11, true, Some(0)), &at(Some(10), Some(5))).unwrap();
    }
}
