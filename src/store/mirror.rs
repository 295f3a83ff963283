//! store/mirror.rs: mirrors, small JSON copies of what segment files cannot tell about
//! themselves (camera labels and retention, retention classes, legal holds),
//! kept beside the catalog so a catalog rebuild loses none of it. The catalog
//! is written first; the mirror follows, and opening a store brings stale
//! mirrors up to date. Formats in docs/FORMAT.md, section 5.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::catalog::{CameraRow, Catalog, Tombstone};
use crate::error::Result;
use crate::fsutil;
use crate::retention::{DeleteReason, Hold, RetentionPolicy, RetentionSetting};
use crate::time::Timestamp;

pub const RETENTION_FILE: &str = "retention.json";
pub const HOLDS_FILE: &str = "holds.json";
pub const CAMERA_FILE: &str = "camera.json";
pub const TOMBSTONES_FILE: &str = "tombstones.jsonl";

fn policy_json(p: &RetentionPolicy) -> Value {
    json!({ "max_age_ns": p.max_age_ns, "max_bytes": p.max_bytes, "min_age_ns": p.min_age_ns })
}

fn policy_from(v: &Value) -> RetentionPolicy {
    RetentionPolicy {
        max_age_ns: v["max_age_ns"].as_i64(),
        max_bytes: v["max_bytes"].as_u64(),
        min_age_ns: v["min_age_ns"].as_i64(),
    }
}

pub fn camera_json(row: &CameraRow) -> Value {
    let retention = match &row.retention {
        RetentionSetting::StoreDefault => json!({ "kind": "default" }),
        RetentionSetting::Class(c) => json!({ "kind": "class", "class": c }),
        RetentionSetting::Custom(p) => json!({ "kind": "custom", "policy": policy_json(p) }),
    };
    json!({ "id": row.id, "labels": row.labels, "created_ns": row.created.0, "retention": retention })
}

pub fn camera_from_json(v: &Value) -> Option<CameraRow> {
    let retention = match v["retention"]["kind"].as_str() {
        Some("class") => RetentionSetting::Class(v["retention"]["class"].as_str()?.to_string()),
        Some("custom") => RetentionSetting::Custom(policy_from(&v["retention"]["policy"])),
        _ => RetentionSetting::StoreDefault,
    };
    Some(CameraRow {
        id: v["id"].as_str()?.to_string(),
        labels: serde_json::from_value(v["labels"].clone()).unwrap_or_default(),
        created: Timestamp(v["created_ns"].as_i64().unwrap_or(0)),
        retention,
    })
}

pub fn hold_json(h: &Hold) -> Value {
    json!({
        "id": h.id, "camera": h.camera, "start_ns": h.start.0, "end_ns": h.end.0, "case": h.case,
        "reason": h.reason, "actor": h.actor, "created_ns": h.created.0, "until_ns": h.until.map(|t| t.0),
        "released_ns": h.released.as_ref().map(|r| r.0 .0),
        "released_by": h.released.as_ref().map(|r| r.1.clone()),
    })
}

pub fn hold_from_json(v: &Value) -> Option<Hold> {
    Some(Hold {
        id: v["id"].as_u64()?,
        camera: v["camera"].as_str()?.to_string(),
        start: Timestamp(v["start_ns"].as_i64()?),
        end: Timestamp(v["end_ns"].as_i64()?),
        case: v["case"].as_str()?.to_string(),
        reason: v["reason"].as_str().unwrap_or_default().to_string(),
        actor: v["actor"].as_str().unwrap_or_default().to_string(),
        created: Timestamp(v["created_ns"].as_i64().unwrap_or(0)),
        until: v["until_ns"].as_i64().map(Timestamp),
        released: v["released_ns"]
            .as_i64()
            .map(|t| (Timestamp(t), v["released_by"].as_str().unwrap_or_default().to_string())),
    })
}

fn hex(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let bytes: Option<Vec<u8>> =
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect();
    bytes?.try_into().ok()
}

pub fn tombstone_json(t: &Tombstone) -> Value {
    json!({
        "id": t.id, "camera": t.camera, "start_ns": t.start_ts.0, "end_ns": t.end_ts.map(|e| e.0),
        "bytes": t.bytes, "kek_day": t.kek_day, "content_hash": t.content_hash.map(|h| hex(&h)),
        "prev_hash": hex(&t.prev_hash), "reason": t.reason.as_str(), "deleted_ns": t.deleted.0,
    })
}

pub fn tombstone_from_json(v: &Value) -> Option<Tombstone> {
    Some(Tombstone {
        id: v["id"].as_u64()?,
        camera: v["camera"].as_str()?.to_string(),
        start_ts: Timestamp(v["start_ns"].as_i64()?),
        end_ts: v["end_ns"].as_i64().map(Timestamp),
        bytes: v["bytes"].as_u64(),
        kek_day: v["kek_day"].as_i64()? as i32,
        content_hash: v["content_hash"].as_str().and_then(unhex),
        prev_hash: unhex(v["prev_hash"].as_str()?)?,
        reason: DeleteReason::parse(v["reason"].as_str()?),
        deleted: Timestamp(v["deleted_ns"].as_i64()?),
    })
}

/// Journals segments about to be deleted (one JSON object per line,
/// fdatasynced) before their rows change: the record of what retention
/// removed, and of their hashes, survives even the loss of the catalog.
pub fn append_tombstones(root: &Path, tombstones: &[Tombstone]) -> Result<()> {
    use std::io::Write;
    if tombstones.is_empty() {
        return Ok(());
    }
    let path = root.join(TOMBSTONES_FILE);
    let mut text = String::new();
    for t in tombstones {
        text.push_str(&tombstone_json(t).to_string());
        text.push('\n');
    }
    let existed = path.exists();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| crate::error::Error::io("open", &path, e))?;
    use crate::faults::{check, Op};
    check(Op::Write)
        .and_then(|()| f.write_all(text.as_bytes()))
        .map_err(|e| crate::error::Error::io("append to", &path, e))?;
    check(Op::Fsync).and_then(|()| f.sync_data()).map_err(|e| crate::error::Error::io("fsync", &path, e))?;
    if !existed {
        fsutil::fsync_dir(root)?;
    }
    Ok(())
}

/// Writes `value` to `path` atomically unless the file already says the same.
fn write_if_changed(path: &Path, value: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value).expect("json") + "\n";
    if std::fs::read_to_string(path).ok().as_deref() == Some(text.as_str()) {
        return Ok(());
    }
    fsutil::write_atomic(path, text.as_bytes())
}

pub fn write_camera(root: &Path, row: &CameraRow) -> Result<()> {
    let dir = root.join("segments").join(crate::camera::camera_dir_name(&row.id));
    fsutil::create_dir_all_durable(&dir)?;
    write_if_changed(&dir.join(CAMERA_FILE), &camera_json(row))
}

pub fn write_holds(root: &Path, catalog: &Catalog) -> Result<()> {
    let holds: Vec<Value> = catalog.holds(None)?.iter().map(hold_json).collect();
    write_if_changed(&root.join(HOLDS_FILE), &json!({ "holds": holds }))
}

pub fn write_retention(root: &Path, catalog: &Catalog) -> Result<()> {
    let classes: BTreeMap<String, Value> =
        catalog.retention_classes()?.iter().map(|(n, p)| (n.clone(), policy_json(p))).collect();
    let v = json!({ "default_class": catalog.default_retention_class()?, "classes": classes });
    write_if_changed(&root.join(RETENTION_FILE), &v)
}

/// Brings every mirror up to date with the catalog (after a crash between a
/// catalog commit and its mirror write).
pub fn refresh_all(root: &Path, catalog: &Catalog) -> Result<()> {
    write_retention(root, catalog)?;
    write_holds(root, catalog)?;
    for cam in catalog.cameras()? {
        write_camera(root, &cam)?;
    }
    Ok(())
}

/// What the mirrors hold, for a catalog rebuild.
#[derive(Default)]
pub struct Mirrored {
    pub cameras: BTreeMap<String, CameraRow>,
    pub classes: Vec<(String, RetentionPolicy)>,
    pub default_class: Option<String>,
    pub holds: Vec<Hold>,
    pub tombstones: Vec<Tombstone>,
}

pub fn load(root: &Path) -> Mirrored {
    let read = |p: &Path| -> Option<Value> { serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok() };
    let mut m = Mirrored::default();
    if let Some(v) = read(&root.join(RETENTION_FILE)) {
        m.default_class = v["default_class"].as_str().map(str::to_string);
        if let Some(classes) = v["classes"].as_object() {
            m.classes = classes.iter().map(|(n, p)| (n.clone(), policy_from(p))).collect();
        }
    }
    if let Some(v) = read(&root.join(HOLDS_FILE)) {
        m.holds =
            v["holds"].as_array().map(|a| a.iter().filter_map(hold_from_json).collect()).unwrap_or_default();
    }
    if let Ok(text) = std::fs::read_to_string(root.join(TOMBSTONES_FILE)) {
        // A torn last line (crash during an append) is skipped.
        m.tombstones = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| tombstone_from_json(&v))
            .collect();
    }
    if let Ok(dirs) = std::fs::read_dir(root.join("segments")) {
        for d in dirs.flatten() {
            if let Some(row) = read(&d.path().join(CAMERA_FILE)).as_ref().and_then(camera_from_json) {
                m.cameras.insert(row.id.clone(), row);
            }
        }
    }
    m
}
