//! Time as the store sees it: `Timestamp` is wall-clock UTC in nanoseconds since
//! the Unix epoch (what every frame, segment and gap is keyed by); `TimeBase` is
//! a source stream's tick unit, kept so pts/dts/duration survive bit-exactly.

use std::fmt;

pub const NANOS_PER_SECOND: i64 = 1_000_000_000;
pub const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    pub fn now() -> Timestamp {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp(d.as_nanos().min(i64::MAX as u128) as i64)
    }

    pub fn nanos(self) -> i64 {
        self.0
    }

    /// Days since 1970-01-01 (UTC) containing this instant. Key-encryption keys
    /// are per (camera, UTC day) so that a day of footage can be shredded.
    pub fn utc_day(self) -> i32 {
        self.0.div_euclid(NANOS_PER_DAY) as i32
    }

    pub fn saturating_add(self, nanos: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(nanos))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with nanoseconds, e.g. `2026-11-21T23:27:11.000000040Z`,
    /// so error messages name instants operators can read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dt = chrono::DateTime::from_timestamp_nanos(self.0);
        write!(f, "{}", dt.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

/// Formats a UTC day number as `YYYY-MM-DD` (used in directory names).
pub fn format_utc_day(day: i32) -> String {
    let dt = chrono::DateTime::from_timestamp(day as i64 * 86_400, 0).unwrap_or_default();
    dt.format("%Y-%m-%d").to_string()
}

/// Half-open interval `[start, end)`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimeRange {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl TimeRange {
    pub fn new(start: Timestamp, end: Timestamp) -> TimeRange {
        TimeRange { start, end }
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// Unit of a stream's pts/dts/duration ticks: `num/den` seconds per tick
/// (FFmpeg's time_base, e.g. 1/90000 for RTP video).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimeBase {
    pub num: u32,
    pub den: u32,
}

impl TimeBase {
    pub fn new(num: u32, den: u32) -> Option<TimeBase> {
        (num > 0 && den > 0).then_some(TimeBase { num, den })
    }

    /// Converts a tick count to nanoseconds, rounding toward zero; i128 keeps
    /// 1/90000 time bases exact for any i64 tick count that fits the result.
    pub fn ticks_to_nanos(self, ticks: i64) -> i64 {
        let n = ticks as i128 * self.num as i128 * NANOS_PER_SECOND as i128 / self.den as i128;
        n.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_day_floors_before_epoch() {
        assert_eq!(Timestamp(0).utc_day(), 0);
        assert_eq!(Timestamp(NANOS_PER_DAY - 1).utc_day(), 0);
        assert_eq!(Timestamp(NANOS_PER_DAY).utc_day(), 1);
        assert_eq!(Timestamp(-1).utc_day(), -1);
    }

    #[test]
    fn display_is_rfc3339_utc() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(1_500_000_000).to_string(), "1970-01-01T00:00:01.500Z");
        assert_eq!(format_utc_day(20_413), "2025-11-21");
    }

    #[test]
    fn time_base_conversion_is_exact_for_90khz() {
        let tb = TimeBase::new(1, 90_000).unwrap();
        assert_eq!(tb.ticks_to_nanos(3_600), 40_000_000);
        assert_eq!(tb.ticks_to_nanos(90_000 * 86_400 * 365), 86_400 * 365 * NANOS_PER_SECOND);
    }
}
