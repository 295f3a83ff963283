//! store/lock.rs: the store lock: one process writes a store at a time. `flock` is released
//! by the kernel when the holder dies, so a crashed writer never leaves a
//! stale lock behind; the holder's pid is written into the file so the error
//! can say who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};

pub struct StoreLock {
    _file: File,
    pub path: PathBuf,
}

impl StoreLock {
    pub fn acquire(store_root: &Path) -> Result<StoreLock> {
        let path = store_root.join("LOCK");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .ctx("open lock file", &path)?;
        // SAFETY: flock on a valid, owned file descriptor.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(Error::Locked { path: store_root.to_path_buf(), pid: text.trim().parse().ok() });
            }
            return Err(Error::io("lock", &path, err));
        }
        file.set_len(0).ctx("truncate lock file", &path)?;
        file.seek(SeekFrom::Start(0)).ctx("seek lock file", &path)?;
        writeln!(file, "{}", std::process::id()).ctx("write lock file", &path)?;
        Ok(StoreLock { _file: file, path })
    }
}
