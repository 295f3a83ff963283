//! store/direct_io.rs: a segment file being appended to with direct I/O (O_DIRECT): bytes go
//! from our buffers to the device without the page-cache copy, which at
//! hundreds of MB/s was the largest single CPU cost of ingest (kernel copy
//! and page-cache management) after SHA-256.
//!
//! Direct I/O writes whole, aligned blocks. The file is a stream: full
//! blocks are written as they fill, the last partial block (`tail`) waits in
//! memory until more bytes arrive, and a commit point is made block-aligned
//! by the caller padding the stream with zeros (segment format 2). A block is
//! never written twice, so acknowledged data is never rewritten in place
//! (no torn-block risk for it). `finish` writes the remainder and truncates
//! the file to the stream's exact length. Filesystems without O_DIRECT
//! (tmpfs) get ordinary buffered writes, same layout.
//!
//! Every call may fail (ENOSPC, EIO, or an injected fault: faults.rs) and be
//! retried by the caller: a failed write leaves `written` and `tail` as they
//! were (the same bytes go to the same offset again), and `finish` writes
//! its bytes once however often it is called.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::faults::{self, Op};
use crate::segment::format::BLOCK;

/// A zero-initialised, block-aligned byte buffer (O_DIRECT needs the memory
/// address aligned too, which `Vec<u8>` does not promise).
struct AlignedBuf {
    ptr: *mut u8,
    cap: usize,
}

impl AlignedBuf {
    const fn empty() -> AlignedBuf {
        AlignedBuf { ptr: std::ptr::null_mut(), cap: 0 }
    }

    /// The layout of a `cap`-byte buffer; None when `cap` cannot be one
    /// (only for sizes near isize::MAX, which no frame reaches).
    fn layout(cap: usize) -> Option<Layout> {
        Layout::from_size_align(cap, BLOCK as usize).ok()
    }

    /// A slice of `len` bytes (a multiple of BLOCK), growing the buffer if
    /// needed; an allocation failure is an error (ENOMEM), not an abort.
    fn slice(&mut self, len: usize) -> std::io::Result<&mut [u8]> {
        if len > self.cap {
            self.release();
            let cap = len.checked_next_power_of_two().unwrap_or(len).max(64 << 10);
            let layout = Self::layout(cap).ok_or_else(|| std::io::Error::from_raw_os_error(libc::ENOMEM))?;
            // SAFETY: non-zero size, valid alignment; checked for null.
            let ptr = unsafe { alloc_zeroed(layout) };
            if ptr.is_null() {
                return Err(std::io::Error::from_raw_os_error(libc::ENOMEM));
            }
            self.ptr = ptr;
            self.cap = cap;
        }
        // SAFETY: ptr is valid for cap >= len bytes, initialised (zeroed or
        // written before), and uniquely borrowed through &mut self.
        Ok(unsafe { std::slice::from_raw_parts_mut(self.ptr, len) })
    }

    fn release(&mut self) {
        if let (false, Some(layout)) = (self.ptr.is_null(), Self::layout(self.cap)) {
            // SAFETY: allocated with this layout in `slice`.
            unsafe { dealloc(self.ptr, layout) };
            self.ptr = std::ptr::null_mut();
            self.cap = 0;
        }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        self.release();
    }
}

thread_local! {
    /// One staging buffer per thread that writes (I/O pool threads, callers of sync()).
    static STAGING: RefCell<AlignedBuf> = const { RefCell::new(AlignedBuf::empty()) };
}

pub struct StreamFile {
    pub path: PathBuf,
    file: File,
    direct: bool,
    /// Stream bytes on disk (block-aligned while `direct` and not finished).
    written: u64,
    /// Stream bytes after `written`, fewer than one block.
    tail: Vec<u8>,
    /// `finish` wrote its bytes (a retry only redoes the truncation).
    finished: bool,
}

impl StreamFile {
    /// Creates (or truncates) `path` for appending, with O_DIRECT where the
    /// filesystem supports it.
    pub fn create(path: &Path) -> Result<StreamFile> {
        let open = |flags: i32| {
            faults::check(Op::Write)?;
            OpenOptions::new().write(true).create(true).truncate(true).custom_flags(flags).open(path)
        };
        let (file, direct) = match open(libc::O_DIRECT) {
            Ok(f) => (f, true),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => (open(0).ctx("create segment", path)?, false),
            Err(e) => return Err(Error::io("create segment", path, e)),
        };
        Ok(StreamFile {
            path: path.to_path_buf(),
            file,
            direct,
            written: 0,
            tail: Vec::with_capacity(BLOCK as usize),
            finished: false,
        })
    }

    /// Bytes of the stream that are on disk (and readable through another
    /// file handle).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Bytes of the stream so far, on disk or not.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.written + self.tail.len() as u64
    }

    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// Appends `data`: every full block goes to disk now, the rest waits.
    pub fn append(&mut self, data: &[u8]) -> Result<()> {
        self.put(data, false)
    }

    /// Appends `data` and writes everything, truncating the file to the
    /// stream's exact length (the block padding of the last write goes).
    /// Idempotent: after a failure, calling it again with the same `data`
    /// completes the same file.
    pub fn finish(&mut self, data: &[u8]) -> Result<u64> {
        if !self.finished {
            self.put(data, true)?;
            self.finished = true;
        }
        if self.direct {
            faults::check(Op::Write)
                .and_then(|()| self.file.set_len(self.written))
                .ctx("truncate segment to its length", &self.path)?;
        }
        Ok(self.written)
    }

    fn put(&mut self, data: &[u8], all: bool) -> Result<()> {
        if self.finished {
            return Err(Error::invalid(format!(
                "segment {} was already finished; nothing may be appended to it",
                self.path.display()
            )));
        }
        if !self.direct {
            faults::check(Op::Write)
                .and_then(|()| self.file.write_all_at(data, self.written))
                .ctx("write segment", &self.path)?;
            self.written += data.len() as u64;
            return Ok(());
        }
        let total = self.tail.len() + data.len();
        let now = if all { total } else { total / BLOCK as usize * BLOCK as usize };
        if now == 0 {
            self.tail.extend_from_slice(data);
            return Ok(());
        }
        let padded = now.next_multiple_of(BLOCK as usize);
        let from_data = now - self.tail.len();
        STAGING.with(|staging| -> Result<()> {
            let mut staging = staging.borrow_mut();
            let buf = staging.slice(padded).ctx("allocate an I/O buffer for", &self.path)?;
            buf[..self.tail.len()].copy_from_slice(&self.tail);
            buf[self.tail.len()..now].copy_from_slice(&data[..from_data]);
            buf[now..].fill(0);
            faults::check(Op::Write)
                .and_then(|()| self.file.write_all_at(buf, self.written))
                .ctx("write segment", &self.path)
        })?;
        self.written += now as u64;
        self.tail.clear();
        self.tail.extend_from_slice(&data[from_data..]);
        Ok(())
    }

    pub fn sync_data(&self) -> std::io::Result<()> {
        faults::check(Op::Fsync)?;
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_reaches_disk_in_blocks_and_finishes_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let mut f = StreamFile::create(&path).unwrap();
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        f.append(&data[..100]).unwrap();
        if f.is_direct() {
            assert_eq!(f.written(), 0, "less than a block waits in memory");
        }
        f.append(&data[100..9_000]).unwrap();
        if f.is_direct() {
            assert_eq!(f.written(), 8192);
        }
        assert_eq!(f.len(), 9_000);
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(&on_disk[..f.written() as usize], &data[..f.written() as usize]);
        let end = f.finish(&data[9_000..]).unwrap();
        assert_eq!(end, 20_000);
        assert_eq!(std::fs::read(&path).unwrap(), data, "the file is the exact stream");
    }

    #[test]
    fn many_small_appends_keep_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let mut f = StreamFile::create(&path).unwrap();
        let mut all = Vec::new();
        for i in 0..500u32 {
            let chunk: Vec<u8> = (0..(i % 97 + 1)).map(|j| (i + j) as u8).collect();
            f.append(&chunk).unwrap();
            all.extend_from_slice(&chunk);
        }
        f.finish(&[]).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), all);
    }
}
