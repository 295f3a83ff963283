//! store/keys.rs: `impl Store` for key management: the signing keys that
//! sign export manifests (and verify them), and master-key rotation. The
//! keystore itself (file format, KEKs, shredding) is src/keys.rs.

use crate::access::audit::{NewEntry, DONE};
use crate::crypto::SecretKey;
use crate::error::Result;
use crate::keys::EXPORT_SIGNING_KEY;
use crate::store::Store;

impl Store {
    pub(crate) fn signing_key(&self, name: &str) -> Result<ed25519_dalek::SigningKey> {
        self.shared().keystore_guard().signing_key(name)
    }

    /// The Ed25519 public key that verifies this store's export manifests.
    pub fn export_public_key(&self) -> Result<[u8; 32]> {
        Ok(self.signing_key(EXPORT_SIGNING_KEY)?.verifying_key().to_bytes())
    }

    /// Signs `message` (a canonical export manifest) with the export key.
    pub fn sign_export(&self, message: &[u8]) -> Result<[u8; 64]> {
        use ed25519_dalek::Signer;
        Ok(self.signing_key(EXPORT_SIGNING_KEY)?.sign(message).to_bytes())
    }

    /// Re-wraps every key under `new_master` without rewriting any video.
    /// One atomic rename: after a crash the old or the new key opens the
    /// store, never neither.
    pub fn rotate_master_key(&self, new_master: SecretKey, actor: &str) -> Result<()> {
        {
            let _io = self.shared().keystore_io_guard();
            self.shared().keystore_guard().rotate_master(new_master)?;
        }
        self.shared().audit(NewEntry {
            principal: actor.to_string(),
            action: "key_rotation".into(),
            outcome: DONE.into(),
            reason: "every key-encryption key re-wrapped under a new master key".into(),
            ..NewEntry::default()
        })?;
        Ok(())
    }
}
