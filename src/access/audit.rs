//! The audit log: who retrieved, exported, held, deleted or re-keyed which
//! footage, when and why, in an append-only, hash-chained SQLite database
//! (`audit.sqlite`, separate from the catalog so a catalog rebuild never
//! touches it).
//!
//! Each entry's hash covers the previous entry's hash and every field of the
//! entry, so editing, deleting or reordering any entry breaks the chain at
//! that entry. After every append the head (sequence number and hash) is
//! signed with the store's Ed25519 key, so truncating entries after the last
//! checkpoint is detected too; every `CHECKPOINT_EVERY` entries a signed
//! checkpoint (count + head hash) is kept for good. Byte layout of the hashed
//! and signed messages: docs/FORMAT.md, section 6.

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use rusqlite::{params, Connection, OptionalExtension, Row};
use sha2::{Digest, Sha256};

use crate::error::{CatalogContext, Error, Result};
use crate::time::{TimeRange, Timestamp};

pub const AUDIT_FILE: &str = "audit.sqlite";
pub const AUDIT_SCHEMA_VERSION: &str = "1";
/// A permanent signed checkpoint every this many entries.
pub const CHECKPOINT_EVERY: u64 = 100;

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE entries (
    seq            INTEGER PRIMARY KEY,
    ts_ns          INTEGER NOT NULL,
    principal      TEXT NOT NULL,
    action         TEXT NOT NULL,
    camera         TEXT,
    footage_start  INTEGER,
    footage_end    INTEGER,
    outcome        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    case_id        TEXT NOT NULL,
    grant_id       TEXT NOT NULL,
    details        TEXT NOT NULL,
    prev_hash      BLOB NOT NULL,
    hash           BLOB NOT NULL
);
CREATE INDEX entries_by_camera ON entries (camera, ts_ns);
CREATE TABLE checkpoints (
    seq        INTEGER PRIMARY KEY,
    head_hash  BLOB NOT NULL,
    ts_ns      INTEGER NOT NULL,
    signature  BLOB NOT NULL
);
CREATE TABLE head (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seq        INTEGER NOT NULL,
    hash       BLOB NOT NULL,
    signature  BLOB NOT NULL
);
";

/// What happened to a request.
pub const ALLOWED: &str = "allowed";
pub const DENIED: &str = "denied";
pub const DONE: &str = "done";

/// An entry to append.
#[derive(Clone, Debug, Default)]
pub struct NewEntry {
    pub principal: String,
    pub action: String,
    pub camera: Option<String>,
    pub footage: Option<TimeRange>,
    pub outcome: String,
    pub reason: String,
    pub case: String,
    pub grant_id: String,
    /// JSON object with anything else worth keeping.
    pub details: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: u64,
    pub ts: Timestamp,
    pub principal: String,
    pub action: String,
    pub camera: Option<String>,
    pub footage: Option<(Timestamp, Timestamp)>,
    pub outcome: String,
    pub reason: String,
    pub case: String,
    pub grant_id: String,
    pub details: String,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

fn lp(h: &mut Sha256, s: &str) {
    h.update((s.len() as u32).to_le_bytes());
    h.update(s.as_bytes());
}

impl AuditEntry {
    /// SHA-256 over the previous hash and every field, length-prefixed.
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"vidvault/audit/v1");
        h.update(self.prev_hash);
        h.update(self.seq.to_le_bytes());
        h.update(self.ts.0.to_le_bytes());
        lp(&mut h, &self.principal);
        lp(&mut h, &self.action);
        lp(&mut h, self.camera.as_deref().unwrap_or(""));
        h.update([self.camera.is_some() as u8, self.footage.is_some() as u8]);
        let (s, e) = self.footage.unwrap_or_default();
        h.update(s.0.to_le_bytes());
        h.update(e.0.to_le_bytes());
        lp(&mut h, &self.outcome);
        lp(&mut h, &self.reason);
        lp(&mut h, &self.case);
        lp(&mut h, &self.grant_id);
        lp(&mut h, &self.details);
        h.finalize().into()
    }
}

fn head_message(store_id: &str, seq: u64, hash: &[u8; 32]) -> Vec<u8> {
    [b"vidvault/audit-head/v1".as_slice(), store_id.as_bytes(), &seq.to_le_bytes(), hash].concat()
}

fn checkpoint_message(store_id: &str, seq: u64, hash: &[u8; 32], ts: Timestamp) -> Vec<u8> {
    [
        b"vidvault/audit-checkpoint/v1".as_slice(),
        store_id.as_bytes(),
        &seq.to_le_bytes(),
        hash,
        &ts.0.to_le_bytes(),
    ]
    .concat()
}

fn hash32(v: Vec<u8>) -> [u8; 32] {
    v.try_into().unwrap_or([0; 32])
}

fn entry_from_row(r: &Row) -> rusqlite::Result<AuditEntry> {
    let fs: Option<i64> = r.get(5)?;
    let fe: Option<i64> = r.get(6)?;
    Ok(AuditEntry {
        seq: r.get::<_, i64>(0)? as u64,
        ts: Timestamp(r.get(1)?),
        principal: r.get(2)?,
        action: r.get(3)?,
        camera: r.get(4)?,
        footage: fs.zip(fe).map(|(s, e)| (Timestamp(s), Timestamp(e))),
        outcome: r.get(7)?,
        reason: r.get(8)?,
        case: r.get(9)?,
        grant_id: r.get(10)?,
        details: r.get(11)?,
        prev_hash: hash32(r.get(12)?),
        hash: hash32(r.get(13)?),
    })
}

const ENTRY_COLUMNS: &str =
    "seq, ts_ns, principal, action, camera, footage_start, footage_end, outcome, reason, \
                             case_id, grant_id, details, prev_hash, hash";

pub struct AuditLog {
    conn: Connection,
    path: PathBuf,
    store_id: String,
    signer: SigningKey,
    head: (u64, [u8; 32]),
}

fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).ctx(&format!("open {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).ctx("configure audit log")?;
    conn.pragma_update(None, "journal_mode", "WAL").ctx("configure audit log")?;
    // Every entry is durable before the action it records proceeds.
    conn.pragma_update(None, "synchronous", "FULL").ctx("configure audit log")?;
    Ok(conn)
}

impl AuditLog {
    /// Opens the store's audit log, creating it on first use.
    pub fn open(path: &Path, store_id: &str, signer: SigningKey) -> Result<AuditLog> {
        let fresh = !path.exists();
        let conn = open_conn(path)?;
        if fresh {
            conn.execute_batch(SCHEMA).ctx("create audit log")?;
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1), ('store_id', ?2), ('public_key', ?3)",
                params![AUDIT_SCHEMA_VERSION, store_id, hex(&signer.verifying_key().to_bytes())],
            )
            .ctx("create audit log")?;
        }
        let found: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'store_id'", [], |r| r.get(0))
            .optional()
            .ctx("read audit log")?;
        if found.as_deref() != Some(store_id) {
            return Err(Error::NotAStore {
                path: path.to_path_buf(),
                detail: format!("the audit log belongs to store {found:?}, not {store_id}"),
            });
        }
        let head = conn
            .query_row("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1", [], |r| {
                Ok((r.get::<_, i64>(0)? as u64, hash32(r.get(1)?)))
            })
            .optional()
            .ctx("read audit log")?
            .unwrap_or((0, [0; 32]));
        Ok(AuditLog { conn, path: path.to_path_buf(), store_id: store_id.to_string(), signer, head })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Copies the WAL into the database file and empties it.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").ctx("checkpoint audit log")
    }

    /// (sequence number, hash) of the newest entry.
    pub fn head(&self) -> (u64, [u8; 32]) {
        self.head
    }

    /// Appends one entry, re-signs the head and, every `CHECKPOINT_EVERY`
    /// entries, keeps a signed checkpoint, all in one durable transaction.
    pub fn append(&mut self, new: NewEntry) -> Result<AuditEntry> {
        let mut entry = AuditEntry {
            seq: self.head.0 + 1,
            ts: Timestamp::now(),
            principal: new.principal,
            action: new.action,
            camera: new.camera,
            footage: new.footage.map(|r| (r.start, r.end)),
            outcome: new.outcome,
            reason: new.reason,
            case: new.case,
            grant_id: new.grant_id,
            details: if new.details.is_empty() { "{}".into() } else { new.details },
            prev_hash: self.head.1,
            hash: [0; 32],
        };
        entry.hash = entry.compute_hash();
        let head_sig = self.signer.sign(&head_message(&self.store_id, entry.seq, &entry.hash)).to_bytes();
        let tx = self.conn.transaction().ctx("append to audit log")?;
        tx.execute(
            &format!("INSERT INTO entries ({ENTRY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
            params![
                entry.seq as i64,
                entry.ts.0,
                entry.principal,
                entry.action,
                entry.camera,
                entry.footage.map(|f| f.0 .0),
                entry.footage.map(|f| f.1 .0),
                entry.outcome,
                entry.reason,
                entry.case,
                entry.grant_id,
                entry.details,
                entry.prev_hash.as_slice(),
                entry.hash.as_slice()
            ],
        )
        .ctx("append to audit log")?;
        tx.execute(
            "INSERT INTO head (id, seq, hash, signature) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT(id) DO UPDATE SET seq = ?1, hash = ?2, signature = ?3",
            params![entry.seq as i64, entry.hash.as_slice(), head_sig.as_slice()],
        )
        .ctx("append to audit log")?;
        if entry.seq % CHECKPOINT_EVERY == 0 {
            let sig = self
                .signer
                .sign(&checkpoint_message(&self.store_id, entry.seq, &entry.hash, entry.ts))
                .to_bytes();
            tx.execute(
                "INSERT INTO checkpoints (seq, head_hash, ts_ns, signature) VALUES (?1, ?2, ?3, ?4)",
                params![entry.seq as i64, entry.hash.as_slice(), entry.ts.0, sig.as_slice()],
            )
            .ctx("append to audit log")?;
        }
        tx.commit().ctx("append to audit log")?;
        self.head = (entry.seq, entry.hash);
        Ok(entry)
    }

    /// Entries, oldest first, optionally of one camera and from `since`.
    pub fn entries(
        &self,
        camera: Option<&str>,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM entries WHERE (?1 IS NULL OR camera = ?1) AND ts_ns >= ?2 ORDER BY seq LIMIT ?3"
        );
        let mut st = self.conn.prepare_cached(&sql).ctx("read audit log")?;
        let rows = st
            .query_map(params![camera, since.map_or(i64::MIN, |t| t.0), limit as i64], entry_from_row)
            .ctx("read audit log")?;
        rows.collect::<rusqlite::Result<_>>().ctx("read audit log")
    }

    pub fn entry(&self, seq: u64) -> Result<Option<AuditEntry>> {
        self.conn
            .query_row(
                &format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE seq = ?1"),
                [seq as i64],
                entry_from_row,
            )
            .optional()
            .ctx("read audit log")
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Outcome of `verify`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditVerification {
    pub entries: u64,
    pub checkpoints: u64,
    pub head: Option<(u64, [u8; 32])>,
    /// The first broken entry (sequence number, what is wrong); None when sound.
    pub problem: Option<(u64, String)>,
}

/// Recomputes the chain and checks every checkpoint and the signed head
/// against `public_key`. Reads the file only; needs no master key.
pub fn verify(path: &Path, public_key: &VerifyingKey) -> Result<AuditVerification> {
    if !path.exists() {
        return Err(Error::NotAStore { path: path.to_path_buf(), detail: "no audit log".into() });
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ctx(&format!("open {}", path.display()))?;
    let mut out = AuditVerification::default();
    let fail = |out: &mut AuditVerification, seq: u64, detail: String| {
        if out.problem.is_none() {
            out.problem = Some((seq, detail));
        }
    };
    let store_id: String =
        match conn.query_row("SELECT value FROM meta WHERE key = 'store_id'", [], |r| r.get(0)) {
            Ok(v) => v,
            Err(e) => {
                out.problem = Some((0, format!("the audit log's metadata is unreadable: {e}")));
                return Ok(out);
            }
        };
    let mut prev = (0u64, [0u8; 32]);
    let read = (|| -> rusqlite::Result<()> {
        let mut st = conn.prepare(&format!("SELECT {ENTRY_COLUMNS} FROM entries ORDER BY seq"))?;
        let mut rows = st.query([])?;
        while let Some(row) = rows.next()? {
            let e = match entry_from_row(row) {
                Ok(e) => e,
                Err(err) => {
                    fail(&mut out, prev.0 + 1, format!("entry after {} is unreadable: {err}", prev.0));
                    break;
                }
            };
            out.entries += 1;
            if e.seq != prev.0 + 1 {
                fail(
                    &mut out,
                    e.seq,
                    format!("entry {} follows entry {}: entries are missing or reordered", e.seq, prev.0),
                );
            } else if e.prev_hash != prev.1 {
                fail(
                    &mut out,
                    e.seq,
                    format!(
                        "entry {} does not chain to entry {} (an entry was removed, reordered or altered)",
                        e.seq, prev.0
                    ),
                );
            } else if e.compute_hash() != e.hash {
                fail(
                    &mut out,
                    e.seq,
                    format!("entry {} was altered: its content does not match its hash", e.seq),
                );
            }
            prev = (e.seq, e.hash);
        }
        Ok(())
    })();
    if let Err(e) = read {
        fail(&mut out, prev.0 + 1, format!("the audit log is unreadable after entry {}: {e}", prev.0));
    }
    // Checkpoints: each names an entry and its hash, signed.
    let checkpoints: Vec<(u64, [u8; 32], i64, Vec<u8>)> = conn
        .prepare("SELECT seq, head_hash, ts_ns, signature FROM checkpoints ORDER BY seq")
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, hash32(r.get(1)?), r.get(2)?, r.get(3)?)))?
                .collect()
        })
        .unwrap_or_default();
    for (seq, hash, ts, sig) in &checkpoints {
        out.checkpoints += 1;
        let signed = ed25519_dalek::Signature::from_slice(sig).ok().is_some_and(|s| {
            public_key.verify(&checkpoint_message(&store_id, *seq, hash, Timestamp(*ts)), &s).is_ok()
        });
        if !signed {
            fail(&mut out, *seq, format!("checkpoint at entry {seq} has a bad signature"));
        } else if *seq > prev.0 {
            fail(&mut out, prev.0 + 1, format!("the log ends at entry {} but a signed checkpoint records {seq} entries: it was truncated", prev.0));
        } else {
            let at: Option<Vec<u8>> = conn
                .query_row("SELECT hash FROM entries WHERE seq = ?1", [*seq as i64], |r| r.get(0))
                .optional()
                .ok()
                .flatten();
            if at.map(hash32) != Some(*hash) {
                fail(
                    &mut out,
                    *seq,
                    format!("entry {seq} differs from what signed checkpoint {seq} recorded"),
                );
            }
        }
    }
    // The head: signed after every append, so trailing entries cannot vanish.
    let head: Option<(u64, [u8; 32], Vec<u8>)> = conn
        .query_row("SELECT seq, hash, signature FROM head WHERE id = 1", [], |r| {
            Ok((r.get::<_, i64>(0)? as u64, hash32(r.get(1)?), r.get(2)?))
        })
        .optional()
        .ok()
        .flatten();
    match head {
        None if prev.0 > 0 => fail(&mut out, prev.0, "the signed head record is missing".into()),
        None => {}
        Some((seq, hash, sig)) => {
            let signed = ed25519_dalek::Signature::from_slice(&sig)
                .ok()
                .is_some_and(|s| public_key.verify(&head_message(&store_id, seq, &hash), &s).is_ok());
            if !signed {
                fail(&mut out, seq, "the head record's signature does not verify".into());
            } else if seq > prev.0 {
                fail(&mut out, prev.0 + 1, format!("the log ends at entry {} but its signed head records {seq} entries: entries after {} were removed", prev.0, prev.0));
            } else if (seq, hash) != prev {
                fail(
                    &mut out,
                    seq,
                    format!("the signed head records entry {seq}, but the log's last entry is {}", prev.0),
                );
            }
            out.head = Some((seq, hash));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[9; 32])
    }

    fn entry(i: u64) -> NewEntry {
        NewEntry {
            principal: format!("user{i}"),
            action: "view_raw".into(),
            camera: Some("cam".into()),
            footage: Some(TimeRange::new(Timestamp(i as i64), Timestamp(i as i64 + 10))),
            outcome: ALLOWED.into(),
            ..NewEntry::default()
        }
    }

    fn log_with(n: u64) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(AUDIT_FILE);
        let mut log = AuditLog::open(&path, "store-1", key()).unwrap();
        for i in 0..n {
            log.append(entry(i)).unwrap();
        }
        (dir, path)
    }

    #[test]
    fn sound_log_verifies() {
        let (_d, path) = log_with(250);
        let v = verify(&path, &key().verifying_key()).unwrap();
        assert_eq!((v.entries, v.checkpoints, v.problem), (250, 2, None));
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(verify(&path, &other).unwrap().problem.is_some(), "a wrong key must not verify");
    }

    fn tamper(path: &Path, sql: &str) -> Option<(u64, String)> {
        Connection::open(path).unwrap().execute_batch(sql).unwrap();
        verify(path, &key().verifying_key()).unwrap().problem
    }

    #[test]
    fn edits_deletions_reorders_and_truncations_are_named() {
        let (_d, p) = log_with(120);
        assert_eq!(tamper(&p, "UPDATE entries SET principal = 'mallory' WHERE seq = 37").unwrap().0, 37);
        let (_d, p) = log_with(120);
        assert_eq!(tamper(&p, "DELETE FROM entries WHERE seq = 50").unwrap().0, 51);
        let (_d, p) = log_with(120);
        let swapped = tamper(
            &p,
            "UPDATE entries SET seq = -1 WHERE seq = 20; UPDATE entries SET seq = 20 WHERE seq = 21;
                                  UPDATE entries SET seq = 21 WHERE seq = -1;",
        )
        .unwrap();
        assert_eq!(swapped.0, 20);
        let (_d, p) = log_with(120);
        let trunc = tamper(&p, "DELETE FROM entries WHERE seq > 110").unwrap();
        assert!(trunc.1.contains("removed"), "{trunc:?}");
        let (_d, p) = log_with(120);
        let trunc = tamper(&p, "DELETE FROM entries WHERE seq > 90; DELETE FROM head").unwrap();
        assert!(trunc.1.contains("truncated"), "{trunc:?}");
    }

    #[test]
    fn reopening_continues_the_chain() {
        let (dir, path) = log_with(5);
        let mut log = AuditLog::open(&path, "store-1", key()).unwrap();
        assert_eq!(log.head().0, 5);
        log.append(entry(5)).unwrap();
        drop(log);
        assert_eq!(verify(&path, &key().verifying_key()).unwrap().entries, 6);
        assert!(AuditLog::open(&path, "store-2", key()).is_err());
        drop(dir);
    }
}
