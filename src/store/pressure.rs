//! store/pressure.rs: disk pressure. When free space falls under the store's threshold,
//! a tier, if set, frees what it can first (store/tier_relief.rs: its read
//! cache, then evicting uploaded segments, rows kept); then the
//! oldest footage that no hold protects and that is past its camera's
//! `min_age` is deleted first, across cameras (store/sweep.rs). When nothing more
//! may be deleted, recording goes on as long as the disk has room and the
//! store raises an alarm (`storage_status`), and writers report
//! `StorageFull` when the disk finally refuses writes. It never stops
//! recording silently: other recorders have lost days of evidence that way.

use std::path::Path;

use crate::error::{Error, Result};
use crate::store::reserve::{ensure_reserve, RESERVE_BYTES};
use crate::store::shared::Shared;
use crate::store::sweep;
use crate::store::tier_guard;
use crate::time::Timestamp;

/// Free space, the threshold, and the alarm if one is raised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageStatus {
    pub free_bytes: u64,
    pub total_bytes: u64,
    pub min_free_bytes: u64,
    pub alarm: Option<String>,
}

/// (available to unprivileged users, total) bytes of the filesystem at `path`.
pub fn disk_space(path: &Path) -> Result<(u64, u64)> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| Error::invalid("path contains a NUL byte"))?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a zeroed, writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(Error::io("statvfs", path, std::io::Error::last_os_error()));
    }
    let frsize = st.f_frsize as u64;
    Ok((st.f_bavail as u64 * frsize, st.f_blocks as u64 * frsize))
}

/// The free-space floor: the configured one, else 1 GiB but at most 5% of
/// the filesystem (small filesystems would otherwise be under pressure forever).
pub fn threshold(configured: Option<u64>, total: u64) -> u64 {
    configured.unwrap_or_else(|| (1u64 << 30).min(total / 20))
}

/// Checks free space and reclaims footage if needed. Called periodically by
/// the janitor thread (store/janitor.rs), and by `Store::check_disk_pressure`.
pub(crate) fn check(shared: &Shared) -> Result<StorageStatus> {
    let (free, total) = disk_space(&shared.root)?;
    let floor = threshold(shared.options.min_free_bytes, total);
    if free >= floor {
        shared.set_alarm(None);
        return status(shared);
    }
    // A tier first: its read cache, then the local files of uploaded
    // segments (their rows stay, their footage reads from the bucket).
    // Deleting footage is for what that cannot free.
    let tier_failure = match shared.tier_relief.relieve(floor + floor / 10 - free) {
        Some(relieved) => relieved.err(),
        None if tier_guard::tier_is_set(&shared.root) => {
            // A tier is set but not connected (the store opening or closing):
            // deleting now could take uploaded segments it would evict. The
            // next check, a pressure_interval later, has it.
            shared.set_alarm(Some(format!(
                "disk space is low on {}: {free} bytes free, below the {floor} byte floor; waiting for the \
                 object-storage tier to connect before freeing space",
                shared.root.display()
            )));
            return status(shared);
        }
        None => None,
    };
    let (free, _) = disk_space(&shared.root)?;
    if free >= floor {
        shared.set_alarm(tier_failure.map(|e| evict_failed_alarm(&e, 0)));
        return status(shared);
    }
    // Free a little more than the shortfall, so one sweep lasts a while.
    let needed = floor + floor / 10 + RESERVE_BYTES - free;
    // A tier that answered evicted what it could: the rest of the uploaded
    // footage stays (delete only when the bucket could not be asked).
    let spare_uploaded = tier_guard::tier_is_set(&shared.root) && tier_failure.is_none();
    let pressure = sweep::Pressure { needed, spare_uploaded };
    let report = sweep::run(shared, Timestamp::now(), false, Some(pressure), "disk-pressure")?;
    // The reserve comes back whenever its space is free, even below the
    // floor: recording then meets a full disk with it still in place, so the
    // audit entry of a retrieval (store/shared.rs) and the next sweep can
    // still be written.
    {
        let _reserve = shared.reserve_guard();
        ensure_reserve(&shared.root)?;
    }
    let (free_after, _) = disk_space(&shared.root)?;
    if free_after < floor {
        let (held, young) = report.undeletable_bytes;
        let awaiting = report.awaiting_upload_bytes;
        let unevictable =
            if spare_uploaded { ", and the tier could evict no more of the uploaded footage" } else { "" };
        let low = format!(
            "disk space is low on {}: {free_after} bytes free, below the {floor} byte floor, and no more \
             footage may be deleted ({held} bytes are held by cases, {young} bytes are younger than their \
             camera's min_age, {awaiting} bytes wait for their upload to the object-storage tier{unevictable}). \
             Recording continues until the disk is full; add storage, release holds, shorten min_age \
             or fix the tier (vidvault tier status)",
            shared.root.display()
        );
        let deleted = report.deletions().count();
        shared.set_alarm(Some(match tier_failure {
            Some(e) => format!("{low}; {}", evict_failed_alarm(&e, deleted)),
            None => low,
        }));
    } else {
        shared.set_alarm(tier_failure.map(|e| evict_failed_alarm(&e, report.deletions().count())));
    }
    status(shared)
}

/// The alarm of a check whose tier could not evict (the bucket unreachable):
/// the sweep then deleted what the rules allow, uploaded segments included.
fn evict_failed_alarm(e: &Error, deleted: usize) -> String {
    let instead = match deleted {
        0 => "nothing was deleted".to_string(),
        n => format!(
            "it deleted {n} segments instead, the oldest footage the rules allow (uploaded segments keep \
             their object in the bucket, no longer reachable through vidvault; none waiting for its upload)"
        ),
    };
    format!(
        "disk pressure could not evict uploaded segments to the object-storage tier ({e}); {instead}. \
         Fix the tier (vidvault tier status)"
    )
}

/// The reclaim hook the facade installs in `Shared`: a writer hit a full
/// disk, so reclaim now rather than at the next periodic check. True when footage was deleted (a retry may succeed).
pub(crate) fn reclaim(shared: &Shared) -> bool {
    let before = disk_space(&shared.root).map(|(free, _)| free).unwrap_or(0);
    match check(shared) {
        Ok(status) => status.free_bytes > before,
        Err(e) => {
            shared.set_alarm(Some(format!("reclaiming disk space failed: {e}")));
            false
        }
    }
}

pub(crate) fn status(shared: &Shared) -> Result<StorageStatus> {
    let (free, total) = disk_space(&shared.root)?;
    Ok(StorageStatus {
        free_bytes: free,
        total_bytes: total,
        min_free_bytes: threshold(shared.options.min_free_bytes, total),
        alarm: shared.alarm(),
    })
}
