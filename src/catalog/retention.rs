//! Retention classes: named policies cameras refer to, and the store default.

use rusqlite::{params, OptionalExtension};

use super::Catalog;
use crate::error::{CatalogContext, Error, Result};
use crate::retention::{builtin_classes, validate_class_name, RetentionPolicy, DEFAULT_CLASS};

impl Catalog {
    pub(super) fn install_builtin_classes(&self) -> Result<()> {
        for (name, policy) in builtin_classes() {
            self.conn
                .execute(
                    "INSERT OR IGNORE INTO retention_classes (name, max_age_ns, max_bytes, min_age_ns)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![name, policy.max_age_ns, policy.max_bytes.map(|v| v as i64), policy.min_age_ns],
                )
                .ctx("install retention classes")?;
        }
        if self.meta("default_retention_class")?.is_none() {
            self.set_meta("default_retention_class", DEFAULT_CLASS)?;
        }
        Ok(())
    }

    /// Creates or replaces a class; every camera in it follows the new policy.
    pub fn define_retention_class(&self, name: &str, policy: &RetentionPolicy) -> Result<()> {
        validate_class_name(name)?;
        policy.validate()?;
        self.conn
            .execute(
                "INSERT INTO retention_classes (name, max_age_ns, max_bytes, min_age_ns) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(name) DO UPDATE SET max_age_ns = ?2, max_bytes = ?3, min_age_ns = ?4",
                params![name, policy.max_age_ns, policy.max_bytes.map(|v| v as i64), policy.min_age_ns],
            )
            .ctx("define retention class")?;
        Ok(())
    }

    pub fn retention_class(&self, name: &str) -> Result<Option<RetentionPolicy>> {
        self.conn
            .query_row(
                "SELECT max_age_ns, max_bytes, min_age_ns FROM retention_classes WHERE name = ?1",
                [name],
                |r| {
                    Ok(RetentionPolicy {
                        max_age_ns: r.get(0)?,
                        max_bytes: r.get::<_, Option<i64>>(1)?.map(|v| v as u64),
                        min_age_ns: r.get(2)?,
                    })
                },
            )
            .optional()
            .ctx("read retention class")
    }

    pub fn retention_classes(&self) -> Result<Vec<(String, RetentionPolicy)>> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT name, max_age_ns, max_bytes, min_age_ns FROM retention_classes ORDER BY name",
            )
            .ctx("list retention classes")?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    RetentionPolicy {
                        max_age_ns: r.get(1)?,
                        max_bytes: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
                        min_age_ns: r.get(3)?,
                    },
                ))
            })
            .ctx("list retention classes")?;
        rows.collect::<rusqlite::Result<_>>().ctx("list retention classes")
    }

    pub fn default_retention_class(&self) -> Result<String> {
        Ok(self.meta("default_retention_class")?.unwrap_or_else(|| DEFAULT_CLASS.to_string()))
    }

    pub fn set_default_retention_class(&self, name: &str) -> Result<()> {
        if self.retention_class(name)?.is_none() {
            return Err(Error::invalid(format!("no retention class {name:?}")));
        }
        self.set_meta("default_retention_class", name)
    }
}
