//! Segments: the time index of every camera's footage, their internal gaps,
//! and tombstones of segments retention deleted (so the hash chain stays
//! verifiable across deletions).

use rusqlite::{params, Row};

use super::Catalog;
use crate::error::{CatalogContext, Result};
use crate::retention::DeleteReason;
use crate::segment::format::{Gap, SegmentSummary};
use crate::time::Timestamp;

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

/// What remains of a deleted segment: enough to check the hash chain and to
/// answer "why is this footage gone".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    pub id: u64,
    pub camera: String,
    pub start_ts: Timestamp,
    pub end_ts: Option<Timestamp>,
    pub bytes: Option<u64>,
    pub kek_day: i32,
    pub content_hash: Option<[u8; 32]>,
    pub prev_hash: [u8; 32],
    pub reason: DeleteReason,
    pub deleted: Timestamp,
}

/// Where a camera's next segment continues its hash chain from: the newest
/// entry of the chain, live or deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainTail {
    /// Every earlier frame of the camera is at or before this (None: no entry).
    pub max_ts: Option<Timestamp>,
    /// The content hash the next segment's header names as its predecessor
    /// (zeros: no entry, or the newest is not sealed yet).
    pub prev_hash: [u8; 32],
}

/// Key in `meta` of the highest segment id ever allocated (section 4 of
/// docs/FORMAT.md): it survives the deletion of every row and tombstone.
const ID_HIGH_WATER: &str = "segment_id_high_water";

impl Catalog {
    /// Records a new segment (state `open`) and raises the id high-water
    /// mark. Inserting the same row again (a retried create) changes
    /// nothing; an id a tombstone holds is refused: ids are never reused.
    pub fn insert_open_segment(&self, row: &SegmentRow) -> Result<()> {
        let deleted: bool = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM deleted_segments WHERE id = ?1)", [row.id as i64], |r| {
                r.get(0)
            })
            .ctx("insert segment")?;
        if deleted {
            return Err(crate::error::Error::invalid(format!(
                "segment id {} (camera {:?}) belongs to a deleted segment; segment ids are never reused",
                row.id, row.camera
            )));
        }
        self.raise_id_high_water(row.id)?;
        run_cached(&self.conn,
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
        run_cached(
            &tx,
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
        run_cached(&tx, "DELETE FROM segment_gaps WHERE segment_id = ?1", [id as i64]).ctx("seal segment")?;
        for g in &s.gaps {
            run_cached(
                &tx,
                "INSERT INTO segment_gaps (segment_id, start_ts, end_ts) VALUES (?1, ?2, ?3)",
                params![id as i64, g.start.0, g.end.0],
            )
            .ctx("seal segment")?;
        }
        tx.commit().ctx("seal segment")
    }

    /// Inserts a complete row (catalog rebuild from files).
    pub fn insert_sealed_segment(&mut self, row: &SegmentRow, gaps: &[Gap]) -> Result<()> {
        self.insert_sealed_segments(&[(row.clone(), gaps.to_vec())])
    }

    /// Inserts complete rows in one transaction: a rebuild writes millions,
    /// and a commit each would write every touched index page each time.
    pub fn insert_sealed_segments(&mut self, rows: &[(SegmentRow, Vec<Gap>)]) -> Result<()> {
        let Some(highest) = rows.iter().map(|(row, _)| row.id).max() else {
            return Ok(());
        };
        self.raise_id_high_water(highest)?;
        let tx = self.conn.transaction().ctx("insert segment")?;
        for (row, gaps) in rows {
            insert_sealed_row(&tx, row, gaps)?;
        }
        tx.commit().ctx("insert segment")
    }

    pub fn remove_segment(&self, id: u64) -> Result<()> {
        run_cached(&self.conn, "DELETE FROM segments WHERE id = ?1", [id as i64]).ctx("remove segment")?;
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
    pub fn next_segment(&self, camera: &str, start: Timestamp, id: u64) -> Result<Option<SegmentRow>> {
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
        self.query_one("WHERE camera = ?1 ORDER BY start_ts DESC, id DESC LIMIT 1", [camera])
    }

    /// Rows in one state. The state is written into the SQL (never bound)
    /// so that SQLite uses the partial index of `open` or `deleting` rows:
    /// a store open must not scan every row of the store to find a few.
    pub fn segments_in_state(&self, state: SegmentState) -> Result<Vec<SegmentRow>> {
        let tail = match state {
            SegmentState::Open => "WHERE state = 'open' ORDER BY id",
            SegmentState::Deleting => "WHERE state = 'deleting' ORDER BY id",
            SegmentState::Sealed => "WHERE state = 'sealed' ORDER BY id",
        };
        self.query_segments(tail, [])
    }

    /// The highest segment id ever allocated: of live rows, tombstones and
    /// the high-water mark (which also covers rows removed without a
    /// tombstone). New ids start above it, so an id is never reused and a
    /// tombstone never overwritten.
    pub fn max_segment_id(&self) -> Result<u64> {
        let v: Option<i64> = self
            .conn
            .query_row(
                "SELECT MAX(m) FROM (SELECT MAX(id) AS m FROM segments UNION ALL SELECT MAX(id) FROM deleted_segments
                 UNION ALL SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1)",
                [ID_HIGH_WATER],
                |r| r.get(0),
            )
            .ctx("read max segment id")?;
        Ok(v.unwrap_or(0).max(0) as u64)
    }

    pub fn raise_id_high_water(&self, id: u64) -> Result<()> {
        run_cached(
            &self.conn,
            "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2
                 WHERE CAST(value AS INTEGER) < ?3",
            params![ID_HIGH_WATER, id.to_string(), id as i64],
        )
        .ctx("record segment id high-water mark")?;
        Ok(())
    }

    /// The newest entry of `camera`'s hash chain, live or deleted (ordered
    /// by start time, then id, as fsck orders the chain).
    pub fn chain_tail(&self, camera: &str) -> Result<ChainTail> {
        let live = self.last_segment(camera)?;
        let dead =
            self.tombstones_query("WHERE camera = ?1 ORDER BY start_ts DESC, id DESC LIMIT 1", camera)?;
        let dead = dead.into_iter().next();
        let live_is_newer = match (&live, &dead) {
            (Some(l), Some(d)) => (l.start_ts, l.id) > (d.start_ts, d.id),
            (l, _) => l.is_some(),
        };
        Ok(match (live, dead) {
            (Some(row), _) if live_is_newer => match row.state {
                SegmentState::Sealed => {
                    ChainTail { max_ts: row.max_ts, prev_hash: row.content_hash.unwrap_or([0; 32]) }
                }
                _ => ChainTail { max_ts: Some(row.start_ts), prev_hash: [0; 32] },
            },
            (_, Some(t)) => ChainTail {
                // A tombstone keeps no max_ts; its end bounds every frame it had.
                max_ts: Some(t.end_ts.unwrap_or(t.start_ts)),
                prev_hash: t.content_hash.unwrap_or([0; 32]),
            },
            _ => ChainTail { max_ts: None, prev_hash: [0; 32] },
        })
    }

    /// Recording gaps inside the camera's segments that start in `[from, to]`,
    /// by segment id: one query for a whole timeline, not one per segment.
    pub fn gaps_of_segments_starting(
        &self,
        camera: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<std::collections::HashMap<u64, Vec<Gap>>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT g.segment_id, g.start_ts, g.end_ts FROM segments s JOIN segment_gaps g ON g.segment_id = s.id
                 WHERE s.camera = ?1 AND s.start_ts >= ?2 AND s.start_ts <= ?3 ORDER BY g.segment_id, g.start_ts",
            )
            .ctx("read gaps")?;
        let mut out: std::collections::HashMap<u64, Vec<Gap>> = std::collections::HashMap::new();
        let mut rows = st.query(params![camera, from.0, to.0]).ctx("read gaps")?;
        while let Some(r) = rows.next().ctx("read gaps")? {
            let id = r.get::<_, i64>(0).ctx("read gaps")? as u64;
            let gap = Gap {
                start: Timestamp(r.get(1).ctx("read gaps")?),
                end: Timestamp(r.get(2).ctx("read gaps")?),
            };
            out.entry(id).or_default().push(gap);
        }
        Ok(out)
    }

    pub fn segment_gaps(&self, id: u64) -> Result<Vec<Gap>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT start_ts, end_ts FROM segment_gaps WHERE segment_id = ?1 ORDER BY start_ts",
            )
            .ctx("read gaps")?;
        let rows = st
            .query_map([id as i64], |r| Ok(Gap { start: Timestamp(r.get(0)?), end: Timestamp(r.get(1)?) }))
            .ctx("read gaps")?;
        rows.collect::<rusqlite::Result<_>>().ctx("read gaps")
    }

    /// Sealed segments of a camera, oldest first (retention planning).
    pub fn sealed_segments(&self, camera: &str) -> Result<Vec<SegmentRow>> {
        self.query_segments("WHERE camera = ?1 AND state = 'sealed' ORDER BY start_ts, id", [camera])
    }

    /// The camera's `n` oldest sealed segments, oldest first.
    pub fn oldest_sealed_segments(&self, camera: &str, n: u64) -> Result<Vec<SegmentRow>> {
        self.query_segments(
            "WHERE camera = ?1 AND state = 'sealed' ORDER BY start_ts, id LIMIT ?2",
            params![camera, n.min(i64::MAX as u64) as i64],
        )
    }

    /// Sealed segments of a camera starting in `[from, to]`, oldest first:
    /// one index range, whatever the camera's history holds outside it.
    pub fn sealed_segments_starting(
        &self,
        camera: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SegmentRow>> {
        self.query_segments(
            "WHERE camera = ?1 AND start_ts >= ?2 AND start_ts <= ?3 AND state = 'sealed' ORDER BY start_ts, id",
            params![camera, from.0, to.0],
        )
    }

    /// First step of a deletion: the rows turn `deleting` (durably) before
    /// any file is unlinked, so a crash never leaves a row without its file
    /// unexplained; opening the store finishes the job.
    pub fn mark_deleting(&mut self, ids: &[(u64, DeleteReason)]) -> Result<()> {
        let tx = self.conn.transaction().ctx("mark segments deleting")?;
        for (id, reason) in ids {
            run_cached(&tx,
                "UPDATE segments SET state = 'deleting', delete_reason = ?2 WHERE id = ?1 AND state = 'sealed'",
                params![*id as i64, reason.as_str()],
            )
            .ctx("mark segments deleting")?;
        }
        tx.commit().ctx("mark segments deleting")
    }

    /// Last step of a deletion (files already unlinked): tombstones replace
    /// the rows, in one transaction.
    pub fn finish_deletion(&mut self, ids: &[u64], when: Timestamp) -> Result<()> {
        let tx = self.conn.transaction().ctx("finish segment deletion")?;
        for id in ids {
            run_cached(&tx,
                "INSERT OR REPLACE INTO deleted_segments (id, camera, start_ts, end_ts, bytes, kek_day, content_hash,
                     prev_hash, reason, deleted_ns)
                 SELECT id, camera, start_ts, end_ts, bytes, kek_day, content_hash, prev_hash,
                     COALESCE(delete_reason, 'disk_pressure'), ?2 FROM segments WHERE id = ?1",
                params![*id as i64, when.0],
            )
            .ctx("finish segment deletion")?;
            run_cached(&tx, "DELETE FROM segments WHERE id = ?1", [*id as i64])
                .ctx("finish segment deletion")?;
        }
        tx.commit().ctx("finish segment deletion")
    }

    /// Restores a tombstone (catalog rebuild from the tombstone journal).
    pub fn insert_tombstone(&self, t: &Tombstone) -> Result<()> {
        insert_tombstone_row(&self.conn, t)
    }

    /// Inserts tombstones in one transaction (a rebuild restores them all).
    pub fn insert_tombstones<'t>(
        &mut self,
        tombstones: impl IntoIterator<Item = &'t Tombstone>,
    ) -> Result<u64> {
        let tx = self.conn.transaction().ctx("insert tombstone")?;
        let mut n = 0;
        for t in tombstones {
            insert_tombstone_row(&tx, t)?;
            n += 1;
        }
        tx.commit().ctx("insert tombstone")?;
        Ok(n)
    }

    /// Tombstones of a camera, oldest first.
    pub fn tombstones(&self, camera: &str) -> Result<Vec<Tombstone>> {
        self.tombstones_query("WHERE camera = ?1 ORDER BY start_ts, id", camera)
    }

    fn tombstones_query(&self, sql_tail: &str, camera: &str) -> Result<Vec<Tombstone>> {
        let sql = format!(
            "SELECT id, camera, start_ts, end_ts, bytes, kek_day, content_hash, prev_hash, reason, deleted_ns
             FROM deleted_segments {sql_tail}"
        );
        let mut st = self.conn.prepare_cached(&sql).ctx("list tombstones")?;
        let rows = st
            .query_map([camera], |r| {
                Ok(Tombstone {
                    id: r.get::<_, i64>(0)? as u64,
                    camera: r.get(1)?,
                    start_ts: Timestamp(r.get(2)?),
                    end_ts: r.get::<_, Option<i64>>(3)?.map(Timestamp),
                    bytes: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                    kek_day: r.get(5)?,
                    content_hash: hash_col(r.get(6)?),
                    prev_hash: hash_col(Some(r.get(7)?)).unwrap_or([0; 32]),
                    reason: DeleteReason::parse(&r.get::<_, String>(8)?),
                    deleted: Timestamp(r.get(9)?),
                })
            })
            .ctx("list tombstones")?;
        rows.collect::<rusqlite::Result<_>>().ctx("list tombstones")
    }
}

/// Runs one statement through the connection's statement cache. Statements
/// on `segments` carry schema 3's triggers, so compiling one costs more than
/// running it; a rebuild runs the same few statements millions of times.
fn run_cached(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

fn insert_sealed_row(tx: &rusqlite::Connection, row: &SegmentRow, gaps: &[Gap]) -> Result<()> {
    run_cached(
        tx,
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
        run_cached(
            tx,
            "INSERT INTO segment_gaps (segment_id, start_ts, end_ts) VALUES (?1, ?2, ?3)",
            params![row.id as i64, g.start.0, g.end.0],
        )
        .ctx("insert segment")?;
    }
    Ok(())
}

fn insert_tombstone_row(conn: &rusqlite::Connection, t: &Tombstone) -> Result<()> {
    run_cached(
        conn,
        "INSERT OR REPLACE INTO deleted_segments (id, camera, start_ts, end_ts, bytes, kek_day, content_hash,
                 prev_hash, reason, deleted_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            t.id as i64,
            t.camera,
            t.start_ts.0,
            t.end_ts.map(|e| e.0),
            t.bytes.map(|b| b as i64),
            t.kek_day,
            t.content_hash.as_ref().map(|h| h.as_slice()),
            t.prev_hash.as_slice(),
            t.reason.as_str(),
            t.deleted.0
        ],
    )
    .ctx("insert tombstone")?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::CameraRow;
    use crate::retention::RetentionSetting;
    use std::collections::BTreeMap;

    fn row(id: u64, start: i64) -> SegmentRow {
        open_row(id, start, 0)
    }

    /// An open segment row of camera "cam" keyed on `day` (catalog tests).
    pub(crate) fn open_row(id: u64, start: i64, day: i32) -> SegmentRow {
        SegmentRow {
            id,
            camera: "cam".into(),
            path: format!("segments/cam/{id}.vvs"),
            state: SegmentState::Open,
            codec: "h264".into(),
            kek_day: day,
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

    /// A new catalog with one camera, "cam" (catalog tests).
    pub(crate) fn catalog_with_camera(dir: &std::path::Path) -> crate::catalog::Catalog {
        let c = crate::catalog::Catalog::create(&dir.join("c.sqlite"), "s").unwrap();
        let cam = CameraRow {
            id: "cam".into(),
            labels: BTreeMap::new(),
            created: Timestamp(0),
            retention: RetentionSetting::StoreDefault,
        };
        c.add_camera(&cam).unwrap();
        c
    }

    fn sealed(c: &mut crate::catalog::Catalog, id: u64, start: i64, hash: u8) {
        let mut r = row(id, start);
        r.prev_hash = [hash.wrapping_sub(1); 32];
        c.insert_open_segment(&r).unwrap();
        let s = SegmentSummary {
            frame_count: 1,
            start_ts: Timestamp(start),
            max_ts: Timestamp(start + 5),
            end_ts: Timestamp(start + 10),
            records_end: 100,
            content_hash: [hash; 32],
            keyframes: vec![],
            gaps: vec![],
            frame_table: None,
        };
        c.mark_sealed(id, &s, 100, Timestamp(1)).unwrap();
    }

    #[test]
    fn ids_are_never_reused_once_every_segment_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = catalog_with_camera(dir.path());
        sealed(&mut c, 1, 100, 1);
        sealed(&mut c, 2, 200, 2);
        c.mark_deleting(&[(1, DeleteReason::MaxAge), (2, DeleteReason::MaxAge)]).unwrap();
        c.finish_deletion(&[1, 2], Timestamp(9)).unwrap();
        assert_eq!(c.max_segment_id().unwrap(), 2, "the next id must be above every deleted one");
        assert!(c.insert_open_segment(&row(2, 300)).is_err(), "a tombstone's id is not reused");
        assert_eq!(c.tombstones("cam").unwrap().len(), 2);
        // A row removed without a tombstone (an empty file) keeps its id too.
        c.insert_open_segment(&row(7, 700)).unwrap();
        c.remove_segment(7).unwrap();
        assert_eq!(c.max_segment_id().unwrap(), 7);
        // Creating the same row again (a retried create) is harmless.
        c.insert_open_segment(&row(8, 800)).unwrap();
        c.insert_open_segment(&row(8, 800)).unwrap();
    }

    #[test]
    fn the_chain_continues_from_deleted_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = catalog_with_camera(dir.path());
        assert_eq!(c.chain_tail("cam").unwrap(), ChainTail { max_ts: None, prev_hash: [0; 32] });
        sealed(&mut c, 1, 100, 1);
        assert_eq!(
            c.chain_tail("cam").unwrap(),
            ChainTail { max_ts: Some(Timestamp(105)), prev_hash: [1; 32] }
        );
        c.mark_deleting(&[(1, DeleteReason::MaxAge)]).unwrap();
        c.finish_deletion(&[1], Timestamp(9)).unwrap();
        let tail = c.chain_tail("cam").unwrap();
        assert_eq!(tail.prev_hash, [1; 32], "the next segment names the deleted one as its predecessor");
        assert_eq!(tail.max_ts, Some(Timestamp(110)));
        c.insert_open_segment(&row(2, 300)).unwrap();
        assert_eq!(c.chain_tail("cam").unwrap().prev_hash, [0; 32], "an open newest segment has no hash yet");
    }

    #[test]
    fn time_lookups() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = crate::catalog::Catalog::create(&dir.path().join("c.sqlite"), "s").unwrap();
        let cam = CameraRow {
            id: "cam".into(),
            labels: BTreeMap::new(),
            created: Timestamp(0),
            retention: RetentionSetting::StoreDefault,
        };
        c.add_camera(&cam).unwrap();
        assert!(matches!(c.add_camera(&cam), Err(crate::error::Error::CameraExists(_))));
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
            gaps: vec![Gap { start: Timestamp(120), end: Timestamp(150) }],
            frame_table: None,
        };
        c.mark_sealed(1, &s, 1234, Timestamp(5)).unwrap();
        let r = c.segment(1).unwrap().unwrap();
        assert_eq!((r.state, r.end_ts, r.bytes), (SegmentState::Sealed, Some(Timestamp(190)), Some(1234)));
        assert_eq!(c.segment_gaps(1).unwrap().len(), 1);
        assert_eq!(c.segment_at_or_before("cam", Timestamp(250)).unwrap().unwrap().id, 2);
        assert!(c.segment_at_or_before("cam", Timestamp(99)).unwrap().is_none());
        assert_eq!(c.segment_after("cam", Timestamp(200)).unwrap().unwrap().id, 3);
        assert_eq!(c.next_segment("cam", Timestamp(100), 1).unwrap().unwrap().id, 2);
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
