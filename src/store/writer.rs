//! store/writer.rs: a camera's writer: the append path, rolling to new
//! segments, key leases, and the I/O that commits its bytes. The bytes of
//! one segment file are built by segment/writer.rs; this file decides when
//! they reach the disk.
//!
//! `append` never does I/O. It seals the frame into a record (AES-GCM, CRC,
//! SHA-256 running hash) and queues the bytes, so its latency is a few
//! microseconds whatever the disk does. Queued work (segment creation,
//! record bytes, sealing) runs in FIFO order under a separate I/O lock, either
//! from the group-commit threads (every `sync_interval`, or when the queue
//! grows past `flush_bytes`) or from the caller of `sync()`/`close()`.
//!
//! Ordering guarantees this gives:
//! - a segment's catalog row and KEK are durable before its file exists;
//! - the previous segment is sealed and durable before the next one's file
//!   is created, so the hash chain on disk never points at a torn segment;
//! - `sync()` returns only after every frame appended before it is written
//!   and fdatasynced (and the directory entry of a new file fsynced).
//!
//! A failed fsync is never retried (the kernel may have dropped the dirty
//! pages): the writer turns failed and refuses appends. Other write errors
//! (ENOSPC) leave the queued bytes in memory and are retried later, since a
//! positional write of the same bytes at the same offset is idempotent. Every
//! queued step is idempotent for the same reason: creating a segment
//! (INSERT OR IGNORE, the file recreated), sealing it (`finish` writes the
//! footer once; the current file is let go only once the catalog row says
//! sealed), so a retry after any failed step finishes the same work.

use std::collections::VecDeque;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::catalog::{SegmentRow, SegmentState};
use crate::crypto::{self, SecretKey};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;
use crate::segment::format::{self, CodecConfig, SegmentHeader, SegmentSummary, MAX_FRAME_BYTES};
use crate::segment::reader::SegmentFile;
use crate::segment::writer::{check_frame_order, check_frame_time, NewFrame, SegmentWriter, StreamPosition};
use crate::store::direct_io::StreamFile;
use crate::store::row_file::segment_rel_path;
use crate::store::shared::{lock, CommitMark, LiveWriter, Shared, CATALOG_FILE};
use crate::time::Timestamp;

/// Counters a writer exposes (for progress displays and benchmarks).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    pub frames: u64,
    pub payload_bytes: u64,
    pub segments: u64,
    pub queued_bytes: u64,
    pub current_segment: Option<u64>,
    /// Commits (write + fdatasync) done, and the latest ones' durations in µs.
    pub syncs: u64,
    pub recent_sync_us: Vec<u32>,
}

/// What a drain of the queued work does.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Drain {
    /// Write what fills whole blocks.
    Write,
    /// Write everything, the stream padded to a block boundary (a commit
    /// point: durable after the next syncfs; or a live read's view).
    Commit,
    /// Commit and fdatasync.
    Sync,
}

/// Durations of the most recent commits, for latency percentiles.
#[derive(Default)]
struct SyncTimes {
    count: u64,
    recent: VecDeque<u32>,
}

const SYNC_TIMES_KEPT: usize = 512;

enum IoOp {
    /// `lease`: the writer still holds a keystore lease on the segment's KEK
    /// (released once, after the catalog row exists; an op may be retried).
    Create {
        row: SegmentRow,
        header_bytes: Vec<u8>,
        lease: AtomicBool,
    },
    Write(Vec<u8>),
    Seal {
        id: u64,
        summary: SegmentSummary,
        footer: Vec<u8>,
    },
}

impl IoOp {
    fn len(&self) -> usize {
        match self {
            IoOp::Create { header_bytes, .. } => header_bytes.len(),
            IoOp::Write(b) => b.len(),
            IoOp::Seal { footer, .. } => footer.len(),
        }
    }
}

struct AppendState {
    config: CodecConfig,
    pending_config: Option<CodecConfig>,
    segment: Option<SegmentWriter>,
    ops: VecDeque<IoOp>,
    queued_bytes: usize,
    /// Latest frame time of this camera, across segments and writer sessions.
    camera_max_ts: Option<Timestamp>,
    /// Content hash of the camera's last sealed segment (hash chain).
    prev_hash: [u8; 32],
    failure: Option<(u64, String)>,
    closed: bool,
    stats: WriterStats,
}

struct OpenFile {
    id: u64,
    stream: StreamFile,
    synced: u64,
}

#[derive(Default)]
struct IoState {
    current: Option<OpenFile>,
    dir_to_sync: Option<PathBuf>,
}

pub struct CameraWriter {
    camera: String,
    shared: Arc<Shared>,
    me: Weak<CameraWriter>,
    state: Mutex<AppendState>,
    io: Mutex<IoState>,
    sync_times: Mutex<SyncTimes>,
    /// Frames appended since the last sync started.
    dirty: AtomicBool,
    /// A size-triggered flush is queued on the group-commit pool.
    flush_queued: AtomicBool,
    /// A periodic sync is queued on the group-commit pool.
    sync_queued: AtomicBool,
}

impl CameraWriter {
    pub(crate) fn new(
        shared: Arc<Shared>,
        camera: String,
        config: CodecConfig,
        camera_max_ts: Option<Timestamp>,
        prev_hash: [u8; 32],
    ) -> Arc<CameraWriter> {
        Arc::new_cyclic(|me| CameraWriter {
            camera,
            shared,
            me: me.clone(),
            state: Mutex::new(AppendState {
                config,
                pending_config: None,
                segment: None,
                ops: VecDeque::new(),
                queued_bytes: 0,
                camera_max_ts,
                prev_hash,
                failure: None,
                closed: false,
                stats: WriterStats::default(),
            }),
            io: Mutex::new(IoState::default()),
            sync_times: Mutex::new(SyncTimes::default()),
            dirty: AtomicBool::new(false),
            flush_queued: AtomicBool::new(false),
            sync_queued: AtomicBool::new(false),
        })
    }

    pub fn camera(&self) -> &str {
        &self.camera
    }

    pub fn stats(&self) -> WriterStats {
        let st = lock(&self.state);
        let mut s = st.stats.clone();
        s.queued_bytes = st.queued_bytes as u64;
        s.current_segment = st.segment.as_ref().map(|s| s.id());
        drop(st);
        let times = lock(&self.sync_times);
        s.syncs = times.count;
        s.recent_sync_us = times.recent.iter().copied().collect();
        s
    }

    /// Appends one access unit. Checks order, seals the record and queues it;
    /// rolls to a new segment at a keyframe when the roll policy says so.
    pub fn append(&self, frame: &NewFrame) -> Result<()> {
        if frame.data.len() > MAX_FRAME_BYTES {
            return Err(Error::invalid(format!(
                "camera {:?}: frame of {} bytes exceeds the {} byte limit",
                self.camera,
                frame.data.len(),
                MAX_FRAME_BYTES
            )));
        }
        let opts = &self.shared.options;
        check_frame_time(&self.camera, frame.ts, Timestamp::now(), opts.max_clock_skew_ns)?;
        let queued = {
            let mut st = lock(&self.state);
            st.check_usable(&self.camera)?;
            let gop_start = match st.pending_config {
                Some(_) => None,
                None => st.segment.as_ref().and_then(|s| s.keyframes().last()).map(|k| k.ts),
            };
            check_frame_order(&self.camera, frame, &StreamPosition { max_ts: st.camera_max_ts, gop_start })?;
            let roll = match &st.segment {
                None => true,
                Some(seg) => {
                    frame.keyframe
                        && (st.pending_config.is_some()
                            || frame.ts.0.saturating_sub(seg.start_ts().unwrap_or(frame.ts).0)
                                >= opts.roll_after_ns
                            || seg.len() >= opts.roll_bytes)
                }
            };
            if roll {
                self.roll(&mut st, frame.ts)?;
            }
            let st = &mut *st;
            let Some(segment) = st.segment.as_mut() else {
                return Err(st.fail(&self.camera, 0, "no open segment after rolling"));
            };
            let id = segment.id();
            let Some(buf) = tail_buffer(&mut st.ops, || self.take_buffer()) else {
                return Err(st.fail(&self.camera, id, "no record buffer"));
            };
            let before = buf.len();
            segment.append(frame, buf);
            st.queued_bytes += buf.len() - before;
            st.camera_max_ts = Some(st.camera_max_ts.map_or(frame.ts, |m| m.max(frame.ts)));
            st.stats.frames += 1;
            st.stats.payload_bytes += frame.data.len() as u64;
            st.queued_bytes
        };
        self.dirty.store(true, Ordering::Release);
        if queued >= opts.max_pending_bytes {
            // Backpressure: the disk is not keeping up; write in this thread.
            self.flush(false)?;
        } else if queued >= opts.flush_bytes && !self.flush_queued.swap(true, Ordering::AcqRel) {
            if let Some(me) = self.me.upgrade() {
                self.shared.request_flush(me);
            }
        }
        Ok(())
    }

    fn roll(&self, st: &mut AppendState, ts: Timestamp) -> Result<()> {
        if let Some(seg) = st.segment.take() {
            let id = seg.id();
            let (summary, footer) = seg.finish();
            st.prev_hash = summary.content_hash;
            st.queued_bytes += footer.len();
            st.ops.push_back(IoOp::Seal { id, summary, footer });
        }
        if let Some(cfg) = st.pending_config.take() {
            st.config = cfg;
        }
        let shared = &self.shared;
        let id = shared.allocate_segment_id();
        let day = ts.utc_day();
        let kek = shared.keystore_guard().kek_for_writing(&self.camera, day)?;
        let dek = SecretKey::random()?;
        let aad = format::dek_wrap_aad(&shared.store_id, id, &self.camera, day);
        let header = SegmentHeader {
            store_id: shared.store_id,
            segment_id: id,
            kek_day: day,
            created: Timestamp::now(),
            prev_hash: st.prev_hash,
            wrapped_dek: crypto::wrap_key(&kek, &dek, &aad)?,
            camera: self.camera.clone(),
        };
        let row = SegmentRow {
            id,
            camera: self.camera.clone(),
            path: segment_rel_path(&self.camera, day, id),
            state: SegmentState::Open,
            codec: st.config.codec.clone(),
            kek_day: day,
            start_ts: ts,
            end_ts: None,
            max_ts: None,
            frames: None,
            bytes: None,
            content_hash: None,
            prev_hash: st.prev_hash,
            created: header.created,
            sealed_at: None,
        };
        let (seg, header_bytes) =
            SegmentWriter::new(header, st.config.clone(), &dek, shared.options.gap_threshold_ns);
        st.queued_bytes += header_bytes.len();
        st.ops.push_back(IoOp::Create { row, header_bytes, lease: AtomicBool::new(true) });
        st.segment = Some(seg);
        st.stats.segments += 1;
        Ok(())
    }

    /// Starts a new segment at the next frame (which must be a keyframe)
    /// when the codec configuration changes.
    pub fn reconfigure(&self, config: CodecConfig) -> Result<()> {
        validate_config(&config)?;
        let mut st = lock(&self.state);
        st.check_usable(&self.camera)?;
        let current = st.pending_config.as_ref().unwrap_or(&st.config);
        if *current != config {
            st.pending_config = Some(config);
        }
        Ok(())
    }

    /// Makes everything appended so far durable (write + fdatasync).
    pub fn sync(&self) -> Result<()> {
        self.flush(true)
    }

    /// Writes queued bytes; with `sync`, also makes them durable.
    pub fn flush(&self, sync: bool) -> Result<()> {
        let mut io = lock(&self.io);
        let started = std::time::Instant::now();
        self.drain(&mut io, if sync { Drain::Sync } else { Drain::Write }, None)?;
        if sync {
            self.record_commit(started.elapsed());
        }
        Ok(())
    }

    fn record_commit(&self, took: std::time::Duration) {
        let mut times = lock(&self.sync_times);
        times.count += 1;
        if times.recent.len() == SYNC_TIMES_KEPT {
            times.recent.pop_front();
        }
        times.recent.push_back(took.as_micros().min(u32::MAX as u128) as u32);
    }

    fn drain(&self, io: &mut IoState, mode: Drain, live: Option<u64>) -> Result<Option<SegmentFile>> {
        let sync = mode == Drain::Sync;
        let (mut ops, live_view) = {
            let mut st = lock(&self.state);
            if let Some((segment, detail)) = &st.failure {
                return Err(self.failed(*segment, detail.clone()));
            }
            if sync {
                self.dirty.store(false, Ordering::Release);
            }
            self.flush_queued.store(false, Ordering::Release);
            st.queued_bytes = 0;
            if mode != Drain::Write {
                // A commit point ends on a block boundary (direct_io.rs): pad
                // the open segment's stream here, under the append lock, so
                // the offsets of frames appended after it stay right.
                let st = &mut *st;
                if let Some(seg) = st.segment.as_mut() {
                    if crate::segment::format::padding_after(seg.len()) > 0 {
                        if let Some(buf) = tail_buffer(&mut st.ops, Vec::new) {
                            seg.pad_to_block(buf);
                        }
                    }
                }
            }
            let view = live.and_then(|id| st.segment.as_ref().filter(|s| s.id() == id)).map(|s| {
                (
                    s.header.clone(),
                    s.header_len(),
                    s.config.clone(),
                    s.cipher().clone(),
                    *s.binding(),
                    s.summary(),
                )
            });
            (std::mem::take(&mut st.ops), view)
        };
        while let Some(op) = ops.pop_front() {
            let mut result = self.execute(io, &op);
            if result.as_ref().is_err_and(Error::is_disk_full) && self.shared.reclaim() {
                // Old footage made room: the same positional write again.
                result = self.execute(io, &op);
            }
            if let Err(e) = result {
                ops.push_front(op);
                return Err(self.on_io_error(e, ops));
            }
            if let IoOp::Write(buf) = op {
                self.recycle_buffer(buf);
            }
        }
        if sync {
            self.sync_current(io)?;
        }
        let Some((header, header_len, config, cipher, binding, summary)) = live_view else {
            return Ok(None);
        };
        let Some(cur) = io.current.as_ref().filter(|c| c.id == header.segment_id) else {
            return Err(self.internal(header.segment_id, "the live segment is not the open file"));
        };
        debug_assert_eq!(cur.stream.written(), summary.records_end);
        // Read through an ordinary handle: the writer's is write-only, direct I/O.
        let reader = File::open(&cur.stream.path).ctx("open segment", &cur.stream.path)?;
        Ok(Some(SegmentFile::live(
            cur.stream.path.clone(),
            Arc::new(reader),
            header,
            header_len,
            config,
            cipher,
            binding,
            summary,
        )))
    }

    /// A record buffer for the append path, from the store's pool of
    /// buffers the I/O path has written: reuse keeps the append path free
    /// of page faults and reallocation copies in steady state, and a shared
    /// pool (rather than a spare per camera) keeps memory per camera to the
    /// one buffer it is filling.
    fn take_buffer(&self) -> Vec<u8> {
        self.shared.buffers.take().unwrap_or_else(|| Vec::with_capacity(64 << 10))
    }

    fn recycle_buffer(&self, buf: Vec<u8>) {
        self.shared.buffers.give(buf, 2 * self.shared.options.flush_bytes);
    }

    fn execute(&self, io: &mut IoState, op: &IoOp) -> Result<()> {
        let shared = &self.shared;
        let catalog_path = shared.root.join(CATALOG_FILE);
        match op {
            IoOp::Create { row, header_bytes, lease } => {
                shared.persist_keks()?;
                shared.catalog_for_io().insert_open_segment(row).map_err(|e| e.full_at(&catalog_path))?;
                // The row now pins the KEK; the writer's lease can go.
                if lease.swap(false, Ordering::AcqRel) {
                    shared.keystore_guard().release_lease(&row.camera, row.kek_day);
                }
                let path = shared.root.join(&row.path);
                let Some(dir) = path.parent().map(|d| d.to_path_buf()) else {
                    return Err(self.internal(row.id, "the segment path has no directory"));
                };
                fsutil::create_dir_all_durable(&dir)?;
                let mut stream = StreamFile::create(&path)?;
                // The header reaches the disk with the first full block or commit.
                stream.append(header_bytes)?;
                io.current = Some(OpenFile { id: row.id, stream, synced: 0 });
                io.dir_to_sync = Some(dir);
            }
            IoOp::Write(bytes) => {
                let Some(cur) = io.current.as_mut() else {
                    return Err(self.internal(0, "records queued before their segment file exists"));
                };
                cur.stream.append(bytes)?;
            }
            IoOp::Seal { id, summary, footer } => {
                // A retried seal finds its file still current: each step
                // below is idempotent, and the file is let go only once
                // the catalog row says sealed.
                let Some(cur) = io.current.as_mut().filter(|c| c.id == *id) else {
                    return Err(self.internal(*id, "the segment to seal is not the open file"));
                };
                let sealed_bytes = cur.stream.finish(footer)?;
                self.sync_current(io)?;
                shared
                    .catalog_for_io()
                    .mark_sealed(*id, summary, sealed_bytes, Timestamp::now())
                    .map_err(|e| e.full_at(&catalog_path))?;
                io.current = None;
            }
        }
        Ok(())
    }

    /// A broken invariant of this writer: reported, the writer turned
    /// failed (its state is not trusted for more appends), never a panic.
    fn internal(&self, segment: u64, what: &str) -> Error {
        self.mark_failed(segment, format!("internal error: {what} (please report this)"))
    }

    fn sync_current(&self, io: &mut IoState) -> Result<()> {
        if let Some(cur) = io.current.as_mut() {
            if cur.synced < cur.stream.written() {
                if let Err(e) = cur.stream.sync_data() {
                    let detail = format!("fdatasync of {} failed: {e}", cur.stream.path.display());
                    return Err(self.mark_failed(cur.id, detail));
                }
                cur.synced = cur.stream.written();
            }
        }
        if let Some(dir) = io.dir_to_sync.take() {
            if let Err(e) = fsutil::fsync_dir(&dir) {
                let id = io.current.as_ref().map_or(0, |c| c.id);
                return Err(self.mark_failed(id, e.to_string()));
            }
        }
        Ok(())
    }

    fn mark_failed(&self, segment: u64, detail: String) -> Error {
        let mut st = lock(&self.state);
        st.failure.get_or_insert((segment, detail.clone()));
        self.failed(segment, detail)
    }

    fn failed(&self, segment: u64, detail: String) -> Error {
        Error::WriterFailed { camera: self.camera.clone(), segment, detail }
    }

    /// A write failed before any fsync: keep the unwritten work queued (in
    /// front of anything appended meanwhile) so a later flush retries it.
    fn on_io_error(&self, err: Error, unexecuted: VecDeque<IoOp>) -> Error {
        if matches!(err, Error::WriterFailed { .. }) {
            return err;
        }
        let mut st = lock(&self.state);
        let mut rest = std::mem::take(&mut st.ops);
        let mut ops = unexecuted;
        ops.append(&mut rest);
        st.queued_bytes = ops.iter().map(IoOp::len).sum();
        st.ops = ops;
        self.dirty.store(true, Ordering::Release);
        err
    }

    /// Seals the current segment and makes everything durable. Idempotent;
    /// after a close that failed on a full disk, closing again retries the
    /// queued work (nothing else would: the writer left the registry), and a
    /// writer that failed says so again rather than report a clean close.
    pub fn close(&self) -> Result<()> {
        {
            let mut st = lock(&self.state);
            if st.closed {
                if let Some((segment, detail)) = &st.failure {
                    return Err(self.failed(*segment, detail.clone()));
                }
                if st.ops.is_empty() {
                    return Ok(());
                }
                drop(st);
                return self.flush(true);
            }
            st.closed = true;
            if let Some(seg) = st.segment.take() {
                let id = seg.id();
                let (summary, footer) = seg.finish();
                st.prev_hash = summary.content_hash;
                st.ops.push_back(IoOp::Seal { id, summary, footer });
            }
        }
        let result = self.flush(true);
        self.shared.unregister_writer(&self.camera, self);
        result
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }
}

/// The face the store's shared state and the group commit see (store/shared.rs).
impl LiveWriter for CameraWriter {
    fn flush(&self, sync: bool) -> Result<()> {
        CameraWriter::flush(self, sync)
    }

    fn close(&self) -> Result<()> {
        CameraWriter::close(self)
    }

    fn is_closed(&self) -> bool {
        CameraWriter::is_closed(self)
    }

    fn claim_sync(&self) -> bool {
        !self.sync_queued.swap(true, Ordering::AcqRel)
    }

    fn needs_sync(&self) -> bool {
        self.dirty.load(Ordering::Acquire)
    }

    /// First half of a filesystem-wide commit (store/commit.rs): writes the
    /// queued bytes and says how far the current file now reaches.
    fn write_for_commit(&self) -> Option<CommitMark> {
        let mut io = lock(&self.io);
        // Frames appended from now on are not covered: they re-mark dirty.
        self.dirty.store(false, Ordering::Release);
        match self.drain(&mut io, Drain::Commit, None) {
            Ok(_) => io.current.as_ref().map(|c| CommitMark {
                segment: c.id,
                written: c.stream.written(),
                dir: io.dir_to_sync.clone(),
            }),
            Err(_) => {
                // Recorded in the writer; the next commit retries.
                self.dirty.store(true, Ordering::Release);
                None
            }
        }
    }

    /// Second half: a syncfs covering `mark` succeeded.
    fn mark_durable(&self, mark: CommitMark, took: std::time::Duration) {
        let mut io = lock(&self.io);
        if let Some(cur) = io.current.as_mut().filter(|c| c.id == mark.segment) {
            cur.synced = cur.synced.max(mark.written);
        }
        if mark.dir.is_some() && io.dir_to_sync == mark.dir {
            io.dir_to_sync = None; // syncfs persisted the new directory entry too
        }
        drop(io);
        self.record_commit(took);
    }

    /// Group-commit entry point: errors stay recorded in the writer and are
    /// reported to the next caller of append/sync/close.
    fn background_flush(&self, sync: bool) {
        let _ = self.flush(sync);
        if sync {
            self.sync_queued.store(false, Ordering::Release);
        }
    }

    /// Writes queued bytes and, for `live == Some(id)`, returns a readable
    /// view of segment `id` if it is the one being appended to: the view is
    /// taken atomically with the queue, so it covers exactly what was written.
    fn live_segment(&self, id: u64) -> Result<Option<SegmentFile>> {
        let mut io = lock(&self.io);
        self.drain(&mut io, Drain::Commit, Some(id))
    }
}

/// The write op at the back of the queue, added (from `make`) if the back is
/// another kind of op.
fn tail_buffer(ops: &mut VecDeque<IoOp>, make: impl FnOnce() -> Vec<u8>) -> Option<&mut Vec<u8>> {
    if !matches!(ops.back(), Some(IoOp::Write(_))) {
        ops.push_back(IoOp::Write(make()));
    }
    match ops.back_mut() {
        Some(IoOp::Write(buf)) => Some(buf),
        _ => None,
    }
}

impl AppendState {
    /// `CameraWriter::internal` for code that holds the append lock.
    fn fail(&mut self, camera: &str, segment: u64, what: &str) -> Error {
        let detail = format!("internal error: {what} (please report this)");
        self.failure.get_or_insert((segment, detail.clone()));
        Error::WriterFailed { camera: camera.to_string(), segment, detail }
    }

    fn check_usable(&self, camera: &str) -> Result<()> {
        if self.closed {
            return Err(Error::invalid(format!("the writer for camera {camera:?} is closed")));
        }
        if let Some((segment, detail)) = &self.failure {
            return Err(Error::WriterFailed {
                camera: camera.to_string(),
                segment: *segment,
                detail: detail.clone(),
            });
        }
        Ok(())
    }
}

/// Checks a codec configuration a caller hands in.
pub fn validate_config(config: &CodecConfig) -> Result<()> {
    let c = &config.codec;
    if c.is_empty() || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(Error::invalid(format!(
            "codec {c:?} is not an FFmpeg codec name (e.g. \"h264\", \"hevc\")"
        )));
    }
    if config.extradata.len() > 1 << 20 {
        return Err(Error::invalid(format!(
            "codec extradata of {} bytes exceeds 1 MiB",
            config.extradata.len()
        )));
    }
    if config.params.len() > 1 << 16 {
        return Err(Error::invalid("codec params exceed 64 KiB"));
    }
    Ok(())
}
