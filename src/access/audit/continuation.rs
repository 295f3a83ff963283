//! access/audit/continuation.rs: a new audit log that continues the chain of
//! one that was lost. When `audit.sqlite` is gone or damaged the store
//! refuses to open (the chain never continues from a state it did not sign),
//! and the only way on that keeps the evidence chain honest is a deliberate,
//! audited restart: a new file whose first entry chains to the head the
//! keystore recorded, signed by the store, saying who restarted it, why, and
//! where the old file went. Entries after the recorded head that the old
//! file held are lost, and the restart entry says so; nothing before it is
//! forged, and a verifier sees the continuation (`continues_from`).
//!
//! The new file is built whole under a temporary name and renamed into
//! place, so a crash leaves either no log (open still refuses; run the
//! restart again) or the complete continued one.

use std::path::Path;

use rusqlite::{params, Connection};

use super::{create_schema, hex, AuditLog, NewEntry, AUDIT_SCHEMA_VERSION};
use crate::error::{CatalogContext, Error, IoContext, Result};
use crate::fsutil;
use crate::keys::AuditHeadRecord;
use ed25519_dalek::SigningKey;

/// Meta rows of a continued log (docs/FORMAT.md, section 6).
const SEQ: &str = "continues_from_seq";
const HASH: &str = "continues_from_hash";
const SIGNATURE: &str = "continues_from_signature";

/// The head a continued log starts after, as its meta rows record it (None
/// for a log that starts at entry 1). Rows that do not parse are returned
/// as an error message: a verifier reports them, open refuses.
pub(super) fn read(
    conn: &Connection,
) -> rusqlite::Result<std::result::Result<Option<AuditHeadRecord>, String>> {
    let row = |k| super::meta(conn, k);
    let (seq, hash, sig) = (row(SEQ)?, row(HASH)?, row(SIGNATURE)?);
    if seq.is_none() && hash.is_none() && sig.is_none() {
        return Ok(Ok(None));
    }
    let parsed = (|| {
        let seq: u64 = seq?.parse().ok()?;
        let hash: [u8; 32] = unhex(&hash?)?.try_into().ok()?;
        let signature: [u8; 64] = unhex(&sig?)?.try_into().ok()?;
        Some(AuditHeadRecord { seq, hash, signature })
    })();
    Ok(parsed
        .map(Some)
        .ok_or_else(|| "the log's continuation record (continues_from_*) is damaged".to_string()))
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// Writes, under `tmp`, a complete audit log continuing after `from` (the
/// head the keystore recorded, signed by `signer`) whose first entry is
/// `first`, then renames it to `path` (where no file may be any more).
/// Returns the new log's head as (seq, hash, signature) for the keystore.
pub(crate) fn create(
    path: &Path,
    store_id: &str,
    signer: SigningKey,
    from: &AuditHeadRecord,
    first: NewEntry,
) -> Result<AuditHeadRecord> {
    // A -wal file left beside the new log would be replayed into it.
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            return Err(Error::invalid(format!(
                "{} is still there: move the old audit log's files away before starting a new one",
                file.display()
            )));
        }
    }
    let tmp = fsutil::tmp_path(path);
    let _ = std::fs::remove_file(&tmp); // an interrupted restart
    let conn = Connection::open(&tmp).ctx(&format!("create {}", tmp.display()))?;
    // One file, no WAL, until it is complete and in place.
    conn.pragma_update(None, "synchronous", "FULL").ctx("create audit log")?;
    create_schema(&conn, store_id, &signer)?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2), (?3, ?4), (?5, ?6)",
        params![SEQ, from.seq.to_string(), HASH, hex(&from.hash), SIGNATURE, hex(&from.signature)],
    )
    .ctx("create audit log")?;
    debug_assert_eq!(
        super::meta(&conn, "schema_version").ok().flatten().as_deref(),
        Some(AUDIT_SCHEMA_VERSION)
    );
    let mut log = AuditLog {
        conn,
        path: tmp.clone(),
        store_id: store_id.to_string(),
        signer,
        head: (from.seq, from.hash),
        head_signature: Some(from.signature),
        v2_from: 1,
        recorded_seq: from.seq,
    };
    log.append(first)?;
    let head = log.unrecorded_head().ok_or_else(|| Error::invalid("the restart entry was not signed"))?;
    drop(log);
    let file = std::fs::File::open(&tmp).ctx("open", &tmp)?;
    fsutil::fsync_file(&file, &tmp)?;
    fsutil::rename(&tmp, path)?;
    fsutil::fsync_dir(path.parent().unwrap_or(Path::new(".")))?;
    Ok(head)
}
