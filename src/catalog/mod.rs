//! The catalog: a SQLite database (WAL, synchronous=FULL) mapping cameras and
//! time to segment files, plus retention settings, legal holds and the
//! tombstones of deleted segments. It is the fast path for every lookup,
//! never the only copy of the truth: each segment file describes itself and
//! camera settings and holds are mirrored in small JSON files, so the catalog
//! can be rebuilt (store/fsck.rs). Schema in docs/FORMAT.md.
//!
//! Ordering rules that keep it consistent with the files after a crash:
//! a segment row is committed before its file is created (so every file on
//! disk is known), a row moves to `sealed` only after the footer is durable,
//! and to `deleting` before its file is unlinked.

mod cameras;
mod holds;
mod retention;
mod segments;
mod totals;

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{CatalogContext, Error, Result};

pub use cameras::CameraRow;
pub use segments::{ChainTail, SegmentRow, SegmentState, Tombstone};
pub use totals::CameraTotals;

/// The catalog's file name under the store root.
pub const CATALOG_FILE: &str = "catalog.sqlite";
pub const SCHEMA_VERSION: i64 = 3;

const SCHEMA: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE retention_classes (
    name        TEXT PRIMARY KEY,
    max_age_ns  INTEGER,
    max_bytes   INTEGER,
    min_age_ns  INTEGER
);
CREATE TABLE cameras (
    id                    TEXT PRIMARY KEY,
    labels                TEXT NOT NULL DEFAULT '{}',
    created_ns            INTEGER NOT NULL,
    retention_class       TEXT,
    custom_retention      INTEGER NOT NULL DEFAULT 0,
    custom_max_age_ns     INTEGER,
    custom_max_bytes      INTEGER,
    custom_min_age_ns     INTEGER
);
CREATE TABLE segments (
    id            INTEGER PRIMARY KEY,
    camera        TEXT NOT NULL REFERENCES cameras(id),
    path          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('open', 'sealed', 'deleting')),
    codec         TEXT NOT NULL,
    kek_day       INTEGER NOT NULL,
    start_ts      INTEGER NOT NULL,
    end_ts        INTEGER,
    max_ts        INTEGER,
    frames        INTEGER,
    bytes         INTEGER,
    content_hash  BLOB,
    prev_hash     BLOB NOT NULL,
    created_ns    INTEGER NOT NULL,
    sealed_ns     INTEGER,
    delete_reason TEXT
);
CREATE INDEX segments_by_camera_time ON segments (camera, start_ts, id);
CREATE TABLE segment_gaps (
    segment_id  INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    start_ts    INTEGER NOT NULL,
    end_ts      INTEGER NOT NULL
);
CREATE INDEX segment_gaps_by_segment ON segment_gaps (segment_id);
CREATE TABLE holds (
    id           INTEGER PRIMARY KEY,
    camera       TEXT NOT NULL,
    start_ts     INTEGER NOT NULL,
    end_ts       INTEGER NOT NULL,
    case_id      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    actor        TEXT NOT NULL,
    created_ns   INTEGER NOT NULL,
    until_ns     INTEGER,
    released_ns  INTEGER,
    released_by  TEXT
);
CREATE INDEX holds_by_camera ON holds (camera, start_ts);
CREATE TABLE deleted_segments (
    id            INTEGER PRIMARY KEY,
    camera        TEXT NOT NULL,
    start_ts      INTEGER NOT NULL,
    end_ts        INTEGER,
    bytes         INTEGER,
    kek_day       INTEGER NOT NULL,
    content_hash  BLOB,
    prev_hash     BLOB NOT NULL,
    reason        TEXT NOT NULL,
    deleted_ns    INTEGER NOT NULL
);
CREATE INDEX deleted_by_camera ON deleted_segments (camera, start_ts);
";

/// Schema 3: what keeps a store of a year x 1,000 cameras (tens of millions
/// of rows) cheap to open and to sweep. Nothing here is new information:
/// indexes, and per-camera totals that triggers keep equal to the rows in
/// the same transaction (a rebuilt or upgraded catalog recomputes them).
/// - opening finds `open` and `deleting` rows (a handful) without a scan;
/// - shredding asks whether a (camera, key day) still has rows or tombstones;
/// - a sweep knows a camera's sealed bytes without reading its rows, and
///   `max_span_ns` (never lowered: an upper bound of end - start) turns
///   'segments whose end is after T' into an index range on start_ts.
const SCHEMA_3: &str = "
CREATE INDEX segments_open ON segments (id) WHERE state = 'open';
CREATE INDEX segments_deleting ON segments (id) WHERE state = 'deleting';
CREATE INDEX segments_by_key_day ON segments (camera, kek_day);
CREATE INDEX deleted_by_key_day ON deleted_segments (camera, kek_day);
CREATE TABLE camera_totals (
    camera          TEXT PRIMARY KEY,
    sealed_bytes    INTEGER NOT NULL,
    sealed_segments INTEGER NOT NULL,
    max_span_ns     INTEGER NOT NULL
);
INSERT INTO camera_totals (camera, sealed_bytes, sealed_segments, max_span_ns)
    SELECT camera, COALESCE(SUM(bytes), 0), COUNT(*), COALESCE(MAX(MAX(COALESCE(end_ts, start_ts) - start_ts, 0)), 0)
    FROM segments WHERE state = 'sealed' GROUP BY camera;
CREATE TRIGGER camera_totals_insert AFTER INSERT ON segments WHEN NEW.state = 'sealed' BEGIN
    INSERT INTO camera_totals (camera, sealed_bytes, sealed_segments, max_span_ns)
        VALUES (NEW.camera, COALESCE(NEW.bytes, 0), 1, MAX(COALESCE(NEW.end_ts, NEW.start_ts) - NEW.start_ts, 0))
        ON CONFLICT (camera) DO UPDATE SET sealed_bytes = sealed_bytes + excluded.sealed_bytes,
            sealed_segments = sealed_segments + 1, max_span_ns = MAX(max_span_ns, excluded.max_span_ns);
END;
CREATE TRIGGER camera_totals_delete AFTER DELETE ON segments WHEN OLD.state = 'sealed' BEGIN
    UPDATE camera_totals SET sealed_bytes = sealed_bytes - COALESCE(OLD.bytes, 0),
        sealed_segments = sealed_segments - 1 WHERE camera = OLD.camera;
END;
CREATE TRIGGER camera_totals_update AFTER UPDATE ON segments BEGIN
    UPDATE camera_totals SET sealed_bytes = sealed_bytes - COALESCE(OLD.bytes, 0),
        sealed_segments = sealed_segments - 1 WHERE camera = OLD.camera AND OLD.state = 'sealed';
    INSERT INTO camera_totals (camera, sealed_bytes, sealed_segments, max_span_ns)
        SELECT NEW.camera, COALESCE(NEW.bytes, 0), 1, MAX(COALESCE(NEW.end_ts, NEW.start_ts) - NEW.start_ts, 0)
        WHERE NEW.state = 'sealed'
        ON CONFLICT (camera) DO UPDATE SET sealed_bytes = sealed_bytes + excluded.sealed_bytes,
            sealed_segments = sealed_segments + 1, max_span_ns = MAX(max_span_ns, excluded.max_span_ns);
END;
";

/// Upgrades a version-1 catalog (issue 2's first format) in place.
const MIGRATE_1_TO_2: &str = "
CREATE TABLE retention_classes (
    name TEXT PRIMARY KEY, max_age_ns INTEGER, max_bytes INTEGER, min_age_ns INTEGER);
ALTER TABLE cameras ADD COLUMN retention_class TEXT;
ALTER TABLE cameras ADD COLUMN custom_retention INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cameras ADD COLUMN custom_max_age_ns INTEGER;
ALTER TABLE cameras ADD COLUMN custom_max_bytes INTEGER;
ALTER TABLE cameras ADD COLUMN custom_min_age_ns INTEGER;
ALTER TABLE segments ADD COLUMN delete_reason TEXT;
CREATE TABLE holds (
    id INTEGER PRIMARY KEY, camera TEXT NOT NULL, start_ts INTEGER NOT NULL, end_ts INTEGER NOT NULL,
    case_id TEXT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL, created_ns INTEGER NOT NULL,
    until_ns INTEGER, released_ns INTEGER, released_by TEXT);
CREATE INDEX holds_by_camera ON holds (camera, start_ts);
CREATE TABLE deleted_segments (
    id INTEGER PRIMARY KEY, camera TEXT NOT NULL, start_ts INTEGER NOT NULL, end_ts INTEGER,
    bytes INTEGER, kek_day INTEGER NOT NULL, content_hash BLOB, prev_hash BLOB NOT NULL,
    reason TEXT NOT NULL, deleted_ns INTEGER NOT NULL);
CREATE INDEX deleted_by_camera ON deleted_segments (camera, start_ts);
";

pub struct Catalog {
    conn: Connection,
    path: PathBuf,
}

fn configure(conn: &Connection, path: &Path) -> Result<()> {
    let ctx = format!("configure {}", path.display());
    conn.busy_timeout(std::time::Duration::from_secs(10)).ctx(&ctx)?;
    conn.pragma_update(None, "journal_mode", "WAL").ctx(&ctx)?;
    // FULL: a committed row survives power loss. Commits are rare (segment
    // create/seal, sweeps, camera changes), so the fsync per commit is cheap.
    conn.pragma_update(None, "synchronous", "FULL").ctx(&ctx)?;
    conn.pragma_update(None, "foreign_keys", "ON").ctx(&ctx)?;
    // Every statement the catalog runs more than once is cached (about 40);
    // rusqlite's default of 16 would evict them in turn.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl Catalog {
    pub fn create(path: &Path, store_id: &str) -> Result<Catalog> {
        let conn = Connection::open(path).ctx(&format!("create {}", path.display()))?;
        configure(&conn, path)?;
        conn.execute_batch(SCHEMA).ctx("create schema")?;
        conn.execute_batch(SCHEMA_3).ctx("create schema")?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1), ('store_id', ?2)",
            params![SCHEMA_VERSION.to_string(), store_id],
        )
        .ctx("write catalog meta")?;
        let catalog = Catalog { conn, path: path.to_path_buf() };
        catalog.install_builtin_classes()?;
        Ok(catalog)
    }

    /// Opens an existing catalog, checks it belongs to `store_id`, and
    /// upgrades an older schema in place.
    pub fn open(path: &Path, store_id: &str) -> Result<Catalog> {
        if !path.exists() {
            return Err(Error::CatalogMissing { path: path.to_path_buf() });
        }
        let conn = Connection::open(path).ctx(&format!("open {}", path.display()))?;
        configure(&conn, path)?;
        let mut catalog = Catalog { conn, path: path.to_path_buf() };
        let found = catalog.meta("store_id")?;
        if found.as_deref() != Some(store_id) {
            return Err(Error::NotAStore {
                path: path.to_path_buf(),
                detail: format!("the catalog belongs to store {found:?}, the keystore to {store_id}"),
            });
        }
        match catalog.meta("schema_version")?.as_deref() {
            Some("3") => {}
            Some("2") => catalog.migrate_2_to_3()?,
            Some("1") => {
                catalog.migrate_1_to_2()?;
                catalog.migrate_2_to_3()?
            }
            other => {
                return Err(Error::NotAStore {
                    path: path.to_path_buf(),
                    detail: format!("catalog schema version {other:?}; this build reads versions 1 to 3"),
                })
            }
        }
        Ok(catalog)
    }

    fn migrate_1_to_2(&mut self) -> Result<()> {
        self.upgrade(MIGRATE_1_TO_2, 2)?;
        self.install_builtin_classes()
    }

    /// Runs an upgrade's SQL and records the new schema version in one
    /// transaction: a crash leaves the old version whole.
    fn upgrade(&mut self, sql: &str, version: i64) -> Result<()> {
        let what = format!("upgrade catalog to schema {version}");
        let tx = self.conn.transaction().ctx(&what)?;
        tx.execute_batch(sql).ctx(&what)?;
        tx.execute("UPDATE meta SET value = ?1 WHERE key = 'schema_version'", [version.to_string()])
            .ctx(&what)?;
        tx.commit().ctx(&what)
    }

    /// For a catalog written in one go into a file that takes effect only
    /// when renamed into place (a rebuild): no fsync per commit, one fsync of
    /// the whole file by the caller before the rename. A crash before that
    /// leaves the old catalog in place. Segment rows and tombstones go in one
    /// transaction each, but cameras, classes and holds commit one by one
    /// (1,000 cameras would be 1,000 fsyncs).
    pub fn without_commit_sync(self) -> Result<Catalog> {
        self.conn.pragma_update(None, "synchronous", "OFF").ctx("configure the rebuilt catalog")?;
        Ok(self)
    }

    /// Adds schema 3's indexes, totals and triggers (one pass over the rows,
    /// once, in one transaction).
    fn migrate_2_to_3(&mut self) -> Result<()> {
        self.upgrade(SCHEMA_3, 3)
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .ctx("read catalog meta")
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
                params![key, value],
            )
            .ctx("write catalog meta")?;
        Ok(())
    }

    /// An empty in-memory catalog that holds the slot while the real one is
    /// being replaced on disk (catalog rebuild).
    pub fn placeholder() -> Result<Catalog> {
        let conn = Connection::open_in_memory().ctx("open placeholder catalog")?;
        Ok(Catalog { conn, path: PathBuf::from(":memory:") })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies the WAL into the database file and empties it.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").ctx("checkpoint catalog")
    }
}
