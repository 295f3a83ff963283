//! segment/bytes.rs: the file a segment is read from. Usually the
//! segment's own file, read as it is. For a segment evicted to an
//! object-storage tier it can be a *partial copy*: a sparse file of the
//! object's size in the tier's read cache, which holds only the blocks
//! read so far. Before any read, `ensure` brings in the blocks the read
//! covers that the copy lacks, through the tier's ranged fetch (a ranged
//! GET whose every block the tier checks against the SHA-256 it recorded
//! at upload), and writes them into the copy. So a seek into an hour-long
//! segment fetches its header, its footer and the blocks around one
//! keyframe, not the whole object. The reader authenticates every record
//! as for any file; a block never fetched is never read.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Error, IoContext, Result};

/// The unit a partial copy is fetched, checked and held in: the tier
/// records one SHA-256 per block of this size at upload (docs/FORMAT.md,
/// the tier ledger), so a fetched block is checked before it is used.
pub const BLOCK: u64 = 1 << 20;
/// Blocks fetched ahead of a read that continues the one before it (a
/// play or an export reads on): fewer, larger GETs.
const READ_AHEAD_BLOCKS: u64 = 3;

/// `fetch(offset, len)`: the bytes `[offset, offset + len)` of the
/// segment's object, checked; `offset` is a multiple of `BLOCK`, and
/// `offset + len` one too or the object's end.
pub type FetchRange = Arc<dyn Fn(u64, u64) -> Result<Vec<u8>> + Send + Sync>;

pub struct SegmentBytes {
    file: Arc<File>,
    partial: Option<Partial>,
}

struct Partial {
    path: PathBuf,
    size: u64,
    fetch: FetchRange,
    /// Which blocks this copy holds. Kept with the open file, not on disk:
    /// a copy opened again starts empty and fetches what it reads (the
    /// bytes fetched before are the same, checked, bytes).
    present: Mutex<Vec<bool>>,
}

impl std::ops::Deref for SegmentBytes {
    type Target = File;

    fn deref(&self) -> &File {
        &self.file
    }
}

impl SegmentBytes {
    pub fn open(path: &Path) -> Result<SegmentBytes> {
        Ok(SegmentBytes::shared(Arc::new(File::open(path).ctx("open segment", path)?)))
    }

    /// A file another part of the store also holds (a live writer's).
    pub fn shared(file: Arc<File>) -> SegmentBytes {
        SegmentBytes { file, partial: None }
    }

    /// A partial copy at `path` (a sparse file of the object's full size),
    /// completed from `fetch` as it is read.
    pub fn partial(path: &Path, fetch: FetchRange) -> Result<SegmentBytes> {
        let file = OpenOptions::new().read(true).write(true).open(path).ctx("open segment copy", path)?;
        let size = file.metadata().ctx("stat segment copy", path)?.len();
        let blocks = size.div_ceil(BLOCK) as usize;
        let partial =
            Partial { path: path.to_path_buf(), size, fetch, present: Mutex::new(vec![false; blocks]) };
        Ok(SegmentBytes { file: Arc::new(file), partial: Some(partial) })
    }

    /// The fetch of a partial copy, to open the same copy again (None: a
    /// whole file).
    pub fn fetch_range(&self) -> Option<FetchRange> {
        self.partial.as_ref().map(|p| p.fetch.clone())
    }

    /// Makes `[offset, offset + len)` (clipped to the file) readable: a
    /// no-op for a whole file; for a partial copy, the missing blocks it
    /// covers are fetched and written in, contiguous ones in one fetch.
    pub fn ensure(&self, offset: u64, len: u64) -> Result<()> {
        let Some(p) = &self.partial else {
            return Ok(());
        };
        let end = offset.saturating_add(len).min(p.size);
        if offset >= end {
            return Ok(());
        }
        // Held across the fetch: readers of one copy wait for a block in
        // flight rather than fetch it twice. The tier's fetch takes the GIL,
        // so a caller must not hold the GIL while it reads (the bindings
        // release it around every read: src/py), or two readers deadlock.
        let mut present = p.present.lock().unwrap_or_else(|e| e.into_inner());
        let blocks = present.len() as u64;
        let (first, last) = (offset / BLOCK, (end - 1) / BLOCK);
        let mut b = first;
        while b <= last {
            if present[b as usize] {
                b += 1;
                continue;
            }
            let mut run_end = b;
            while run_end < last && !present[run_end as usize + 1] {
                run_end += 1;
            }
            if b > 0 && present[b as usize - 1] {
                let ahead = (run_end + READ_AHEAD_BLOCKS).min(blocks - 1);
                while run_end < ahead && !present[run_end as usize + 1] {
                    run_end += 1;
                }
            }
            let start = b * BLOCK;
            let stop = ((run_end + 1) * BLOCK).min(p.size);
            let bytes = (p.fetch)(start, stop - start)?;
            if bytes.len() as u64 != stop - start {
                return Err(Error::Tier(format!(
                    "the tier's fetch of bytes {start}..{stop} of {} returned {} bytes",
                    p.path.display(),
                    bytes.len()
                )));
            }
            self.file.write_all_at(&bytes, start).ctx("write segment copy", &p.path)?;
            for i in b..=run_end {
                present[i as usize] = true;
            }
            b = run_end + 1;
        }
        Ok(())
    }

    /// Makes the whole file readable (to scan a copy whose footer fails).
    pub fn ensure_all(&self) -> Result<()> {
        self.ensure(0, u64::MAX)
    }

    /// The last `len` bytes (the trailer and footer of a sealed segment).
    pub fn ensure_tail(&self, file_len: u64, len: u64) -> Result<()> {
        self.ensure(file_len.saturating_sub(len), len)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn source(size: usize) -> Vec<u8> {
        (0..size).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// A sparse copy of `data` and a fetch serving it, counting fetches
    /// and the bytes they brought.
    fn partial_of(dir: &Path, data: &[u8]) -> (SegmentBytes, Arc<(AtomicUsize, AtomicUsize)>) {
        let path = dir.join("copy.vvs");
        File::create(&path).unwrap().set_len(data.len() as u64).unwrap();
        let counts = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let (c, src) = (counts.clone(), data.to_vec());
        let fetch: FetchRange = Arc::new(move |offset, len| {
            assert_eq!(offset % BLOCK, 0, "fetches start at a block");
            let end = (offset + len) as usize;
            assert!(end % BLOCK as usize == 0 || end == src.len(), "fetches end at a block or the end");
            c.0.fetch_add(1, Ordering::SeqCst);
            c.1.fetch_add(len as usize, Ordering::SeqCst);
            Ok(src[offset as usize..end].to_vec())
        });
        (SegmentBytes::partial(&path, fetch).unwrap(), counts)
    }

    fn read(bytes: &SegmentBytes, offset: u64, len: usize) -> Vec<u8> {
        bytes.ensure(offset, len as u64).unwrap();
        let mut buf = vec![0u8; len];
        bytes.read_exact_at(&mut buf, offset).unwrap();
        buf
    }

    #[test]
    fn a_read_fetches_only_the_blocks_it_covers_once() {
        let dir = tempfile::tempdir().unwrap();
        let data = source(10 * BLOCK as usize + 123);
        let (bytes, counts) = partial_of(dir.path(), &data);
        let at = 5 * BLOCK + 1000;
        assert_eq!(read(&bytes, at, 5000), data[at as usize..at as usize + 5000]);
        assert_eq!(counts.1.load(Ordering::SeqCst), BLOCK as usize);
        // The same block again: nothing fetched.
        assert_eq!(read(&bytes, at + 10, 100), data[at as usize + 10..at as usize + 110]);
        assert_eq!(counts.0.load(Ordering::SeqCst), 1);
        // The short last block, and a read across two blocks in one fetch.
        let tail = data.len() as u64 - 50;
        assert_eq!(read(&bytes, tail, 50), data[tail as usize..]);
        assert_eq!(read(&bytes, 2 * BLOCK - 10, 20), data[2 * BLOCK as usize - 10..2 * BLOCK as usize + 10]);
        assert_eq!(counts.0.load(Ordering::SeqCst), 3);
        assert_eq!(counts.1.load(Ordering::SeqCst), 3 * BLOCK as usize + 123);
    }

    #[test]
    fn a_read_that_continues_the_last_one_fetches_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let data = source(12 * BLOCK as usize);
        let (bytes, counts) = partial_of(dir.path(), &data);
        read(&bytes, 0, 10);
        read(&bytes, BLOCK, 10); // block 0 held: blocks 1 to 1 + READ_AHEAD_BLOCKS in one fetch
        assert_eq!(counts.0.load(Ordering::SeqCst), 2);
        assert_eq!(counts.1.load(Ordering::SeqCst), (2 + READ_AHEAD_BLOCKS as usize) * BLOCK as usize);
        for b in 1..=1 + READ_AHEAD_BLOCKS {
            read(&bytes, b * BLOCK + 7, 10);
        }
        assert_eq!(counts.0.load(Ordering::SeqCst), 2, "the blocks read ahead are not fetched again");
        // The whole file, bit for bit.
        bytes.ensure_all().unwrap();
        let mut all = vec![0u8; data.len()];
        bytes.read_exact_at(&mut all, 0).unwrap();
        assert_eq!(all, data);
    }

    #[test]
    fn a_failed_fetch_is_the_error_and_the_block_stays_missing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("copy.vvs");
        File::create(&path).unwrap().set_len(3 * BLOCK).unwrap();
        let fail = Arc::new(AtomicUsize::new(1));
        let f = fail.clone();
        let fetch: FetchRange = Arc::new(move |_, len| {
            if f.load(Ordering::SeqCst) == 1 {
                return Err(Error::Tier("segment 7 (object 'k') does not match its upload".into()));
            }
            Ok(vec![9u8; len as usize])
        });
        let bytes = SegmentBytes::partial(&path, fetch).unwrap();
        let err = bytes.ensure(BLOCK, 10).unwrap_err();
        assert!(matches!(&err, Error::Tier(m) if m.contains("does not match its upload")), "{err:?}");
        fail.store(0, Ordering::SeqCst);
        assert_eq!(read(&bytes, BLOCK, 4), vec![9u8; 4], "fetched on the next read");
    }

    #[test]
    fn a_whole_file_is_read_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg.vvs");
        std::fs::write(&path, b"abcdef").unwrap();
        let bytes = SegmentBytes::open(&path).unwrap();
        assert!(bytes.fetch_range().is_none());
        assert_eq!(read(&bytes, 2, 3), b"cde");
    }
}
