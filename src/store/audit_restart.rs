//! store/audit_restart.rs: the deliberate, audited restart of a lost audit
//! log. A store whose `audit.sqlite` is missing or damaged refuses to open,
//! and restoring the file from a backup is the first answer. When there is
//! no backup, recording must still be able to go on without the evidence
//! chain pretending nothing happened: the damaged file (if any) is moved to
//! `quarantine/`, and a new log continues the chain from the head the
//! keystore recorded (access/audit/continuation.rs). Its first entry,
//! `audit_log_restarted`, names the operator, the reason, what was found
//! and where the old file went; verification reports the continuation.
//! A sound log is never restarted.

use std::path::{Path, PathBuf};

use crate::access::audit::{continuation, AuditLog, NewEntry, AUDIT_FILE, DONE};
use crate::crypto::SecretKey;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::keys::{Keystore, EXPORT_SIGNING_KEY};
use crate::store::lock::StoreLock;
use crate::store::shared::{KEYSTORE_FILE, MARKER_FILE};

/// What a restart did.
#[derive(Debug, Clone)]
pub struct AuditRestart {
    /// The lost log's entry the new log chains to (the recorded head).
    pub continues_from: u64,
    /// The new log's first entry (`audit_log_restarted`).
    pub first_seq: u64,
    /// Where the old log's files went (empty when there were none).
    pub quarantined: Vec<PathBuf>,
    /// Why the store refused the old log.
    pub found: String,
}

pub const RESTART_ACTION: &str = "audit_log_restarted";

/// Restarts the audit log of the closed store at `root`; see the module
/// comment. `operator` and `reason` go into the first entry and must not be
/// empty.
pub fn restart_audit_log(
    root: &Path,
    master: SecretKey,
    operator: &str,
    reason: &str,
) -> Result<AuditRestart> {
    if operator.trim().is_empty() || reason.trim().is_empty() {
        return Err(Error::invalid(
            "restarting the audit log needs the operator's name and a reason: both are recorded in the new log's \
             first entry",
        ));
    }
    if !root.join(MARKER_FILE).exists() {
        return Err(Error::NotAStore { path: root.to_path_buf(), detail: "no VIDVAULT marker file".into() });
    }
    let _lock = StoreLock::acquire(root)?;
    let mut keystore = Keystore::open(&root.join(KEYSTORE_FILE), master)?;
    let id_text = uuid::Uuid::from_bytes(keystore.store_id()).to_string();
    let signer = keystore.signing_key(EXPORT_SIGNING_KEY)?;
    let path = root.join(AUDIT_FILE);
    let Some(recorded) = keystore.audit_head().cloned() else {
        return Err(Error::invalid(format!(
            "the keystore of {} records no audit head, so there is no chain to continue: open the store as usual \
             (a store without a recorded head creates or checks its log on open)",
            root.display()
        )));
    };
    let found = match AuditLog::open(&path, &id_text, signer.clone(), Some(&recorded)) {
        Ok(log) => {
            return Err(Error::invalid(format!(
                "the audit log {} is sound (its last entry is {}) and was left as it is: a restart is only for a \
                 log that is lost or damaged",
                path.display(),
                log.head().0
            )))
        }
        Err(Error::Damaged { detail, .. }) | Err(Error::NotAStore { detail, .. }) => detail,
        // A file that is not a database (any more) is damage too; other
        // errors (a failing disk) are not a reason to give up the log.
        Err(Error::Catalog { source, .. }) if is_damaged_database(&source) => source.to_string(),
        Err(e) => return Err(e),
    };
    let mut quarantined = Vec::new();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            quarantined.push(fsutil::quarantine(root, &file)?);
        }
    }
    let previous = match quarantined.first() {
        Some(p) => p.strip_prefix(root).unwrap_or(p).display().to_string(),
        None => "none (the file was missing)".into(),
    };
    let details = serde_json::json!({
        "continues_from_seq": recorded.seq,
        "continues_from_hash": crate::access::audit::hex(&recorded.hash),
        "previous_log": previous,
        "found": found,
        "lost": "entries after the recorded head that the previous log held, if any",
    });
    let first = NewEntry {
        principal: operator.to_string(),
        action: RESTART_ACTION.into(),
        outcome: DONE.into(),
        reason: reason.to_string(),
        details: details.to_string(),
        ..NewEntry::default()
    };
    let head = continuation::create(&path, &id_text, signer, &recorded, first)?;
    let first_seq = head.seq;
    // Outside the log it protects, as after every first entry.
    keystore.record_audit_head(head)?;
    Ok(AuditRestart { continues_from: recorded.seq, first_seq, quarantined, found })
}

fn is_damaged_database(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt)
    )
}
