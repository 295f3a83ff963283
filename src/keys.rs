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
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::crypto::{self, SecretKey, NONCE_LEN, TAG_LEN, WRAPPED_KEY_LEN};
use crate::error::{Error, IoContext, Result};
use crate::fsutil;

pub const KEYSTORE_MAGIC: [u8; 8] = *b"VVKEYS\r\n";
pub const KEYSTORE_VERSION: u16 = 1;
pub const KEYSTORE_HEADER_LEN: usize = 64;
const ENTRY_KEK: u8 = 1;
const ENTRY_SECRET: u8 = 2;
const MAX_ENTRY: usize = 1 << 16;

/// KEKs waiting to be appended to the keystore file (see `pending_keks`).
pub struct PendingKeks {
    bytes: Vec<u8>,
    ids: Vec<(String, i32)>,
    offset: u64,
    file: Arc<File>,
    path: PathBuf,
}

impl PendingKeks {
    pub fn write(&self) -> Result<()> {
        self.file.write_all_at(&self.bytes, self.offset).ctx("append to keystore", &self.path)?;
        self.file.sync_data().ctx("fsync keystore", &self.path)
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
    file: Arc<File>,
    len: u64,
    keks: HashMap<(String, i32), WrappedKek>,
    unwrapped: HashMap<(String, i32), SecretKey>,
    secrets: HashMap<String, Vec<u8>>,
    /// KEKs handed to a writer for a segment whose catalog row does not
    /// exist yet; such a KEK must not be shredded even though no row uses it.
    leases: HashMap<(String, i32), usize>,
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

fn frame_entry(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

fn kek_entry(camera: &str, day: i32, wrapped: &[u8; WRAPPED_KEY_LEN]) -> Vec<u8> {
    let mut b = vec![ENTRY_KEK];
    b.extend_from_slice(&(camera.len() as u16).to_le_bytes());
    b.extend_from_slice(camera.as_bytes());
    b.extend_from_slice(&day.to_le_bytes());
    b.extend_from_slice(wrapped);
    frame_entry(&b)
}

fn secret_entry(name: &str, wrapped: &[u8]) -> Vec<u8> {
    let mut b = vec![ENTRY_SECRET];
    b.extend_from_slice(&(name.len() as u16).to_le_bytes());
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(&(wrapped.len() as u16).to_le_bytes());
    b.extend_from_slice(wrapped);
    frame_entry(&b)
}

enum Entry {
    Kek { camera: String, day: i32, wrapped: [u8; WRAPPED_KEY_LEN] },
    Secret { name: String, wrapped: Vec<u8> },
}

fn parse_entry(body: &[u8]) -> Option<Entry> {
    let (&kind, rest) = body.split_first()?;
    let name_len = u16::from_le_bytes(rest.get(..2)?.try_into().ok()?) as usize;
    let name = std::str::from_utf8(rest.get(2..2 + name_len)?).ok()?.to_string();
    let rest = &rest[2 + name_len..];
    match kind {
        ENTRY_KEK => {
            let day = i32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
            let wrapped = rest.get(4..)?.try_into().ok()?;
            Some(Entry::Kek { camera: name, day, wrapped })
        }
        ENTRY_SECRET => {
            let wlen = u16::from_le_bytes(rest.get(..2)?.try_into().ok()?) as usize;
            let wrapped = rest.get(2..)?.to_vec();
            (wrapped.len() == wlen).then_some(Entry::Secret { name, wrapped })
        }
        _ => None,
    }
}

impl Keystore {
    /// Creates a new keystore file for `store_id` under `master`.
    pub fn create(path: &Path, store_id: [u8; 16], master: SecretKey) -> Result<Keystore> {
        let header = encode_header(&store_id, &master)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .ctx("create keystore", path)?;
        file.write_all(&header).ctx("write keystore", path)?;
        file.sync_all().ctx("fsync keystore", path)?;
        fsutil::fsync_dir(path.parent().unwrap_or(Path::new(".")))?;
        Ok(Keystore {
            path: path.to_path_buf(),
            store_id,
            master,
            file: Arc::new(file),
            len: header.len() as u64,
            keks: HashMap::new(),
            unwrapped: HashMap::new(),
            secrets: HashMap::new(),
            leases: HashMap::new(),
        })
    }

    /// Opens the keystore, checking `master` first. A torn entry at the end
    /// (a crash during an append) is cut off: nothing can depend on it, since
    /// a KEK is durable before any segment that uses it is written.
    pub fn open(path: &Path, master: SecretKey) -> Result<Keystore> {
        let _ = std::fs::remove_file(fsutil::tmp_path(path)); // an interrupted rewrite
        let mut file = OpenOptions::new().read(true).write(true).open(path).ctx("open keystore", path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).ctx("read keystore", path)?;
        let corrupt = |offset: u64, detail: &str| Error::Corrupt {
            camera: String::new(),
            path: path.to_path_buf(),
            offset,
            detail: detail.to_string(),
        };
        if bytes.len() < KEYSTORE_HEADER_LEN || bytes[..8] != KEYSTORE_MAGIC {
            return Err(corrupt(0, "not a vidvault keystore"));
        }
        let version = u16::from_le_bytes(bytes[8..10].try_into().unwrap());
        if version != KEYSTORE_VERSION {
            return Err(corrupt(8, &format!("keystore version {version} is not supported by this build")));
        }
        let crc = u32::from_le_bytes(bytes[60..64].try_into().unwrap());
        if crc32c::crc32c(&bytes[..60]) != crc {
            return Err(corrupt(60, "keystore header checksum mismatch"));
        }
        let store_id: [u8; 16] = bytes[16..32].try_into().unwrap();
        let nonce: [u8; NONCE_LEN] = bytes[32..44].try_into().unwrap();
        if !master.cipher().verify_mac(&nonce, &key_check_aad(&store_id), &bytes[44..60]) {
            return Err(Error::WrongKey {
                path: path.parent().unwrap_or(path).to_path_buf(),
                detail: "the keystore's key check does not verify".into(),
            });
        }
        let mut ks = Keystore {
            path: path.to_path_buf(),
            store_id,
            master,
            file: Arc::new(file),
            len: KEYSTORE_HEADER_LEN as u64,
            keks: HashMap::new(),
            unwrapped: HashMap::new(),
            secrets: HashMap::new(),
            leases: HashMap::new(),
        };
        let mut pos = KEYSTORE_HEADER_LEN;
        while pos < bytes.len() {
            let entry = (|| {
                let len = u32::from_le_bytes(bytes.get(pos..pos + 4)?.try_into().ok()?) as usize;
                let crc = u32::from_le_bytes(bytes.get(pos + 4..pos + 8)?.try_into().ok()?);
                if len > MAX_ENTRY {
                    return None;
                }
                let body = bytes.get(pos + 8..pos + 8 + len)?;
                (crc32c::crc32c(body) == crc).then(|| parse_entry(body).map(|e| (e, 8 + len)))?
            })();
            let Some((entry, n)) = entry else { break };
            match entry {
                Entry::Kek { camera, day, wrapped } => {
                    ks.keks.insert((camera, day), WrappedKek { wrapped, persisted: true });
                }
                Entry::Secret { name, wrapped } => {
                    ks.secrets.insert(name, wrapped);
                }
            }
            pos += n;
        }
        if pos < bytes.len() {
            ks.file.set_len(pos as u64).ctx("truncate torn keystore entry", path)?;
            ks.file.sync_all().ctx("fsync keystore", path)?;
        }
        ks.len = pos as u64;
        Ok(ks)
    }

    pub fn store_id(&self) -> [u8; 16] {
        self.store_id
    }

    pub fn path(&self) -> &Path {
        &self.path
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

    /// The KEK for (camera, day) if it exists; `Ok(None)` once shredded.
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
        (!bytes.is_empty()).then(|| PendingKeks {
            bytes,
            ids,
            offset: self.len,
            file: self.file.clone(),
            path: self.path.clone(),
        })
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

    /// Stores a named secret (e.g. the export signing key), durably.
    pub fn put_secret(&mut self, name: &str, secret: &[u8]) -> Result<()> {
        if self.secrets.contains_key(name) {
            return Err(Error::invalid(format!("secret {name:?} already exists")));
        }
        let wrapped = wrap_var(&self.master, secret, &secret_aad(&self.store_id, name))?;
        let entry = secret_entry(name, &wrapped);
        self.file.write_all_at(&entry, self.len).ctx("append to keystore", &self.path)?;
        self.file.sync_data().ctx("fsync keystore", &self.path)?;
        self.len += entry.len() as u64;
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

    /// The named Ed25519 signing key, created (durably) when missing.
    pub fn signing_key(&mut self, name: &str) -> Result<ed25519_dalek::SigningKey> {
        if self.secret(name)?.is_none() {
            self.put_secret(name, SecretKey::random()?.expose())?;
        }
        let seed = self.secret(name)?.expect("just stored");
        let seed: [u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| Error::invalid(format!("keystore secret {name:?} is not a 32-byte Ed25519 seed")))?;
        Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
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
        fsutil::write_atomic(&self.path, &bytes)?;
        self.file = Arc::new(
            OpenOptions::new().read(true).write(true).open(&self.path).ctx("open keystore", &self.path)?,
        );
        self.len = bytes.len() as u64;
        self.keks = new_keks;
        self.secrets = new_secrets;
        self.master = master;
        Ok(())
    }
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

    #[test]
    fn torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.vvk");
        let mut ks = Keystore::create(&path, [7; 16], master()).unwrap();
        let k = ks.kek_for_writing("cam", 1).unwrap();
        ks.persist_pending().unwrap();
        ks.kek_for_writing("cam", 2).unwrap();
        ks.persist_pending().unwrap();
        drop(ks);
        let len = std::fs::metadata(&path).unwrap().len();
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 5).unwrap();
        let mut ks = Keystore::open(&path, master()).unwrap();
        assert_eq!(ks.kek("cam", 1).unwrap(), k);
        assert!(ks.kek("cam", 2).is_err());
        // Appending after the cut works and survives.
        ks.kek_for_writing("cam", 3).unwrap();
        ks.persist_pending().unwrap();
        drop(ks);
        let mut ks = Keystore::open(&path, master()).unwrap();
        assert!(ks.kek("cam", 3).is_ok());
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
