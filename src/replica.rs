//! Replica blobs: the store's metadata files (keystore, catalog, audit log,
//! ledger, small files) as they are sent to the object-storage tier, so a
//! store whose disk died can be restored from the bucket (docs/FORMAT.md
//! section 8.1). The bucket is not trusted: every blob is AES-256-GCM
//! encrypted, bound to its store, snapshot and name, so a blob cannot be
//! read, edited, or swapped for another snapshot's or another file's.
//!
//! The keystore's blob is sealed under the master key itself (the keystore
//! holds every other key, so nothing else can open it on a new machine);
//! every other blob under the random replica key, a named secret of the
//! keystore. This file holds the bytes and the restore side
//! ([`ReplicaKeys`]); the live store seals in store/replica.rs.

use std::path::Path;

use crate::crypto::{self, SecretKey, NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::keys::{Keystore, EXPORT_SIGNING_KEY};

pub const MAGIC: &[u8; 8] = b"VVREPL\r\n";
pub const VERSION: u16 = 1;
/// The keystore's named secret (32 random bytes) that encrypts replica blobs.
pub const REPLICA_SECRET: &str = "replica-aes256gcm";
/// The name of the keystore's blob, sealed under the master key.
pub const KEYSTORE_BLOB: &str = "keys.vvk";
/// magic ‖ version u16 ‖ 6 zero bytes ‖ seq u64 ‖ nonce (12).
pub const HEADER_LEN: usize = 8 + 2 + 6 + 8 + NONCE_LEN;
/// Ed25519 signatures of snapshot manifests are over this tag ‖ the manifest.
pub const MANIFEST_TAG: &[u8] = b"vidvault/replica-manifest/v1\n";

fn aad(store_id: &[u8; 16], header: &[u8], name: &str) -> Vec<u8> {
    let mut a = b"vidvault/replica/v1".to_vec();
    a.extend_from_slice(store_id);
    a.extend_from_slice(header);
    a.extend_from_slice(&(name.len() as u16).to_le_bytes());
    a.extend_from_slice(name.as_bytes());
    a
}

/// `plain` sealed as blob `name` of snapshot `seq` of store `store_id`.
pub fn seal(key: &SecretKey, store_id: &[u8; 16], seq: u64, name: &str, plain: &[u8]) -> Result<Vec<u8>> {
    if name.len() > u16::MAX as usize {
        return Err(Error::invalid("a replica blob name is at most 65535 bytes"));
    }
    let nonce = crypto::random_bytes::<NONCE_LEN>()?;
    let mut blob = Vec::with_capacity(HEADER_LEN + plain.len() + TAG_LEN);
    blob.extend_from_slice(MAGIC);
    blob.extend_from_slice(&VERSION.to_le_bytes());
    blob.extend_from_slice(&[0u8; 6]);
    blob.extend_from_slice(&seq.to_le_bytes());
    blob.extend_from_slice(&nonce);
    let aad = aad(store_id, &blob, name);
    blob.extend_from_slice(plain);
    key.cipher().seal_tail(&nonce, &aad, &mut blob, HEADER_LEN);
    Ok(blob)
}

/// The plaintext of blob `name` of snapshot `seq`; an error saying what is
/// wrong when it is not such a blob, or does not authenticate (tampered,
/// another snapshot's or file's, or another key).
pub fn open(key: &SecretKey, store_id: &[u8; 16], seq: u64, name: &str, blob: &[u8]) -> Result<Vec<u8>> {
    let bad = |detail: String| Error::invalid(format!("replica blob {name:?} of snapshot {seq}: {detail}"));
    if blob.len() < HEADER_LEN + TAG_LEN || &blob[..8] != MAGIC {
        return Err(bad("not a vidvault replica blob".into()));
    }
    let version = u16::from_le_bytes([blob[8], blob[9]]);
    if version != VERSION {
        return Err(bad(format!("version {version}, this build reads {VERSION}")));
    }
    let blob_seq = u64::from_le_bytes(blob[16..24].try_into().expect("8 bytes"));
    if blob_seq != seq {
        return Err(bad(format!("it belongs to snapshot {blob_seq} (swapped from another snapshot)")));
    }
    let nonce: [u8; NONCE_LEN] = blob[24..HEADER_LEN].try_into().expect("12 bytes");
    key.cipher()
        .open(&nonce, &aad(store_id, &blob[..HEADER_LEN], name), &blob[HEADER_LEN..])
        .ok_or_else(|| bad("does not authenticate (edited, swapped, or sealed under another key)".into()))
}

/// The restore side: a snapshot's keystore, opened with the master key,
/// giving the store's id, the replica key and the export verifying key.
pub struct ReplicaKeys {
    store_id: [u8; 16],
    replica: SecretKey,
    verifying: ed25519_dalek::VerifyingKey,
}

impl ReplicaKeys {
    /// Opens the keystore blob of snapshot `seq` of store `store_id` under
    /// `master`, writes the keystore to `keystore_path` (a new store's
    /// `keys.vvk`) and opens it there.
    pub fn restore(
        keystore_path: &Path,
        store_id: &[u8; 16],
        seq: u64,
        blob: &[u8],
        master: SecretKey,
    ) -> Result<ReplicaKeys> {
        let bytes = open(&master, store_id, seq, KEYSTORE_BLOB, blob).map_err(|_| Error::WrongKey {
            path: keystore_path.parent().unwrap_or(keystore_path).to_path_buf(),
            detail: format!(
                "the keystore of snapshot {seq} does not open with this master key (a wrong key, or a \
                 keystore blob edited in the bucket)"
            ),
        })?;
        crate::fsutil::write_atomic(keystore_path, &bytes)?;
        let ks = Keystore::open(keystore_path, master)?;
        if &ks.store_id() != store_id {
            return Err(Error::invalid("the snapshot's keystore belongs to another store"));
        }
        let replica = ks.secret(REPLICA_SECRET)?.ok_or_else(|| {
            Error::invalid(format!("the snapshot's keystore has no {REPLICA_SECRET:?} secret"))
        })?;
        Ok(ReplicaKeys {
            store_id: *store_id,
            replica: SecretKey::from_slice(&replica)?,
            verifying: ks.signing_key(EXPORT_SIGNING_KEY)?.verifying_key(),
        })
    }

    /// Whether `signature` is the store's Ed25519 signature of `manifest`.
    pub fn verify_manifest(&self, manifest: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        let message = [MANIFEST_TAG, manifest].concat();
        self.verifying.verify_strict(&message, &sig).is_ok()
    }

    pub fn open_blob(&self, seq: u64, name: &str, blob: &[u8]) -> Result<Vec<u8>> {
        open(&self.replica, &self.store_id, seq, name, blob)
    }

    pub fn export_public_key(&self) -> [u8; 32] {
        self.verifying.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_opens_only_as_itself() {
        let key = SecretKey::random().unwrap();
        let id = [7u8; 16];
        let blob = seal(&key, &id, 3, "catalog.sqlite", b"rows").unwrap();
        assert_eq!(open(&key, &id, 3, "catalog.sqlite", &blob).unwrap(), b"rows");
        assert!(open(&key, &id, 4, "catalog.sqlite", &blob).is_err(), "another snapshot");
        assert!(open(&key, &id, 3, "audit.sqlite", &blob).is_err(), "another file");
        assert!(open(&key, &[8u8; 16], 3, "catalog.sqlite", &blob).is_err(), "another store");
        assert!(open(&SecretKey::random().unwrap(), &id, 3, "catalog.sqlite", &blob).is_err(), "another key");
        let mut edited = blob.clone();
        *edited.last_mut().unwrap() ^= 1;
        assert!(open(&key, &id, 3, "catalog.sqlite", &edited).is_err(), "an edited tag");
        let mut reseq = blob.clone();
        reseq[16] = 4;
        assert!(open(&key, &id, 4, "catalog.sqlite", &reseq).is_err(), "a rewritten seq");
    }
}
