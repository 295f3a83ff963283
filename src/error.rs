//! The one error type of the core. Every variant says what failed and where
//! (path, camera, segment, offset). The core does not know its front ends, so
//! messages name no CLI command and no Python call: the binding and the CLI
//! add what to do (src/py/errors.rs maps each variant onto an exception).

use std::io;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system call failed (open, write, fsync, unlink...).
    #[error("{action} {path}: {source}{hint}", hint = io_hint(source))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The master key given does not open this store's keystore.
    #[error(
        "the master key does not open the store at {path}: {detail} (it is not the key the store was \
         created with)"
    )]
    WrongKey { path: PathBuf, detail: String },

    /// Bytes on disk fail their checksum, authentication tag or structure.
    #[error(
        "corrupt data for camera {camera:?} in {path} at byte offset {offset}: {detail} (other \
         segments stay readable)"
    )]
    Corrupt { camera: String, path: PathBuf, offset: u64, detail: String },

    /// A file that holds the store's keys or its audit trail is damaged, or
    /// disagrees with what the store recorded elsewhere. Nothing was changed;
    /// `detail` says what was found and what to do.
    #[error("{path}{at}: {detail}", at = offset.map(|o| format!(" (byte offset {o})")).unwrap_or_default())]
    Damaged { path: PathBuf, offset: Option<u64>, detail: String },

    /// Another process (or another Store object in this one) holds the store lock.
    #[error(
        "the store at {path} is already open for writing by {holder}; close it there first \
         (two writers would interleave segments)",
        holder = match pid { Some(p) => format!("process {p}"), None => "another process".to_string() }
    )]
    Locked { path: PathBuf, pid: Option<u32> },

    #[error("{path} is not a vidvault store: {detail}")]
    NotAStore { path: PathBuf, detail: String },

    #[error("a vidvault store already exists at {path}")]
    StoreExists { path: PathBuf },

    #[error("the catalog {path} is missing (it can be rebuilt from the segment files)")]
    CatalogMissing { path: PathBuf },

    #[error("catalog {context}: {source}{hint}", hint = sqlite_hint(source))]
    Catalog {
        context: String,
        #[source]
        source: rusqlite::Error,
    },

    #[error("camera {0:?} is not in this store")]
    UnknownCamera(String),

    #[error("camera {0:?} already exists in this store")]
    CameraExists(String),

    #[error("camera {0:?} already has an open writer; close that writer first")]
    WriterBusy(String),

    /// The writer hit an unrecoverable I/O error (e.g. EIO from fdatasync).
    /// Following PostgreSQL's lesson, a failed fsync is never retried: the
    /// segment is abandoned and the writer refuses further appends.
    #[error(
        "writer for camera {camera:?} failed on segment {segment}: {detail}. Frames appended \
         since the last successful sync() may be lost; open a new writer to continue in a new \
         segment"
    )]
    WriterFailed { camera: String, segment: u64, detail: String },

    /// The key-encryption key for this (camera, day) was destroyed on purpose.
    #[error(
        "the key for camera {camera:?} on {day} was destroyed (crypto-shredded by retention); \
         footage of that day can no longer be decrypted by anyone"
    )]
    KeyShredded { camera: String, day: String },

    /// A session asked for something its grants do not allow (logged).
    #[error("access denied: {principal:?} may not {action} ({reason}); audit entry {audit_seq}")]
    AccessDenied { principal: String, action: String, reason: String, audit_seq: u64 },

    /// The object-storage tier could not give back a segment evicted to it
    /// (the bucket unreachable, the object altered or missing); the message
    /// names the segment, the object and what to do.
    #[error("{0}")]
    Tier(String),

    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    #[error("the store is closed")]
    Closed,
}

impl Error {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io { action, path: path.into(), source }
    }

    pub fn catalog(context: impl Into<String>, source: rusqlite::Error) -> Self {
        Error::Catalog { context: context.into(), source }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    /// The disk is full: ENOSPC or EDQUOT from the filesystem, or SQLite's
    /// SQLITE_FULL ("database or disk is full"), which is the same condition
    /// seen through a database file.
    pub fn is_disk_full(&self) -> bool {
        match self {
            Error::Io { source, .. } => {
                matches!(source.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
            }
            Error::Catalog { source, .. } => is_sqlite_full(source),
            _ => false,
        }
    }

    /// A full disk met while writing the database file at `path` becomes the
    /// same error as ENOSPC from any other file (naming that file); other
    /// errors pass through unchanged.
    pub fn full_at(self, path: &std::path::Path) -> Error {
        match self {
            Error::Catalog { source, .. } if is_sqlite_full(&source) => {
                Error::io("write database", path, io::Error::from_raw_os_error(libc::ENOSPC))
            }
            other => other,
        }
    }
}

fn is_sqlite_full(err: &rusqlite::Error) -> bool {
    matches!(err, rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::DiskFull)
}

fn sqlite_hint(err: &rusqlite::Error) -> &'static str {
    if is_sqlite_full(err) {
        " (the disk is full)"
    } else {
        ""
    }
}

fn io_hint(err: &io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => " (the disk is full)",
        Some(libc::EIO) => " (the device reported an I/O error: check the disk and its logs)",
        Some(libc::EACCES) | Some(libc::EPERM) => " (permission denied: check the store's ownership)",
        Some(libc::EROFS) => " (the filesystem is read-only)",
        _ => "",
    }
}

/// Shorthand for `map_err(|e| Error::io(action, path, e))`.
pub trait IoContext<T> {
    fn ctx(self, action: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, action: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|e| Error::io(action, path, e))
    }
}

/// Shorthand for catalog errors.
pub trait CatalogContext<T> {
    fn ctx(self, context: &str) -> Result<T>;
}

impl<T> CatalogContext<T> for rusqlite::Result<T> {
    fn ctx(self, context: &str) -> Result<T> {
        self.map_err(|e| Error::catalog(context, e))
    }
}
