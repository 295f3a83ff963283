//! keys/format.rs: the bytes of `keys.vvk` (docs/FORMAT.md, "Keystore"),
//! encoding and strict parsing, without I/O or keys.
//!
//! Parsing tells three things apart, because each calls for a different
//! action: intact entries; a torn tail (the one entry an interrupted append
//! left at the end of the file, which may be cut); and damage anywhere else
//! (a flipped byte, a lost sector), which must be reported and never "repaired"
//! by cutting the file, since every entry after it would be lost with it.

use std::collections::HashMap;

use crate::crypto::WRAPPED_KEY_LEN;

pub const KEYSTORE_MAGIC: [u8; 8] = *b"VVKEYS\r\n";
/// Version 2 adds the audit-head entry (kind 3). Version 1 is still read
/// (and rewritten as version 2 when opened).
pub const KEYSTORE_VERSION: u16 = 2;
pub const KEYSTORE_HEADER_LEN: usize = 64;
pub(crate) const ENTRY_KEK: u8 = 1;
pub(crate) const ENTRY_SECRET: u8 = 2;
pub(crate) const ENTRY_AUDIT_HEAD: u8 = 3;
/// No entry body is longer; a larger `body_len` is damage, never a torn write.
pub const MAX_ENTRY: usize = 1 << 16;
/// Body of an audit-head entry: kind, seq, hash, signature.
const AUDIT_HEAD_BODY: usize = 1 + 8 + 32 + 64;

/// The keystore header (64 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub version: u16,
    pub store_id: [u8; 16],
    pub check_nonce: [u8; 12],
    pub check_tag: [u8; 16],
}

/// The audit log's head as the keystore records it: outside the file it
/// protects, signed by the export signing key over the same message as the
/// log's own head (docs/FORMAT.md section 6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditHeadRecord {
    pub seq: u64,
    pub hash: [u8; 32],
    pub signature: [u8; 64],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Kek { camera: String, day: i32, wrapped: [u8; WRAPPED_KEY_LEN] },
    Secret { name: String, wrapped: Vec<u8> },
    AuditHead(AuditHeadRecord),
}

/// An intact keystore file, parsed.
#[derive(Clone, Debug)]
pub struct ParsedKeystore {
    pub header: Header,
    /// (byte offset, entry), in file order.
    pub entries: Vec<(u64, Entry)>,
    /// End of the last intact entry. Bytes after it (up to the end of the
    /// file) are a torn final append, which opening cuts off.
    pub valid_len: u64,
}

impl ParsedKeystore {
    /// The newest recorded audit head (the highest sequence number).
    pub fn audit_head(&self) -> Option<&AuditHeadRecord> {
        self.entries
            .iter()
            .filter_map(|(_, e)| match e {
                Entry::AuditHead(h) => Some(h),
                _ => None,
            })
            .max_by_key(|h| h.seq)
    }
}

/// Why a keystore file cannot be used as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeystoreProblem {
    /// Damage that is not a torn tail: `entry` is the 1-based number of the
    /// first bad entry (None: the header), `offset` where it starts.
    Damaged { offset: u64, entry: Option<usize>, detail: String },
    /// Written by a newer build.
    UnsupportedVersion(u16),
}

pub(crate) fn frame_entry(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32c::crc32c(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

pub(crate) fn kek_entry(camera: &str, day: i32, wrapped: &[u8; WRAPPED_KEY_LEN]) -> Vec<u8> {
    let mut b = vec![ENTRY_KEK];
    b.extend_from_slice(&(camera.len() as u16).to_le_bytes());
    b.extend_from_slice(camera.as_bytes());
    b.extend_from_slice(&day.to_le_bytes());
    b.extend_from_slice(wrapped);
    frame_entry(&b)
}

pub(crate) fn secret_entry(name: &str, wrapped: &[u8]) -> Vec<u8> {
    let mut b = vec![ENTRY_SECRET];
    b.extend_from_slice(&(name.len() as u16).to_le_bytes());
    b.extend_from_slice(name.as_bytes());
    b.extend_from_slice(&(wrapped.len() as u16).to_le_bytes());
    b.extend_from_slice(wrapped);
    frame_entry(&b)
}

pub(crate) fn audit_head_entry(h: &AuditHeadRecord) -> Vec<u8> {
    let mut b = Vec::with_capacity(AUDIT_HEAD_BODY);
    b.push(ENTRY_AUDIT_HEAD);
    b.extend_from_slice(&h.seq.to_le_bytes());
    b.extend_from_slice(&h.hash);
    b.extend_from_slice(&h.signature);
    frame_entry(&b)
}

fn damaged(offset: usize, entry: Option<usize>, detail: impl Into<String>) -> KeystoreProblem {
    KeystoreProblem::Damaged { offset: offset as u64, entry, detail: detail.into() }
}

fn parse_header(bytes: &[u8]) -> Result<Header, KeystoreProblem> {
    if bytes.len() < KEYSTORE_HEADER_LEN {
        return Err(damaged(
            0,
            None,
            format!("the file is {} bytes, shorter than its 64-byte header", bytes.len()),
        ));
    }
    if bytes[..8] != KEYSTORE_MAGIC {
        return Err(damaged(0, None, "the header does not start with the keystore magic"));
    }
    let crc = u32::from_le_bytes(bytes[60..64].try_into().expect("4 bytes"));
    if crc32c::crc32c(&bytes[..60]) != crc {
        return Err(damaged(0, None, "the header checksum does not match"));
    }
    let version = u16::from_le_bytes(bytes[8..10].try_into().expect("2 bytes"));
    if version == 0 || version > KEYSTORE_VERSION {
        return Err(KeystoreProblem::UnsupportedVersion(version));
    }
    Ok(Header {
        version,
        store_id: bytes[16..32].try_into().expect("16 bytes"),
        check_nonce: bytes[32..44].try_into().expect("12 bytes"),
        check_tag: bytes[44..60].try_into().expect("16 bytes"),
    })
}

fn u16_at(b: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?) as usize)
}

/// Decodes a whole entry body; None when its fields do not add up.
fn parse_body(body: &[u8], version: u16) -> Option<Entry> {
    let (&kind, rest) = body.split_first()?;
    match kind {
        ENTRY_KEK | ENTRY_SECRET => {
            let name_len = u16_at(rest, 0)?;
            let name = std::str::from_utf8(rest.get(2..2 + name_len)?).ok()?.to_string();
            let rest = &rest[2 + name_len..];
            if kind == ENTRY_KEK {
                let day = i32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
                let wrapped = rest.get(4..)?.try_into().ok()?;
                Some(Entry::Kek { camera: name, day, wrapped })
            } else {
                let wlen = u16_at(rest, 0)?;
                let wrapped = rest.get(2..)?.to_vec();
                (wrapped.len() == wlen).then_some(Entry::Secret { name, wrapped })
            }
        }
        ENTRY_AUDIT_HEAD if version >= 2 && body.len() == AUDIT_HEAD_BODY => {
            Some(Entry::AuditHead(AuditHeadRecord {
                seq: u64::from_le_bytes(body[1..9].try_into().ok()?),
                hash: body[9..41].try_into().ok()?,
                signature: body[41..105].try_into().ok()?,
            }))
        }
        _ => None,
    }
}

/// Could `partial` be the first bytes of a body of `declared` bytes, as a
/// writer produces it? A length field that a flipped bit sent past the end
/// of the file fails this, so it is reported as damage, not cut as torn.
fn plausible_partial_body(partial: &[u8], declared: usize, version: u16) -> bool {
    let Some(&kind) = partial.first() else { return declared > 0 };
    let name_len = u16_at(partial, 1);
    match kind {
        ENTRY_KEK => name_len.is_none_or(|n| declared == 1 + 2 + n + 4 + WRAPPED_KEY_LEN),
        ENTRY_SECRET => match name_len {
            None => declared > 5,
            Some(n) => match u16_at(partial, 3 + n) {
                None => declared >= 1 + 2 + n + 2,
                Some(w) => declared == 1 + 2 + n + 2 + w,
            },
        },
        ENTRY_AUDIT_HEAD => version >= 2 && declared == AUDIT_HEAD_BODY,
        _ => false,
    }
}

/// Is the entry starting at `pos` the torn remains of an interrupted final
/// append? Only an entry that runs to the end of the file can be: fewer than
/// 8 bytes left, nothing but zeros left (space allocated, data never
/// written), or a plausible entry whose declared length reaches past the end.
fn is_torn_tail(bytes: &[u8], pos: usize, version: u16) -> bool {
    let rest = &bytes[pos..];
    if rest.len() < 8 || rest.iter().all(|&b| b == 0) {
        return true;
    }
    let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
    len <= MAX_ENTRY && 8 + len > rest.len() && plausible_partial_body(&rest[8..], len, version)
}

/// The key an entry holds, by what names it (audit heads are a series, not keys).
#[derive(PartialEq, Eq, Hash)]
enum KeyName {
    Kek(String, i32),
    Secret(String),
}

impl std::fmt::Display for KeyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyName::Kek(camera, day) => write!(f, "key-encryption key for camera {camera:?}, day {day}"),
            KeyName::Secret(name) => write!(f, "secret {name:?}"),
        }
    }
}

fn key_name(entry: &Entry) -> Option<KeyName> {
    match entry {
        Entry::Kek { camera, day, .. } => Some(KeyName::Kek(camera.clone(), *day)),
        Entry::Secret { name, .. } => Some(KeyName::Secret(name.clone())),
        Entry::AuditHead(_) => None,
    }
}

/// Parses a whole keystore file. Pure: no I/O, no keys; any input gives a
/// value or a `KeystoreProblem`, never a panic (a fuzz target calls this).
pub fn parse_keystore_bytes(bytes: &[u8]) -> Result<ParsedKeystore, KeystoreProblem> {
    let header = parse_header(bytes)?;
    let mut entries: Vec<(u64, Entry)> = Vec::new();
    // Where each key was first seen: (entry number, entry).
    let mut first_seen: HashMap<KeyName, usize> = HashMap::new();
    let mut pos = KEYSTORE_HEADER_LEN;
    while pos < bytes.len() {
        let number = entries.len() + 1;
        if is_torn_tail(bytes, pos, header.version) {
            break;
        }
        let len = u32::from_le_bytes(bytes[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().expect("4 bytes"));
        let Some(body) = bytes.get(pos + 8..).and_then(|b| b.get(..len)).filter(|_| len <= MAX_ENTRY) else {
            return Err(damaged(pos, Some(number), format!("its length field ({len} bytes) is implausible")));
        };
        if crc32c::crc32c(body) != crc {
            return Err(damaged(pos, Some(number), "its checksum does not match"));
        }
        let Some(entry) = parse_body(body, header.version) else {
            return Err(damaged(pos, Some(number), "its checksum matches but its fields do not add up"));
        };
        entries.push((pos as u64, entry));
        // The writer records each key once. Two entries holding the same
        // key mean bytes were copied in from elsewhere: the same bytes twice
        // lose nothing, other bytes would make one of the keys win silently.
        if let Some(name) = key_name(&entries[number - 1].1) {
            match first_seen.get(&name) {
                Some(&m) if entries[m - 1].1 != entries[number - 1].1 => {
                    return Err(damaged(
                        pos,
                        Some(number),
                        format!(
                            "it holds another {name} than entry {m}: one of the two was copied or altered"
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    first_seen.insert(name, number);
                }
            }
        }
        pos += 8 + len;
    }
    Ok(ParsedKeystore { header, entries, valid_len: pos as u64 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u16) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&KEYSTORE_MAGIC);
        h.extend_from_slice(&version.to_le_bytes());
        h.extend_from_slice(&[0; 6]);
        h.extend_from_slice(&[7; 16]);
        h.extend_from_slice(&[1; 12]);
        h.extend_from_slice(&[2; 16]);
        let crc = crc32c::crc32c(&h);
        h.extend_from_slice(&crc.to_le_bytes());
        h
    }

    fn three_keks() -> Vec<u8> {
        let mut b = header(2);
        for day in 1..=3 {
            b.extend_from_slice(&kek_entry("cam", day, &[day as u8; WRAPPED_KEY_LEN]));
        }
        b
    }

    #[test]
    fn intact_file_parses() {
        let b = three_keks();
        let p = parse_keystore_bytes(&b).unwrap();
        assert_eq!(p.entries.len(), 3);
        assert_eq!(p.valid_len, b.len() as u64);
    }

    #[test]
    fn only_the_last_entry_may_be_torn() {
        let b = three_keks();
        let entry_len = (b.len() - KEYSTORE_HEADER_LEN) / 3;
        for cut in 1..entry_len {
            let p = parse_keystore_bytes(&b[..b.len() - cut]).unwrap();
            assert_eq!(p.entries.len(), 2, "cut {cut}");
            assert_eq!(p.valid_len as usize, KEYSTORE_HEADER_LEN + 2 * entry_len);
        }
        // Zeros where the last append should be: allocated, never written.
        let mut z = b[..KEYSTORE_HEADER_LEN + entry_len].to_vec();
        z.extend_from_slice(&vec![0; 2 * entry_len]);
        assert_eq!(parse_keystore_bytes(&z).unwrap().entries.len(), 1);
    }

    #[test]
    fn any_flipped_byte_of_a_middle_entry_is_damage() {
        let b = three_keks();
        let entry_len = (b.len() - KEYSTORE_HEADER_LEN) / 3;
        let start = KEYSTORE_HEADER_LEN + entry_len; // entry 2
        for at in start..start + entry_len {
            for bit in 0..8 {
                let mut d = b.clone();
                d[at] ^= 1 << bit;
                match parse_keystore_bytes(&d) {
                    Err(KeystoreProblem::Damaged { offset, entry, .. }) => {
                        assert_eq!((offset as usize, entry), (start, Some(2)), "byte {at} bit {bit}")
                    }
                    other => panic!("byte {at} bit {bit}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_lost_sector_in_the_middle_is_damage() {
        let b = three_keks();
        let mut d = b.clone();
        let entry_len = (b.len() - KEYSTORE_HEADER_LEN) / 3;
        d[KEYSTORE_HEADER_LEN..KEYSTORE_HEADER_LEN + entry_len].fill(0);
        assert!(matches!(parse_keystore_bytes(&d), Err(KeystoreProblem::Damaged { entry: Some(1), .. })));
    }

    #[test]
    fn a_key_held_twice_with_other_bytes_is_damage() {
        // The same key twice, byte for byte (an entry copied again): nothing
        // is lost by reading it once.
        let mut same = three_keks();
        same.extend_from_slice(&kek_entry("cam", 2, &[2; WRAPPED_KEY_LEN]));
        assert_eq!(parse_keystore_bytes(&same).unwrap().entries.len(), 4);
        // Another key for a (camera, day) already held: one of the two would
        // win silently, so neither does.
        let mut other = three_keks();
        let at = other.len();
        other.extend_from_slice(&kek_entry("cam", 2, &[9; WRAPPED_KEY_LEN]));
        other.extend_from_slice(&kek_entry("cam", 4, &[4; WRAPPED_KEY_LEN]));
        match parse_keystore_bytes(&other) {
            Err(KeystoreProblem::Damaged { offset, entry: Some(4), detail }) => {
                assert_eq!(offset as usize, at);
                assert!(detail.contains("camera \"cam\", day 2") && detail.contains("entry 2"), "{detail}");
            }
            r => panic!("{r:?}"),
        }
        let mut secrets = header(2);
        secrets.extend_from_slice(&secret_entry("export-signing-ed25519", &[1; 40]));
        secrets.extend_from_slice(&secret_entry("export-signing-ed25519", &[2; 40]));
        assert!(matches!(
            parse_keystore_bytes(&secrets),
            Err(KeystoreProblem::Damaged { entry: Some(2), .. })
        ));
    }

    #[test]
    fn header_damage_and_versions() {
        let mut b = three_keks();
        b[20] ^= 1;
        assert!(matches!(parse_keystore_bytes(&b), Err(KeystoreProblem::Damaged { entry: None, .. })));
        let mut v9 = header(9);
        v9.extend_from_slice(&three_keks()[KEYSTORE_HEADER_LEN..]);
        assert_eq!(parse_keystore_bytes(&v9).unwrap_err(), KeystoreProblem::UnsupportedVersion(9));
        // Version 1 has no audit-head entries: one there is damage.
        let head = AuditHeadRecord { seq: 5, hash: [3; 32], signature: [4; 64] };
        let mut v1 = header(1);
        v1.extend_from_slice(&audit_head_entry(&head));
        v1.extend_from_slice(&kek_entry("cam", 1, &[1; WRAPPED_KEY_LEN]));
        assert!(parse_keystore_bytes(&v1).is_err());
        let mut v2 = header(2);
        v2.extend_from_slice(&audit_head_entry(&head));
        assert_eq!(parse_keystore_bytes(&v2).unwrap().audit_head(), Some(&head));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let b = three_keks();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut d = b.clone();
            let at = KEYSTORE_HEADER_LEN + (x as usize % (b.len() - KEYSTORE_HEADER_LEN));
            d[at] = (x >> 32) as u8;
            d.truncate(KEYSTORE_HEADER_LEN + ((x >> 40) as usize % (b.len() - KEYSTORE_HEADER_LEN + 1)));
            let _ = parse_keystore_bytes(&d);
        }
    }
}
