//! store/retention.rs: `impl Store` for retention: policies, legal holds,
//! sweeps and disk pressure. Planning lives in src/retention.rs, execution
//! in store/sweep.rs and store/pressure.rs; this file is the API over them.

use crate::access::audit::NewEntry;
use crate::catalog::CameraRow;
use crate::error::{Error, Result};
use crate::retention::{Hold, RetentionPolicy, RetentionSetting};
use crate::store::mirror;
use crate::store::pressure::{self, StorageStatus};
use crate::store::sweep::{self, SweepReport};
use crate::store::Store;
use crate::time::{TimeRange, Timestamp};

fn hold_entry(action: &str, hold: &Hold, actor: &str) -> NewEntry {
    NewEntry {
        principal: actor.to_string(),
        action: action.into(),
        camera: Some(hold.camera.clone()),
        footage: Some(TimeRange::new(hold.start, hold.end)),
        outcome: crate::access::audit::DONE.into(),
        reason: hold.reason.clone(),
        case: hold.case.clone(),
        details: serde_json::json!({ "hold_id": hold.id, "until": hold.until.map(|t| t.0) }).to_string(),
        ..NewEntry::default()
    }
}

impl Store {
    /// Sets which policy a camera follows (a class, its own, or the default).
    pub fn set_retention(&self, camera: &str, setting: RetentionSetting) -> Result<CameraRow> {
        if let RetentionSetting::Custom(p) = &setting {
            p.validate()?;
        }
        let row = {
            let catalog = self.shared().catalog()?;
            catalog.set_camera_retention(camera, &setting)?;
            catalog.existing_camera(camera)?
        };
        self.write_camera_file(&row)?;
        Ok(row)
    }

    /// The policy a camera follows now, and where it comes from.
    pub fn effective_retention(&self, camera: &str) -> Result<(String, RetentionPolicy)> {
        let catalog = self.shared().catalog()?;
        let row = catalog.existing_camera(camera)?;
        catalog.effective_retention(&row)
    }

    /// Creates or changes a named class; every camera in it follows.
    pub fn define_retention_class(&self, name: &str, policy: RetentionPolicy) -> Result<()> {
        let catalog = self.shared().catalog()?;
        catalog.define_retention_class(name, &policy)?;
        mirror::write_retention(&self.shared().root, &catalog)
    }

    pub fn retention_classes(&self) -> Result<(String, Vec<(String, RetentionPolicy)>)> {
        let catalog = self.shared().catalog()?;
        Ok((catalog.default_retention_class()?, catalog.retention_classes()?))
    }

    pub fn set_default_retention_class(&self, name: &str) -> Result<()> {
        let catalog = self.shared().catalog()?;
        catalog.set_default_retention_class(name)?;
        mirror::write_retention(&self.shared().root, &catalog)
    }

    /// Places a legal hold on a camera's footage in `range`. Held footage is
    /// never deleted or shredded by any path until the hold is released or
    /// `until` passes.
    pub fn hold(
        &self,
        camera: &str,
        range: TimeRange,
        case: &str,
        reason: &str,
        until: Option<Timestamp>,
        actor: &str,
    ) -> Result<Hold> {
        if range.is_empty() {
            return Err(Error::invalid(format!("hold range {} .. {} is empty", range.start, range.end)));
        }
        if case.trim().is_empty() || actor.trim().is_empty() {
            return Err(Error::invalid("a hold needs a case id and an actor (who placed it)"));
        }
        let shared = self.shared();
        let _serial = shared.sweep_guard();
        let catalog = shared.catalog()?;
        catalog.existing_camera(camera)?;
        let mut hold = Hold {
            id: 0,
            camera: camera.to_string(),
            start: range.start,
            end: range.end,
            case: case.to_string(),
            reason: reason.to_string(),
            actor: actor.to_string(),
            created: Timestamp::now(),
            until,
            released: None,
        };
        hold.id = catalog.insert_hold(&hold)?;
        mirror::write_holds(&shared.root, &catalog)?;
        drop(catalog);
        shared.audit(hold_entry("hold", &hold, actor))?;
        Ok(hold)
    }

    /// Releases a hold; its footage falls back under normal retention.
    pub fn release(&self, id: u64, actor: &str) -> Result<Hold> {
        if actor.trim().is_empty() {
            return Err(Error::invalid("releasing a hold needs an actor (who released it)"));
        }
        let shared = self.shared();
        let _serial = shared.sweep_guard();
        let catalog = shared.catalog()?;
        let hold = catalog.release_hold(id, Timestamp::now(), actor)?;
        mirror::write_holds(&shared.root, &catalog)?;
        drop(catalog);
        shared.audit(hold_entry("hold_release", &hold, actor))?;
        Ok(hold)
    }

    /// Holds of one camera or of all, released ones included.
    pub fn holds(&self, camera: Option<&str>) -> Result<Vec<Hold>> {
        self.shared().catalog()?.holds(camera)
    }

    /// Applies every camera's retention at `now` (default: the clock):
    /// deletes whole sealed segments past `max_age` or over `max_bytes`
    /// (never held ones, never the open one) and shreds the keys of days left
    /// without footage. `dry_run` reports the plan and changes nothing.
    pub fn enforce_retention(
        &self,
        now: Option<Timestamp>,
        dry_run: bool,
        actor: &str,
    ) -> Result<SweepReport> {
        sweep::run(self.shared(), now.unwrap_or_else(Timestamp::now), dry_run, None, actor)
    }

    /// Checks free space now and reclaims footage if it is under the floor
    /// (the janitor thread does this every `pressure_interval`).
    pub fn check_disk_pressure(&self) -> Result<StorageStatus> {
        pressure::check(self.shared())
    }

    pub fn storage_status(&self) -> Result<StorageStatus> {
        pressure::status(self.shared())
    }
}
