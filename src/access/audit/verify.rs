//! access/audit/verify.rs: checking an audit log: fully (`verify`, which
//! needs only the store's public key) and, when the store opens it, from
//! the head the keystore recorded to the end (`check_on_open`).

use std::path::Path;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use rusqlite::{Connection, OptionalExtension};

use super::{
    checkpoint_message, continuation, entry_from_row, hash32, head_message, hex, v2_from, ENTRY_COLUMNS,
};
use crate::error::{CatalogContext, Error, Result};
use crate::keys::AuditHeadRecord;
use crate::time::Timestamp;

/// Outcome of `verify`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditVerification {
    pub entries: u64,
    pub checkpoints: u64,
    pub head: Option<(u64, [u8; 32])>,
    /// The head the keystore recorded, when one was given (and checked).
    pub recorded_head: Option<u64>,
    /// A continued log (restarted after the loss of the one before): the
    /// entry of the lost log it chains to. Entries up to it are not in this
    /// file.
    pub continues_from: Option<u64>,
    /// The first broken entry (sequence number, what is wrong); None when sound.
    pub problem: Option<(u64, String)>,
}

/// The store refuses its audit log: what was found, and what to do.
pub(super) fn refusal(path: &Path, found: String) -> Error {
    Error::Damaged {
        path: path.to_path_buf(),
        offset: None,
        detail: format!(
            "{found}. The log cannot continue from a state it did not sign, so the store was not opened and \
             nothing was changed: restore audit.sqlite (with its -wal file, if any) from a backup of this store; \
             verifying the log names the first entry that is missing or altered"
        ),
    }
}

fn signed(public: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    Signature::from_slice(signature).is_ok_and(|s| public.verify(message, &s).is_ok())
}

/// The keystore's recorded head must carry the store's signature.
pub(super) fn recorded_head_signed(
    path: &Path,
    store_id: &str,
    public: &VerifyingKey,
    h: &AuditHeadRecord,
) -> Result<()> {
    if signed(public, &head_message(store_id, h.seq, &h.hash), &h.signature) {
        Ok(())
    } else {
        Err(refusal(
            path,
            format!("the audit head the keystore recorded (entry {}) has a bad signature", h.seq),
        ))
    }
}

/// Walks the entries after `start` (seq, hash) in order: continuity, links
/// and hashes. Returns (entries seen, last (seq, hash), first problem).
fn walk(
    conn: &Connection,
    start: (u64, [u8; 32]),
    v2_from: u64,
) -> rusqlite::Result<(u64, (u64, [u8; 32]), Option<(u64, String)>)> {
    let mut st = conn.prepare(&format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE seq > ?1 ORDER BY seq"))?;
    let mut rows = st.query([start.0 as i64])?;
    let (mut seen, mut prev, mut problem) = (0u64, start, None);
    while let Some(row) = rows.next()? {
        let e = match entry_from_row(row, v2_from) {
            Ok(e) => e,
            Err(err) => {
                problem.get_or_insert((prev.0 + 1, format!("entry after {} is unreadable: {err}", prev.0)));
                break;
            }
        };
        seen += 1;
        let found = if e.seq != prev.0 + 1 {
            Some(format!("entry {} follows entry {}: entries are missing or reordered", e.seq, prev.0))
        } else if e.prev_hash != prev.1 {
            Some(format!(
                "entry {} does not chain to entry {} (an entry was removed, reordered or altered)",
                e.seq, prev.0
            ))
        } else {
            e.content_problem()
        };
        if let Some(f) = found {
            problem.get_or_insert((e.seq, f));
        }
        prev = (e.seq, e.hash);
    }
    Ok((seen, prev, problem))
}

type HeadRow = (u64, [u8; 32], Vec<u8>);

fn head_row(conn: &Connection) -> rusqlite::Result<Option<HeadRow>> {
    conn.query_row("SELECT seq, hash, signature FROM head WHERE id = 1", [], |r| {
        Ok((r.get::<_, i64>(0)? as u64, hash32(r.get(1)?), r.get(2)?))
    })
    .optional()
}

/// The in-file signed head against the log's last entry.
fn head_problem(
    store_id: &str,
    public: &VerifyingKey,
    row: &Option<HeadRow>,
    last: (u64, [u8; 32]),
) -> Option<(u64, String)> {
    match row {
        None if last.0 > 0 => Some((last.0, "the signed head record is missing".into())),
        None => None,
        Some((seq, hash, sig)) => {
            if !signed(public, &head_message(store_id, *seq, hash), sig) {
                Some((*seq, "the head record's signature does not verify".into()))
            } else if *seq > last.0 {
                Some((
                    last.0 + 1,
                    format!(
                        "the log ends at entry {} but its signed head records {seq} entries: entries after {} were removed",
                        last.0, last.0
                    ),
                ))
            } else if (*seq, *hash) != last {
                Some((
                    *seq,
                    format!("the signed head records entry {seq}, but the log's last entry is {}", last.0),
                ))
            } else {
                None
            }
        }
    }
}

/// The log against the head the keystore recorded: it must hold that entry,
/// with that hash and content that still hashes to it, or (a continued log)
/// start right after it. None when it does.
fn recorded_problem(
    conn: &Connection,
    last: u64,
    h: &AuditHeadRecord,
    continues: Option<&AuditHeadRecord>,
    v2_from: u64,
) -> rusqlite::Result<Option<(u64, String)>> {
    if h.seq == 0 {
        return Ok(None);
    }
    if let Some(c) = continues {
        if h.seq < c.seq || (h.seq == c.seq && h.hash != c.hash) {
            return Ok(Some((
                c.seq + 1,
                format!(
                    "the log continues from entry {} of a lost log, which is not the head the keystore recorded \
                     (entry {}): it was not restarted from this store's record",
                    c.seq, h.seq
                ),
            )));
        }
        if h.seq == c.seq {
            return Ok(None);
        }
    }
    if last < h.seq {
        return Ok(Some((
            last + 1,
            format!(
                "the log ends at entry {last}, but the keystore recorded its head at entry {}: entries {}..{} were \
                 removed",
                h.seq,
                last + 1,
                h.seq
            ),
        )));
    }
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM entries WHERE seq = ?1");
    let at = conn.query_row(&sql, [h.seq as i64], |r| entry_from_row(r, v2_from)).optional()?;
    Ok(match at {
        Some(e) if e.hash == h.hash => e.content_problem().map(|p| (h.seq, p)),
        _ => Some((
            h.seq,
            format!(
                "entry {} is not the entry the keystore recorded as the head (hash {})",
                h.seq,
                hex(&h.hash)
            ),
        )),
    })
}

/// On open: the log must reach the recorded head, the entries after it must
/// chain to it and verify, and the in-file head must be signed and be the
/// last entry. Without a recorded head (a store from before heads were
/// recorded) the whole log is checked, once. Returns the head and its
/// signature.
pub(super) fn check_on_open(
    conn: &Connection,
    path: &Path,
    store_id: &str,
    public: &VerifyingKey,
    recorded: Option<&AuditHeadRecord>,
    v2_from: u64,
) -> Result<((u64, [u8; 32]), Option<[u8; 64]>)> {
    let continues = continuation::read(conn).ctx("read audit log")?.map_err(|found| refusal(path, found))?;
    if let Some(c) = &continues {
        if !signed(public, &head_message(store_id, c.seq, &c.hash), &c.signature) {
            return Err(refusal(
                path,
                format!("the log's continuation (from entry {}) has a bad signature", c.seq),
            ));
        }
    }
    let base = continues.as_ref().map_or((0, [0; 32]), |c| (c.seq, c.hash));
    let last: u64 = conn
        .query_row("SELECT coalesce(max(seq), 0) FROM entries", [], |r| r.get::<_, i64>(0))
        .ctx("read audit log")? as u64;
    let last = last.max(base.0);
    if let Some(h) = recorded {
        if let Some((_, found)) =
            recorded_problem(conn, last, h, continues.as_ref(), v2_from).ctx("read audit log")?
        {
            return Err(refusal(path, found));
        }
    }
    let start = recorded.filter(|h| h.seq > base.0).map_or(base, |h| (h.seq, h.hash));
    let (_, end, problem) = walk(conn, start, v2_from).ctx("read audit log")?;
    let row = head_row(conn).ctx("read audit log")?;
    if let Some((seq, found)) = problem.or_else(|| head_problem(store_id, public, &row, end)) {
        return Err(refusal(path, format!("audit entry {seq}: {found}")));
    }
    let signature = row.and_then(|(_, _, sig)| sig.try_into().ok());
    Ok((end, signature))
}

/// `verify` against the head recorded in the keystore beside the log
/// (`keys.vvk` in the same directory), when there is one: what a verifier
/// holding only the store's files and its public key can check.
pub fn verify_with_keystore_beside(path: &Path, public_key: &VerifyingKey) -> Result<AuditVerification> {
    let keystore = path.with_file_name(crate::keys::KEYSTORE_FILE_NAME);
    let recorded = crate::keys::read_recorded_audit_head(&keystore)?;
    verify(path, public_key, recorded.as_ref())
}

/// Verifies the audit log of the store at `root` with its own key and
/// recorded head, read under `master` without opening the store (so it works
/// on a store that refuses to open, and writes nothing).
pub fn verify_store_log(root: &Path, master: &crate::crypto::SecretKey) -> Result<AuditVerification> {
    let keystore = root.join(crate::keys::KEYSTORE_FILE_NAME);
    let (public, recorded) = crate::keys::inspect(&keystore, master, crate::keys::EXPORT_SIGNING_KEY)?;
    verify(&root.join(super::AUDIT_FILE), &public, recorded.as_ref())
}

/// Recomputes the chain and checks every checkpoint and the signed head
/// against `public_key`, and, given the head the keystore recorded
/// (`recorded`), that the log reaches it. Reads the file only; needs no
/// master key.
pub fn verify(
    path: &Path,
    public_key: &VerifyingKey,
    recorded: Option<&AuditHeadRecord>,
) -> Result<AuditVerification> {
    if !path.exists() {
        return Err(Error::NotAStore { path: path.to_path_buf(), detail: "no audit log".into() });
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ctx(&format!("open {}", path.display()))?;
    let mut out = AuditVerification::default();
    let fail = |out: &mut AuditVerification, p: Option<(u64, String)>| {
        if out.problem.is_none() {
            out.problem = p;
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
    let v2_from = v2_from(&conn).unwrap_or(u64::MAX);
    // A continued log starts after the lost log's entry it names, which the
    // store signed: the chain is checked from there.
    let continues = match continuation::read(&conn) {
        Ok(Ok(c)) => c,
        Ok(Err(found)) => {
            fail(&mut out, Some((0, found)));
            None
        }
        Err(e) => {
            fail(&mut out, Some((0, format!("the audit log's metadata is unreadable: {e}"))));
            None
        }
    };
    if let Some(c) = &continues {
        out.continues_from = Some(c.seq);
        if !signed(public_key, &head_message(&store_id, c.seq, &c.hash), &c.signature) {
            fail(
                &mut out,
                Some((
                    c.seq + 1,
                    format!("the log's continuation (from entry {}) has a bad signature", c.seq),
                )),
            );
        }
    }
    let base = continues.as_ref().map_or((0, [0; 32]), |c| (c.seq, c.hash));
    let last = match walk(&conn, base, v2_from) {
        Ok((seen, last, problem)) => {
            out.entries = seen;
            fail(&mut out, problem);
            last
        }
        Err(e) => {
            fail(&mut out, Some((1, format!("the audit log is unreadable: {e}"))));
            (0, [0; 32])
        }
    };
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
        if !signed(public_key, &checkpoint_message(&store_id, *seq, hash, Timestamp(*ts)), sig) {
            fail(&mut out, Some((*seq, format!("checkpoint at entry {seq} has a bad signature"))));
        } else if *seq > last.0 {
            fail(
                &mut out,
                Some((
                    last.0 + 1,
                    format!(
                        "the log ends at entry {} but a signed checkpoint records {seq} entries: it was truncated",
                        last.0
                    ),
                )),
            );
        } else {
            let at: Option<Vec<u8>> = conn
                .query_row("SELECT hash FROM entries WHERE seq = ?1", [*seq as i64], |r| r.get(0))
                .optional()
                .ok()
                .flatten();
            if at.map(hash32) != Some(*hash) {
                fail(
                    &mut out,
                    Some((*seq, format!("entry {seq} differs from what signed checkpoint {seq} recorded"))),
                );
            }
        }
    }
    // The head the keystore recorded, outside this file: entries up to it
    // cannot vanish together with the checkpoints and the head row.
    if let Some(h) = recorded {
        out.recorded_head = Some(h.seq);
        if !signed(public_key, &head_message(&store_id, h.seq, &h.hash), &h.signature) {
            fail(&mut out, Some((h.seq, "the head the keystore recorded has a bad signature".into())));
        } else {
            let found = recorded_problem(&conn, last.0, h, continues.as_ref(), v2_from);
            fail(&mut out, found.unwrap_or_else(|e| Some((h.seq, e.to_string()))));
        }
    }
    // The head row: signed after every append, so trailing entries cannot vanish alone.
    let row = head_row(&conn).ok().flatten();
    fail(&mut out, head_problem(&store_id, public_key, &row, last));
    out.head = row.map(|(seq, hash, _)| (seq, hash));
    Ok(out)
}
