//! fuzzing.rs: entry points over untrusted bytes, shared by the cargo-fuzz
//! targets (fuzz/fuzz_targets/) and the stable corpus runner
//! (tests/fuzz_corpus.rs), so CI replays the corpus on stable Rust and the
//! long runs on nightly exercise exactly the same code.
//!
//! Each entry point feeds its bytes to one reader of the core (a segment file,
//! a torn segment's recovery, the keystore, a grant token) and then checks
//! what a user relies on when the reader accepts them: frames read back in
//! sequence, the index points at the frames it names, a recovered file opens
//! sealed and keeps its intact prefix, a keystore that opened once opens
//! again with the same keys. A panic here is a finding: either the core
//! panicked, or it accepted bytes and then broke one of those promises.
//! Errors are normal outcomes and are returned as `Outcome::Rejected`.
//!
//! Keys are fixed test values (never a real store's): the corpus under
//! fuzz/corpus/ is written with them (tests/fuzz_corpus.rs, `regenerate`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};

use crate::access::grants::{self, Grant, Request, Scope};
use crate::crypto::SecretKey;
use crate::error::Result;
use crate::keys::format::{parse_keystore_bytes, Entry as KeyEntry, KEYSTORE_VERSION};
use crate::keys::{Keystore, ADMIN_SIGNING_KEY, EXPORT_SIGNING_KEY};
use crate::segment::format;
use crate::segment::reader::{Frame, SealState, SegmentFile};
use crate::segment::recover::{recover_segment, Recovery};
use crate::time::{TimeRange, Timestamp, NANOS_PER_DAY, NANOS_PER_SECOND};

/// Master key of the corpus keystore.
pub const FUZZ_MASTER: [u8; 32] = [0x4D; 32];
/// The key-encryption key of every (camera, day) in the corpus segments.
pub const FUZZ_KEK: [u8; 32] = [0x4B; 32];
/// Seed of the admin key that signs the corpus grant tokens.
pub const FUZZ_ADMIN_SEED: [u8; 32] = [0x41; 32];
/// Store id the grant tokens are checked against.
pub const FUZZ_STORE_ID: &str = "00000000-0000-4000-8000-00000000f022";
/// "Now" for grant validity: 2025-11-21T04:40:00Z.
pub const FUZZ_NOW: Timestamp = Timestamp(1_763_700_000 * NANOS_PER_SECOND);
/// The store's default gap threshold (StoreOptions::default()).
pub const GAP_THRESHOLD_NS: i64 = 2 * NANOS_PER_SECOND;

/// What a reader made of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; `items` is what was read (frames, keys, grants).
    Accepted { items: u64 },
    /// Refused with this error message (a normal outcome for bad bytes).
    Rejected(String),
}

impl Outcome {
    pub fn is_accepted(&self) -> bool {
        matches!(self, Outcome::Accepted { .. })
    }
}

fn rejected(e: impl std::fmt::Display) -> Outcome {
    Outcome::Rejected(e.to_string())
}

// ---------------------------------------------------------------- findings

/// A broken promise the fuzzer found and its owner has not fixed yet: checks
/// named here do not panic, so a run can go on looking for other findings.
/// Set by `set_known_open`, else from `VIDVAULT_FUZZ_KNOWN_OPEN` (comma
/// separated ids; fuzz/run-all.sh passes fuzz/known-open.txt).
static KNOWN_OPEN: OnceLock<HashSet<String>> = OnceLock::new();

pub fn set_known_open(ids: &[&str]) {
    let _ = KNOWN_OPEN.set(ids.iter().map(|s| s.to_string()).collect());
}

fn known_open() -> &'static HashSet<String> {
    KNOWN_OPEN.get_or_init(|| {
        let ids = std::env::var("VIDVAULT_FUZZ_KNOWN_OPEN").unwrap_or_default();
        ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
    })
}

/// Panics with `[id] message` unless `holds` or `id` is a known open finding.
fn promise(id: &str, holds: bool, message: impl FnOnce() -> String) {
    if !holds && !known_open().contains(id) {
        panic!("[{id}] {}", message());
    }
}

/// Records of a sealed segment served in another order or place than written.
pub const RECORD_SUBSTITUTION: &str = "sealed-record-substitution";
/// The keystore cut off bytes that were not a torn last entry.
pub const KEYSTORE_CUT: &str = "keystore-cuts-intact-bytes";

// ---------------------------------------------------------------- scratch files

/// A private directory for the files the path-based readers need. On
/// /dev/shm when it exists: inputs are rewritten for every run, and fsync on
/// tmpfs costs nothing.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn new(name: &str) -> std::io::Result<Scratch> {
        let base = std::env::var_os("VIDVAULT_FUZZ_SCRATCH")
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|p| p.is_dir()))
            .unwrap_or_else(std::env::temp_dir);
        let dir = base.join(format!("vidvault-fuzz-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `data` to the file `name` (replacing it) and returns its path.
    fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let path = self.dir.join(name);
        let _ = std::fs::remove_file(crate::fsutil::tmp_path(&path));
        std::fs::write(&path, data).unwrap_or_else(|e| panic!("scratch file {}: {e}", path.display()));
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------- target 1: segment reader

fn fixed_kek(_camera: &str, _day: i32) -> Result<SecretKey> {
    Ok(SecretKey::from_bytes(FUZZ_KEK))
}

/// Opens `data` as a segment file, reads every frame in order and seeks to
/// every keyframe of its index.
pub fn segment_reader(scratch: &Scratch, data: &[u8]) -> Outcome {
    parse_pieces(data);
    let path = scratch.file("segment.vvs", data);
    let seg = match SegmentFile::open(&path, &mut fixed_kek, GAP_THRESHOLD_NS) {
        Ok(seg) => seg,
        Err(e) => return rejected(e),
    };
    let (frames, end) = read_in_order(&seg);
    if let Err(e) = &end {
        // Scanning already authenticated every record of an unsealed file:
        // reading them again cannot fail.
        assert!(seg.seal == SealState::Sealed, "records the scan accepted do not read back: {e}");
    }
    if end.is_ok() {
        let count_holds = frames.len() as u64 == seg.summary.frame_count;
        let message =
            || format!("{} frames read, the summary says {}", frames.len(), seg.summary.frame_count);
        match seg.seal {
            // Records substituted inside a sealed file can change the count
            // without an error: the same open finding as a reordering.
            SealState::Sealed => promise(RECORD_SUBSTITUTION, count_holds, message),
            SealState::Unsealed { .. } => assert!(count_holds, "{}", message()),
        }
    }
    seek_every_keyframe(&seg, &frames);
    if end.is_ok() {
        table_lists_what_reads(&seg, &frames);
    }
    match end {
        Ok(()) => Outcome::Accepted { items: frames.len() as u64 },
        Err(e) => rejected(e),
    }
}

/// The byte-level decoders on their own (fsck-style, without keys).
fn parse_pieces(data: &[u8]) {
    let _ = format::peek_header_len(&data[..data.len().min(16)]);
    let header_len = format::parse_header(data).map(|h| h.header_len).unwrap_or(0);
    if data.len() >= format::TRAILER_LEN {
        let trailer: [u8; format::TRAILER_LEN] = data[data.len() - format::TRAILER_LEN..].try_into().unwrap();
        if let Ok((offset, len)) = format::parse_trailer(&trailer) {
            let footer = usize::try_from(offset).ok().and_then(|o| data.get(o..o.checked_add(len)?));
            if let Some(footer) = footer {
                let _ = format::parse_footer(footer, None);
            }
        }
    }
    if let Some(prefix) = data.get(header_len..header_len + format::RECORD_PREFIX_LEN) {
        if let Ok((len, crc)) = format::parse_record_prefix(prefix.try_into().unwrap()) {
            let start = header_len + format::RECORD_PREFIX_LEN;
            if let Some(body) = data.get(start..start.saturating_add(len)) {
                let _ = format::parse_record_body(body, crc);
            }
        }
    }
}

/// Reads from the first record to the end. Frames must come back with
/// sequence numbers 0, 1, 2, ...: anything else is served out of order.
fn read_in_order(seg: &SegmentFile) -> (Vec<Frame>, Result<()>) {
    let mut frames: Vec<Frame> = Vec::new();
    let mut offset = seg.header_len;
    // Every record or padding run is at least 8 bytes: a reader that needs
    // more steps than that does not advance.
    let max_steps = seg.summary.records_end / format::RECORD_PREFIX_LEN as u64 + 2;
    for _ in 0..max_steps {
        // As the store's cursor reads: each record must be the one expected.
        match seg.read_frame_expecting(offset, frames.len() as u64) {
            Ok(Some((frame, next))) => {
                assert!(next > offset, "read_frame_expecting({offset}) returned next offset {next}");
                promise(RECORD_SUBSTITUTION, frame.meta.seq == frames.len() as u64, || {
                    format!(
                        "segment {}: frame {} (at offset {offset}) is served in position {}",
                        seg.id(),
                        frame.meta.seq,
                        frames.len()
                    )
                });
                frames.push(frame);
                offset = next;
            }
            Ok(None) => return (frames, Ok(())),
            Err(e) => return (frames, Err(e)),
        }
    }
    panic!("reading segment {} did not end after {max_steps} steps", seg.id());
}

/// A seek lands on an index entry: that frame must be the keyframe the index
/// names (the store's read path trusts `offset`, `seq` and `ts` of entries).
fn seek_every_keyframe(seg: &SegmentFile, frames: &[Frame]) {
    for entry in seg.summary.keyframes.iter().take(256) {
        let Ok(Some((frame, _))) = seg.read_frame_at(entry.offset) else {
            assert!(seg.seal == SealState::Sealed, "an index entry built by scanning does not read");
            continue;
        };
        let same = frame.meta.seq == entry.seq && frame.meta.ts == entry.ts && frame.meta.keyframe;
        promise(RECORD_SUBSTITUTION, same, || {
            format!(
                "seek to index entry (frame {}, offset {}) serves frame {} (keyframe: {})",
                entry.seq, entry.offset, frame.meta.seq, frame.meta.keyframe
            )
        });
        if let Some(f) = frames.get(entry.seq as usize) {
            promise(RECORD_SUBSTITUTION, f == &frame, || {
                format!("seek and sequential read disagree on frame {}", entry.seq)
            });
        }
    }
}

/// A frame table the reader accepts (listings trust it) lists exactly the
/// frames that read back in order: metadata, record offset and size.
fn table_lists_what_reads(seg: &SegmentFile, frames: &[Frame]) {
    let Ok(Some(table)) = seg.frame_table() else {
        return;
    };
    let same = table.len() == frames.len()
        && table.iter().zip(frames).all(|(t, f)| t.meta == f.meta && t.size == f.data.len());
    promise(RECORD_SUBSTITUTION, same, || {
        format!("segment {}: the frame table lists other frames than its records hold", seg.id())
    });
    // `Store::read_frame` reads a listed frame at its offset: it must be there.
    for listed in table.iter().take(256) {
        let found = seg.read_frame_at(listed.offset).ok().flatten().map(|(f, _)| f.meta);
        promise(RECORD_SUBSTITUTION, found == Some(listed.meta), || {
            format!(
                "segment {}: frame {} is not at the offset its table row gives",
                seg.id(),
                listed.meta.seq
            )
        });
    }
}

// ---------------------------------------------------------------- target 2: recovery

/// Recovers `data` as a torn segment file in place, then checks the result
/// the way the store uses it: the file opens sealed, every frame reads, the
/// bytes before the cut are untouched and a second recovery changes nothing.
pub fn recovery(scratch: &Scratch, data: &[u8]) -> Outcome {
    let path = scratch.file("torn.vvs", data);
    let recovery = match recover_segment(&path, &mut fixed_kek, GAP_THRESHOLD_NS) {
        Ok(r) => r,
        Err(e) => return rejected(e),
    };
    match recovery {
        Recovery::Repaired { summary, .. } => {
            let after = std::fs::read(&path).expect("read the recovered file");
            let kept = summary.records_end as usize;
            assert!(kept <= data.len(), "recovery kept {kept} bytes of a {}-byte file", data.len());
            assert!(after[..kept] == data[..kept], "recovery changed bytes before its cut at {kept}");
            let seg = SegmentFile::open(&path, &mut fixed_kek, GAP_THRESHOLD_NS)
                .unwrap_or_else(|e| panic!("a repaired segment does not open: {e}"));
            assert_eq!(seg.seal, SealState::Sealed, "a repaired segment is not sealed");
            assert_eq!(seg.summary, summary, "the footer says other than what recovery reported");
            let (frames, end) = read_in_order(&seg);
            end.unwrap_or_else(|e| panic!("a repaired segment does not read back: {e}"));
            assert_eq!(frames.len() as u64, summary.frame_count);
            match recover_segment(&path, &mut fixed_kek, GAP_THRESHOLD_NS) {
                Ok(Recovery::AlreadySealed { summary: again, .. }) => assert_eq!(again, summary),
                other => panic!("recovering a repaired segment again: {other:?}"),
            }
            Outcome::Accepted { items: frames.len() as u64 }
        }
        Recovery::AlreadySealed { summary, .. } => Outcome::Accepted { items: summary.frame_count },
        Recovery::Empty { .. } => Outcome::Accepted { items: 0 },
        Recovery::Unreadable { detail } => Outcome::Rejected(detail),
    }
}

// ---------------------------------------------------------------- target 3: keystore

fn master() -> SecretKey {
    SecretKey::from_bytes(FUZZ_MASTER)
}

/// Opens `data` as `keys.vvk` under the fixed master key, unwraps every key
/// in it, appends one, and reopens: nothing accepted once may disappear.
pub fn keystore(scratch: &Scratch, data: &[u8]) -> Outcome {
    // Each input is the keystore alone: no copy left from the previous one
    // (a copy is the second source open recovers from; see keys/recover.rs).
    let _ = std::fs::remove_file(scratch.dir().join("keys.vvk.copy"));
    let path = scratch.file("keys.vvk", data);
    let mut ks = match Keystore::open(&path, master()) {
        Ok(ks) => ks,
        Err(e) => return rejected(e),
    };
    let keks = ks.unused_keks(&HashSet::new());
    // What open may drop is a torn last entry, nothing more. A file of the
    // current version is only ever cut; an older one is rewritten in the
    // current version (same keys, other bytes), so there the cut is judged
    // on the input and the keys are compared one by one.
    let kept = match u16::from_le_bytes([data[8], data[9]]) {
        KEYSTORE_VERSION => std::fs::metadata(&path).map(|m| m.len() as usize).unwrap_or(0),
        _ => {
            let parsed = parse_keystore_bytes(data).expect("an old keystore that opened parses");
            let mut had: Vec<_> = parsed.entries.iter().filter_map(|(_, e)| kek_id(e)).collect();
            had.sort();
            had.dedup();
            assert_eq!(had, keks, "rewriting an old-version keystore changed its set of keys");
            for (_, entry) in &parsed.entries {
                if let KeyEntry::Secret { name, .. } = entry {
                    assert!(matches!(ks.secret(name), Ok(Some(_))), "rewriting lost the secret {name:?}");
                }
            }
            parsed.valid_len as usize
        }
    };
    promise(KEYSTORE_CUT, kept >= data.len() || is_torn_entry(&data[kept..]), || {
        format!(
            "open cut the keystore at byte {kept} of {}, and what it cut is not a torn last entry",
            data.len()
        )
    });
    let mut items = 0;
    for (camera, day) in &keks {
        items += ks.kek(camera, *day).is_ok() as u64;
    }
    for name in [EXPORT_SIGNING_KEY, ADMIN_SIGNING_KEY] {
        items += matches!(ks.secret(name), Ok(Some(_))) as u64;
    }
    // Appending after whatever open kept must land in a file that reopens.
    let appended = match append_one_kek(&mut ks) {
        Ok(id) => id,
        Err(e) => return rejected(e),
    };
    drop(ks);
    let mut again = Keystore::open(&path, master())
        .unwrap_or_else(|e| panic!("a keystore that opened and took an append does not reopen: {e}"));
    let mut after = again.unused_keks(&HashSet::new());
    assert!(after.contains(&appended), "the KEK appended after open is gone on reopen");
    after.retain(|id| id != &appended);
    assert_eq!(after, keks, "reopening changed the set of keys");
    assert!(again.kek(&appended.0, appended.1).is_ok(), "the appended KEK does not unwrap");
    Outcome::Accepted { items }
}

/// Whether `tail` is what a crash during an append leaves: an entry (8-byte
/// length and CRC prefix, then the body) that runs to or past the end of the
/// file, or space the filesystem allocated and never wrote (all zeros).
fn is_torn_entry(tail: &[u8]) -> bool {
    if tail.iter().all(|&b| b == 0) {
        return true;
    }
    match tail.get(..4) {
        None => true,
        Some(len) => 8 + u32::from_le_bytes(len.try_into().unwrap()) as usize >= tail.len(),
    }
}

fn kek_id(entry: &KeyEntry) -> Option<(String, i32)> {
    match entry {
        KeyEntry::Kek { camera, day, .. } => Some((camera.clone(), *day)),
        _ => None,
    }
}

fn append_one_kek(ks: &mut Keystore) -> Result<(String, i32)> {
    let id = ("fuzz-appended-camera".to_string(), i32::MAX);
    ks.kek_for_writing(&id.0, id.1)?;
    ks.persist_pending()?;
    ks.release_lease(&id.0, id.1);
    Ok(id)
}

// ---------------------------------------------------------------- target 4: grant tokens

fn admin() -> SigningKey {
    SigningKey::from_bytes(&FUZZ_ADMIN_SEED)
}

/// The first byte chooses the mode: even, the rest is a token as presented
/// (signature and all); odd, the rest is a payload that gets a valid
/// signature, so the fuzzer reaches the JSON and the checks behind it.
pub fn grant_token(data: &[u8]) -> Outcome {
    let Some((&mode, rest)) = data.split_first() else {
        return Outcome::Rejected("empty input".into());
    };
    let token = if mode & 1 == 0 { String::from_utf8_lossy(rest).into_owned() } else { signed_token(rest) };
    let admin = admin();
    let grant = match grants::decode_token(&token, &admin.verifying_key(), FUZZ_STORE_ID, FUZZ_NOW) {
        Ok(g) => g,
        Err(r) => return rejected(r),
    };
    let _ = grant.validate();
    authorize_every_action(&grant);
    // What the store signs it must read back unchanged.
    let reissued = grants::encode_token(&grant, &admin);
    let back = grants::decode_token(&reissued, &admin.verifying_key(), FUZZ_STORE_ID, FUZZ_NOW);
    assert_eq!(back.as_ref(), Ok(&grant), "a re-signed grant does not decode to itself");
    Outcome::Accepted { items: 1 }
}

/// `vvg1.<payload>.<signature>` with `payload` taken as the fuzzer wrote it
/// when it is valid base64url, else base64url-encoded first.
pub fn signed_token(payload: &[u8]) -> String {
    let text = std::str::from_utf8(payload).ok().filter(|p| URL_SAFE_NO_PAD.decode(p).is_ok());
    let payload = text.map(str::to_string).unwrap_or_else(|| URL_SAFE_NO_PAD.encode(payload));
    let signed = format!("{}.{payload}", grants::TOKEN_PREFIX);
    let sig = admin().sign(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

fn authorize_every_action(grant: &Grant) {
    let labels = BTreeMap::from([("area".to_string(), "district-3".to_string())]);
    let day = FUZZ_NOW.0 - FUZZ_NOW.0.rem_euclid(NANOS_PER_DAY);
    let windows = [
        None,
        Some(TimeRange::new(Timestamp(day), Timestamp(day + NANOS_PER_SECOND))),
        Some(TimeRange::new(Timestamp::MIN, Timestamp::MAX)),
    ];
    let grants = std::slice::from_ref(grant);
    for action in grants::ACTIONS {
        for camera in [None, Some("34020000001320000001"), Some(grant.principal.as_str())] {
            for footage in windows {
                let scope = match camera {
                    None if footage.is_none() => Scope::Store,
                    None => continue, // a footage window always belongs to a camera
                    Some(id) => Scope::Camera { id, labels: &labels, footage },
                };
                let req = Request { principal: &grant.principal, action, scope };
                if let Ok(g) = grants::check(grants, &req) {
                    assert!(g.allows(action), "check let {action:?} through a grant that does not allow it");
                }
            }
        }
    }
}
