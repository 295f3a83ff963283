//! Legal holds ("evidence locks"): footage ranges no retention path deletes.

use rusqlite::{params, OptionalExtension, Row};

use super::Catalog;
use crate::error::{CatalogContext, Error, Result};
use crate::retention::Hold;
use crate::time::Timestamp;

const HOLD_COLUMNS: &str =
    "id, camera, start_ts, end_ts, case_id, reason, actor, created_ns, until_ns, released_ns, released_by";

fn hold_from_row(r: &Row) -> rusqlite::Result<Hold> {
    let released_ns: Option<i64> = r.get(9)?;
    let released_by: Option<String> = r.get(10)?;
    Ok(Hold {
        id: r.get::<_, i64>(0)? as u64,
        camera: r.get(1)?,
        start: Timestamp(r.get(2)?),
        end: Timestamp(r.get(3)?),
        case: r.get(4)?,
        reason: r.get(5)?,
        actor: r.get(6)?,
        created: Timestamp(r.get(7)?),
        until: r.get::<_, Option<i64>>(8)?.map(Timestamp),
        released: released_ns.map(|t| (Timestamp(t), released_by.unwrap_or_default())),
    })
}

impl Catalog {
    /// Records a hold and returns its id. `hold.id` is ignored unless it is
    /// non-zero (catalog rebuilds restore holds with their original ids).
    pub fn insert_hold(&self, hold: &Hold) -> Result<u64> {
        let id = (hold.id != 0).then_some(hold.id as i64);
        self.conn
            .execute(
                "INSERT INTO holds (id, camera, start_ts, end_ts, case_id, reason, actor, created_ns, until_ns,
                     released_ns, released_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    id,
                    hold.camera,
                    hold.start.0,
                    hold.end.0,
                    hold.case,
                    hold.reason,
                    hold.actor,
                    hold.created.0,
                    hold.until.map(|t| t.0),
                    hold.released.as_ref().map(|r| r.0 .0),
                    hold.released.as_ref().map(|r| r.1.clone())
                ],
            )
            .ctx("insert hold")?;
        Ok(self.conn.last_insert_rowid() as u64)
    }

    pub fn hold(&self, id: u64) -> Result<Option<Hold>> {
        self.conn
            .query_row(&format!("SELECT {HOLD_COLUMNS} FROM holds WHERE id = ?1"), [id as i64], hold_from_row)
            .optional()
            .ctx("read hold")
    }

    pub fn release_hold(&self, id: u64, when: Timestamp, actor: &str) -> Result<Hold> {
        let hold = self.hold(id)?.ok_or_else(|| Error::invalid(format!("no hold with id {id}")))?;
        if let Some((t, by)) = &hold.released {
            return Err(Error::invalid(format!("hold {id} was already released at {t} by {by:?}")));
        }
        self.conn
            .execute(
                "UPDATE holds SET released_ns = ?2, released_by = ?3 WHERE id = ?1",
                params![id as i64, when.0, actor],
            )
            .ctx("release hold")?;
        self.hold(id)?.ok_or_else(|| Error::invalid(format!("hold {id} vanished")))
    }

    /// Holds of one camera (or all), oldest first, released ones included.
    pub fn holds(&self, camera: Option<&str>) -> Result<Vec<Hold>> {
        let (sql, arg) = match camera {
            Some(c) => (format!("SELECT {HOLD_COLUMNS} FROM holds WHERE camera = ?1 ORDER BY id"), c),
            None => (format!("SELECT {HOLD_COLUMNS} FROM holds WHERE ?1 = ?1 ORDER BY id"), ""),
        };
        let mut st = self.conn.prepare_cached(&sql).ctx("list holds")?;
        let rows = st.query_map([arg], hold_from_row).ctx("list holds")?;
        rows.collect::<rusqlite::Result<_>>().ctx("list holds")
    }
}
