//! store/reserve.rs: a preallocated file whose space is given back the moment the disk fills.
//! Deleting footage needs a little space itself (the tombstone journal, the
//! catalog's WAL), and so does the audit entry that every retrieval writes
//! before it reads: a completely full disk would otherwise deadlock the very
//! sweep that frees it, and lock an operator out of footage that is already
//! on disk. Disk pressure (store/pressure.rs) re-creates it once there is room.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::error::{Error, IoContext, Result};
use crate::faults::{self, Op};
use crate::fsutil;

pub const RESERVE_FILE: &str = "reserve.bin";
pub const RESERVE_BYTES: u64 = 4 << 20;

/// Creates the reserve if it is missing and there is room for it.
pub(crate) fn ensure_reserve(root: &Path) -> Result<()> {
    let path = root.join(RESERVE_FILE);
    if path.metadata().is_ok_and(|m| m.len() == RESERVE_BYTES) {
        return Ok(());
    }
    let open = || OpenOptions::new().write(true).create(true).truncate(true).open(&path);
    let f = faults::check(Op::Write).and_then(|()| open()).ctx("create", &path)?;
    let rc = match faults::check(Op::Write) {
        Err(e) => e.raw_os_error().unwrap_or(libc::EIO),
        // SAFETY: a valid descriptor; posix_fallocate allocates real blocks
        // (set_len would leave a sparse file that reserves nothing).
        Ok(()) => unsafe { libc::posix_fallocate(f.as_raw_fd(), 0, RESERVE_BYTES as libc::off_t) },
    };
    if rc != 0 {
        drop(f);
        let _ = std::fs::remove_file(&path);
        if rc == libc::ENOSPC {
            return Ok(()); // no room yet; a later check retries
        }
        return Err(Error::io("allocate", &path, std::io::Error::from_raw_os_error(rc)));
    }
    fsutil::fsync_file(&f, &path)?;
    fsutil::fsync_dir(root)
}

/// Gives the reserve's space back (a no-op when it is already gone).
pub(crate) fn release_reserve(root: &Path) -> Result<()> {
    fsutil::remove_file_durable(&root.join(RESERVE_FILE))
}
