//! keys/recover.rs: which bytes to trust when `keys.vvk` and its copy
//! `keys.vvk.copy` are read on open. Pure: it decides, the keystore acts.
//!
//! Every change is made to the primary first (appended and fdatasynced, or
//! renamed into place) and then to the copy, so after a crash the copy equals
//! the primary or lacks its last change, and never holds more. The copy that
//! holds *more* intact entries than the primary therefore means the primary
//! lost bytes it had made durable, and damage in the primary is survivable
//! whenever the copy is intact and agrees with everything the primary still
//! shows. Anything else is refused, and nothing is written.

use super::format::{parse_keystore_bytes, KeystoreProblem, ParsedKeystore, KEYSTORE_HEADER_LEN};

/// What opening does with the two files.
#[derive(Debug)]
pub struct Decision {
    /// The keystore to use.
    pub parsed: ParsedKeystore,
    /// The bytes it was parsed from (the valid part only).
    pub bytes: Vec<u8>,
    /// How the primary is brought to `bytes`.
    pub primary: PrimaryAction,
    /// The copy differs from `bytes` and is rewritten.
    pub rewrite_copy: bool,
    /// What was recovered, said to the operator (and audited).
    pub note: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PrimaryAction {
    /// The primary holds exactly `bytes`.
    Keep,
    /// Cut a torn final append off.
    CutTornTail,
    /// The damage lies in the primary's last append, which the copy never
    /// received: keep the damaged file in quarantine, then cut it.
    QuarantineAndCut,
    /// Replace the primary with `bytes` (recovered from the copy).
    RestoreFromCopy,
}

/// Why opening refuses: the problem in the primary (or its absence), and
/// what the copy could not offer.
#[derive(Debug)]
pub struct Refusal {
    pub problem: KeystoreProblem,
    pub copy_state: String,
}

fn describe(p: &KeystoreProblem) -> String {
    match p {
        KeystoreProblem::Damaged { offset, entry: Some(n), detail } => {
            format!("entry {n} at byte offset {offset} is damaged ({detail})")
        }
        KeystoreProblem::Damaged { offset, entry: None, detail } => {
            format!("the header at byte offset {offset} is damaged ({detail})")
        }
        KeystoreProblem::UnsupportedVersion(v) => {
            format!("keystore version {v} is not supported by this build")
        }
    }
}

pub fn describe_problem(p: &KeystoreProblem) -> String {
    describe(p)
}

/// The copy, when it parses, as (parsed, valid bytes).
fn parse_copy(copy: Option<&[u8]>) -> Result<(ParsedKeystore, &[u8]), String> {
    let Some(copy) = copy else { return Err("there is no copy".into()) };
    match parse_keystore_bytes(copy) {
        Ok(p) => {
            let n = p.valid_len as usize;
            Ok((p, &copy[..n]))
        }
        Err(e) => Err(format!("the copy is damaged too: {}", describe(&e))),
    }
}

pub fn choose(primary: Option<&[u8]>, copy: Option<&[u8]>) -> Result<Decision, Refusal> {
    let Some(primary) = primary else {
        // The primary is gone: the copy stands in for it if it is intact.
        return match parse_copy(copy) {
            Ok((parsed, bytes)) => Ok(Decision {
                parsed,
                bytes: bytes.to_vec(),
                primary: PrimaryAction::RestoreFromCopy,
                rewrite_copy: bytes.len() != copy.map_or(0, <[u8]>::len),
                note: Some("keys.vvk was missing; restored from keys.vvk.copy, which is intact".into()),
            }),
            Err(copy_state) => Err(Refusal {
                problem: KeystoreProblem::Damaged {
                    offset: 0,
                    entry: None,
                    detail: "the file is missing".into(),
                },
                copy_state,
            }),
        };
    };
    match parse_keystore_bytes(primary) {
        Ok(parsed) => Ok(primary_sound(primary, parsed, copy)),
        Err(problem @ KeystoreProblem::UnsupportedVersion(_)) => {
            Err(Refusal { problem, copy_state: "the copy was not consulted".into() })
        }
        Err(problem @ KeystoreProblem::Damaged { offset, .. }) => {
            primary_damaged(primary, problem, offset as usize, copy)
        }
    }
}

fn primary_sound(primary: &[u8], parsed: ParsedKeystore, copy: Option<&[u8]>) -> Decision {
    let valid = &primary[..parsed.valid_len as usize];
    if let Ok((copy_parsed, copy_valid)) = parse_copy(copy) {
        // The copy holds more than the primary and agrees with all of it: the
        // primary lost entries it had made durable (a cut, a truncation).
        if copy_valid.len() > valid.len() && copy_valid.starts_with(valid) {
            let lost = copy_parsed.entries.len() - parsed.entries.len();
            return Decision {
                parsed: copy_parsed,
                bytes: copy_valid.to_vec(),
                primary: PrimaryAction::RestoreFromCopy,
                rewrite_copy: copy_valid.len() != copy.map_or(0, <[u8]>::len),
                note: Some(format!(
                    "keys.vvk ended after {} bytes, {lost} entries before its copy does; restored them from \
                     keys.vvk.copy, which is intact and agrees with every byte keys.vvk still holds",
                    valid.len()
                )),
            };
        }
    }
    Decision {
        primary: if valid.len() < primary.len() { PrimaryAction::CutTornTail } else { PrimaryAction::Keep },
        rewrite_copy: copy != Some(valid),
        bytes: valid.to_vec(),
        parsed,
        note: None,
    }
}

/// The primary is damaged from byte `d` on (its first bad entry or header).
fn primary_damaged(
    primary: &[u8],
    problem: KeystoreProblem,
    d: usize,
    copy: Option<&[u8]>,
) -> Result<Decision, Refusal> {
    let (copy_parsed, copy_valid) = match parse_copy(copy) {
        Ok(c) => c,
        Err(copy_state) => return Err(Refusal { problem, copy_state }),
    };
    let refuse = |why: &str| Refusal { problem: problem.clone(), copy_state: why.to_string() };
    // The copy must agree with every byte before the damage (with d = 0,
    // the damaged header, nothing can be compared and the length decides).
    if copy_valid.len() < d.max(KEYSTORE_HEADER_LEN) || copy_valid[..d] != primary[..d] {
        return Err(refuse("the copy is intact but does not agree with keys.vvk before the damage"));
    }
    let copy_rewrite = copy_valid.len() != copy.map_or(0, <[u8]>::len);
    if copy_valid.len() >= primary.len() {
        return Ok(Decision {
            note: Some(format!(
                "keys.vvk: {}; restored from keys.vvk.copy, which is intact and agrees with it up to the damage",
                describe(&problem)
            )),
            parsed: copy_parsed,
            bytes: copy_valid.to_vec(),
            primary: PrimaryAction::RestoreFromCopy,
            rewrite_copy: copy_rewrite,
        });
    }
    if copy_valid.len() == d && d >= KEYSTORE_HEADER_LEN {
        // The copy ends exactly where the damage starts: the damaged bytes are
        // the primary's last append, which was interrupted before the copy
        // got it (an acknowledged append is in both files).
        return Ok(Decision {
            note: Some(format!(
                "keys.vvk: {}, in its last append, which its copy never received (an interrupted write); \
                 the file was moved to quarantine/ and the keystore continues from its copy",
                describe(&problem)
            )),
            parsed: copy_parsed,
            bytes: copy_valid.to_vec(),
            primary: PrimaryAction::QuarantineAndCut,
            rewrite_copy: copy_rewrite,
        });
    }
    Err(refuse("the copy is intact and agrees before the damage, but holds fewer bytes than keys.vvk"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::WRAPPED_KEY_LEN;
    use crate::keys::format::{kek_entry, KEYSTORE_MAGIC};

    fn file(days: i32) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&KEYSTORE_MAGIC);
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&[0; 6 + 16 + 12 + 16]);
        let crc = crc32c::crc32c(&h);
        h.extend_from_slice(&crc.to_le_bytes());
        for day in 1..=days {
            h.extend_from_slice(&kek_entry("cam", day, &[day as u8; WRAPPED_KEY_LEN]));
        }
        h
    }

    #[test]
    fn sound_primary_wins_and_the_copy_follows() {
        let p = file(3);
        let d = choose(Some(&p), Some(&file(2))).unwrap();
        assert_eq!((d.primary, d.rewrite_copy, d.note), (PrimaryAction::Keep, true, None));
        let d = choose(Some(&p), Some(&p)).unwrap();
        assert!(!d.rewrite_copy);
    }

    #[test]
    fn damage_with_an_agreeing_copy_is_recovered() {
        let good = file(3);
        let mut p = good.clone();
        p[80] ^= 4;
        let d = choose(Some(&p), Some(&good)).unwrap();
        assert_eq!(d.primary, PrimaryAction::RestoreFromCopy);
        assert_eq!(d.bytes, good);
        assert!(d.note.unwrap().contains("entry 1"));
    }

    #[test]
    fn damage_without_a_usable_copy_is_refused() {
        let mut p = file(3);
        p[80] ^= 4;
        assert!(choose(Some(&p), None).is_err());
        let mut c = file(3);
        c[100] ^= 1;
        assert!(choose(Some(&p), Some(&c)).is_err());
        // A copy of another generation (other header) does not agree.
        let mut other = file(3);
        other[20] = 9;
        let crc = crc32c::crc32c(&other[..60]);
        other[60..64].copy_from_slice(&crc.to_le_bytes());
        let mut p2 = file(3);
        p2[150] ^= 1;
        assert!(choose(Some(&p2), Some(&other)).is_err());
    }

    #[test]
    fn a_truncated_primary_is_restored_from_a_longer_copy() {
        let good = file(3);
        let p = &good[..good.len() - 78];
        let d = choose(Some(p), Some(&good)).unwrap();
        assert_eq!(d.primary, PrimaryAction::RestoreFromCopy);
        assert_eq!(d.parsed.entries.len(), 3);
    }

    #[test]
    fn damage_in_the_unmirrored_last_append_is_cut_after_quarantine() {
        let p_good = file(3);
        let mut p = p_good.clone();
        let last = p.len() - 78;
        p[last + 30] ^= 1;
        let d = choose(Some(&p), Some(&p_good[..last])).unwrap();
        assert_eq!(d.primary, PrimaryAction::QuarantineAndCut);
        assert_eq!(d.parsed.entries.len(), 2);
    }

    #[test]
    fn missing_primary_uses_an_intact_copy() {
        let good = file(2);
        assert_eq!(choose(None, Some(&good)).unwrap().primary, PrimaryAction::RestoreFromCopy);
        assert!(choose(None, None).is_err());
    }
}
