//! Footage availability: which parts of a time range have no recording.
//! Operators audit this ("was the camera recording at 02:14?"), so it is a
//! small pure function with property tests rather than a by-product of reads.

use crate::segment::format::Gap;
use crate::time::{TimeRange, Timestamp};

/// The parts of `range` not covered by any interval in `covered`, ignoring
/// uncovered stretches shorter than `min_gap` ns (frame spacing, rounding of
/// unknown durations). `covered` intervals may overlap and come in any order.
pub fn uncovered(range: TimeRange, covered: &mut [(Timestamp, Timestamp)], min_gap: i64) -> Vec<Gap> {
    let mut out = Vec::new();
    if range.is_empty() {
        return out;
    }
    covered.sort_unstable();
    let mut cursor = range.start;
    for &(s, e) in covered.iter() {
        if e <= cursor || s >= range.end {
            continue;
        }
        if s > cursor {
            push_gap(&mut out, cursor, s, min_gap);
        }
        cursor = cursor.max(e);
        if cursor >= range.end {
            break;
        }
    }
    if cursor < range.end {
        push_gap(&mut out, cursor, range.end, min_gap);
    }
    out
}

fn push_gap(out: &mut Vec<Gap>, start: Timestamp, end: Timestamp, min_gap: i64) {
    if end.0.saturating_sub(start.0) >= min_gap.max(1) {
        out.push(Gap { start, end });
    }
}

/// `[start, end)` minus the gaps inside it: the covered stretches of a segment.
pub fn segment_coverage(start: Timestamp, end: Timestamp, gaps: &[Gap]) -> Vec<(Timestamp, Timestamp)> {
    let mut out = Vec::with_capacity(gaps.len() + 1);
    let mut cursor = start;
    let mut sorted: Vec<Gap> = gaps.to_vec();
    sorted.sort_by_key(|g| g.start);
    for g in sorted {
        if g.start > cursor {
            out.push((cursor, g.start.min(end)));
        }
        cursor = cursor.max(g.end);
    }
    if cursor < end {
        out.push((cursor, end));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(v: i64) -> Timestamp {
        Timestamp(v)
    }

    #[test]
    fn simple_cases() {
        let r = TimeRange::new(t(0), t(100));
        assert_eq!(uncovered(r, &mut [], 1), vec![Gap { start: t(0), end: t(100) }]);
        assert_eq!(uncovered(r, &mut [(t(-5), t(200))], 1), vec![]);
        assert_eq!(
            uncovered(r, &mut [(t(30), t(40)), (t(10), t(20))], 1),
            vec![
                Gap { start: t(0), end: t(10) },
                Gap { start: t(20), end: t(30) },
                Gap { start: t(40), end: t(100) }
            ]
        );
        // Short holes are ignored.
        assert_eq!(uncovered(r, &mut [(t(0), t(50)), (t(52), t(100))], 5), vec![]);
        assert_eq!(
            segment_coverage(t(0), t(100), &[Gap { start: t(10), end: t(20) }]),
            vec![(t(0), t(10)), (t(20), t(100))]
        );
    }

    proptest! {
        /// Every instant of the range is either covered or inside exactly one
        /// reported gap, and reported gaps are disjoint, ordered and >= min_gap.
        #[test]
        fn gaps_partition_the_range(
            intervals in proptest::collection::vec((0i64..1000, 0i64..200), 0..20),
            start in 0i64..500, len in 0i64..800, min_gap in 1i64..30,
        ) {
            let range = TimeRange::new(t(start), t(start + len));
            let mut cov: Vec<(Timestamp, Timestamp)> = intervals.iter().map(|&(s, l)| (t(s), t(s + l))).collect();
            let gaps = uncovered(range, &mut cov.clone(), min_gap);
            for w in gaps.windows(2) {
                prop_assert!(w[0].end <= w[1].start);
            }
            for g in &gaps {
                prop_assert!(g.end.0 - g.start.0 >= min_gap);
                prop_assert!(g.start >= range.start && g.end <= range.end);
            }
            for x in start..start + len {
                let is_covered = cov.iter_mut().any(|&mut (s, e)| s.0 <= x && x < e.0);
                let in_gap = gaps.iter().filter(|g| g.start.0 <= x && x < g.end.0).count();
                prop_assert!(!(is_covered && in_gap > 0), "instant {} both covered and in a gap", x);
                prop_assert!(in_gap <= 1);
            }
            // Uncovered stretches at least min_gap long are all reported.
            let all = uncovered(range, &mut cov, 1);
            for g in all.iter().filter(|g| g.end.0 - g.start.0 >= min_gap) {
                prop_assert!(gaps.contains(g));
            }
        }
    }
}
