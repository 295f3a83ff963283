//! The catalog: a SQLite database (WAL, synchronous=FULL) mapping cameras and
//! time to segment files. It is the fast path for every lookup, never the only
//! copy of the truth: each segment file describes itself, so the catalog can
//! be rebuilt from the files (`rebuild` in store.rs). Schema in docs/FORMAT.md.
//!
//! Ordering rules that keep it consistent with the files after a crash:
//! a segment row is committed before its file is created (so every file on
//! disk is known), and a row moves to `sealed` only after the footer is durable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{CatalogContext, Error, Result};
use crate::segment::format::{Gap, SegmentSummary};
use crate::time::Timestamp;

pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE cameras (
    id          TEXT PRIMARY KEY,
    labels      TEXT NOT NULL DEFAULT '{}',
    created_ns  INTEGER NOT NULL
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
    sealed_ns     INTEGER
);
CREATE INDEX segments_by_camera_time ON segments (camera, start_ts, id);
CREATE TABLE segment_gaps (
    segment_id  INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    start_ts    INTEGER NOT NULL,
    end_ts      INTEGER NOT NULL
);
CREATE INDEX segment_gaps_by_segment ON segment_gaps (segment_id);
";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraRow {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    pub created: Timestamp,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SegmentState {
    Open,
    Sealed,
    Deleting,
}

impl SegmentState {
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentState::Open => "open",
            SegmentState::Sealed => "sealed",
            SegmentState::Deleting => "deleting",
        }
    }
    fn parse(s: &str) -> SegmentState {
        match s {
            "open" => SegmentState::Open,
            "sealed" => SegmentState::Sealed,
            _ => SegmentState::Deleting,
        }
    }
}

/// One catalog row. Time fields other than `start_ts` are unknown (None)
/// while the segment is open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentRow {
    pub id: u64,
    pub camera: String,
    /// Relative to the store root.
    pub path: String,
    pub state: SegmentState,
    pub codec: String,
    pub kek_day: i32,
    pub start_ts: Timestamp,
    pub end_ts: Option<Timestamp>,
    pub max_ts: Option<Timestamp>,
    pub frames: Option<u64>,
    pub bytes: Option<u64>,
    pub content_hash: Option<[u8; 32]>,
    pub prev_hash: [u8; 32],
    pub created: Timestamp,
    pub sealed_at: Option<Timestamp>,
}

const SEGMENT_COLUMNS: &str = "id, camera, path, state, codec, kek_day, start_ts, end_ts, max_ts, \
     frames, bytes, content_hash, prev_hash, created_ns, sealed_ns";

fn hash_col(v: Option<Vec<u8>>) -> Option<[u8; 32]> {
    v.and_then(|b| b.try_into().ok())
}

fn segment_from_row(r: &Row) -> rusqlite::Result<SegmentRow> {
    Ok(SegmentRow {
        id: r.get::<_, i64>(0)? as u64,
        camera: r.get(1)?,
        path: r.get(2)?,
        state: SegmentState::parse(&r.get::<_, String>(3)?),
        codec: r.get(4)?,
        kek_day: r.get(5)?,
        start_ts: Timestamp(r.get(6)?),
        end_ts: r.get::<_, Option<i64>>(7)?.map(Timestamp),
        max_ts: r.get::<_, Option<i64>>(8)?.map(Timestamp),
        frames: r.get::<_, Option<i64>>(9)?.map(|v| v as u64),
        bytes: r.get::<_, Option<i64>>(10)?.map(|v| v as u64),
        content_hash: hash_col(r.get(11)?),
        prev_hash: hash_col(Some(r.get(12)?)).unwrap_or([0; 32]),
        created: Timestamp(r.get(13)?),
        sealed_at: r.get::<_, Option<i64>>(14)?.map(Timestamp),
    })
}

pub struct Catalog {
    conn: Connection,
    path: PathBuf,
}

fn configure(conn: &Connection, path: &Path) -> Result<()> {
    let ctx = format!("configure {}", path.display());
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .ctx(&ctx)?;
    conn.pragma_update(None, "journal_mode", "WAL").ctx(&ctx)?;
    // FULL: a committed row survives power loss. Commits are rare (segment
    // create/seal, camera changes), so the fsync per commit costs nothing.
    conn.pragma_update(None, "synchronous", "FULL").ctx(&ctx)?;
    conn.pragma_update(None, "foreign_keys", "ON").ctx(&ctx)?;
    Ok(())
}

impl Catalog {
    pub fn create(path: &Path, store_id: &str) -> Result<Catalog> {
        let conn = Connection::open(path).ctx(&format!("create {}", path.display()))?;
        configure(&conn, path)?;
        conn.execute_batch(SCHEMA).ctx("create schema")?;
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?1), ('store_id', ?2)",
            params![SCHEMA_VERSION.to_string(), store_id],
        )
        .ctx("write catalog meta")?;
        Ok(Catalog {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing catalog and checks it belongs to `store_id`.
    pub fn open(path: &Path, store_id: &str) -> Result<Catalog> {
        if !path.exists() {
            return Err(Error::CatalogMissing {
                path: path.to_path_buf(),
            });
        }
        let conn = Connection::open(path).ctx(&format!("open {}", path.display()))?;
        configure(&conn, path)?;
        let meta = |key: &str| -> Result<Option<String>> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
                .ctx("read catalog meta")
        };
        let version = meta("schema_version")?;
        if version.as_deref() != Some(&SCHEMA_VERSION.to_string()) {
            return Err(Error::NotAStore {
                path: path.to_path_buf(),
                detail: format!(
                    "catalog schema version {version:?}; this build expects {SCHEMA_VERSION}"
                ),
            });
        }
        let found = meta("store_id")?;
        if found.as_deref() != Some(store_id) {
            return Err(Error::NotAStore {
                path: path.to_path_buf(),
                detail: format!(
                    "the catalog belongs to store {found:?}, the keystore to {store_id}; rebuild the catalog with `vidvault fsck STORE --rebuild`"
                ),
            });
        }
        Ok(Catalog {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// An empty in-memory catalog that holds the slot while the real one is
    /// being replaced on disk (catalog rebuild).
    pub fn placeholder() -> Result<Catalog> {
        let conn = Connection::open_in_memory().ctx("open placeholder catalog")?;
        Ok(Catalog {
            conn,
            path: PathBuf::from(":memory:"),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    // ------------------------------------------------------------ cameras

    pub fn add_camera(
        &self,
        id: &str,
        labels: &BTreeMap<String, String>,
        created: Timestamp,
    ) -> Result<()> {
        let labels = serde_json::to_string(labels).expect("labels serialise");
        match self.conn.execute(
            "INSERT INTO cameras (id, labels, created_ns) VALUES (?1, ?2, ?3)",
            params![id, labels, created.0],
        ) {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(Error::CameraExists(id.to_string()))
            }
            Err(e) => Err(Error::catalog("add camera", e)),
        }
    }

    pub fn set_labels(&self, id: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        let labels = serde_json::to_string(labels).expect("labels serialise");
        let n = self
            .conn
            .execute(
                "UPDATE cameras SET labels = ?2 WHERE id = ?1",
                params![id, labels],
            )
            .ctx("update labels")?;
        if n == 0 {
            return Err(Error::UnknownCamera(id.to_string()));
        }
        Ok(())
    }

    pub fn camera(&self, id: &str) -> Result<Option<CameraRow>> {
        self.conn
            .query_row(
                "SELECT id, labels, created_ns FROM cameras WHERE id = ?1",
                [id],
                camera_from_row,
            )
            .optional()
            .ctx("read camera")
    }

    pub fn cameras(&self) -> Result<Vec<CameraRow>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, labels, created_ns FROM cameras ORDER BY id")
            .ctx("list cameras")?;
        let rows = st.query_map([], camera_from_row).ctx("list cameras")?;
        rows.collect::<rusqlite::Result<_>>().ctx("list cameras")
    }

    // ------------------------------------------------------------ segments

    pub fn insert_open_segment(&self, row: &SegmentRow) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO segments (id, camera, path, state, codec, kek_day, start_ts, prev_hash, created_ns)
                 VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?6, ?7, ?8)",
                params![
                    row.id as i64,
                    row.camera,
                    row.path,
                    row.codec,
                    row.kek_day,
                    row.start_ts.0,
                    row.prev_hash.as_slice(),
                    row.created.0
                ],
            )
            .ctx("insert segment")?;
        Ok(())
    }

    /// Records a sealed segment's summary (and its internal gaps).
    pub fn mark_sealed(
        &mut self,
        id: u64,
        s: &SegmentSummary,
        file_bytes: u64,
        sealed_at: Timestamp,
    ) -> Result<()> {
        let tx = self.conn.transaction().ctx("seal segment")?;
        tx.execute(
            "UPDATE segments SET state = 'sealed', start_ts = ?2, end_ts = ?3, max_ts = ?4, frames = ?5,
                 bytes = ?6, content_hash = ?7, sealed_ns = ?8 WHERE id = ?1",
            params![
                id as i64,
                s.start_ts.0,
                s.end_ts.0,
                s.max_ts.0,
                s.frame_count as i64,
                file_bytes as i64,
                s.content_hash.as_slice(),
                sealed_at.0
            ],
        )
        .ctx("seal segment")?;
        tx.execute(
            "DELETE FROM segment_gaps WHERE segment_id = ?1",
            [id as i64],
        )
        .ctx("seal segment")?;
        for g in &s.gaps {
            tx.execute(
                "INSERT INTO segment_gaps (segment_id, start_ts, end_ts) VALUES (?1, ?2, ?3)",
                params![id as i64, g.start.0, g.end.0],
            )
            .ctx("seal segment")?;
        }
        tx.commit().ctx("seal segment")
    }

    /// Inserts a complete row (catalog rebuild from files).
    pub fn insert_sealed_segment(&mut self, row: &SegmentRow, gaps: &[Gap]) -> Result<()> {
        let tx = self.conn.transaction().ctx("insert segment")?;
        tx.execute(
            "INSERT INTO segments (id, camera, path, state, codec, kek_day, start_ts, end_ts, max_ts, frames,
                 bytes, content_hash, prev_hash, created_ns, sealed_ns)
             VALUES (?1, ?2, ?3, 'sealed', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
            params![
                row.id as i64,
                row.camera,
                row.path,
                row.codec,
                row.kek_day,
                row.start_ts.0,
                row.end_ts.map(|t| t.0),
                row.max_ts.map(|t| t.0),
                row.frames.map(|v| v as i64),
                row.bytes.map(|v| v as i64),
                row.content_hash.as_ref().map(|h| h.as_slice()),
                row.prev_hash.as_slice(),
                row.created.0,
                row.sealed_at.map(|t| t.0)
            ],
        )
        .ctx("insert segment")?;
        for g in gaps {
            tx.execute(
                "INSERT INTO segment_gaps (segment_id, start_ts, end_ts) VALUES (?1, ?2, ?3)",
                params![row.id as i64, g.start.0, g.end.0],
            )
            .ctx("insert segment")?;
        }
        tx.commit().ctx("insert segment")
    }

    pub fn remove_segment(&self, id: u64) -> Result<()> {
        self.conn
            .execute("DELETE FROM segments WHERE id = ?1", [id as i64])
            .ctx("remove segment")?;
        Ok(())
    }

    fn query_segments(&self, sql_tail: &str, p: impl rusqlite::Params) -> Result<Vec<SegmentRow>> {
        let sql = format!("SELECT {SEGMENT_COLUMNS} FROM segments {sql_tail}");
        let mut st = self.conn.prepare_cached(&sql).ctx("query segments")?;
        let rows = st.query_map(p, segment_from_row).ctx("query segments")?;
        rows.collect::<rusqlite::Result<_>>().ctx("query segments")
    }

    fn query_one(&self, sql_tail: &str, p: impl rusqlite::Params) -> Result<Option<SegmentRow>> {
        Ok(self.query_segments(sql_tail, p)?.into_iter().next())
    }

    pub fn segment(&self, id: u64) -> Result<Option<SegmentRow>> {
        self.query_one("WHERE id = ?1", [id as i64])
    }

    /// The readable segment starting last at or before `t` (index seek).
    pub fn segment_at_or_before(&self, camera: &str, t: Timestamp) -> Result<Option<SegmentRow>> {
        self.query_one(
            "WHERE camera = ?1 AND start_ts <= ?2 AND state != 'deleting' ORDER BY start_ts DESC, id DESC LIMIT 1",
            params![camera, t.0],
        )
    }

    /// The first readable segment starting after `t`.
    pub fn segment_after(&self, camera: &str, t: Timestamp) -> Result<Option<SegmentRow>> {
        self.query_one(
            "WHERE camera = ?1 AND start_ts > ?2 AND state != 'deleting' ORDER BY start_ts, id LIMIT 1",
            params![camera, t.0],
        )
    }

    /// The segment following (start_ts, id) in time order.
    pub fn next_segment(
        &self,
        camera: &str,
        start: Timestamp,
        id: u64,
    ) -> Result<Option<SegmentRow>> {
        self.query_one(
            "WHERE camera = ?1 AND (start_ts > ?2 OR (start_ts = ?2 AND id > ?3)) AND state != 'deleting'
             ORDER BY start_ts, id LIMIT 1",
            params![camera, start.0, id as i64],
        )
    }

    /// Readable segments that may overlap `[start, end)`: the one starting at
    /// or before `start` plus those starting inside the range. Two index range
    /// scans, so the cost does not grow with the age of the store.
    pub fn segments_overlapping(
        &self,
        camera: &str,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Vec<SegmentRow>> {
        let mut out = Vec::new();
        if let Some(first) = self.segment_at_or_before(camera, start)? {
            out.push(first);
        }
        out.extend(self.query_segments(
            "WHERE camera = ?1 AND start_ts > ?2 AND start_ts < ?3 AND state != 'deleting' ORDER BY start_ts, id",
            params![camera, start.0, end.0],
        )?);
        Ok(out)
    }

    /// Every segment of a camera in time order (fsck, chain checks).
    pub fn camera_segments(&self, camera: &str) -> Result<Vec<SegmentRow>> {
        self.query_segments("WHERE camera = ?1 ORDER BY start_ts, id", [camera])
    }

    pub fn last_segment(&self, camera: &str) -> Result<Option<SegmentRow>> {
        self.query_one(
            "WHERE camera = ?1 ORDER BY start_ts DESC, id DESC LIMIT 1",
            [camera],
        )
    }

    pub fn segments_in_state(&self, state: SegmentState) -> Result<Vec<SegmentRow>> {
        self.query_segments("WHERE state = ?1 ORDER BY id", [state.as_str()])
    }

    pub fn max_segment_id(&self) -> Result<u64> {
        let v: Option<i64> = self
            .conn
            .query_row("SELECT MAX(id) FROM segments", [], |r| r.get(0))
            .ctx("read max segment id")?;
        Ok(v.unwrap_or(0) as u64)
    }

    pub fn segment_gaps(&self, id: u64) -> Result<Vec<Gap>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT start_ts, end_ts FROM segment_gaps WHERE segment_id = ?1 ORDER BY start_ts",
            )
            .ctx("read gaps")?;
        let rows = st
            .query_map([id as i64], |r| {
                Ok(Gap {
                    start: Timestamp(r.get(0)?),
                    end: Timestamp(r.get(1)?),
                })
            })
            .ctx("read gaps")?;
        rows.collect::<rusqlite::Result<_>>().ctx("read gaps")
    }
}

fn camera_from_row(r: &Row) -> rusqlite::Result<CameraRow> {
    let labels: String = r.get(1)?;
    Ok(CameraRow {
        id: r.get(0)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        created: Timestamp(r.get(2)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u64, start: i64) -> SegmentRow {
        SegmentRow {
            id,
            camera: "cam".into(),
            path: format!("segments/cam/{id}.vvs"),
            state: SegmentState::Open,
            codec: "h264".into(),
            kek_day: 0,
            start_ts: Timestamp(start),
            end_ts: None,
            max_ts: None,
            frames: None,
            bytes: None,
            content_hash: None,
            prev_hash: [0; 32],
            created: Timestamp(0),
            sealed_at: None,
        }
    }

    #[test]
    fn time_lookups() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Catalog::create(&dir.path().join("c.sqlite"), "s").unwrap();
        c.add_camera("cam", &BTreeMap::new(), Timestamp(0)).unwrap();
        assert!(matches!(
            c.add_camera("cam", &BTreeMap::new(), Timestamp(0)),
            Err(Error::CameraExists(_))
        ));
        for (id, start) in [(1, 100), (2, 200), (3, 300)] {
            c.insert_open_segment(&row(id, start)).unwrap();
        }
        let s = SegmentSummary {
            frame_count: 5,
            start_ts: Timestamp(100),
            max_ts: Timestamp(180),
            end_ts: Timestamp(190),
            records_end: 1000,
            content_hash: [1; 32],
            keyframes: vec![],
            gaps: vec![Gap {
                start: Timestamp(120),
                end: Timestamp(150),
            }],
        };
        c.mark_sealed(1, &s, 1234, Timestamp(5)).unwrap();
        let r = c.segment(1).unwrap().unwrap();
        assert_eq!(
            (r.state, r.end_ts, r.bytes),
            (SegmentState::Sealed, Some(Timestamp(190)), Some(1234))
        );
        assert_eq!(c.segment_gaps(1).unwrap().len(), 1);
        assert_eq!(
            c.segment_at_or_before("cam", Timestamp(250))
                .unwrap()
                .unwrap()
                .id,
            2
        );
        assert!(c
            .segment_at_or_before("cam", Timestamp(99))
            .unwrap()
            .is_none());
        assert_eq!(
            c.segment_after("cam", Timestamp(200)).unwrap().unwrap().id,
            3
        );
        assert_eq!(
            c.next_segment("cam", Timestamp(100), 1)
                .unwrap()
                .unwrap()
                .id,
            2
        );
        let ids: Vec<u64> = c
            .segments_overlapping("cam", Timestamp(150), Timestamp(300))
            .unwrap()
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, vec![1, 2]);
        assert_eq!(c.max_segment_id().unwrap(), 3);
    }
}
