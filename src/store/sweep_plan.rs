//! store/sweep_plan.rs: planning a retention sweep from the catalog without
//! reading every row of the store. A year of 1,000 cameras is tens of
//! millions of rows; a periodic sweep that loaded them all held the catalog
//! for minutes (no writer could start a segment meanwhile) to delete one
//! day's worth. Per camera, under the catalog lock for that camera only:
//!
//! - age: only segments that *start* before the age cutoff can have ended
//!   before it (end >= start), one index range;
//! - size: the camera's sealed bytes come from its totals; the oldest-first
//!   prefix widens (doubling) only while the plan is still over `max_bytes`;
//! - what no rule may delete (held, younger than `min_age`) is counted over
//!   the segments that can be: those starting within `max_span_ns` of an
//!   active hold (read) or of the `min_age` cutoff (summed in SQL).
//!
//! The plan is the one `retention::plan_camera` makes over all segments
//! (the store tests compare them). Disk-pressure sweeps, which rank every
//! camera's oldest footage together, still read all rows.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{CameraRow, Catalog, SegmentRow};
use crate::error::Result;
use crate::retention::{self, CameraPlan, Hold, RetentionPolicy, SegmentFacts};
use crate::store::shared::Shared;
use crate::time::Timestamp;

/// Prefix rows fetched first when `max_bytes` needs more than the age rule.
const FIRST_PREFIX: u64 = 1024;

#[derive(Default)]
pub(crate) struct SweepPlan {
    pub cameras: Vec<CameraPlan>,
    /// Bytes of sealed footage no rule may delete: (held, younger than min_age).
    pub undeletable_bytes: (u64, u64),
}

pub(crate) fn facts(row: &SegmentRow) -> SegmentFacts {
    SegmentFacts {
        id: row.id,
        camera: row.camera.clone(),
        path: row.path.clone(),
        start: row.start_ts,
        end: row.end_ts.unwrap_or(row.start_ts),
        bytes: row.bytes.unwrap_or(0),
        kek_day: row.kek_day,
    }
}

pub(crate) fn plan(shared: &Shared, now: Timestamp) -> Result<SweepPlan> {
    let cameras = shared.catalog()?.cameras()?;
    let mut out = SweepPlan::default();
    for cam in cameras {
        let catalog = shared.catalog()?;
        let (plan, undeletable) = plan_one(&catalog, &cam, now)?;
        out.cameras.push(plan);
        out.undeletable_bytes.0 += undeletable.0;
        out.undeletable_bytes.1 += undeletable.1;
    }
    Ok(out)
}

fn plan_one(catalog: &Catalog, cam: &CameraRow, now: Timestamp) -> Result<(CameraPlan, (u64, u64))> {
    let (_, policy) = catalog.effective_retention(cam)?;
    let holds = catalog.holds(Some(&cam.id))?;
    let totals = catalog.camera_totals(&cam.id)?;
    let mut rows = match policy.max_age_ns {
        Some(age) => {
            catalog.sealed_segments_starting(&cam.id, Timestamp::MIN, Timestamp(now.0.saturating_sub(age)))?
        }
        None => Vec::new(),
    };
    let mut complete = rows.len() as u64 >= totals.sealed_segments;
    let (plan, examined) = loop {
        let examined: Vec<SegmentFacts> = rows.iter().map(facts).collect();
        let beyond = if complete {
            0
        } else {
            totals.sealed_bytes.saturating_sub(examined.iter().map(|s| s.bytes).sum())
        };
        let plan = retention::plan_camera_prefix(&cam.id, policy, &examined, beyond, &holds, now);
        if complete || policy.max_bytes.is_none_or(|limit| plan.kept_bytes <= limit) {
            break (plan, examined);
        }
        let want = (rows.len() as u64).saturating_mul(2).max(FIRST_PREFIX);
        rows = catalog.oldest_sealed_segments(&cam.id, want)?;
        complete = (rows.len() as u64) < want || rows.len() as u64 >= totals.sealed_segments;
    };
    let undeletable =
        undeletable_bytes(catalog, &cam.id, policy, &holds, totals.max_span_ns, examined, &plan, now)?;
    Ok((plan, undeletable))
}

/// (held, young) bytes of the camera's sealed segments the plan keeps,
/// counted as over all segments: a held segment counts as held only.
#[allow(clippy::too_many_arguments)]
fn undeletable_bytes(
    catalog: &Catalog,
    camera: &str,
    policy: RetentionPolicy,
    holds: &[Hold],
    max_span: i64,
    examined: Vec<SegmentFacts>,
    plan: &CameraPlan,
    now: Timestamp,
) -> Result<(u64, u64)> {
    let active: Vec<&Hold> = holds.iter().filter(|h| h.active_at(now)).collect();
    let mut candidates: BTreeMap<u64, SegmentFacts> = examined.into_iter().map(|s| (s.id, s)).collect();
    // A segment a hold covers starts before the hold ends and ends at or
    // after its start, so it starts no earlier than start - max_span.
    for h in &active {
        let rows =
            catalog.sealed_segments_starting(camera, Timestamp(h.start.0.saturating_sub(max_span)), h.end)?;
        candidates.extend(rows.iter().map(|r| (r.id, facts(r))));
    }
    let gone: BTreeSet<u64> = plan.deletions.iter().map(|d| d.segment.id).collect();
    let held = |s: &SegmentFacts| active.iter().any(|h| h.covers(s.start, s.end));
    let mut out = (0, 0);
    out.0 = candidates.values().filter(|s| !gone.contains(&s.id) && held(s)).map(|s| s.bytes).sum();
    // Young: a segment that ends after now - min_age starts after that minus
    // max_span. Summed in SQL (it is most of a camera's footage when min_age
    // equals max_age), less the young ones counted as held or planned to go,
    // all of which are among the candidates.
    if let Some(age) = policy.min_age_ns {
        let cutoff = Timestamp(now.0.saturating_sub(age));
        let from = Timestamp(cutoff.0.saturating_sub(max_span));
        let counted_elsewhere: u64 = candidates
            .values()
            .filter(|s| s.end > cutoff && (held(s) || gone.contains(&s.id)))
            .map(|s| s.bytes)
            .sum();
        out.1 = catalog.sealed_bytes_ending_after(camera, from, cutoff)?.saturating_sub(counted_elsewhere);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::SegmentState;
    use crate::retention::RetentionSetting;
    use std::collections::BTreeMap;

    const S: i64 = 1_000_000_000;

    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n.max(1)
        }
        fn maybe(&mut self, v: i64) -> Option<i64> {
            (self.below(3) > 0).then_some(v)
        }
    }

    fn sealed_row(id: u64, start: i64, end: i64, bytes: u64) -> SegmentRow {
        SegmentRow {
            id,
            camera: "cam".into(),
            path: format!("segments/cam/{id}.vvs"),
            state: SegmentState::Sealed,
            codec: "h264".into(),
            kek_day: (start / (10 * S)) as i32,
            start_ts: Timestamp(start),
            end_ts: Some(Timestamp(end)),
            max_ts: Some(Timestamp(end)),
            frames: Some(1),
            bytes: Some(bytes),
            content_hash: Some([id as u8; 32]),
            prev_hash: [0; 32],
            created: Timestamp(start),
            sealed_at: Some(Timestamp(end)),
        }
    }

    /// What a sweep planned before this module: every sealed row read.
    fn full_plan(catalog: &Catalog, cam: &CameraRow, now: Timestamp) -> (CameraPlan, (u64, u64)) {
        let (_, policy) = catalog.effective_retention(cam).unwrap();
        let segments: Vec<SegmentFacts> =
            catalog.sealed_segments(&cam.id).unwrap().iter().map(facts).collect();
        let holds = catalog.holds(Some(&cam.id)).unwrap();
        let plan = retention::plan_camera(&cam.id, policy, &segments, &holds, now);
        let gone: BTreeSet<u64> = plan.deletions.iter().map(|d| d.segment.id).collect();
        let mut undeletable = (0, 0);
        for s in segments.iter().filter(|s| !gone.contains(&s.id)) {
            if holds.iter().any(|h| h.active_at(now) && h.covers(s.start, s.end)) {
                undeletable.0 += s.bytes;
            } else if policy.min_age_ns.is_some_and(|a| s.end.0 > now.0.saturating_sub(a)) {
                undeletable.1 += s.bytes;
            }
        }
        (plan, undeletable)
    }

    /// The catalog-driven plan deletes exactly what reading every row would,
    /// with the same kept bytes, warnings and undeletable bytes: random
    /// histories (gaps, long and short segments), policies (age, size,
    /// minimum age, in any mix) and holds (active, released, lapsed).
    #[test]
    fn the_plan_from_the_catalog_is_the_plan_over_every_row() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut deleting_cases = 0;
        for case in 0..300 {
            let dir = tempfile::tempdir().unwrap();
            let mut catalog = Catalog::create(&dir.path().join("c.sqlite"), "s").unwrap();
            let (age, bytes, min_age) =
                ((rng.below(200) as i64 + 1) * S, rng.below(20_000) as i64, rng.below(100) as i64 * S);
            let max_age_ns = rng.maybe(age);
            let policy = RetentionPolicy {
                max_age_ns,
                max_bytes: rng.maybe(bytes + 1).map(|b| b as u64),
                // A valid policy: never longer than max_age.
                min_age_ns: rng.maybe(min_age).map(|m| max_age_ns.map_or(m, |a| m.min(a))),
            };
            let cam = CameraRow {
                id: "cam".into(),
                labels: BTreeMap::new(),
                created: Timestamp(0),
                retention: RetentionSetting::Custom(policy),
            };
            catalog.add_camera(&cam).unwrap();
            let mut t = 0;
            let n = rng.below(if case % 10 == 0 { 3000 } else { 80 });
            for id in 1..=n {
                t += rng.below(3) as i64 * S;
                // Mostly short segments, now and then a long one (max_span).
                let span = if rng.below(20) == 0 { rng.below(60) + 1 } else { rng.below(4) + 1 } as i64 * S;
                catalog.insert_sealed_segment(&sealed_row(id, t, t + span, rng.below(500) + 1), &[]).unwrap();
                t += span;
            }
            for h in 0..rng.below(4) {
                let start = rng.below(t.max(1) as u64) as i64;
                let hold = Hold {
                    id: 0,
                    camera: "cam".into(),
                    start: Timestamp(start),
                    end: Timestamp(start + rng.below(30) as i64 * S + 1),
                    case: format!("case-{h}"),
                    reason: "test".into(),
                    actor: "test".into(),
                    created: Timestamp(0),
                    until: (rng.below(4) == 0).then(|| Timestamp(rng.below(t.max(1) as u64 + 1) as i64)),
                    released: None,
                };
                let id = catalog.insert_hold(&hold).unwrap();
                if rng.below(5) == 0 {
                    catalog.release_hold(id, Timestamp(1), "test").unwrap();
                }
            }
            let now = Timestamp(t + rng.below(100) as i64 * S);
            let expected = full_plan(&catalog, &cam, now);
            let got = plan_one(&catalog, &cam, now).unwrap();
            assert_eq!(got, expected, "case {case}: {policy:?}, {n} segments, now {now:?}");
            deleting_cases += usize::from(!expected.0.deletions.is_empty());
        }
        assert!(deleting_cases > 100, "the cases must exercise deletions ({deleting_cases})");
    }
}
