//! store/tier_guard.rs: which sealed segments an object-storage tier has not
//! confirmed yet. Disk pressure spares them: with a tier set, a segment not
//! yet in the bucket may be the only copy of its footage, and only
//! retention (the footage has expired) may delete it.
//!
//! The tier itself lives in the Python package (`vidvault/tier/`): it writes
//! `tier.json` when a tier is set and a row in `tier/ledger.sqlite` for each
//! upload the bucket confirmed (docs/FORMAT.md section 8). This file only
//! reads them, and reads a ledger it cannot open as "nothing confirmed":
//! never trade the only copy for disk space on a guess.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Present when a tier is set (docs/FORMAT.md section 8).
pub const TIER_SETTINGS_FILE: &str = "tier.json";
/// Segments the bucket confirmed, one row each.
pub const TIER_LEDGER_FILE: &str = "tier/ledger.sqlite";

/// Whether a tier is set on the store at `root`.
pub(crate) fn tier_is_set(root: &Path) -> bool {
    root.join(TIER_SETTINGS_FILE).exists()
}

/// The ids among `sealed` that a tier has not confirmed in its bucket:
/// none without a tier, all of them when the ledger cannot be read.
pub(crate) fn awaiting_upload(root: &Path, sealed: impl IntoIterator<Item = u64>) -> BTreeSet<u64> {
    if !tier_is_set(root) {
        return BTreeSet::new();
    }
    let confirmed = confirmed_uploads(&root.join(TIER_LEDGER_FILE)).unwrap_or_default();
    sealed.into_iter().filter(|id| !confirmed.contains(id)).collect()
}

/// The ids of segments whose local file the tier evicted (or is evicting:
/// the ledger marks a segment remote-only before its file is unlinked).
/// Their bytes are not on this disk, so disk pressure has nothing to gain
/// from them, and deleting their rows would lose footage the bucket holds.
/// None without a tier; a ledger from before eviction (version 1) has none.
pub(crate) fn remote_only(root: &Path) -> BTreeSet<u64> {
    if !tier_is_set(root) {
        return BTreeSet::new();
    }
    ledger_ids(&root.join(TIER_LEDGER_FILE), "SELECT segment_id FROM uploads WHERE evicted_ns IS NOT NULL")
        .unwrap_or_default()
}

fn confirmed_uploads(path: &Path) -> rusqlite::Result<BTreeSet<u64>> {
    ledger_ids(path, "SELECT segment_id FROM uploads")
}

fn ledger_ids(path: &Path, query: &str) -> rusqlite::Result<BTreeSet<u64>> {
    // Without create: a missing ledger is an error (nothing confirmed).
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(Duration::from_secs(2))?;
    let mut stmt = db.prepare(query)?;
    let ids = stmt.query_map([], |row| row.get::<_, i64>(0))?;
    ids.map(|id| id.map(|id| id as u64)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_tier_nothing_awaits_and_with_one_only_confirmed_segments_are_free() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(awaiting_upload(root, [1, 2, 3]).is_empty());
        std::fs::write(root.join(TIER_SETTINGS_FILE), "{}").unwrap();
        // A tier but no readable ledger: every segment is protected.
        assert_eq!(awaiting_upload(root, [1, 2, 3]), BTreeSet::from([1, 2, 3]));
        std::fs::create_dir(root.join("tier")).unwrap();
        let db = Connection::open(root.join(TIER_LEDGER_FILE)).unwrap();
        db.execute_batch(
            "CREATE TABLE uploads (segment_id INTEGER PRIMARY KEY, object_key TEXT NOT NULL, bytes INTEGER NOT NULL,
                 sha256 TEXT NOT NULL, version_id TEXT, uploaded_ns INTEGER NOT NULL);
             INSERT INTO uploads VALUES (2, 'k', 1, 'h', NULL, 0);",
        )
        .unwrap();
        drop(db);
        assert_eq!(awaiting_upload(root, [1, 2, 3]), BTreeSet::from([1, 3]));
        // A version-1 ledger (no eviction column): nothing is remote-only.
        assert!(remote_only(root).is_empty());
    }

    #[test]
    fn evicted_segments_are_remote_only_and_still_confirmed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join(TIER_SETTINGS_FILE), "{}").unwrap();
        std::fs::create_dir(root.join("tier")).unwrap();
        let db = Connection::open(root.join(TIER_LEDGER_FILE)).unwrap();
        db.execute_batch(
            "CREATE TABLE uploads (segment_id INTEGER PRIMARY KEY, object_key TEXT NOT NULL, bytes INTEGER NOT NULL,
                 sha256 TEXT NOT NULL, version_id TEXT, uploaded_ns INTEGER NOT NULL, evicted_ns INTEGER);
             INSERT INTO uploads VALUES (2, 'k', 1, 'h', NULL, 0, NULL), (3, 'k3', 1, 'h', NULL, 0, 5);",
        )
        .unwrap();
        drop(db);
        assert_eq!(remote_only(root), BTreeSet::from([3]));
        assert_eq!(awaiting_upload(root, [1, 2, 3]), BTreeSet::from([1]));
    }
}
