//! Durable filesystem steps. A rename or a new file is only durable once its
//! directory is fsynced; every caller that creates, renames or unlinks goes
//! through these so that rule lives in one place. Each system call passes
//! the fault-injection switch first (faults.rs), so tests can fail any of them.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::faults::{self, Op};

pub fn fsync_dir(dir: &Path) -> Result<()> {
    let f = File::open(dir).ctx("open directory", dir)?;
    faults::check(Op::Fsync).and_then(|()| f.sync_all()).ctx("fsync directory", dir)
}

/// `file.sync_all()` through the fault switch.
pub fn fsync_file(file: &File, path: &Path) -> Result<()> {
    faults::check(Op::Fsync).and_then(|()| file.sync_all()).ctx("fsync", path)
}

/// `fs::rename` through the fault switch (not durable by itself: fsync the
/// directories after).
pub fn rename(from: &Path, to: &Path) -> Result<()> {
    faults::check(Op::Rename).and_then(|()| fs::rename(from, to)).ctx("rename into place", to)
}

fn parent(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Creates `dir` and any missing parents, fsyncing each parent whose entry
/// list changed, so the new directories survive a power cut.
pub fn create_dir_all_durable(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut cur = dir;
    while !cur.exists() {
        missing.push(cur.to_path_buf());
        cur = parent(cur);
    }
    for d in missing.iter().rev() {
        match faults::check(Op::Write).and_then(|()| fs::create_dir(d)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("create directory", d, e)),
        }
        fsync_dir(parent(d))?;
    }
    Ok(())
}

/// Makes directory `dir` reachable by its owner only (mode 0700).
pub fn restrict_to_owner(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| Error::io("restrict", dir, e))
}

/// Replaces `path` with `bytes` atomically: readers and crashes see the old
/// content or the new one, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = tmp_path(path);
    {
        let open = || OpenOptions::new().write(true).create(true).truncate(true).open(&tmp);
        let mut f = faults::check(Op::Write).and_then(|()| open()).ctx("create", &tmp)?;
        faults::check(Op::Write).and_then(|()| f.write_all(bytes)).ctx("write", &tmp)?;
        fsync_file(&f, &tmp)?;
    }
    rename(&tmp, path)?;
    fsync_dir(parent(path))
}

/// The temporary name `write_atomic` uses; stale ones are removed on open.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Removes a file and makes the removal durable.
pub fn remove_file_durable(path: &Path) -> Result<()> {
    match faults::check(Op::Remove).and_then(|()| fs::remove_file(path)) {
        Ok(()) => fsync_dir(parent(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", path, e)),
    }
}

/// Moves a damaged file aside (never deletes evidence) and makes it durable.
pub fn quarantine(root: &Path, path: &Path) -> Result<PathBuf> {
    let qdir = root.join("quarantine");
    create_dir_all_durable(&qdir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy().to_string();
    let mut target = qdir.join(&name);
    let mut n = 1;
    while target.exists() {
        target = qdir.join(format!("{name}.{n}"));
        n += 1;
    }
    faults::check(Op::Rename).and_then(|()| fs::rename(path, &target)).ctx("move to quarantine", path)?;
    fsync_dir(parent(path))?;
    fsync_dir(&qdir)?;
    Ok(target)
}

/// Raises this process's soft limit on open files to its hard limit. A store
/// keeps a file open per camera being written plus cached segments for
/// reading, so 1,000 cameras need more than the common default soft limit
/// of 1,024; the hard limit is what the administrator allows. Failure leaves
/// the limit as it was (opening files then fails with EMFILE, reported with
/// the file's path).
pub fn raise_open_files_limit() {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
