//! The cryptographic primitives the store uses, in one place: AES-256-GCM with
//! structured nonces for records, random-nonce key wrapping, random keys.
//! Everything else calls these; nothing else touches a cipher directly.
//!
//! AES-GCM comes from `ring` (BoringSSL's stitched AES-NI/VAES + CLMUL
//! assembly): 9.3 GB/s for 20 kB records on the development machine against
//! 1.3 GB/s for the `aes-gcm` crate, and this runs on the append path.

use std::sync::Arc;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{Error, Result};

pub const KEY_LEN: usize = 32;
pub const TAG_LEN: usize = 16;
pub const NONCE_LEN: usize = 12;
/// A wrapped 256-bit key: random nonce, ciphertext, tag.
pub const WRAPPED_KEY_LEN: usize = NONCE_LEN + KEY_LEN + TAG_LEN;

/// A 256-bit secret. Zeroed on drop; `Debug` never prints it.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    pub fn random() -> Result<SecretKey> {
        Ok(SecretKey(random_bytes::<KEY_LEN>()?))
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> SecretKey {
        SecretKey(bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<SecretKey> {
        let arr: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::invalid(format!("a key must be exactly {KEY_LEN} bytes, got {}", bytes.len()))
        })?;
        Ok(SecretKey(arr))
    }

    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    pub fn cipher(&self) -> RecordCipher {
        let key = UnboundKey::new(&AES_256_GCM, &self.0).expect("a 32-byte AES-256 key");
        RecordCipher(Arc::new(LessSafeKey::new(key)))
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out)
        .map_err(|e| Error::invalid(format!("the OS random number generator failed: {e}")))?;
    Ok(out)
}

/// What a nonce is used for. Within one data key every (domain, sequence)
/// pair is used at most once, so no nonce ever repeats under a key.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum NonceDomain {
    FrameRecord = 0,
    CodecConfig = 1,
    Footer = 2,
}

/// 12-byte nonce: domain (u32 LE) || sequence (u64 LE).
pub fn structured_nonce(domain: NonceDomain, seq: u64) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[..4].copy_from_slice(&(domain as u32).to_le_bytes());
    n[4..].copy_from_slice(&seq.to_le_bytes());
    n
}

/// AES-256-GCM keyed with one segment's data key.
#[derive(Clone)]
pub struct RecordCipher(Arc<LessSafeKey>);

impl RecordCipher {
    /// Encrypts `buf[start..]` in place and appends the 16-byte tag.
    pub fn seal_tail(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], buf: &mut Vec<u8>, start: usize) {
        let tag = self
            .0
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                &mut buf[start..],
            )
            .expect("AES-GCM encryption only fails for messages over 64 GiB");
        buf.extend_from_slice(tag.as_ref());
    }

    /// Decrypts `sealed` (ciphertext || tag) into a new vector; `None` when
    /// the tag does not verify (wrong key, tampering or corruption).
    pub fn open(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let split = sealed.len().checked_sub(TAG_LEN)?;
        let mut buf = sealed.to_vec();
        self.0.open_in_place(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), &mut buf).ok()?;
        buf.truncate(split);
        Some(buf)
    }

    /// A tag over `aad` alone (GMAC): authenticates plaintext metadata.
    pub fn mac(&self, nonce: &[u8; NONCE_LEN], aad: &[u8]) -> [u8; TAG_LEN] {
        let tag = self
            .0
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), &mut [])
            .expect("empty message");
        tag.as_ref().try_into().expect("16-byte tag")
    }

    pub fn verify_mac(&self, nonce: &[u8; NONCE_LEN], aad: &[u8], tag: &[u8]) -> bool {
        if tag.len() != TAG_LEN {
            return false;
        }
        let mut buf = tag.to_vec();
        self.0.open_in_place(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), &mut buf).is_ok()
    }
}

/// Wraps `key` under `kek` with a random nonce; `aad` binds what the key is for.
/// Random nonces are safe here: a KEK wraps at most a few thousand keys.
pub fn wrap_key(kek: &SecretKey, key: &SecretKey, aad: &[u8]) -> Result<[u8; WRAPPED_KEY_LEN]> {
    wrap_secret::<WRAPPED_KEY_LEN>(kek, key.expose(), aad)
}

pub fn unwrap_key(kek: &SecretKey, wrapped: &[u8], aad: &[u8]) -> Option<SecretKey> {
    if wrapped.len() != WRAPPED_KEY_LEN {
        return None;
    }
    let mut plain = unwrap_secret(kek, wrapped, aad)?;
    let key = SecretKey::from_slice(&plain).ok();
    plain.zeroize();
    key
}

/// `nonce || AES-GCM(kek, nonce, aad, secret)`; `N` = 12 + len + 16.
pub fn wrap_secret<const N: usize>(kek: &SecretKey, secret: &[u8], aad: &[u8]) -> Result<[u8; N]> {
    assert_eq!(N, NONCE_LEN + secret.len() + TAG_LEN, "wrapped size mismatch");
    let nonce = random_bytes::<NONCE_LEN>()?;
    let mut buf = Vec::with_capacity(N);
    buf.extend_from_slice(&nonce);
    buf.extend_from_slice(secret);
    kek.cipher().seal_tail(&nonce, aad, &mut buf, NONCE_LEN);
    let mut out = [0u8; N];
    out.copy_from_slice(&buf);
    buf.zeroize();
    Ok(out)
}

pub fn unwrap_secret(kek: &SecretKey, wrapped: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    if wrapped.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let nonce: [u8; NONCE_LEN] = wrapped[..NONCE_LEN].try_into().ok()?;
    kek.cipher().open(&nonce, aad, &wrapped[NONCE_LEN..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_round_trip_and_binding() {
        let kek = SecretKey::random().unwrap();
        let dek = SecretKey::random().unwrap();
        let w = wrap_key(&kek, &dek, b"segment 7").unwrap();
        assert_eq!(unwrap_key(&kek, &w, b"segment 7").unwrap(), dek);
        assert!(unwrap_key(&kek, &w, b"segment 8").is_none(), "aad must bind");
        let other = SecretKey::random().unwrap();
        assert!(unwrap_key(&other, &w, b"segment 7").is_none(), "wrong kek must fail");
    }

    #[test]
    fn nonces_differ_by_domain_and_sequence() {
        let a = structured_nonce(NonceDomain::FrameRecord, 1);
        let b = structured_nonce(NonceDomain::FrameRecord, 2);
        let c = structured_nonce(NonceDomain::Footer, 1);
        assert!(a != b && a != c && b != c);
    }

    #[test]
    fn debug_never_prints_key_bytes() {
        let k = SecretKey::from_bytes([0xAB; 32]);
        assert!(!format!("{k:?}").to_lowercase().contains("ab"));
    }
}
