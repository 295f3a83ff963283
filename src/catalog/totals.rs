//! catalog/totals.rs: questions about a camera's whole history answered
//! without reading its rows (schema 3, docs/FORMAT.md section 4): sealed
//! bytes and count, the longest segment, and whether a (camera, key day)
//! still has rows or tombstones. A sweep of a year of 1,000 cameras asks
//! these instead of loading tens of millions of rows.

use rusqlite::OptionalExtension;

use crate::catalog::Catalog;
use crate::error::{CatalogContext, Result};
use crate::time::Timestamp;

/// A camera's sealed footage, kept by triggers in the rows' transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CameraTotals {
    pub sealed_bytes: u64,
    pub sealed_segments: u64,
    /// At least the longest `end_ts - start_ts` of any sealed segment the
    /// camera ever had (never lowered when segments go).
    pub max_span_ns: i64,
}

impl Catalog {
    pub fn camera_totals(&self, camera: &str) -> Result<CameraTotals> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT sealed_bytes, sealed_segments, max_span_ns FROM camera_totals WHERE camera = ?1",
            )
            .ctx("read camera totals")?
            .query_row([camera], |r| {
                Ok(CameraTotals {
                    sealed_bytes: r.get::<_, i64>(0)?.max(0) as u64,
                    sealed_segments: r.get::<_, i64>(1)?.max(0) as u64,
                    max_span_ns: r.get::<_, i64>(2)?.max(0),
                })
            })
            .optional()
            .ctx("read camera totals")?;
        Ok(row.unwrap_or_default())
    }

    /// Bytes of the camera's sealed segments that start at or after `from`
    /// and end after `cutoff` (one index range from `from`).
    pub fn sealed_bytes_ending_after(&self, camera: &str, from: Timestamp, cutoff: Timestamp) -> Result<u64> {
        let sum: i64 = self
            .conn
            .prepare_cached(
                "SELECT COALESCE(SUM(bytes), 0) FROM segments
                 WHERE camera = ?1 AND start_ts >= ?2 AND end_ts > ?3 AND state = 'sealed'",
            )
            .ctx("sum young footage")?
            .query_row(rusqlite::params![camera, from.0, cutoff.0], |r| r.get(0))
            .ctx("sum young footage")?;
        Ok(sum.max(0) as u64)
    }

    /// True while some segment row (any state) is keyed on (camera, day).
    pub fn key_day_in_use(&self, camera: &str, day: i32) -> Result<bool> {
        self.exists("SELECT EXISTS (SELECT 1 FROM segments WHERE camera = ?1 AND kek_day = ?2)", camera, day)
    }

    /// True when retention deleted a segment keyed on (camera, day).
    pub fn key_day_tombstoned(&self, camera: &str, day: i32) -> Result<bool> {
        self.exists(
            "SELECT EXISTS (SELECT 1 FROM deleted_segments WHERE camera = ?1 AND kek_day = ?2)",
            camera,
            day,
        )
    }

    /// The latest key day with a tombstone of the camera, if any (one index
    /// probe): no key of a later day can have been emptied by retention.
    pub fn newest_tombstoned_key_day(&self, camera: &str) -> Result<Option<i32>> {
        self.conn
            .prepare_cached("SELECT MAX(kek_day) FROM deleted_segments WHERE camera = ?1")
            .ctx("look up a key day")?
            .query_row([camera], |r| r.get(0))
            .ctx("look up a key day")
    }

    /// Ids of the rows keyed on (camera, day).
    pub fn key_day_segments(&self, camera: &str, day: i32) -> Result<Vec<u64>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id FROM segments WHERE camera = ?1 AND kek_day = ?2")
            .ctx("list a key day's segments")?;
        let rows = st
            .query_map(rusqlite::params![camera, day], |r| Ok(r.get::<_, i64>(0)? as u64))
            .ctx("list a key day's segments")?;
        rows.collect::<rusqlite::Result<_>>().ctx("list a key day's segments")
    }

    fn exists(&self, sql: &str, camera: &str, day: i32) -> Result<bool> {
        self.conn
            .prepare_cached(sql)
            .ctx("look up a key day")?
            .query_row(rusqlite::params![camera, day], |r| r.get(0))
            .ctx("look up a key day")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::retention::DeleteReason;
    use crate::segment::format::SegmentSummary;

    use crate::catalog::segments::tests::{catalog_with_camera as catalog, open_row};

    fn seal(c: &mut Catalog, id: u64, start: i64, end: i64, bytes: u64) {
        let s = SegmentSummary {
            frame_count: 1,
            start_ts: Timestamp(start),
            max_ts: Timestamp(end),
            end_ts: Timestamp(end),
            records_end: bytes,
            content_hash: [id as u8; 32],
            keyframes: vec![],
            gaps: vec![],
            frame_table: None,
        };
        c.mark_sealed(id, &s, bytes, Timestamp(1)).unwrap();
    }

    fn summed(c: &Catalog) -> (u64, u64) {
        let rows = c.sealed_segments("cam").unwrap();
        (rows.iter().map(|r| r.bytes.unwrap()).sum(), rows.len() as u64)
    }

    /// The totals a sweep trusts follow every change of a row's state:
    /// created open (not counted), sealed, marked deleting, tombstoned,
    /// removed; and the longest span is remembered after it goes.
    #[test]
    fn totals_follow_every_row_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = catalog(dir.path());
        for (id, start, end, bytes) in [(1, 0, 10, 100), (2, 10, 500, 200), (3, 500, 510, 300)] {
            c.insert_open_segment(&open_row(id, start, 0)).unwrap();
            assert_eq!(
                c.camera_totals("cam").unwrap().sealed_bytes,
                summed(&c).0,
                "an open row is not counted"
            );
            seal(&mut c, id, start, end, bytes);
        }
        c.insert_open_segment(&open_row(4, 510, 1)).unwrap();
        let t = c.camera_totals("cam").unwrap();
        assert_eq!((t.sealed_bytes, t.sealed_segments), summed(&c));
        assert_eq!((t.sealed_bytes, t.sealed_segments, t.max_span_ns), (600, 3, 490));
        c.mark_deleting(&[(2, DeleteReason::MaxAge)]).unwrap();
        let t = c.camera_totals("cam").unwrap();
        assert_eq!((t.sealed_bytes, t.sealed_segments), (400, 2));
        c.finish_deletion(&[2], Timestamp(9)).unwrap();
        c.remove_segment(3).unwrap();
        let t = c.camera_totals("cam").unwrap();
        assert_eq!((t.sealed_bytes, t.sealed_segments), summed(&c));
        assert_eq!((t.sealed_bytes, t.max_span_ns), (100, 490), "max_span is an upper bound: never lowered");
        assert_eq!(c.camera_totals("other").unwrap(), CameraTotals::default());
    }

    #[test]
    fn key_days_are_answered_for_rows_and_tombstones() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = catalog(dir.path());
        c.insert_open_segment(&open_row(1, 0, 5)).unwrap();
        seal(&mut c, 1, 0, 10, 100);
        c.insert_open_segment(&open_row(2, 10, 6)).unwrap();
        assert!(
            c.key_day_in_use("cam", 5).unwrap() && c.key_day_in_use("cam", 6).unwrap(),
            "open rows count"
        );
        assert!(!c.key_day_in_use("cam", 7).unwrap() && !c.key_day_in_use("other", 5).unwrap());
        assert_eq!(c.key_day_segments("cam", 5).unwrap(), vec![1]);
        assert!(!c.key_day_tombstoned("cam", 5).unwrap());
        assert_eq!(c.newest_tombstoned_key_day("cam").unwrap(), None);
        c.mark_deleting(&[(1, DeleteReason::MaxAge)]).unwrap();
        c.finish_deletion(&[1], Timestamp(9)).unwrap();
        assert!(!c.key_day_in_use("cam", 5).unwrap() && c.key_day_tombstoned("cam", 5).unwrap());
        // The shred walk skips every key after this day without a probe.
        assert_eq!(c.newest_tombstoned_key_day("cam").unwrap(), Some(5));
        assert_eq!(c.newest_tombstoned_key_day("other").unwrap(), None);
    }

    /// Opening a store looks for `open` and `deleting` rows and shredding
    /// probes key days: none of it may read every row of the store.
    #[test]
    fn open_and_shred_lookups_use_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let c = catalog(dir.path());
        let plan = |sql: &str| -> String {
            let mut st = c.conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let rows = st.query_map([], |r| r.get::<_, String>(3)).unwrap();
            rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("; ")
        };
        for (sql, index) in [
            ("SELECT id FROM segments WHERE state = 'open' ORDER BY id", "segments_open"),
            ("SELECT id FROM segments WHERE state = 'deleting' ORDER BY id", "segments_deleting"),
            ("SELECT 1 FROM segments WHERE camera = 'cam' AND kek_day = 3", "segments_by_key_day"),
            ("SELECT 1 FROM deleted_segments WHERE camera = 'cam' AND kek_day = 3", "deleted_by_key_day"),
            ("SELECT MAX(kek_day) FROM deleted_segments WHERE camera = 'cam'", "deleted_by_key_day"),
        ] {
            let p = plan(sql);
            assert!(p.contains(index), "{sql}: {p}");
        }
    }

    /// A schema-2 catalog (every store made before schema 3) is upgraded on
    /// open, its totals computed from its rows.
    #[test]
    fn a_schema_2_catalog_is_upgraded_with_its_totals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite");
        {
            let mut c = catalog(dir.path());
            c.insert_open_segment(&open_row(1, 0, 0)).unwrap();
            seal(&mut c, 1, 0, 40, 700);
            c.insert_open_segment(&open_row(2, 40, 0)).unwrap();
            // Back to what a schema-2 build left: no totals, no triggers, no new indexes.
            c.conn
                .execute_batch(
                    "DROP TRIGGER camera_totals_insert; DROP TRIGGER camera_totals_update;
                     DROP TRIGGER camera_totals_delete; DROP TABLE camera_totals;
                     DROP INDEX segments_open; DROP INDEX segments_deleting;
                     DROP INDEX segments_by_key_day; DROP INDEX deleted_by_key_day;
                     UPDATE meta SET value = '2' WHERE key = 'schema_version';",
                )
                .unwrap();
        }
        let mut c = Catalog::open(&path, "s").unwrap();
        assert_eq!(c.meta("schema_version").unwrap().as_deref(), Some("3"));
        let t = c.camera_totals("cam").unwrap();
        assert_eq!((t.sealed_bytes, t.sealed_segments, t.max_span_ns), (700, 1, 40));
        seal(&mut c, 2, 40, 50, 5);
        assert_eq!(c.camera_totals("cam").unwrap().sealed_bytes, 705, "the triggers are in place");
    }
}
