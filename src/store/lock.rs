//! store/lock.rs: the store lock: one process writes a store at a time.
//!
//! The lock is a `flock` on the store directory itself. A lock on a file
//! inside it (`LOCK`) is not enough: anyone who may write the directory can
//! unlink that file while it is held, and the next opener creates a fresh
//! `LOCK` and locks that inode instead, so two writers interleave segments.
//! The directory cannot be swapped for another inode under the holder's
//! open descriptor without renaming the store itself away. `flock` is
//! released by the kernel when the holder dies, so a crashed writer never
//! leaves a stale lock behind.
//!
//! `LOCK` stays, for two reasons: it carries the holder's pid so the error
//! can say who holds the store, and it is still flocked too, so a process
//! running an older version (which locks only `LOCK`) and a newer one still
//! exclude each other.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

pub struct StoreLock {
    _dir: File,
    _file: File,
    pub path: PathBuf,
}

/// Outcome of a non-blocking exclusive flock.
enum Flock {
    Taken,
    Busy,
}

fn try_flock(file: &File, what: &Path) -> Result<Flock> {
    // SAFETY: flock on a valid, owned file descriptor.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(Flock::Taken);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Ok(Flock::Busy);
    }
    Err(Error::io("lock", what, err))
}

/// The pid the holder wrote into `LOCK`, if it is there and readable.
fn holder_pid(path: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(path).ok()?.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

impl StoreLock {
    pub fn acquire(store_root: &Path) -> Result<StoreLock> {
        let path = store_root.join("LOCK");
        let locked = || Error::Locked { path: store_root.to_path_buf(), pid: holder_pid(&path) };
        let dir = File::open(store_root).ctx("open store directory", store_root)?;
        if let Flock::Busy = try_flock(&dir, store_root)? {
            return Err(locked());
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .ctx("open lock file", &path)?;
        if let Flock::Busy = try_flock(&file, &path)? {
            return Err(locked());
        }
        file.set_len(0).ctx("truncate lock file", &path)?;
        file.seek(SeekFrom::Start(0)).ctx("seek lock file", &path)?;
        writeln!(file, "{}", std::process::id()).ctx("write lock file", &path)?;
        Ok(StoreLock { _dir: dir, _file: file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlinking_lock_does_not_let_a_second_holder_in() {
        let dir = tempfile::tempdir().unwrap();
        let first = StoreLock::acquire(dir.path()).unwrap();
        std::fs::remove_file(&first.path).unwrap();
        match StoreLock::acquire(dir.path()) {
            Err(Error::Locked { .. }) => {}
            Err(e) => panic!("expected Locked, got {e}"),
            Ok(_) => panic!("a second holder got the lock after LOCK was unlinked"),
        }
        drop(first);
        StoreLock::acquire(dir.path()).expect("free again once the holder is gone");
    }
}
