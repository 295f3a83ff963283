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
//!
//! A signature inside the file cannot stop someone from deleting it along
//! with the entries it covers, so the head is also recorded outside the
//! file, in the keystore (`keys::AuditHeadRecord`): at the first entry, at
//! every checkpoint, and when the store is opened and closed. Opening refuses
//! a log that does not reach the recorded head, or whose entries after it do
//! not chain to it: the chain never continues from a state it did not sign.

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey};
use rusqlite::{params, Connection, OptionalExtension, Row};
use sha2::{Digest, Sha256};

use crate::error::{CatalogContext, Error, Result};
use crate::keys::AuditHeadRecord;
use crate::time::{TimeRange, Timestamp};

pub(crate) mod continuation;
mod verify;
pub use verify::{verify, verify_store_log, verify_with_keystore_beside, AuditVerification};

pub const AUDIT_FILE: &str = "audit.sqlite";
/// Schema 2: entries from `meta.hash_v2_from` on are hashed with version 2
/// of the entry hash (each footage bound covered on its own).
pub const AUDIT_SCHEMA_VERSION: &str = "2";
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
CREATE INDEX entries_by_camera_action ON entries (camera, action, ts_ns);
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
    /// The footage bounds as stored; vidvault writes both or neither.
    pub footage_start: Option<Timestamp>,
    pub footage_end: Option<Timestamp>,
    pub outcome: String,
    pub reason: String,
    pub case: String,
    pub grant_id: String,
    pub details: String,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
    /// Which entry-hash encoding covers this entry (1 or 2).
    pub hash_version: u8,
}

fn lp(h: &mut Sha256, s: &str) {
    h.update((s.len() as u32).to_le_bytes());
    h.update(s.as_bytes());
}

impl AuditEntry {
    /// The footage range, when both bounds are set.
    pub fn footage(&self) -> Option<(Timestamp, Timestamp)> {
        self.footage_start.zip(self.footage_end)
    }

    /// SHA-256 over the previous hash and every field, length-prefixed, in
    /// the entry's own hash version.
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(if self.hash_version >= 2 { b"vidvault/audit/v2" } else { b"vidvault/audit/v1" });
        h.update(self.prev_hash);
        h.update(self.seq.to_le_bytes());
        h.update(self.ts.0.to_le_bytes());
        lp(&mut h, &self.principal);
        lp(&mut h, &self.action);
        lp(&mut h, self.camera.as_deref().unwrap_or(""));
        if self.hash_version >= 2 {
            // Each bound on its own: a lone bound is covered too.
            h.update([self.camera.is_some() as u8]);
            for bound in [self.footage_start, self.footage_end] {
                h.update([bound.is_some() as u8]);
                h.update(bound.unwrap_or_default().0.to_le_bytes());
            }
        } else {
            // Version 1 covered the bounds only as a pair.
            let footage = self.footage();
            h.update([self.camera.is_some() as u8, footage.is_some() as u8]);
            let (s, e) = footage.unwrap_or_default();
            h.update(s.0.to_le_bytes());
            h.update(e.0.to_le_bytes());
        }
        lp(&mut h, &self.outcome);
        lp(&mut h, &self.reason);
        lp(&mut h, &self.case);
        lp(&mut h, &self.grant_id);
        lp(&mut h, &self.details);
        h.finalize().into()
    }

    /// What is wrong with the entry's content, if anything.
    fn content_problem(&self) -> Option<String> {
        if self.hash_version < 2 && self.footage_start.is_some() != self.footage_end.is_some() {
            // Version-1 writers stored both bounds or neither, and their hash
            // did not cover a lone one: a lone bound there is an edit.
            return Some(format!(
                "entry {} has a single footage bound, which no writer of its version stored: it was edited",
                self.seq
            ));
        }
        (self.compute_hash() != self.hash)
            .then(|| format!("entry {} was altered: its content does not match its hash", self.seq))
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

/// Reads an entry row; `v2_from` is the first seq hashed with version 2.
fn entry_from_row(r: &Row, v2_from: u64) -> rusqlite::Result<AuditEntry> {
    let fs: Option<i64> = r.get(5)?;
    let fe: Option<i64> = r.get(6)?;
    let seq = r.get::<_, i64>(0)? as u64;
    Ok(AuditEntry {
        seq,
        ts: Timestamp(r.get(1)?),
        principal: r.get(2)?,
        action: r.get(3)?,
        camera: r.get(4)?,
        footage_start: fs.map(Timestamp),
        footage_end: fe.map(Timestamp),
        outcome: r.get(7)?,
        reason: r.get(8)?,
        case: r.get(9)?,
        grant_id: r.get(10)?,
        details: r.get(11)?,
        prev_hash: hash32(r.get(12)?),
        hash: hash32(r.get(13)?),
        hash_version: if seq >= v2_from { 2 } else { 1 },
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
    /// The signature of `head` (None while the log is empty).
    head_signature: Option<[u8; 64]>,
    /// The first entry hashed with version 2 of the entry hash.
    v2_from: u64,
    /// The newest head the keystore is known to hold.
    recorded_seq: u64,
}

fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).ctx(&format!("open {}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).ctx("configure audit log")?;
    conn.pragma_update(None, "journal_mode", "WAL").ctx("configure audit log")?;
    // Every entry is durable before the action it records proceeds.
    conn.pragma_update(None, "synchronous", "FULL").ctx("configure audit log")?;
    Ok(conn)
}

fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
}

/// `meta.hash_v2_from` (absent: every entry is version 1).
fn v2_from(conn: &Connection) -> rusqlite::Result<u64> {
    Ok(meta(conn, "hash_v2_from")?.and_then(|v| v.parse().ok()).unwrap_or(u64::MAX))
}

fn has_schema(conn: &Connection) -> Result<bool> {
    conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'", [], |r| {
        r.get::<_, i64>(0)
    })
    .ctx("read audit log")
    .map(|n| n > 0)
}

fn create_schema(conn: &Connection, store_id: &str, signer: &SigningKey) -> Result<()> {
    conn.execute_batch(SCHEMA).ctx("create audit log")?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1), ('store_id', ?2), ('public_key', ?3),
         ('hash_v2_from', '1')",
        params![AUDIT_SCHEMA_VERSION, store_id, hex(&signer.verifying_key().to_bytes())],
    )
    .ctx("create audit log")?;
    Ok(())
}

/// A schema-1 log: entries from the next one on use hash version 2. Any
/// log older than the (camera, action) index gets it: reading one kind of
/// entry of a camera (its outages) then skips its many retrievals.
fn upgrade_schema(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE INDEX IF NOT EXISTS entries_by_camera_action ON entries (camera, action, ts_ns);",
    )
    .ctx("upgrade audit log")?;
    if meta(conn, "schema_version").ctx("read audit log")?.as_deref() != Some("1") {
        return Ok(());
    }
    let next: i64 = conn
        .query_row("SELECT coalesce(max(seq), 0) + 1 FROM entries", [], |r| r.get(0))
        .ctx("read audit log")?;
    conn.execute_batch(&format!(
        "BEGIN; INSERT OR REPLACE INTO meta (key, value) VALUES ('hash_v2_from', '{next}');
         UPDATE meta SET value = '{AUDIT_SCHEMA_VERSION}' WHERE key = 'schema_version'; COMMIT;"
    ))
    .ctx("upgrade audit log")
}

impl AuditLog {
    /// Opens the store's audit log, creating it when the store has none yet.
    /// `recorded` is the head the keystore holds: a log that is missing,
    /// emptied, or does not reach it, or whose entries after it do not chain
    /// and verify, is refused (nothing is written then).
    pub fn open(
        path: &Path,
        store_id: &str,
        signer: SigningKey,
        recorded: Option<&AuditHeadRecord>,
    ) -> Result<AuditLog> {
        let public = signer.verifying_key();
        if let Some(h) = recorded {
            verify::recorded_head_signed(path, store_id, &public, h)?;
        }
        let recorded_seq = recorded.map_or(0, |h| h.seq);
        let empty_file = std::fs::metadata(path).map_or(true, |m| m.len() == 0);
        if empty_file && recorded_seq > 0 {
            return Err(verify::refusal(
                path,
                format!(
                    "the audit log is missing or empty, but the keystore recorded {recorded_seq} entries"
                ),
            ));
        }
        let conn = open_conn(path)?;
        if !has_schema(&conn)? {
            if recorded_seq > 0 {
                return Err(verify::refusal(
                    path,
                    format!("the audit log has no tables, but the keystore recorded {recorded_seq} entries"),
                ));
            }
            create_schema(&conn, store_id, &signer)?;
        }
        let found = meta(&conn, "store_id").ctx("read audit log")?;
        if found.as_deref() != Some(store_id) {
            return Err(Error::NotAStore {
                path: path.to_path_buf(),
                detail: format!("the audit log belongs to store {found:?}, not {store_id}"),
            });
        }
        upgrade_schema(&conn)?;
        let v2_from = v2_from(&conn).ctx("read audit log")?;
        let (head, head_signature) =
            verify::check_on_open(&conn, path, store_id, &public, recorded, v2_from)?;
        Ok(AuditLog {
            conn,
            path: path.to_path_buf(),
            store_id: store_id.to_string(),
            signer,
            head,
            head_signature,
            v2_from,
            recorded_seq,
        })
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

    /// The signed head, for the keystore, when it is newer than the one the
    /// keystore holds.
    pub fn unrecorded_head(&self) -> Option<AuditHeadRecord> {
        let signature = self.head_signature?;
        (self.head.0 > self.recorded_seq).then_some(AuditHeadRecord {
            seq: self.head.0,
            hash: self.head.1,
            signature,
        })
    }

    /// The head to record after an append: the first entry the keystore
    /// learns of, and every checkpoint. Between those (and the records made
    /// on open and close) the signed head inside the file is the only one.
    pub fn head_due_for_recording(&self) -> Option<AuditHeadRecord> {
        let due = self.recorded_seq == 0 || self.head.0 % CHECKPOINT_EVERY == 0;
        if due {
            self.unrecorded_head()
        } else {
            None
        }
    }

    /// The keystore now holds the head at `seq`.
    pub fn mark_recorded(&mut self, seq: u64) {
        self.recorded_seq = self.recorded_seq.max(seq);
    }

    /// Appends one entry, re-signs the head and, every `CHECKPOINT_EVERY`
    /// entries, keeps a signed checkpoint, all in one durable transaction.
    pub fn append(&mut self, new: NewEntry) -> Result<AuditEntry> {
        let seq = self.head.0 + 1;
        let mut entry = AuditEntry {
            seq,
            ts: Timestamp::now(),
            principal: new.principal,
            action: new.action,
            camera: new.camera,
            footage_start: new.footage.map(|r| r.start),
            footage_end: new.footage.map(|r| r.end),
            outcome: new.outcome,
            reason: new.reason,
            case: new.case,
            grant_id: new.grant_id,
            details: if new.details.is_empty() { "{}".into() } else { new.details },
            prev_hash: self.head.1,
            hash: [0; 32],
            hash_version: if seq >= self.v2_from { 2 } else { 1 },
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
                entry.footage_start.map(|t| t.0),
                entry.footage_end.map(|t| t.0),
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
        self.head_signature = Some(head_sig);
        Ok(entry)
    }

    /// Entries, oldest first, optionally of one camera, of one action and
    /// from `since`.
    pub fn entries(
        &self,
        camera: Option<&str>,
        action: Option<&str>,
        since: Option<Timestamp>,
        limit: usize,
    ) -> Result<Vec<AuditEntry>> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM entries WHERE (?1 IS NULL OR camera = ?1) AND (?4 IS NULL OR action = ?4)
             AND ts_ns >= ?2 ORDER BY seq LIMIT ?3"
        );
        let mut st = self.conn.prepare_cached(&sql).ctx("read audit log")?;
        let v2_from = self.v2_from;
        let rows = st
            .query_map(params![camera, since.map_or(i64::MIN, |t| t.0), limit as i64, action], |r| {
                entry_from_row(r, v2_from)
            })
            .ctx("read audit log")?;
        rows.collect::<rusqlite::Result<_>>().ctx("read audit log")
    }

    pub fn entry(&self, seq: u64) -> Result<Option<AuditEntry>> {
        self.conn
            .query_row(&format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE seq = ?1"), [seq as i64], |r| {
                entry_from_row(r, self.v2_from)
            })
            .optional()
            .ctx("read audit log")
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
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
        let (dir, path, _) = log_recording(n);
        (dir, path)
    }

    /// A log of `n` entries and the head a keystore would hold for it
    /// (recorded the way the store records it: first entry, checkpoints, close).
    fn log_recording(n: u64) -> (tempfile::TempDir, PathBuf, Option<AuditHeadRecord>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(AUDIT_FILE);
        let mut log = AuditLog::open(&path, "store-1", key(), None).unwrap();
        let mut recorded = None;
        for i in 0..n {
            log.append(entry(i)).unwrap();
            if let Some(h) = log.head_due_for_recording() {
                log.mark_recorded(h.seq);
                recorded = Some(h);
            }
        }
        (dir, path, recorded)
    }

    fn verify_plain(path: &Path) -> AuditVerification {
        verify(path, &key().verifying_key(), None).unwrap()
    }

    #[test]
    fn sound_log_verifies() {
        let (_d, path) = log_with(250);
        let v = verify_plain(&path);
        assert_eq!((v.entries, v.checkpoints, v.problem), (250, 2, None));
        let other = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert!(verify(&path, &other, None).unwrap().problem.is_some(), "a wrong key must not verify");
    }

    fn tamper(path: &Path, sql: &str) -> Option<(u64, String)> {
        Connection::open(path).unwrap().execute_batch(sql).unwrap();
        verify_plain(path).problem
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
    fn a_lone_footage_bound_is_covered() {
        // Entries without footage, then one bound set by hand: the old hash
        // (version 1) read such a row as "no footage" and still matched.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(AUDIT_FILE);
        let mut log = AuditLog::open(&path, "store-1", key(), None).unwrap();
        for i in 0..3 {
            log.append(NewEntry { footage: None, ..entry(i) }).unwrap();
        }
        drop(log);
        for (column, seq) in [("footage_start", 2), ("footage_end", 3)] {
            let p = tamper(&path, &format!("UPDATE entries SET {column} = 12345 WHERE seq = {seq}"));
            assert_eq!(p.map(|p| p.0), Some(2), "{column}");
        }
    }

    #[test]
    fn version_1_entries_still_verify_and_a_lone_bound_there_is_flagged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(AUDIT_FILE);
        let mut log = AuditLog::open(&path, "store-1", key(), None).unwrap();
        // Make it a schema-1 log as older builds wrote it: every entry version 1.
        log.conn
            .execute_batch("DELETE FROM meta WHERE key = 'hash_v2_from'; UPDATE meta SET value = '1' WHERE key = 'schema_version'")
            .unwrap();
        log.v2_from = u64::MAX;
        for i in 0..3 {
            log.append(NewEntry { footage: if i == 1 { None } else { entry(i).footage }, ..entry(i) })
                .unwrap();
        }
        drop(log);
        assert_eq!(verify_plain(&path).problem, None);
        // Reopening upgrades: new entries use version 2, old ones still verify.
        let mut log = AuditLog::open(&path, "store-1", key(), None).unwrap();
        assert_eq!(log.v2_from, 4);
        assert_eq!(log.append(entry(3)).unwrap().hash_version, 2);
        drop(log);
        assert_eq!(verify_plain(&path).problem, None);
        let p = tamper(&path, "UPDATE entries SET footage_end = 7 WHERE seq = 2").unwrap();
        assert_eq!(p.0, 2);
        assert!(p.1.contains("single footage bound"), "{p:?}");
    }

    #[test]
    fn reopening_continues_the_chain() {
        let (dir, path) = log_with(5);
        let mut log = AuditLog::open(&path, "store-1", key(), None).unwrap();
        assert_eq!(log.head().0, 5);
        log.append(entry(5)).unwrap();
        drop(log);
        assert_eq!(verify_plain(&path).entries, 6);
        assert!(AuditLog::open(&path, "store-2", key(), None).is_err());
        drop(dir);
    }

    #[test]
    fn heads_are_due_at_the_first_entry_and_at_checkpoints() {
        let (_d, _p, recorded) = log_recording(99);
        assert_eq!(recorded.map(|h| h.seq), Some(1));
        let (_d, _p, recorded) = log_recording(250);
        assert_eq!(recorded.map(|h| h.seq), Some(200));
    }

    fn refused(path: &Path, recorded: &AuditHeadRecord) -> String {
        match AuditLog::open(path, "store-1", key(), Some(recorded)) {
            Err(Error::Damaged { detail, .. }) => detail,
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("the log was accepted"),
        }
    }

    #[test]
    fn open_refuses_a_log_cut_below_the_recorded_head() {
        // Entries after the last checkpoint deleted, and the checkpoints and
        // the head row with them: the file alone looks sound.
        let (_d, path, recorded) = log_recording(150);
        let recorded = recorded.unwrap();
        assert_eq!(recorded.seq, 100);
        let mut log = AuditLog::open(&path, "store-1", key(), Some(&recorded)).unwrap();
        let head = log.unrecorded_head().unwrap(); // what close records
        log.mark_recorded(head.seq);
        drop(log);
        Connection::open(&path)
            .unwrap()
            .execute_batch("DELETE FROM entries WHERE seq > 40; DELETE FROM checkpoints; DELETE FROM head")
            .unwrap();
        // The file alone sees only a missing head row, not that 110 entries went.
        assert_eq!(verify_plain(&path).problem.map(|p| p.0), Some(40));
        let detail = refused(&path, &head);
        assert!(detail.contains("entries 41..150 were removed"), "{detail}");
        let v = verify(&path, &key().verifying_key(), Some(&head)).unwrap();
        assert_eq!(v.problem.map(|p| p.0), Some(41));
        assert_eq!(v.recorded_head, Some(150));
    }

    #[test]
    fn open_refuses_a_missing_or_emptied_log() {
        let (_d, path, recorded) = log_recording(3);
        let recorded = recorded.unwrap();
        Connection::open(&path).unwrap().execute_batch("DELETE FROM entries; DELETE FROM head").unwrap();
        assert!(refused(&path, &recorded).contains("removed"));
        std::fs::remove_file(&path).unwrap();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        assert!(refused(&path, &recorded).contains("missing or empty"));
        assert!(!path.exists(), "refusing must not create the file");
        std::fs::write(&path, b"").unwrap();
        assert!(refused(&path, &recorded).contains("missing or empty"));
    }

    #[test]
    fn open_refuses_altered_entries_after_the_recorded_head() {
        let (_d, path, recorded) = log_recording(10);
        let recorded = recorded.unwrap();
        assert_eq!(recorded.seq, 1);
        Connection::open(&path)
            .unwrap()
            .execute_batch("UPDATE entries SET reason = 'x' WHERE seq = 7")
            .unwrap();
        assert!(refused(&path, &recorded).contains("entry 7"));
        // A recorded head that is not the store's is refused as such.
        let (_d, path, recorded) = log_recording(10);
        let forged = AuditHeadRecord { signature: [0; 64], ..recorded.unwrap() };
        assert!(refused(&path, &forged).contains("bad signature"));
    }

    /// A log of 150 entries (head recorded at 100) and the head its close
    /// would record (150), with the file already lost.
    fn lost_log() -> (tempfile::TempDir, PathBuf, AuditHeadRecord, AuditHeadRecord) {
        let (dir, path, recorded) = log_recording(150);
        let at_100 = recorded.unwrap();
        let closed =
            AuditLog::open(&path, "store-1", key(), Some(&at_100)).unwrap().unrecorded_head().unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        (dir, path, at_100, closed)
    }

    /// The lost log continued from `from` by an `audit_log_restarted` entry.
    fn continue_from(path: &Path, from: &AuditHeadRecord) -> AuditHeadRecord {
        let first = NewEntry {
            principal: "clerk".into(),
            action: "audit_log_restarted".into(),
            outcome: DONE.into(),
            reason: "disk replaced".into(),
            ..NewEntry::default()
        };
        continuation::create(path, "store-1", key(), from, first).unwrap()
    }

    /// The continued log that replaces a lost one, the head it continues
    /// from, and its own head.
    fn continued_log() -> (tempfile::TempDir, PathBuf, AuditHeadRecord, AuditHeadRecord) {
        let (dir, path, _, closed) = lost_log();
        let new_head = continue_from(&path, &closed);
        (dir, path, closed, new_head)
    }

    #[test]
    fn a_continued_log_chains_to_the_recorded_head_and_says_so() {
        let (_d, path, closed, new_head) = continued_log();
        assert_eq!(new_head.seq, 151);
        // Opened against the old recorded head (a crash before the keystore
        // learnt the new one) and against the new one: both continue.
        for recorded in [&closed, &new_head] {
            let log = AuditLog::open(&path, "store-1", key(), Some(recorded)).unwrap();
            assert_eq!(log.head().0, 151);
            let e = log.entry(151).unwrap().unwrap();
            assert_eq!((e.prev_hash, e.action.as_str()), (closed.hash, "audit_log_restarted"));
        }
        let mut log = AuditLog::open(&path, "store-1", key(), Some(&new_head)).unwrap();
        log.append(entry(1)).unwrap();
        drop(log);
        let v = verify(&path, &key().verifying_key(), Some(&new_head)).unwrap();
        assert_eq!((v.entries, v.continues_from, v.problem), (2, Some(150), None));
        assert_eq!(v.head.map(|h| h.0), Some(152));
    }

    #[test]
    fn a_continuation_the_store_did_not_make_is_refused() {
        // Its signature forged.
        let (_d, path, _, new_head) = continued_log();
        Connection::open(&path)
            .unwrap()
            .execute("UPDATE meta SET value = ?1 WHERE key = 'continues_from_signature'", [hex(&[7; 64])])
            .unwrap();
        assert!(refused(&path, &new_head).contains("continuation (from entry 150) has a bad signature"));
        let v = verify(&path, &key().verifying_key(), Some(&new_head)).unwrap();
        assert!(v.problem.unwrap().1.contains("bad signature"));
        // Made from an older head than the keystore recorded (so hiding
        // entries the keystore knew of): a signed head of entry 100.
        let (_d, path, at_100, closed) = lost_log();
        continue_from(&path, &at_100);
        let detail = refused(&path, &closed);
        assert!(detail.contains("entries 102..150 were removed"), "{detail}");
        assert!(verify(&path, &key().verifying_key(), Some(&closed)).unwrap().problem.is_some());
        // Made from a head ahead of the one recorded (entry 100 recorded, a
        // continuation from 150): not this store's record either.
        let (_d, path, at_100, at_150) = lost_log();
        continue_from(&path, &at_150);
        let detail = refused(&path, &at_100);
        assert!(detail.contains("continues from entry 150") && detail.contains("(entry 100)"), "{detail}");
    }

    #[test]
    fn open_accepts_entries_appended_after_the_recorded_head() {
        // A crash after appends that were not recorded yet is normal.
        let (_d, path, recorded) = log_recording(42);
        let log = AuditLog::open(&path, "store-1", key(), recorded.as_ref()).unwrap();
        assert_eq!(log.head().0, 42);
        assert_eq!(log.unrecorded_head().map(|h| h.seq), Some(42));
    }
}
