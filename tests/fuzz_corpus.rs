//! The fuzz targets' bodies on stable Rust: every file of fuzz/corpus/<target>/
//! and a few thousand deterministic mutations of them go through the same
//! entry points (`vidvault::fuzzing`) the cargo-fuzz targets call, so a
//! regression that panics on a known input fails `cargo test` without nightly.
//!
//! `cargo test --test fuzz_corpus -- --ignored regenerate_corpus` rewrites the
//! corpus from a store written by the library (see `regenerate_corpus`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use vidvault::access::grants::{self, Grant};
use vidvault::crypto::{self, SecretKey};
use vidvault::fuzzing::{self, Outcome, Scratch};
use vidvault::keys::Keystore;
use vidvault::segment::format;
use vidvault::time::{TimeBase, Timestamp, NANOS_PER_DAY, NANOS_PER_SECOND};
use vidvault::{CodecConfig, NewFrame, RetentionSetting, Store, StoreOptions};

/// Mutated inputs per target on every `cargo test` (grant tokens cost two
/// Ed25519 signatures and verifications each, slow in a debug build).
fn mutations(target: &str) -> usize {
    if target == "grant" {
        500
    } else {
        2_000
    }
}

/// Findings of the fuzz runs not fixed yet (fuzz/known-open.txt): their
/// checks are skipped, so `cargo test` still fails on every other panic.
fn known_open() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/known-open.txt");
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split('#').next())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target)
}

/// The corpus of `target`, sorted by name so mutations are reproducible.
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(corpus_dir(target))
        .unwrap_or_else(|e| panic!("fuzz/corpus/{target}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), fs::read(&p).unwrap()))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "fuzz/corpus/{target} is empty");
    files
}

// ---------------------------------------------------------------- deterministic mutations

/// xorshift64*: a fixed sequence, so a failing mutation is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Values that sit on the boundaries the decoders check.
const INTERESTING: [u64; 12] =
    [0, 1, 8, 0x7f, 0x80, 0xff, 4096, 0xffff, 0x7fff_ffff, 0xffff_ffff, i64::MAX as u64, u64::MAX];

/// One to four of libFuzzer's basic moves: flip, set, overwrite an integer,
/// insert, erase, truncate, copy a chunk, splice in another corpus file.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len().max(1));
        match rng.below(8) {
            0 if !b.is_empty() => b[at] ^= 1 << rng.below(8),
            1 if !b.is_empty() => b[at] = INTERESTING[rng.below(INTERESTING.len())] as u8,
            2 => {
                let width = [2usize, 4, 8][rng.below(3)];
                let v = INTERESTING[rng.below(INTERESTING.len())].to_le_bytes();
                for (i, byte) in v[..width].iter().enumerate() {
                    if let Some(x) = b.get_mut(at + i) {
                        *x = *byte;
                    }
                }
            }
            3 => {
                let n = 1 + rng.below(64);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(at..at, bytes);
            }
            4 if !b.is_empty() => {
                let end = (at + 1 + rng.below(256)).min(b.len());
                b.drain(at..end);
            }
            5 => b.truncate(at),
            6 if !b.is_empty() => {
                let from = rng.below(b.len());
                let n = (1 + rng.below(512)).min(b.len() - from);
                let chunk = b[from..from + n].to_vec();
                let to = rng.below(b.len());
                let end = (to + n).min(b.len());
                b.splice(to..end, chunk);
            }
            _ if !other.is_empty() => {
                let cut = rng.below(other.len());
                b.truncate(at);
                b.extend_from_slice(&other[cut..]);
            }
            _ => {}
        }
    }
    b
}

/// Runs `body` over the corpus of `target` (every file must be accepted,
/// except those named `bad-*`) and then over mutations of it.
fn run_target(target: &str, mut body: impl FnMut(&[u8]) -> Outcome) {
    let open = known_open();
    fuzzing::set_known_open(&open.iter().map(String::as_str).collect::<Vec<_>>());
    let files = corpus(target);
    for (name, bytes) in &files {
        let outcome = body(bytes);
        if name.starts_with("bad-") {
            assert!(!outcome.is_accepted(), "{target}/{name} should be refused: {outcome:?}");
        } else {
            assert!(outcome.is_accepted(), "{target}/{name} should be accepted: {outcome:?}");
        }
    }
    let mut rng = Rng(0x5EED_0000 ^ target.len() as u64 ^ (target.as_bytes()[0] as u64) << 32);
    let mut accepted = 0;
    for i in 0..mutations(target) {
        let (name, input) = &files[i % files.len()];
        let other = &files[rng.below(files.len())].1;
        let mutated = mutate(&mut rng, input, other);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&mutated)));
        match result {
            Ok(outcome) => accepted += outcome.is_accepted() as usize,
            Err(panic) => {
                let message = panic_message(&panic);
                let path = std::env::temp_dir().join(format!("vidvault-fuzz-{target}-mutation-{i}"));
                fs::write(&path, &mutated).unwrap();
                panic!(
                    "{target}: mutation {i} of {name} panicked ({message}); input saved to {}",
                    path.display()
                );
            }
        }
    }
    // Mutations that are all refused at the first check test nothing deeper.
    assert!(accepted > 0, "{target}: no mutated input got past the first checks");
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn segment_reader_corpus() {
    let scratch = Scratch::new("segment-test").unwrap();
    run_target("segment", |b| fuzzing::segment_reader(&scratch, b));
}

#[test]
fn recovery_corpus() {
    let scratch = Scratch::new("recovery-test").unwrap();
    run_target("recovery", |b| fuzzing::recovery(&scratch, b));
}

#[test]
fn keystore_corpus() {
    let scratch = Scratch::new("keystore-test").unwrap();
    run_target("keystore", |b| fuzzing::keystore(&scratch, b));
}

#[test]
fn grant_token_corpus() {
    run_target("grant", fuzzing::grant_token);
}

// ---------------------------------------------------------------- corpus generation

const CAMERAS: [&str; 2] = ["34020000001320000001", "gate-east"];
const T0: i64 = 1_763_700_000 * NANOS_PER_SECOND - 30 * NANOS_PER_SECOND; // just before FUZZ_NOW
const FRAME_NS: i64 = 40_000_000; // 25 fps

fn config() -> CodecConfig {
    CodecConfig {
        codec: "h264".into(),
        // avcC: version 1, High profile, level 3.1, one SPS and one PPS.
        extradata: b"\x01\x64\x00\x1f\xff\xe1\x00\x04\x67\x64\x00\x1f\x01\x00\x02\x68\xee".to_vec(),
        time_base: TimeBase::new(1, 90_000).unwrap(),
        width: 640,
        height: 360,
        params: "{\"pix_fmt\":\"yuv420p\"}".into(),
    }
}

/// An H.264-shaped access unit (Annex B start code, IDR or non-IDR slice
/// header); the core stores payloads opaquely, their size is what matters.
fn access_unit(i: i64, keyframe: bool) -> Vec<u8> {
    let mut au = if keyframe {
        b"\x00\x00\x00\x01\x65\x88\x84".to_vec()
    } else {
        b"\x00\x00\x00\x01\x41\x9a".to_vec()
    };
    let len = if keyframe { 180 } else { 24 + (i as usize * 7) % 40 };
    au.extend((0..len).map(|k| (i as usize * 31 + k) as u8));
    au
}

/// Writes `n` frames (GOP of 10, B-frame-free) for `camera` from `start`,
/// with a recording gap of 3 s after frame `gap_after`.
fn write_frames(store: &Store, camera: &str, start: i64, n: i64, gap_after: i64) {
    let w = store.writer(camera, config()).unwrap();
    let mut ts = start;
    for i in 0..n {
        let keyframe = i % 10 == 0 || i == gap_after + 1;
        let data = access_unit(i, keyframe);
        w.append(&NewFrame {
            ts: Timestamp(ts),
            data: &data,
            keyframe,
            pts: Some(i * 3600),
            dts: Some(i * 3600),
            duration: Some(3600),
        })
        .unwrap();
        ts += if i == gap_after { 3 * NANOS_PER_SECOND } else { FRAME_NS };
    }
    w.sync().unwrap();
}

fn segment_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![root.join("segments")];
    while let Some(d) = dirs.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "vvs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Re-wraps a real segment's data key under FUZZ_KEK so the fuzz targets
/// (which have no keystore) can open it; every other byte is the store's,
/// except the footer's content hash, which covers the new header.
fn rekey(bytes: &[u8], ks: &mut Keystore) -> Vec<u8> {
    let parsed = format::parse_header(bytes).unwrap();
    let h = &parsed.header;
    let aad = format::dek_wrap_aad(&h.store_id, h.segment_id, &h.camera, h.kek_day);
    let kek = ks.kek(&h.camera, h.kek_day).unwrap();
    let dek = crypto::unwrap_key(&kek, &h.wrapped_dek, &aad).unwrap();
    let cipher = dek.cipher();
    let config = parsed.open_config(bytes, &cipher).unwrap();
    let mut header = h.clone();
    header.wrapped_dek = crypto::wrap_key(&SecretKey::from_bytes(fuzzing::FUZZ_KEK), &dek, &aad).unwrap();
    let mut out = format::encode_header(&header, &config, &cipher);
    assert_eq!(out.len(), parsed.header_len);
    out.extend_from_slice(&bytes[parsed.header_len..]);
    let trailer: [u8; format::TRAILER_LEN] = out[out.len() - format::TRAILER_LEN..].try_into().unwrap();
    if let Ok((offset, len)) = format::parse_trailer(&trailer) {
        let offset = offset as usize;
        let mut summary = format::parse_footer(&out[offset..offset + len], None).unwrap();
        // The hash covers header and records, not the frame table after them.
        summary.content_hash = Sha256::digest(&out[..summary.records_end as usize]).into();
        let binding = format::segment_binding(&h.store_id, h.segment_id, &h.camera);
        out.truncate(offset);
        out.extend_from_slice(&format::encode_footer(&summary, &cipher, &binding));
    }
    out
}

fn grant(principal: &str, actions: &[&str], cameras: &[&str]) -> Grant {
    let day = fuzzing::FUZZ_NOW.0 - fuzzing::FUZZ_NOW.0.rem_euclid(NANOS_PER_DAY);
    Grant {
        id: format!("g-{principal}"),
        store_id: fuzzing::FUZZ_STORE_ID.into(),
        principal: principal.into(),
        actions: actions.iter().map(|s| s.to_string()).collect(),
        cameras: cameras.iter().map(|s| s.to_string()).collect(),
        footage_from: Some(Timestamp(day)),
        footage_to: Some(Timestamp(day + NANOS_PER_DAY)),
        valid_from: Timestamp(day),
        valid_until: Timestamp(day + 7 * NANOS_PER_DAY),
        case: "CASE-2025-0042".into(),
        purpose: "investigation".into(),
        approver: Some("chief.li".into()),
        issued_at: Timestamp(day),
        issued_by: "admin".into(),
    }
}

fn put(target: &str, name: &str, bytes: &[u8]) {
    fs::write(corpus_dir(target).join(name), bytes).unwrap();
}

/// A real store's segment files under the fuzz keys: (sealed, still open
/// as a kill -9 would leave them), and the store's keystore bytes.
fn fuzz_store_segments() -> (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let options = StoreOptions {
        roll_after_ns: 2 * NANOS_PER_SECOND,
        sync_interval: Duration::from_millis(20),
        ..StoreOptions::default()
    };
    let store = Store::create(&root, SecretKey::from_bytes(fuzzing::FUZZ_MASTER), options).unwrap();
    for c in CAMERAS {
        store.add_camera(c, BTreeMap::new(), RetentionSetting::StoreDefault).unwrap();
    }
    write_frames(&store, CAMERAS[0], T0, 80, 35);
    write_frames(&store, CAMERAS[1], T0 + 12_345, 30, 100);
    // The still-open segments, as a kill -9 right now would leave them.
    let open_copies: Vec<Vec<u8>> = segment_files(&root)
        .iter()
        .map(|p| fs::read(p).unwrap())
        .filter(|b| !b.ends_with(&format::TRAILER_MAGIC))
        .collect();
    store.close().unwrap();
    drop(store);

    let mut ks = Keystore::open(&root.join("keys.vvk"), SecretKey::from_bytes(fuzzing::FUZZ_MASTER)).unwrap();
    let sealed: Vec<Vec<u8>> =
        segment_files(&root).iter().map(|p| rekey(&fs::read(p).unwrap(), &mut ks)).collect();
    let open: Vec<Vec<u8>> = open_copies.iter().map(|b| rekey(b, &mut ks)).collect();
    assert!(sealed.len() >= 3 && !open.is_empty(), "{} sealed, {} open", sealed.len(), open.len());
    (sealed, open, fs::read(root.join("keys.vvk")).unwrap())
}

/// Adds seeds of the current segment format beside the committed ones,
/// which stay (they are the files older builds wrote, formats 1 to 3): a
/// sealed segment with its frame table, one cut inside the table, and one
/// whose footer and trailer were lost after an intact table.
#[test]
#[ignore = "writes fuzz/corpus; run by hand after a format change"]
fn add_current_format_seeds() {
    let (sealed, _, _) = fuzz_store_segments();
    let v = format::FORMAT_VERSION;
    let s = &sealed[0];
    let (footer_at, _) =
        format::parse_trailer(s[s.len() - format::TRAILER_LEN..].try_into().unwrap()).unwrap();
    let footer = format::parse_footer(&s[footer_at as usize..s.len() - format::TRAILER_LEN], None).unwrap();
    let records_end = footer.records_end as usize;
    let seeds = [
        (format!("sealed-v{v}.vvs"), s.len()),
        (format!("torn-in-frame-table-v{v}.vvs"), records_end + 20),
        (format!("no-footer-after-frame-table-v{v}.vvs"), footer_at as usize),
    ];
    for (name, cut) in seeds {
        put("segment", &name, &s[..cut]);
        put("recovery", &name, &s[..cut]);
    }
}

/// Rewrites fuzz/corpus/ from a real store: its sealed segments, the open
/// segment a crash would leave (copied after `sync`), torn copies of both,
/// its keystore (damaged copies too) and grant tokens signed by the
/// library's encoder.
#[test]
#[ignore = "rewrites fuzz/corpus; run by hand after a format change"]
fn regenerate_corpus() {
    for t in ["segment", "recovery", "keystore", "grant"] {
        let _ = fs::remove_dir_all(corpus_dir(t));
        fs::create_dir_all(corpus_dir(t)).unwrap();
    }
    let (sealed, open, keys) = fuzz_store_segments();
    for (i, s) in sealed.iter().take(3).enumerate() {
        put("segment", &format!("sealed-{i}.vvs"), s);
        put("recovery", &format!("sealed-{i}.vvs"), s);
    }
    for (i, s) in open.iter().enumerate() {
        put("segment", &format!("unsealed-{i}.vvs"), s);
        put("recovery", &format!("unsealed-{i}.vvs"), s);
    }
    // Torn copies: cut inside a record, inside the footer, before the trailer.
    let s = &sealed[0];
    let header_len = format::parse_header(s).unwrap().header_len;
    let records_end = u64::from_le_bytes(s[s.len() - 32..s.len() - 24].try_into().unwrap()) as usize;
    let cuts = [
        ("torn-in-first-record", header_len + 30),
        ("torn-mid-records", (header_len + records_end) / 2),
        ("torn-in-footer", records_end + 20),
        ("torn-no-trailer", s.len() - format::TRAILER_LEN),
    ];
    for (name, cut) in cuts {
        put("segment", &format!("{name}.vvs"), &s[..cut]);
        put("recovery", &format!("{name}.vvs"), &s[..cut]);
    }
    put("recovery", "bad-header-only.vvs", &s[..header_len - 1]);
    put("recovery", "empty-zero-block.vvs", &[0u8; 4096]);

    put("keystore", "keys-store.vvk", &keys);
    put("keystore", "keys-torn-tail.vvk", &keys[..keys.len() - 5]);
    put("keystore", "bad-wrong-magic.vvk", &[b"VVKEYZ\r\n", &keys[8..]].concat());

    let admin = ed25519_dalek::SigningKey::from_bytes(&fuzzing::FUZZ_ADMIN_SEED);
    let grants = [
        grant("officer.wang", &["view_raw", "export_raw"], &["3402*"]),
        grant("clerk.zhao", &["view_redacted", "export"], &["label:area=district-3", "gate-*"]),
        grant("auditor.sun", &["audit_read", "hold", "manage"], &["34020000001320000001"]),
    ];
    for g in &grants {
        let token = grants::encode_token(g, &admin);
        put("grant", &format!("token-{}", g.principal), &[b"\0", token.as_bytes()].concat());
        let payload = token.split('.').nth(1).unwrap();
        let json =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
        put("grant", &format!("payload-{}", g.principal), &[b"\x01", json.as_slice()].concat());
    }
    put("grant", "bad-unsigned", b"\0vvg1.e30.AAAA");
}

/// Replays fuzz/artifacts-found/<target>/<finding id>--<what>: each must still
/// trip its finding. Run alone (the list of open findings is process-wide):
/// `cargo test --test fuzz_corpus -- --ignored open_findings_reproduce`.
#[test]
#[ignore = "open findings fail by design; run by hand to reproduce them"]
fn open_findings_reproduce() {
    fuzzing::set_known_open(&[]);
    let scratch = Scratch::new("findings").unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/artifacts-found");
    let Ok(targets) = fs::read_dir(&dir) else {
        return; // no open findings
    };
    for target in targets.map(|e| e.unwrap().path()) {
        for file in fs::read_dir(&target).unwrap().map(|e| e.unwrap().path()) {
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let id = name.split("--").next().unwrap().to_string();
            let data = fs::read(&file).unwrap();
            let result = std::panic::catch_unwind(|| match target.file_name().unwrap().to_str().unwrap() {
                "segment" => fuzzing::segment_reader(&scratch, &data),
                "recovery" => fuzzing::recovery(&scratch, &data),
                "keystore" => fuzzing::keystore(&scratch, &data),
                _ => fuzzing::grant_token(&data),
            });
            let message = result.err().map(|p| panic_message(&p)).unwrap_or_default();
            assert!(message.contains(&format!("[{id}]")), "{name}: expected finding [{id}], got {message:?}");
            eprintln!("{name}: {message}");
        }
    }
}
