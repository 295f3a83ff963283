//! The keystore: master key -> per (camera, UTC day) key-encryption keys ->
//! per-segment data keys (wrapped in segment headers, see segment/format.rs).
//!
//! KEKs are random, never derived from the master key, so destroying one
//! (crypto-shredding a day of a camera) cannot be undone by anybody holding the
//! master key. The keystore file `keys.vvk` is an append-only log of wrapped
//! secrets; removing or re-wrapping secrets rewrites it atomically. Its byte
//! layout is in docs/FORMAT.md ("Keystore").

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::crypto::{self, SecretKey, NONCE_LEN, TAG_LEN, WRAPPED_KEY_LEN};
use crate::error::{Error, IoContext, Result};
use crate::faults::{self, Op};
use crate::fsutil;

pub mod format;
pub mod recover;

use format::{audit_head_entry, kek_entry, secret_entry, Entry};
pub use format::{
    parse_keystore_bytes, AuditHeadRecord, KeystoreProblem, ParsedKeystore, KEYSTORE_HEADER_LEN,
    KEYSTORE_MAGIC, KEYSTORE_VERSION,
};
use recover::PrimaryAction;

/// The keystore's file name in a store directory.
pub const KEYSTORE_FILE_NAME: &str = "keys.vvk";

/// The newest audit head recorded in the keystore at `path` (or, when that
/// is damaged, in its intact copy), read without the master key: what
/// offline verification of the audit log checks it against. None when no
/// keystore is there or it records none.
pub fn read_recorded_audit_head(path: &Path) -> Result<Option<AuditHeadRecord>> {
    let primary = read_optional(path)?;
    let copy = read_optional(&copy_path(path))?;
    if primary.is_none() && copy.is_none() {
        return Ok(None);
    }
    let decision =
        recover::choose(primary.as_deref(), copy.as_deref()).map_err(|r| refusal_error(path, r))?;
    Ok(decision.parsed.audit_head().cloned())
}

/// The public half of the named signing key and the recorded audit head,
/// read under `master` without writing anything, not even a recovery: what
/// verifying the audit log of a store that refuses to open needs.
pub fn inspect(
    path: &Path,
    master: &SecretKey,
    key_name: &str,
) -> Result<(ed25519_dalek::VerifyingKey, Option<AuditHeadRecord>)> {
    let primary = read_optional(path)?;
    let copy = read_optional(&copy_path(path))?;
    let decision =
        recover::choose(primary.as_deref(), copy.as_deref()).map_err(|r| refusal_error(path, r))?;
    let header = &decision.parsed.header;
    if !master.cipher().verify_mac(&header.check_nonce, &key_check_aad(&header.store_id), &header.check_tag) {
        return Err(Error::WrongKey {
            path: path.parent().unwrap_or(path).to_path_buf(),
            detail: "the keystore's key check does not verify".into(),
        });
    }
    // A later entry for the same name replaces an earlier one.
    let wrapped = decision.parsed.entries.iter().rev().find_map(|(_, e)| match e {
        Entry::Secret { name, wrapped } if name == key_name => Some(wrapped),
        _ => None,
    });
    let seed = wrapped
        .and_then(|w| crypto::unwrap_secret(master, w, &secret_aad(&header.store_id, key_name)))
        .map(zeroize::Zeroizing::new)
        .and_then(|plain| <[u8; 32]>::try_from(plain.as_slice()).ok())
        .map(zeroize::Zeroizing::new)
        .ok_or_else(|| Error::Damaged {
            path: path.to_path_buf(),
            offset: None,
            detail: format!("the keystore holds no readable signing key {key_name:?}"),
        })?;
    let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    Ok((public, decision.parsed.audit_head().cloned()))
}

/// The mirror of `keys.vvk`: the same bytes, changed after the primary with
/// each append and each rewrite, so one bad sector in either is survivable.
pub fn copy_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".copy");
    path.with_file_name(name)
}

/// KEKs waiting to be appended to the keystore file (see `pending_keks`).
pub struct PendingKeks {
    bytes: Vec<u8>,
    ids: Vec<(String, i32)>,
    offset: u64,
    files: KeystoreFiles,
}

impl PendingKeks {
    pub fn write(&self) -> Result<()> {
        self.files.append_at(&self.bytes, self.offset)
    }
}

/// The primary keystore file and its copy, written in that order.
#[derive(Clone)]
struct KeystoreFiles {
    primary: Arc<File>,
    copy: Arc<File>,
    path: PathBuf,
    copy_path: PathBuf,
}

impl KeystoreFiles {
    fn open(path: &Path) -> Result<KeystoreFiles> {
        let rw = |p: &Path| OpenOptions::new().read(true).write(true).open(p).ctx("open keystore", p);
        let copy_path = copy_path(path);
        Ok(KeystoreFiles {
            primary: Arc::new(rw(path)?),
            copy: Arc::new(rw(&copy_path)?),
            path: path.to_path_buf(),
            copy_path,
        })
    }

    /// Appends `bytes` at `offset` to the primary, fdatasyncs it, then does
    /// the same to the copy: the copy never holds what the primary lacks.
    /// Writing again at the same offset (a retry) rewrites the same bytes.
    fn append_at(&self, bytes: &[u8], offset: u64) -> Result<()> {
        let files = [
            (&self.primary, &self.path, "append to keystore", "fsync keystore"),
            (&self.copy, &self.copy_path, "append to keystore copy", "fsync keystore copy"),
        ];
        for (file, path, append, fsync) in files {
            faults::check(Op::Write).and_then(|()| file.write_all_at(bytes, offset)).ctx(append, path)?;
            faults::check(Op::Fsync).and_then(|()| file.sync_data()).ctx(fsync, path)?;
        }
        Ok(())
    }

    /// Replaces both files (primary first), each atomically.
    fn replace(path: &Path, bytes: &[u8]) -> Result<KeystoreFiles> {
        fsutil::write_atomic(path, bytes)?;
        fsutil::write_atomic(&copy_path(path), bytes)?;
        KeystoreFiles::open(path)
    }
}

/// Name of the Ed25519 seed that signs export manifests and the audit log
/// (the store's public identity).
pub const EXPORT_SIGNING_KEY: &str = "export-signing-ed25519";
/// Name of the Ed25519 seed that signs access grants.
pub const ADMIN_SIGNING_KEY: &str = "admin-signing-ed25519";

#[derive(Clone)]
struct WrappedKek {
    wrapped: [u8; WRAPPED_KEY_LEN],
    persisted: bool,
}

pub struct Keystore {
    path: PathBuf,
    store_id: [u8; 16],
    master: SecretKey,
    files: KeystoreFiles,
    len: u64,
    keks: HashMap<(String, i32), WrappedKek>,
    unwrapped: HashMap<(String, i32), SecretKey>,
    secrets: HashMap<String, Vec<u8>>,
    /// KEKs handed to a writer for a segment whose catalog row does not
    /// exist yet; such a KEK must not be shredded even though no row uses it.
    leases: HashMap<(String, i32), usize>,
    /// The newest audit-log head recorded here (access/audit.rs).
    audit_head: Option<AuditHeadRecord>,
    /// What opening recovered (from the copy), if anything.
    recovery: Option<String>,
}

fn key_check_aad(store_id: &[u8; 16]) -> Vec<u8> {
    [b"vidvault/keystore/v1".as_slice(), store_id].concat()
}

fn kek_aad(store_id: &[u8; 16], camera: &str, day: i32) -> Vec<u8> {
    [b"vidvault/kek/v1".as_slice(), store_id, &day.to_le_bytes(), camera.as_bytes()].concat()
}

fn secret_aad(store_id: &[u8; 16], name: &str) -> Vec<u8> {
    [b"vidvault/secret/v1".as_slice(), store_id, name.as_bytes()].concat()
}

fn encode_header(store_id: &[u8; 16], master: &SecretKey) -> Result<Vec<u8>> {
    let mut h = Vec::with_capacity(KEYSTORE_HEADER_LEN);
    h.extend_from_slice(&KEYSTORE_MAGIC);
    h.extend_from_slice(&KEYSTORE_VERSION.to_le_bytes());
    h.extend_from_slice(&[0u8; 6]);
    h.extend_from_slice(store_id);
    // Key check: a GMAC under the master key. It tells a wrong key apart from
    // corruption before anything else is tried.
    let nonce = crypto::random_bytes::<NONCE_LEN>()?;
    let tag = master.cipher().mac(&nonce, &key_check_aad(store_id));
    h.extend_from_slice(&nonce);
    h.extend_from_slice(&tag);
    let crc = crc32c::crc32c(&h);
    h.extend_from_slice(&crc.to_le_bytes());
    debug_assert_eq!(h.len(), KEYSTORE_HEADER_LEN);
    Ok(h)
}

/// Reads a file, None when it does not exist.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read keystore", path, e)),
    }
}

/// The refusal to open a damaged keystore: what, where, and what to do.
fn refusal_error(path: &Path, refusal: recover::Refusal) -> Error {
    let offset = match &refusal.problem {
        KeystoreProblem::Damaged { offset, .. } => Some(*offset),
        KeystoreProblem::UnsupportedVersion(_) => Some(8),
    };
    let todo = match &refusal.problem {
        KeystoreProblem::UnsupportedVersion(_) => "open the store with the vidvault version that wrote it",
        KeystoreProblem::Damaged { .. } => {
            "nothing was changed or cut; restore keys.vvk (or keys.vvk.copy) from a backup of this store, \
             then open it again"
        }
    };
    Error::Damaged {
        path: path.to_path_buf(),
        offset,
        detail: format!(
            "the keystore {}; {}. Without it the day keys and signing keys it holds cannot be read: {todo}",
            recover::describe_problem(&refusal.problem),
            refusal.copy_state
        ),
    }
}

impl Keystore {
    /// Creates a new keystore file (and its copy) for `store_id` under `master`.
    pub fn create(path: &Path, store_id: [u8; 16], master: SecretKey) -> Result<Keystore> {
        let header = encode_header(&store_id, &master)?;
        for p in [path.to_path_buf(), copy_path(path)] {
            let mut file =
                OpenOptions::new().write(true).create_new(true).open(&p).ctx("create keystore", &p)?;
            faults::check(Op::Write).and_then(|()| file.write_all(&header)).ctx("write keystore", &p)?;
            faults::check(Op::Fsync).and_then(|()| file.sync_all()).ctx("fsync keystore", &p)?;
        }
        fsutil::fsync_dir(path.parent().unwrap_or(Path::new(".")))?;
        Ok(Keystore::empty(path, store_id, master, KeystoreFiles::open(path)?, header.len() as u64))
    }

    fn empty(path: &Path, store_id: [u8; 16], master: SecretKey, files: KeystoreFiles, len: u64) -> Keystore {
        Keystore {
            path: path.to_path_buf(),
            store_id,
            master,
            files,
            len,
            keks: HashMap::new(),
            unwrapped: HashMap::new(),
            secrets: HashMap::new(),
            leases: HashMap::new(),
            audit_head: None,
            recovery: None,
        }
    }

    /// Opens the keystore, checking `master` first. Only a torn entry at the
    /// end (a crash during an append) is cut off: nothing can depend on it,
    /// since a KEK is durable before any segment that uses it is written.
    /// Damage anywhere else is recovered from the copy when the copy is
    /// intact and agrees (see keys/recover.rs), and otherwise refused
    /// without writing anything.
    pub fn open(path: &Path, master: SecretKey) -> Result<Keystore> {
        let copy = copy_path(path);
        for p in [path, copy.as_path()] {
            let _ = std::fs::remove_file(fsutil::tmp_path(p)); // an interrupted rewrite
        }
        let primary_bytes = read_optional(path)?;
        let copy_bytes = read_optional(&copy)?;
        if primary_bytes.is_none() && copy_bytes.is_none() {
            return Err(Error::Damaged {
                path: path.to_path_buf(),
                offset: None,
                detail:
                    "the keystore is missing (and so is its copy keys.vvk.copy); the store's keys are in \
                         it: restore it from a backup of this store"
                        .into(),
            });
        }
        let decision = recover::choose(primary_bytes.as_deref(), copy_bytes.as_deref())
            .map_err(|r| refusal_error(path, r))?;
        let header = &decision.parsed.header;
        if !master.cipher().verify_mac(
            &header.check_nonce,
            &key_check_aad(&header.store_id),
            &header.check_tag,
        ) {
            return Err(Error::WrongKey {
                path: path.parent().unwrap_or(path).to_path_buf(),
                detail: "the keystore's key check does not verify".into(),
            });
        }
        // Only now, with the right key, is anything written.
        apply(path, &decision)?;
        let files = KeystoreFiles::open(path)?;
        let mut ks = Keystore::empty(path, header.store_id, master, files, decision.bytes.len() as u64);
        for (_, entry) in decision.parsed.entries.iter().cloned() {
            ks.load(entry);
        }
        ks.recovery = decision.note;
        if decision.parsed.header.version < KEYSTORE_VERSION {
            // Old builds would cut a version-2 file at its first audit-head
            // entry; the new version number makes them refuse it instead.
            let master = ks.master.clone();
            ks.rewrite(master)?;
        }
        Ok(ks)
    }

    fn load(&mut self, entry: Entry) {
        match entry {
            Entry::Kek { camera, day, wrapped } => {
                self.keks.insert((camera, day), WrappedKek { wrapped, persisted: true });
            }
            Entry::Secret { name, wrapped } => {
                self.secrets.insert(name, wrapped);
            }
            Entry::AuditHead(h) => {
                if self.audit_head.as_ref().is_none_or(|old| h.seq >= old.seq) {
                    self.audit_head = Some(h);
                }
            }
        }
    }

    pub fn store_id(&self) -> [u8; 16] {
        self.store_id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The master key, for the one blob only it may seal: the keystore's
    /// own replica in the bucket (src/replica.rs).
    pub(crate) fn master_key(&self) -> &SecretKey {
        &self.master
    }

    /// What opening recovered from the copy (None: nothing was wrong).
    pub fn recovery(&self) -> Option<&str> {
        self.recovery.as_deref()
    }

    /// The KEK for (camera, day), creating it in memory when missing, and
    /// leased until `release_lease` (called once the segment's catalog row
    /// exists). A new KEK must reach disk (`persist_pending`) before a
    /// segment wrapped with it.
    pub fn kek_for_writing(&mut self, camera: &str, day: i32) -> Result<SecretKey> {
        let id = (camera.to_string(), day);
        *self.leases.entry(id.clone()).or_default() += 1;
        if !self.keks.contains_key(&id) {
            let kek = SecretKey::random()?;
            let wrapped = crypto::wrap_key(&self.master, &kek, &kek_aad(&self.store_id, camera, day))?;
            self.keks.insert(id.clone(), WrappedKek { wrapped, persisted: false });
            self.unwrapped.insert(id.clone(), kek);
        }
        self.kek(camera, day)
    }

    /// The KEK for (camera, day) if it exists; `KeyShredded` once shredded.
    pub fn kek(&mut self, camera: &str, day: i32) -> Result<SecretKey> {
        let id = (camera.to_string(), day);
        if let Some(k) = self.unwrapped.get(&id) {
            return Ok(k.clone());
        }
        let Some(entry) = self.keks.get(&id) else {
            return Err(Error::KeyShredded {
                camera: camera.to_string(),
                day: crate::time::format_utc_day(day),
            });
        };
        let kek = crypto::unwrap_key(&self.master, &entry.wrapped, &kek_aad(&self.store_id, camera, day))
            .ok_or_else(|| Error::Corrupt {
                camera: camera.to_string(),
                path: self.path.clone(),
                offset: 0,
                detail: format!("the key for {} does not authenticate", crate::time::format_utc_day(day)),
            })?;
        self.unwrapped.insert(id, kek.clone());
        Ok(kek)
    }

    pub fn has_pending(&self) -> bool {
        self.keks.values().any(|k| !k.persisted)
    }

    /// Appends every KEK created since the last call, then fdatasyncs.
    pub fn persist_pending(&mut self) -> Result<()> {
        if let Some(batch) = self.pending_keks() {
            batch.write()?;
            self.mark_persisted(&batch);
        }
        Ok(())
    }

    /// The KEKs not yet on disk, as bytes to append at the end of the file.
    /// Writing them (`PendingKeks::write`) needs no access to the keystore,
    /// so callers can do the I/O without holding the keystore's lock (and
    /// without blocking appends that look up keys); they must serialise
    /// keystore I/O among themselves.
    pub fn pending_keks(&self) -> Option<PendingKeks> {
        let mut bytes = Vec::new();
        let mut ids = Vec::new();
        for ((camera, day), k) in self.keks.iter().filter(|(_, k)| !k.persisted) {
            bytes.extend_from_slice(&kek_entry(camera, *day, &k.wrapped));
            ids.push((camera.clone(), *day));
        }
        (!bytes.is_empty()).then(|| PendingKeks { bytes, ids, offset: self.len, files: self.files.clone() })
    }

    /// Records that a batch reached the disk.
    pub fn mark_persisted(&mut self, batch: &PendingKeks) {
        if batch.offset != self.len {
            return; // the file was rewritten meanwhile (the rewrite persisted everything)
        }
        self.len += batch.bytes.len() as u64;
        for id in &batch.ids {
            if let Some(k) = self.keks.get_mut(id) {
                k.persisted = true;
            }
        }
    }

    fn append(&mut self, entry: &[u8]) -> Result<()> {
        self.files.append_at(entry, self.len)?;
        self.len += entry.len() as u64;
        Ok(())
    }

    /// Stores a named secret (e.g. the export signing key), durably.
    pub fn put_secret(&mut self, name: &str, secret: &[u8]) -> Result<()> {
        if self.secrets.contains_key(name) {
            return Err(Error::invalid(format!("secret {name:?} already exists")));
        }
        let wrapped = wrap_var(&self.master, secret, &secret_aad(&self.store_id, name))?;
        self.append(&secret_entry(name, &wrapped))?;
        self.secrets.insert(name.to_string(), wrapped);
        Ok(())
    }

    pub fn secret(&self, name: &str) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        let Some(wrapped) = self.secrets.get(name) else {
            return Ok(None);
        };
        let plain = crypto::unwrap_secret(&self.master, wrapped, &secret_aad(&self.store_id, name))
            .ok_or_else(|| Error::Corrupt {
                camera: String::new(),
                path: self.path.clone(),
                offset: 0,
                detail: format!("secret {name:?} does not authenticate"),
            })?;
        Ok(Some(zeroize::Zeroizing::new(plain)))
    }

    /// The newest audit-log head recorded in the keystore.
    pub fn audit_head(&self) -> Option<&AuditHeadRecord> {
        self.audit_head.as_ref()
    }

    /// Records the audit log's signed head, durably in both files. Older
    /// heads than the one recorded are ignored (callers may race).
    pub fn record_audit_head(&mut self, head: AuditHeadRecord) -> Result<()> {
        if self.audit_head.as_ref().is_some_and(|h| h.seq >= head.seq) {
            return Ok(());
        }
        self.append(&audit_head_entry(&head))?;
        self.audit_head = Some(head);
        Ok(())
    }

    pub fn release_lease(&mut self, camera: &str, day: i32) {
        let id = (camera.to_string(), day);
        if let Some(n) = self.leases.get_mut(&id) {
            *n -= 1;
            if *n == 0 {
                self.leases.remove(&id);
            }
        }
    }

    /// Durable KEKs that no segment row uses (`in_use`) and no writer holds:
    /// the ones crypto-shredding may destroy.
    pub fn unused_keks(&self, in_use: &std::collections::HashSet<(String, i32)>) -> Vec<(String, i32)> {
        let mut v: Vec<_> = self
            .keks
            .iter()
            .filter(|(id, k)| k.persisted && !in_use.contains(*id) && !self.leases.contains_key(*id))
            .map(|(id, _)| id.clone())
            .collect();
        v.sort();
        v
    }

    /// Creates the named Ed25519 signing key, durably. Only a new store (or
    /// an explicit upgrade step) does this: `signing_key` never does.
    pub fn create_signing_key(&mut self, name: &str) -> Result<ed25519_dalek::SigningKey> {
        self.put_secret(name, SecretKey::random()?.expose())?;
        self.signing_key(name)
    }

    /// The named Ed25519 signing key. A missing one is an error, never
    /// silently replaced: a new key would orphan every signature made with the
    /// old one (exports, grants, the audit log).
    pub fn signing_key(&self, name: &str) -> Result<ed25519_dalek::SigningKey> {
        let Some(seed) = self.secret(name)? else {
            return Err(Error::Damaged {
                path: self.path.clone(),
                offset: None,
                detail: format!(
                    "the keystore has no signing key {name:?}, which every store has since its creation; \
                     nothing was created in its place: restore keys.vvk from a backup of this store"
                ),
            });
        };
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| Error::invalid(format!("keystore secret {name:?} is not a 32-byte Ed25519 seed")))?;
        Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    pub fn has_secret(&self, name: &str) -> bool {
        self.secrets.contains_key(name)
    }

    /// Destroys the KEKs of the given (camera, day) pairs: the file is
    /// rewritten without them and atomically renamed over the old one.
    pub fn shred(&mut self, days: &[(String, i32)]) -> Result<()> {
        for id in days {
            self.keks.remove(id);
            self.unwrapped.remove(id);
        }
        let master = self.master.clone();
        self.rewrite(master)
    }

    /// Re-wraps every secret under `new_master` without touching any segment.
    /// The rewrite is one atomic rename: after a crash the old or the new
    /// master key opens the store, never neither.
    pub fn rotate_master(&mut self, new_master: SecretKey) -> Result<()> {
        self.rewrite(new_master)
    }

    /// Writes the whole keystore anew (current version, the newest audit
    /// head only), to the primary and then to the copy, each atomically.
    fn rewrite(&mut self, master: SecretKey) -> Result<()> {
        let mut bytes = encode_header(&self.store_id, &master)?;
        let mut keks: Vec<_> = self.keks.iter().collect();
        keks.sort_by(|a, b| a.0.cmp(b.0));
        let mut new_keks = HashMap::new();
        for ((camera, day), k) in keks {
            let kek = crypto::unwrap_key(&self.master, &k.wrapped, &kek_aad(&self.store_id, camera, *day))
                .ok_or_else(|| Error::invalid("a key-encryption key does not authenticate"))?;
            let wrapped = crypto::wrap_key(&master, &kek, &kek_aad(&self.store_id, camera, *day))?;
            bytes.extend_from_slice(&kek_entry(camera, *day, &wrapped));
            new_keks.insert((camera.clone(), *day), WrappedKek { wrapped, persisted: true });
        }
        let mut new_secrets = HashMap::new();
        let mut names: Vec<_> = self.secrets.keys().cloned().collect();
        names.sort();
        for name in names {
            let plain = self.secret(&name)?.expect("listed secret");
            let wrapped = wrap_var(&master, &plain, &secret_aad(&self.store_id, &name))?;
            bytes.extend_from_slice(&secret_entry(&name, &wrapped));
            new_secrets.insert(name, wrapped);
        }
        if let Some(h) = &self.audit_head {
            bytes.extend_from_slice(&audit_head_entry(h));
        }
        self.files = KeystoreFiles::replace(&self.path, &bytes)?;
        self.len = bytes.len() as u64;
        self.keks = new_keks;
        self.secrets = new_secrets;
        self.master = master;
        Ok(())
    }
}

/// Brings the primary and the copy to the bytes `decision` chose.
fn apply(path: &Path, decision: &recover::Decision) -> Result<()> {
    match decision.primary {
        PrimaryAction::Keep => {}
        PrimaryAction::CutTornTail => {
            let f = OpenOptions::new().write(true).open(path).ctx("open keystore", path)?;
            faults::check(Op::Write)
                .and_then(|()| f.set_len(decision.bytes.len() as u64))
                .ctx("truncate torn keystore entry", path)?;
            faults::check(Op::Fsync).and_then(|()| f.sync_all()).ctx("fsync keystore", path)?;
        }
        PrimaryAction::QuarantineAndCut => {
            let root = path.parent().unwrap_or(Path::new("."));
            fsutil::quarantine(root, path)?;
            fsutil::write_atomic(path, &decision.bytes)?;
        }
        PrimaryAction::RestoreFromCopy => fsutil::write_atomic(path, &decision.bytes)?,
    }
    if decision.rewrite_copy {
        fsutil::write_atomic(&copy_path(path), &decision.bytes)?;
    }
    Ok(())
}

fn wrap_var(master: &SecretKey, secret: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let nonce = crypto::random_bytes::<NONCE_LEN>()?;
    let mut buf = Vec::with_capacity(NONCE_LEN + secret.len() + TAG_LEN);
    buf.extend_from_slice(&nonce);
    buf.extend_from_slice(secret);
    master.cipher().seal_tail(&nonce, aad, &mut buf, NONCE_LEN);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master() -> SecretKey {
        SecretKey::from_bytes([0x11; 32])
    }

    #[test]
    fn kek_survives_reopen_and_wrong_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.vvk");
        let mut ks = Keystore::create(&path, [7; 16], master()).unwrap();
        let k1 = ks.kek_for_writing("cam", 100).unwrap();
        assert!(ks.has_pending());
        ks.persist_pending().unwrap();
        ks.put_secret(EXPORT_SIGNING_KEY, &[5; 32]).unwrap();
        drop(ks);

        let mut ks = Keystore::open(&path, master()).unwrap();
        assert_eq!(ks.kek("cam", 100).unwrap(), k1);
        assert_eq!(ks.recovery(), None);
        assert_eq!(ks.secret(EXPORT_SIGNING_KEY).unwrap().unwrap().as_slice(), &[5; 32]);
        match Keystore::open(&path, SecretKey::from_bytes([0x12; 32])) {
            Err(Error::WrongKey { .. }) => {}
            other => panic!("expected WrongKey, got {:?}", other.err()),
        }
    }

    #[test]
    fn unpersisted_keks_are_not_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.vvk");
        let mut ks = Keystore::create(&path, [7; 16], master()).unwrap();
        ks.kek_for_writing("cam", 1).unwrap();
        drop(ks);
        let mut ks = Keystore::open(&path, master()).unwrap();
        assert!(matches!(ks.kek("cam", 1), Err(Error::KeyShredded { .. })));
    }

    /// A keystore with KEKs for days 1..=n of "cam", its export key, and
    /// the byte offset where each KEK entry starts.
    fn keystore_with(n: i32) -> (tempfile::TempDir, PathBuf, Vec<u64>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE_NAME);
        let mut ks = Keystore::create(&path, [7; 16], master()).unwrap();
        ks.create_signing_key(EXPORT_SIGNING_KEY).unwrap();
        let mut offsets = Vec::new();
        for day in 1..=n {
            offsets.push(ks.len);
            ks.kek_for_writing("cam", day).unwrap();
            ks.persist_pending().unwrap();
        }
        (dir, path, offsets)
    }

    fn flip(path: &Path, at: u64) {
        let mut b = std::fs::read(path).unwrap();
        b[at as usize] ^= 0x20;
        std::fs::write(path, b).unwrap();
    }

    #[test]
    fn torn_tail_is_cut() {
        // A crash during an append: the primary holds part of the entry, the
        // copy (written only after the primary's fdatasync) none of it.
        let (_d, path, offsets) = keystore_with(2);
        let mut ks = Keystore::open(&path, master()).unwrap();
        let k = ks.kek("cam", 1).unwrap();
        drop(ks);
        let len = std::fs::metadata(&path).unwrap().len();
        OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 5).unwrap();
        OpenOptions::new().write(true).open(copy_path(&path)).unwrap().set_len(offsets[1]).unwrap();
        let mut ks = Keystore::open(&path, master()).unwrap();
        assert_eq!(ks.kek("cam", 1).unwrap(), k);
        assert!(ks.kek("cam", 2).is_err());
        assert_eq!(ks.recovery(), None);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), offsets[1]);
        // Appending after the cut works and survives.
        ks.kek_for_writing("cam", 3).unwrap();
        ks.persist_pending().unwrap();
        drop(ks);
        let mut ks = Keystore::open(&path, master()).unwrap();
        assert!(ks.kek("cam", 3).is_ok());
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(copy_path(&path)).unwrap());
    }

    #[test]
    fn a_flipped_byte_in_a_middle_entry_is_recovered_from_the_copy() {
        let (_d, path, offsets) = keystore_with(3);
        let mut before = Keystore::open(&path, master()).unwrap();
        let keys: Vec<_> = (1..=3).map(|d| before.kek("cam", d).unwrap()).collect();
        drop(before);
        let good = std::fs::read(&path).unwrap();
        flip(&path, offsets[1] + 20);
        let mut ks = Keystore::open(&path, master()).unwrap();
        for (day, k) in (1..=3).zip(&keys) {
            assert_eq!(&ks.kek("cam", day).unwrap(), k, "day {day}");
        }
        let note = ks.recovery().unwrap().to_string();
        assert!(note.contains("entry 3") && note.contains("keys.vvk.copy"), "{note}");
        assert!(ks.signing_key(EXPORT_SIGNING_KEY).is_ok());
        assert_eq!(std::fs::read(&path).unwrap(), good, "the primary is restored");
    }

    fn damaged_detail(path: &Path, key: SecretKey) -> (Option<u64>, String) {
        match Keystore::open(path, key) {
            Err(Error::Damaged { offset, detail, .. }) => (offset, detail),
            Err(e) => panic!("unexpected error: {e}"),
            Ok(_) => panic!("a damaged keystore was opened"),
        }
    }

    #[test]
    fn damage_without_a_good_copy_is_refused_and_nothing_is_written() {
        let (_d, path, offsets) = keystore_with(3);
        flip(&path, offsets[1] + 20);
        for copy_state in ["damaged", "missing"] {
            if copy_state == "damaged" {
                flip(&copy_path(&path), offsets[1] + 20);
            } else {
                std::fs::remove_file(copy_path(&path)).unwrap();
            }
            let primary = std::fs::read(&path).unwrap();
            let copy = std::fs::read(copy_path(&path)).ok();
            let (offset, detail) = damaged_detail(&path, master());
            assert_eq!(offset, Some(offsets[1]), "{detail}");
            assert!(detail.contains("entry 3") && detail.contains("backup"), "{detail}");
            assert_eq!(std::fs::read(&path).unwrap(), primary, "the primary was written ({copy_state} copy)");
            assert_eq!(std::fs::read(copy_path(&path)).ok(), copy, "the copy was written ({copy_state})");
        }
    }

    #[test]
    fn a_truncated_or_deleted_primary_is_restored_from_the_copy() {
        let (_d, path, offsets) = keystore_with(3);
        // Cut exactly at an entry boundary: it parses as a shorter keystore.
        OpenOptions::new().write(true).open(&path).unwrap().set_len(offsets[1]).unwrap();
        let mut ks = Keystore::open(&path, master()).unwrap();
        assert!(ks.kek("cam", 3).is_ok());
        assert!(ks.recovery().unwrap().contains("restored"));
        drop(ks);
        std::fs::remove_file(&path).unwrap();
        let mut ks = Keystore::open(&path, master()).unwrap();
        assert!(ks.kek("cam", 3).is_ok());
        assert!(ks.recovery().unwrap().contains("missing"));
    }

    #[test]
    fn a_wrong_key_writes_nothing_even_when_recovery_was_possible() {
        let (_d, path, offsets) = keystore_with(2);
        flip(&path, offsets[0] + 20);
        let damaged = std::fs::read(&path).unwrap();
        assert!(matches!(
            Keystore::open(&path, SecretKey::from_bytes([0x12; 32])),
            Err(Error::WrongKey { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), damaged);
    }

    #[test]
    fn a_missing_signing_key_is_an_error_never_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYSTORE_FILE_NAME);
        let ks = Keystore::create(&path, [7; 16], master()).unwrap();
        assert!(matches!(ks.signing_key(ADMIN_SIGNING_KEY), Err(Error::Damaged { .. })));
        assert!(!ks.has_secret(ADMIN_SIGNING_KEY));
    }

    #[test]
    fn the_audit_head_survives_reopen_and_rewrites() {
        let (_d, path, _) = keystore_with(2);
        let mut ks = Keystore::open(&path, master()).unwrap();
        let h = |seq| AuditHeadRecord { seq, hash: [seq as u8; 32], signature: [1; 64] };
        ks.record_audit_head(h(5)).unwrap();
        ks.record_audit_head(h(3)).unwrap(); // older: ignored
        drop(ks);
        let mut ks = Keystore::open(&path, master()).unwrap();
        assert_eq!(ks.audit_head(), Some(&h(5)));
        ks.shred(&[("cam".to_string(), 1)]).unwrap();
        drop(ks);
        let ks = Keystore::open(&path, master()).unwrap();
        assert_eq!(ks.audit_head(), Some(&h(5)));
        assert_eq!(read_recorded_audit_head(&path).unwrap(), Some(h(5)));
    }

    #[test]
    fn a_version_1_keystore_is_read_and_rewritten_as_version_2() {
        let (_d, path, _) = keystore_with(2);
        let mut b = std::fs::read(&path).unwrap();
        b[8..10].copy_from_slice(&1u16.to_le_bytes());
        let crc = crc32c::crc32c(&b[..60]);
        b[60..64].copy_from_slice(&crc.to_le_bytes());
        std::fs::write(&path, &b).unwrap();
        std::fs::remove_file(copy_path(&path)).unwrap();
        let mut ks = Keystore::open(&path, master()).unwrap();
        assert!(ks.kek("cam", 2).is_ok());
        let now = std::fs::read(&path).unwrap();
        assert_eq!(u16::from_le_bytes([now[8], now[9]]), KEYSTORE_VERSION);
        assert_eq!(now, std::fs::read(copy_path(&path)).unwrap());
    }

    #[test]
    fn shred_and_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.vvk");
        let mut ks = Keystore::create(&path, [7; 16], master()).unwrap();
        ks.kek_for_writing("cam", 1).unwrap();
        let k2 = ks.kek_for_writing("cam", 2).unwrap();
        ks.persist_pending().unwrap();
        ks.shred(&[("cam".to_string(), 1)]).unwrap();
        let new_master = SecretKey::from_bytes([0x22; 32]);
        ks.rotate_master(new_master.clone()).unwrap();
        drop(ks);
        assert!(matches!(Keystore::open(&path, master()), Err(Error::WrongKey { .. })));
        let mut ks = Keystore::open(&path, new_master).unwrap();
        assert!(matches!(ks.kek("cam", 1), Err(Error::KeyShredded { .. })));
        assert_eq!(ks.kek("cam", 2).unwrap(), k2);
    }
}
