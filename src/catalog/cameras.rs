//! Cameras: ids, labels and the retention each follows.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Row};

use super::Catalog;
use crate::error::{CatalogContext, Error, Result};
use crate::retention::{RetentionPolicy, RetentionSetting};
use crate::time::Timestamp;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraRow {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    pub created: Timestamp,
    pub retention: RetentionSetting,
}

const CAMERA_COLUMNS: &str = "id, labels, created_ns, retention_class, custom_retention, \
     custom_max_age_ns, custom_max_bytes, custom_min_age_ns";

fn camera_from_row(r: &Row) -> rusqlite::Result<CameraRow> {
    let labels: String = r.get(1)?;
    let class: Option<String> = r.get(3)?;
    let custom: bool = r.get::<_, i64>(4)? != 0;
    let retention = if custom {
        RetentionSetting::Custom(RetentionPolicy {
            max_age_ns: r.get(5)?,
            max_bytes: r.get::<_, Option<i64>>(6)?.map(|v| v as u64),
            min_age_ns: r.get(7)?,
        })
    } else if let Some(c) = class {
        RetentionSetting::Class(c)
    } else {
        RetentionSetting::StoreDefault
    };
    Ok(CameraRow {
        id: r.get(0)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        created: Timestamp(r.get(2)?),
        retention,
    })
}

impl Catalog {
    pub fn add_camera(&self, row: &CameraRow) -> Result<()> {
        self.check_retention_setting(&row.retention)?;
        let labels = serde_json::to_string(&row.labels).expect("labels serialise");
        match self.conn.execute(
            "INSERT INTO cameras (id, labels, created_ns) VALUES (?1, ?2, ?3)",
            params![row.id, labels, row.created.0],
        ) {
            Ok(_) => self.set_camera_retention(&row.id, &row.retention),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(Error::CameraExists(row.id.to_string()))
            }
            Err(e) => Err(Error::catalog("add camera", e)),
        }
    }

    pub fn set_labels(&self, id: &str, labels: &BTreeMap<String, String>) -> Result<()> {
        let labels = serde_json::to_string(labels).expect("labels serialise");
        let n = self
            .conn
            .execute("UPDATE cameras SET labels = ?2 WHERE id = ?1", params![id, labels])
            .ctx("update labels")?;
        if n == 0 {
            return Err(Error::UnknownCamera(id.to_string()));
        }
        Ok(())
    }

    fn check_retention_setting(&self, setting: &RetentionSetting) -> Result<()> {
        match setting {
            RetentionSetting::Class(name) if self.retention_class(name)?.is_none() => {
                Err(Error::invalid(format!(
                    "no retention class {name:?}; define it first (existing: {})",
                    self.retention_classes()?.into_iter().map(|(n, _)| n).collect::<Vec<_>>().join(", ")
                )))
            }
            RetentionSetting::Custom(p) => p.validate(),
            _ => Ok(()),
        }
    }

    pub fn set_camera_retention(&self, id: &str, setting: &RetentionSetting) -> Result<()> {
        self.check_retention_setting(setting)?;
        let (class, custom, p) = match setting {
            RetentionSetting::StoreDefault => (None, 0, RetentionPolicy::default()),
            RetentionSetting::Class(c) => (Some(c.as_str()), 0, RetentionPolicy::default()),
            RetentionSetting::Custom(p) => (None, 1, *p),
        };
        let n = self
            .conn
            .execute(
                "UPDATE cameras SET retention_class = ?2, custom_retention = ?3, custom_max_age_ns = ?4,
                     custom_max_bytes = ?5, custom_min_age_ns = ?6 WHERE id = ?1",
                params![id, class, custom, p.max_age_ns, p.max_bytes.map(|v| v as i64), p.min_age_ns],
            )
            .ctx("set camera retention")?;
        if n == 0 {
            return Err(Error::UnknownCamera(id.to_string()));
        }
        Ok(())
    }

    pub fn camera(&self, id: &str) -> Result<Option<CameraRow>> {
        self.conn
            .prepare_cached(&format!("SELECT {CAMERA_COLUMNS} FROM cameras WHERE id = ?1"))
            .and_then(|mut st| st.query_row([id], camera_from_row).optional())
            .ctx("read camera")
    }

    /// Whether camera `id` exists, without reading its row (every read and
    /// seek checks this first).
    /// The camera's row, or `Error::UnknownCamera`: the lookup every "this
    /// camera must exist" check uses.
    pub fn existing_camera(&self, id: &str) -> Result<CameraRow> {
        self.camera(id)?.ok_or_else(|| Error::UnknownCamera(id.to_string()))
    }

    /// `Error::UnknownCamera` unless the camera exists (the cached query of
    /// the read path, which needs no row).
    pub fn require_camera(&self, id: &str) -> Result<()> {
        match self.camera_exists(id)? {
            true => Ok(()),
            false => Err(Error::UnknownCamera(id.to_string())),
        }
    }

    pub fn camera_exists(&self, id: &str) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT 1 FROM cameras WHERE id = ?1")
            .and_then(|mut st| st.exists([id]))
            .ctx("read camera")
    }

    pub fn cameras(&self) -> Result<Vec<CameraRow>> {
        let mut st = self
            .conn
            .prepare_cached(&format!("SELECT {CAMERA_COLUMNS} FROM cameras ORDER BY id"))
            .ctx("list cameras")?;
        let rows = st.query_map([], camera_from_row).ctx("list cameras")?;
        rows.collect::<rusqlite::Result<_>>().ctx("list cameras")
    }

    /// The policy a camera follows, and where it comes from ("class general",
    /// "custom", ...).
    pub fn effective_retention(&self, camera: &CameraRow) -> Result<(String, RetentionPolicy)> {
        let class = match &camera.retention {
            RetentionSetting::Custom(p) => return Ok(("custom".to_string(), *p)),
            RetentionSetting::Class(c) => c.clone(),
            RetentionSetting::StoreDefault => self.default_retention_class()?,
        };
        let policy = self.retention_class(&class)?.ok_or_else(|| {
            Error::invalid(format!("camera {:?} refers to the missing retention class {class:?}", camera.id))
        })?;
        Ok((format!("class {class}"), policy))
    }
}
