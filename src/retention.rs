//! Retention: how long each camera's footage is kept, legal holds that
//! override it, and the pure planning of which sealed segments a sweep
//! deletes. Executing a plan (unlink, tombstones, crypto-shredding) is in
//! sweep.rs; this file decides, it does not touch the disk.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use crate::error::{Error, Result};
use crate::time::{Timestamp, NANOS_PER_DAY};

/// Limits on one camera's footage. `None` means no limit of that kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct RetentionPolicy {
    /// Footage older than this is deleted (unless held).
    pub max_age_ns: Option<i64>,
    /// The camera's sealed footage is trimmed, oldest first, to this size.
    pub max_bytes: Option<u64>,
    /// Footage younger than this is never deleted to meet `max_bytes` or
    /// free disk space (regulations set a minimum keeping period).
    pub min_age_ns: Option<i64>,
}

impl RetentionPolicy {
    pub fn validate(&self) -> Result<()> {
        if self.max_age_ns.is_some_and(|v| v <= 0) || self.min_age_ns.is_some_and(|v| v < 0) {
            return Err(Error::invalid("retention durations must be positive"));
        }
        if self.max_bytes == Some(0) {
            return Err(Error::invalid("max_bytes must be positive (leave it unset for no limit)"));
        }
        if let (Some(max), Some(min)) = (self.max_age_ns, self.min_age_ns) {
            if max < min {
                return Err(Error::invalid(format!(
                    "max_age ({}) is shorter than min_age ({}): footage cannot be deleted before it may be",
                    days(max),
                    days(min)
                )));
            }
        }
        Ok(())
    }
}

fn days(ns: i64) -> String {
    format!("{:.1} days", ns as f64 / NANOS_PER_DAY as f64)
}

/// Which policy a camera follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetentionSetting {
    /// The store's default class.
    StoreDefault,
    /// A named class: changing the class changes every camera in it.
    Class(String),
    /// A policy of the camera's own.
    Custom(RetentionPolicy),
}

/// Classes every store starts with (regulations: general footage at least
/// 30 days, key sites 90 days, and not longer than needed).
pub fn builtin_classes() -> Vec<(&'static str, RetentionPolicy)> {
    let d = NANOS_PER_DAY;
    vec![
        ("general", RetentionPolicy { max_age_ns: Some(30 * d), max_bytes: None, min_age_ns: Some(30 * d) }),
        ("key-site", RetentionPolicy { max_age_ns: Some(90 * d), max_bytes: None, min_age_ns: Some(90 * d) }),
    ]
}

pub const DEFAULT_CLASS: &str = "general";

pub fn validate_class_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "retention class name {name:?}: use 1-64 letters, digits, '-', '_' or '.'"
        )))
    }
}

/// A legal hold ("evidence lock") on a camera's footage in `[start, end)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub id: u64,
    pub camera: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub case: String,
    pub reason: String,
    pub actor: String,
    pub created: Timestamp,
    /// The hold lapses by itself at this instant (None: until released).
    pub until: Option<Timestamp>,
    /// When and by whom it was released.
    pub released: Option<(Timestamp, String)>,
}

impl Hold {
    pub fn active_at(&self, now: Timestamp) -> bool {
        self.released.is_none() && self.until.is_none_or(|u| now < u)
    }

    /// True when the hold's range meets footage `[start, end]`.
    pub fn covers(&self, start: Timestamp, end: Timestamp) -> bool {
        self.start <= end && start < self.end
    }
}

/// Why a segment is deleted.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DeleteReason {
    MaxAge,
    MaxBytes,
    DiskPressure,
}

impl DeleteReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DeleteReason::MaxAge => "max_age",
            DeleteReason::MaxBytes => "max_bytes",
            DeleteReason::DiskPressure => "disk_pressure",
        }
    }

    pub fn parse(s: &str) -> DeleteReason {
        match s {
            "max_age" => DeleteReason::MaxAge,
            "max_bytes" => DeleteReason::MaxBytes,
            _ => DeleteReason::DiskPressure,
        }
    }
}

/// A sealed segment as the planner sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentFacts {
    pub id: u64,
    pub camera: String,
    /// Relative to the store root.
    pub path: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub bytes: u64,
    pub kek_day: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedDeletion {
    pub segment: SegmentFacts,
    pub reason: DeleteReason,
}

/// One camera's part of a sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraPlan {
    pub camera: String,
    pub policy: RetentionPolicy,
    pub deletions: Vec<PlannedDeletion>,
    /// Sealed bytes left after the planned deletions.
    pub kept_bytes: u64,
    /// Segments a hold kept that a rule would otherwise have deleted.
    pub held_segments: u64,
    pub warnings: Vec<String>,
}

/// Plans one camera: age first, then size. `segments` are the camera's
/// sealed segments, oldest first; `holds` its holds (active or not).
pub fn plan_camera(
    camera: &str,
    policy: RetentionPolicy,
    segments: &[SegmentFacts],
    holds: &[Hold],
    now: Timestamp,
) -> CameraPlan {
    plan_camera_prefix(camera, policy, segments, 0, holds, now)
}

/// `plan_camera` over the oldest segments only: `segments` is an
/// oldest-first prefix of the camera's sealed segments and `bytes_beyond`
/// the bytes of the rest. The plan is the full one when the prefix holds
/// every segment past `max_age` and, if `max_bytes` is set and the plan's
/// `kept_bytes` is still over it, every segment (the caller then widens the
/// prefix and plans again).
pub fn plan_camera_prefix(
    camera: &str,
    policy: RetentionPolicy,
    segments: &[SegmentFacts],
    bytes_beyond: u64,
    holds: &[Hold],
    now: Timestamp,
) -> CameraPlan {
    let held = |s: &SegmentFacts| holds.iter().any(|h| h.active_at(now) && h.covers(s.start, s.end));
    let past = |s: &SegmentFacts, age: Option<i64>| age.is_none_or(|a| s.end.0 <= now.0.saturating_sub(a));
    let mut deletions = Vec::new();
    let mut keep = Vec::new();
    let mut held_segments = 0;
    for s in segments {
        let expired = policy.max_age_ns.is_some() && past(s, policy.max_age_ns);
        match (expired, held(s)) {
            (true, false) => {
                deletions.push(PlannedDeletion { segment: s.clone(), reason: DeleteReason::MaxAge })
            }
            (true, true) => {
                held_segments += 1;
                keep.push(s);
            }
            _ => keep.push(s),
        }
    }
    let mut kept_bytes: u64 = keep.iter().map(|s| s.bytes).sum::<u64>() + bytes_beyond;
    let mut warnings = Vec::new();
    if let Some(limit) = policy.max_bytes {
        let mut blocked = (0u64, 0u64); // (held, young) bytes that could not go
        for s in keep.iter() {
            if kept_bytes <= limit {
                break;
            }
            if held(s) {
                blocked.0 += s.bytes;
                held_segments += 1;
            } else if !past(s, policy.min_age_ns) {
                blocked.1 += s.bytes;
            } else {
                deletions.push(PlannedDeletion { segment: (*s).clone(), reason: DeleteReason::MaxBytes });
                kept_bytes -= s.bytes;
            }
        }
        if kept_bytes > limit {
            warnings.push(format!(
                "camera {camera:?} keeps {kept_bytes} bytes, over its max_bytes of {limit}: {} bytes are \
                 held by cases and {} bytes are younger than min_age",
                blocked.0, blocked.1
            ));
        }
    }
    CameraPlan { camera: camera.to_string(), policy, deletions, kept_bytes, held_segments, warnings }
}

/// Plans deletions to free `bytes_needed` bytes of disk: the oldest unheld
/// footage past each camera's `min_age` goes first, across all cameras, so
/// every camera loses the same stretch of history rather than one camera
/// losing everything. `cameras` maps camera -> (policy, sealed segments oldest
/// first, holds); segments already planned are skipped, and so are those in
/// `awaiting_upload` (sealed segments an object-storage tier has not
/// confirmed yet: their only copy is here, and they are not expired, or
/// the per-camera rules would have planned them).
pub fn plan_disk_pressure(
    cameras: &BTreeMap<String, (RetentionPolicy, Vec<SegmentFacts>, Vec<Hold>)>,
    already: &[PlannedDeletion],
    awaiting_upload: &BTreeSet<u64>,
    bytes_needed: u64,
    now: Timestamp,
) -> Vec<PlannedDeletion> {
    let planned: std::collections::HashSet<u64> = already.iter().map(|d| d.segment.id).collect();
    let mut deletable: Vec<Vec<&SegmentFacts>> = Vec::new();
    for (policy, segments, holds) in cameras.values() {
        let ok = |s: &&SegmentFacts| {
            !planned.contains(&s.id)
                && !awaiting_upload.contains(&s.id)
                && !holds.iter().any(|h| h.active_at(now) && h.covers(s.start, s.end))
                && policy.min_age_ns.is_none_or(|a| s.end.0 <= now.0.saturating_sub(a))
        };
        deletable.push(segments.iter().filter(ok).collect());
    }
    // Min-heap of (start, camera index, position) over each camera's next candidate.
    let mut heap = BinaryHeap::new();
    for (ci, list) in deletable.iter().enumerate() {
        if let Some(s) = list.first() {
            heap.push(Reverse((s.start, ci, 0usize)));
        }
    }
    let mut out = Vec::new();
    let mut freed = 0u64;
    while freed < bytes_needed {
        let Some(Reverse((_, ci, pos))) = heap.pop() else {
            break;
        };
        let s = deletable[ci][pos];
        freed += s.bytes;
        out.push(PlannedDeletion { segment: s.clone(), reason: DeleteReason::DiskPressure });
        if let Some(next) = deletable[ci].get(pos + 1) {
            heap.push(Reverse((next.start, ci, pos + 1)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3_600_000_000_000;

    fn seg(id: u64, start_h: i64, bytes: u64) -> SegmentFacts {
        SegmentFacts {
            id,
            camera: "cam".into(),
            path: format!("{id}.vvs"),
            start: Timestamp(start_h * H),
            end: Timestamp((start_h + 1) * H - 1),
            bytes,
            kek_day: (start_h / 24) as i32,
        }
    }

    fn hold(start_h: i64, end_h: i64) -> Hold {
        Hold {
            id: 1,
            camera: "cam".into(),
            start: Timestamp(start_h * H),
            end: Timestamp(end_h * H),
            case: "case".into(),
            reason: "r".into(),
            actor: "a".into(),
            created: Timestamp(0),
            until: None,
            released: None,
        }
    }

    #[test]
    fn age_size_and_holds() {
        let segs: Vec<_> = (0..10).map(|i| seg(i, i as i64, 100)).collect();
        let policy =
            RetentionPolicy { max_age_ns: Some(5 * H), max_bytes: Some(300), min_age_ns: Some(2 * H) };
        let now = Timestamp(10 * H);
        let plan = plan_camera("cam", policy, &segs, &[hold(1, 2)], now);
        let ids: Vec<u64> = plan.deletions.iter().map(|d| d.segment.id).collect();
        // 0,2,3,4 are past max_age (1 is held); then size trims 5,6,7 (8, 9 are too young).
        assert_eq!(ids, vec![0, 2, 3, 4, 5, 6, 7]);
        assert_eq!(plan.kept_bytes, 300);
        assert!(plan.warnings.is_empty());
        // A released hold no longer protects.
        let mut released = hold(1, 2);
        released.released = Some((Timestamp(0), "x".into()));
        assert!(plan_camera("cam", policy, &segs, &[released], now)
            .deletions
            .iter()
            .any(|d| d.segment.id == 1));
    }

    #[test]
    fn over_quota_is_reported_when_only_young_or_held_footage_remains() {
        let segs: Vec<_> = (0..4).map(|i| seg(i, i as i64, 100)).collect();
        let policy = RetentionPolicy { max_age_ns: None, max_bytes: Some(100), min_age_ns: Some(10 * H) };
        let plan = plan_camera("cam", policy, &segs, &[], Timestamp(5 * H));
        assert!(plan.deletions.is_empty());
        assert_eq!(plan.warnings.len(), 1);
    }

    #[test]
    fn pressure_takes_oldest_across_cameras() {
        let mut cams = BTreeMap::new();
        let policy = RetentionPolicy::default();
        let a: Vec<_> =
            (0..5).map(|i| SegmentFacts { camera: "a".into(), ..seg(i, i as i64 * 2, 10) }).collect();
        let b: Vec<_> = (0..5)
            .map(|i| SegmentFacts { camera: "b".into(), ..seg(10 + i, i as i64 * 2 + 1, 10) })
            .collect();
        cams.insert("a".to_string(), (policy, a, vec![]));
        cams.insert("b".to_string(), (policy, b, vec![]));
        let plan = plan_disk_pressure(&cams, &[], &BTreeSet::new(), 35, Timestamp(100 * H));
        let ids: Vec<u64> = plan.iter().map(|d| d.segment.id).collect();
        assert_eq!(ids, vec![0, 10, 1, 11]);
        // Segments a tier has not confirmed are skipped, never traded for others.
        let awaiting = BTreeSet::from([0, 11]);
        let plan = plan_disk_pressure(&cams, &[], &awaiting, 35, Timestamp(100 * H));
        let ids: Vec<u64> = plan.iter().map(|d| d.segment.id).collect();
        assert_eq!(ids, vec![10, 1, 2, 12]);
        let everything: BTreeSet<u64> = (0..5).chain(10..15).collect();
        assert!(plan_disk_pressure(&cams, &[], &everything, 35, Timestamp(100 * H)).is_empty());
    }

    #[test]
    fn policy_validation() {
        let bad = RetentionPolicy { max_age_ns: Some(H), max_bytes: None, min_age_ns: Some(2 * H) };
        assert!(bad.validate().is_err());
        assert!(builtin_classes().iter().all(|(_, p)| p.validate().is_ok()));
        assert!(validate_class_name("key-site").is_ok() && validate_class_name("a b").is_err());
    }

    proptest! {
        /// No held or young segment is ever planned; every expired unheld one is.
        #[test]
        fn plan_respects_holds_and_ages(
            sizes in proptest::collection::vec(1u64..1000, 1..40),
            max_age in proptest::option::of(1i64..50), min_age in proptest::option::of(0i64..50),
            max_bytes in proptest::option::of(1u64..20_000),
            holds in proptest::collection::vec((0i64..40, 1i64..10), 0..4),
            now_h in 0i64..80,
        ) {
            let min_age = match (max_age, min_age) { (Some(a), Some(m)) if m > a => Some(a), (_, m) => m };
            let policy = RetentionPolicy { max_age_ns: max_age.map(|h| h * H), max_bytes, min_age_ns: min_age.map(|h| h * H) };
            let segs: Vec<_> = sizes.iter().enumerate().map(|(i, &b)| seg(i as u64, i as i64, b)).collect();
            let holds: Vec<_> = holds.iter().map(|&(s, l)| hold(s, s + l)).collect();
            let now = Timestamp(now_h * H);
            let plan = plan_camera("cam", policy, &segs, &holds, now);
            let deleted: std::collections::HashSet<u64> = plan.deletions.iter().map(|d| d.segment.id).collect();
            for s in &segs {
                let is_held = holds.iter().any(|h| h.covers(s.start, s.end));
                let age = now.0 - s.end.0;
                if deleted.contains(&s.id) {
                    prop_assert!(!is_held);
                    let by_age = policy.max_age_ns.is_some_and(|a| age >= a);
                    prop_assert!(by_age || policy.min_age_ns.is_none_or(|m| age >= m));
                } else if policy.max_age_ns.is_some_and(|a| age >= a) {
                    prop_assert!(is_held);
                }
            }
            if let Some(limit) = max_bytes {
                if plan.kept_bytes > limit {
                    prop_assert_eq!(plan.warnings.len(), 1);
                }
            }
        }
    }
}
