//! Python values -> core values: instants, time ranges, store options, keys,
//! codec configurations and retention settings, and back where a record
//! needs it. Every rule about what an argument may be lives here once.

use std::time::Duration;

use pyo3::conversion::FromPyObjectOwned;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{IntoPyDict, PyBool, PyDict, PyInt, PyString, PyType};

use crate::crypto::SecretKey;
use crate::error::Error;
use crate::py::errors::{invalid_argument, to_py, IntoPyResult};
use crate::retention::{RetentionPolicy, RetentionSetting};
use crate::segment::format::CodecConfig;
use crate::store::{CommitMode, StoreOptions};
use crate::time::{TimeBase, TimeRange, Timestamp, NANOS_PER_SECOND};

// ------------------------------------------------------------------ instants

/// The stdlib objects the instant rule needs: `datetime` (its
/// `fromisoformat` is the ISO-8601 grammar Python users know), the Unix epoch
/// as an aware datetime, and one microsecond.
struct DateTimeApi {
    datetime: Py<PyType>,
    epoch: Py<PyAny>,
    microsecond: Py<PyAny>,
}

static DATETIME: PyOnceLock<DateTimeApi> = PyOnceLock::new();

fn datetime_api(py: Python<'_>) -> PyResult<&DateTimeApi> {
    DATETIME.get_or_try_init(py, || {
        let m = py.import("datetime")?;
        let datetime = m.getattr("datetime")?.cast_into::<PyType>()?;
        let utc = m.getattr("timezone")?.getattr("utc")?;
        let epoch = datetime.call((1970, 1, 1), Some(&[("tzinfo", utc)].into_py_dict(py)?))?;
        let microsecond = m.getattr("timedelta")?.call((), Some(&[("microseconds", 1)].into_py_dict(py)?))?;
        Ok(DateTimeApi {
            datetime: datetime.unbind(),
            epoch: epoch.unbind(),
            microsecond: microsecond.unbind(),
        })
    })
}

/// Every time argument of the binding: the rule documented on `to_ns`.
pub fn timestamp_arg(obj: &Bound<'_, PyAny>) -> PyResult<i64> {
    let py = obj.py();
    if obj.is_instance_of::<PyBool>() {
        return Err(invalid_argument(py, format!("a timestamp cannot be a bool ({})", obj.repr()?)));
    }
    if obj.is_instance_of::<PyInt>() {
        return int_ns(obj);
    }
    if obj.is_instance_of::<PyString>() {
        return string_ns(obj);
    }
    if obj.is_instance(datetime_api(py)?.datetime.bind(py))? {
        return datetime_ns(obj);
    }
    if let Ok(v) = obj.extract::<i64>() {
        return Ok(v);
    }
    Err(invalid_argument(
        py,
        format!("expected int ns, aware datetime or ISO-8601 string, got {}", obj.get_type().name()?),
    ))
}

/// A Python int that must fit a timestamp.
fn int_ns(n: &Bound<'_, PyAny>) -> PyResult<i64> {
    n.extract::<i64>().map_err(|_| {
        invalid_argument(
            n.py(),
            format!("{n} ns is outside the range of a timestamp (int64 ns since 1970: years 1677 to 2262)"),
        )
    })
}

fn string_ns(s: &Bound<'_, PyAny>) -> PyResult<i64> {
    let py = s.py();
    // Python's own string methods, so whitespace and digits mean what they
    // mean to Python (`\d` and `int()` accept every Unicode decimal digit).
    let text = s.call_method0("strip")?;
    if text.call_method1("removeprefix", ("-",))?.call_method0("isdecimal")?.is_truthy()? {
        return int_ns(&py.get_type::<PyInt>().call1((&text,))?);
    }
    let iso = text.call_method1("replace", ("Z", "+00:00"))?.call_method1("replace", ("z", "+00:00"))?;
    match datetime_api(py)?.datetime.bind(py).call_method1("fromisoformat", (iso,)) {
        Ok(dt) => datetime_ns(&dt),
        Err(e) if e.is_instance_of::<PyValueError>(py) => Err(invalid_argument(
            py,
            format!(
                "{} is neither ISO-8601 with a zone (2026-11-21T08:00:00+08:00) nor an integer of nanoseconds",
                text.repr()?
            ),
        )),
        Err(e) => Err(e),
    }
}

fn datetime_ns(dt: &Bound<'_, PyAny>) -> PyResult<i64> {
    let py = dt.py();
    if dt.getattr("tzinfo")?.is_none() || dt.call_method0("utcoffset")?.is_none() {
        return Err(invalid_argument(
            py,
            format!(
                "datetime {} has no timezone; pass an aware datetime (e.g. datetime(..., tzinfo=timezone.utc))",
                dt.call_method0("isoformat")?
            ),
        ));
    }
    let api = datetime_api(py)?;
    // Floor division: instants before the epoch round towards the past.
    let micros = dt.sub(api.epoch.bind(py))?.floor_div(api.microsecond.bind(py))?;
    int_ns(&micros.mul(1000)?)
}

pub fn time_range(start: i64, end: i64) -> TimeRange {
    TimeRange::new(Timestamp(start), Timestamp(end))
}

/// Both bounds or none (the audit and grant calls take an optional range);
/// one bound alone is refused rather than dropped.
pub fn optional_range(start: Option<i64>, end: Option<i64>) -> crate::error::Result<Option<TimeRange>> {
    match (start, end) {
        (None, None) => Ok(None),
        (Some(s), Some(e)) => Ok(Some(time_range(s, e))),
        _ => Err(Error::invalid("give both start and end of the footage, or neither")),
    }
}

/// `Some(3)` -> `3`, `None` -> `None`, as Python would print them.
pub fn py_opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "None".to_string(), |v| v.to_string())
}

// ------------------------------------------------------------------ keys

pub fn key_arg(py: Python<'_>, key: &[u8]) -> PyResult<SecretKey> {
    SecretKey::from_slice(key).py(py)
}

// ------------------------------------------------------------------ store options

/// The longest any duration option may be: a year. Longer values are
/// mistakes (seconds given as nanoseconds...), and an hour's ceiling on the
/// periods below keeps their threads responsive.
const MAX_DURATION_S: f64 = 366.0 * 86_400.0;
const MAX_PERIOD_S: f64 = 3_600.0;
/// Caps on counts whose value sizes an allocation or a thread pool up front.
const MAX_IO_THREADS: usize = 256;
const MAX_CACHE_ENTRIES: usize = 1 << 20;

/// One store option as Python gave it, converted with the option's name in
/// every refusal, so a bad value raises InvalidArgumentError naming it
/// rather than a bare TypeError/OverflowError (or a panic).
struct OptionArg<'a, 'py> {
    name: &'a str,
    value: &'a Bound<'py, PyAny>,
}

impl<'py> OptionArg<'_, 'py> {
    fn invalid(&self, rule: &str) -> PyErr {
        let shown = self.value.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into());
        to_py(
            self.value.py(),
            Error::invalid(format!("store option {} must be {rule}, got {shown}", self.name)),
        )
    }

    /// Seconds as a float: finite, > 0 (>= 0 with `zero_ok`) and <= `max`.
    fn seconds(&self, max: f64, zero_ok: bool) -> PyResult<f64> {
        let rule = format!(
            "{} (a finite number of seconds, at most {max})",
            if zero_ok { "at least 0" } else { "positive" }
        );
        let x: f64 = self.value.extract().map_err(|_| self.invalid(&rule))?;
        let low_ok = if zero_ok { x >= 0.0 } else { x > 0.0 };
        if !(x.is_finite() && low_ok && x <= max) {
            return Err(self.invalid(&rule));
        }
        Ok(x)
    }

    fn duration(&self, max: f64) -> PyResult<Duration> {
        let secs = self.seconds(max, false)?;
        // At least 1 ms: a zero period would spin its thread.
        Duration::try_from_secs_f64(secs.max(1e-3)).map_err(|_| self.invalid("a duration"))
    }

    fn nanos(&self, max: f64, zero_ok: bool) -> PyResult<i64> {
        Ok((self.seconds(max, zero_ok)? * NANOS_PER_SECOND as f64).round() as i64)
    }

    /// An integer in `min..=max`.
    fn count<T>(&self, min: T, max: T) -> PyResult<T>
    where
        T: FromPyObjectOwned<'py> + PartialOrd + Copy + std::fmt::Display,
    {
        let rule = format!("an integer from {min} to {max}");
        let n: T = self.value.extract().map_err(|_| self.invalid(&rule))?;
        if n < min || n > max {
            return Err(self.invalid(&rule));
        }
        Ok(n)
    }
}

/// Store options from keyword arguments, named as the Python API names them
/// (seconds as floats, sizes as ints). An option left out or given as None
/// keeps the core's default (`StoreOptions::default`, the only place the
/// defaults are written); unknown names are an error rather than silently
/// ignored. Every value is range-checked here: none reaches the core in a
/// form that could overflow a conversion or size an absurd allocation.
pub fn store_options(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<StoreOptions> {
    let mut o = StoreOptions::default();
    let invalid = |msg: String| to_py(py, Error::invalid(msg));
    let Some(kwargs) = kwargs else { return Ok(o) };
    for (k, v) in kwargs.iter() {
        let name: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        let arg = OptionArg { name: &name, value: &v };
        match name.as_str() {
            "sync_interval" => o.sync_interval = arg.duration(MAX_PERIOD_S)?,
            "roll_after" => o.roll_after_ns = arg.nanos(MAX_DURATION_S, false)?,
            "roll_bytes" => o.roll_bytes = arg.count(1u64, u64::MAX)?,
            "gap_threshold" => o.gap_threshold_ns = arg.nanos(MAX_DURATION_S, false)?,
            "max_clock_skew" => o.max_clock_skew_ns = arg.nanos(MAX_DURATION_S, true)?,
            "io_threads" => o.io_threads = arg.count(1usize, MAX_IO_THREADS)?,
            "flush_bytes" => o.flush_bytes = arg.count(0usize, 1 << 30)?.max(4096),
            "max_pending_bytes" => o.max_pending_bytes = arg.count(0usize, usize::MAX)?,
            "min_free_bytes" => o.min_free_bytes = Some(arg.count(0u64, u64::MAX)?),
            "segment_cache" => o.segment_cache = arg.count(1usize, MAX_CACHE_ENTRIES)?,
            "index_cache" => o.index_cache = arg.count(1usize, MAX_CACHE_ENTRIES)?,
            "pressure_interval" => o.pressure_interval = arg.duration(MAX_PERIOD_S)?,
            "commit_mode" => {
                o.commit = match v
                    .extract::<String>()
                    .map_err(|_| arg.invalid("\"syncfs\" or \"fdatasync\""))?
                    .as_str()
                {
                    "syncfs" => CommitMode::Filesystem,
                    "fdatasync" => CommitMode::PerFile,
                    other => {
                        return Err(invalid(format!(
                            "commit_mode {other:?}: use \"syncfs\" or \"fdatasync\""
                        )))
                    }
                }
            }
            other => return Err(invalid(format!("unknown store option {other:?}"))),
        }
    }
    o.max_pending_bytes = o.max_pending_bytes.max(o.flush_bytes);
    Ok(o)
}

// ------------------------------------------------------------------ codec configuration

pub fn config_from_args(
    py: Python<'_>,
    codec: String,
    extradata: Option<Vec<u8>>,
    time_base: (u32, u32),
    width: u32,
    height: u32,
    params: String,
) -> PyResult<CodecConfig> {
    let time_base = TimeBase::new(time_base.0, time_base.1).ok_or_else(|| {
        to_py(py, Error::invalid(format!("invalid time base {}/{}", time_base.0, time_base.1)))
    })?;
    Ok(CodecConfig { codec, extradata: extradata.unwrap_or_default(), time_base, width, height, params })
}

// ------------------------------------------------------------------ retention settings

/// A policy as Python sees it: (max_age_ns, max_bytes, min_age_ns).
pub type PolicyTuple = (Option<i64>, Option<u64>, Option<i64>);

pub fn policy(t: PolicyTuple) -> RetentionPolicy {
    RetentionPolicy { max_age_ns: t.0, max_bytes: t.1, min_age_ns: t.2 }
}

pub fn policy_tuple(p: &RetentionPolicy) -> PolicyTuple {
    (p.max_age_ns, p.max_bytes, p.min_age_ns)
}

/// None -> store default; str -> class; (max_age_ns, max_bytes, min_age_ns) -> custom.
pub fn setting_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<RetentionSetting> {
    match obj {
        None => Ok(RetentionSetting::StoreDefault),
        Some(o) if o.is_none() => Ok(RetentionSetting::StoreDefault),
        Some(o) => match o.extract::<String>() {
            Ok(name) => Ok(RetentionSetting::Class(name)),
            Err(_) => Ok(RetentionSetting::Custom(policy(o.extract::<PolicyTuple>()?))),
        },
    }
}

pub fn setting_to_py<'py>(py: Python<'py>, s: &RetentionSetting) -> PyResult<Bound<'py, PyAny>> {
    Ok(match s {
        RetentionSetting::StoreDefault => py.None().into_bound(py),
        RetentionSetting::Class(c) => c.into_pyobject(py)?.into_any(),
        RetentionSetting::Custom(p) => policy_tuple(p).into_pyobject(py)?.into_any(),
    })
}

/// An instant -> ns since the Unix epoch, UTC. The one rule for every time
/// argument (`vidvault.timeutil.to_ns` is this function):
/// - an int is ns already (a bool is refused: `True` is no instant);
/// - a string of a decimal integer (after stripping whitespace) is ns;
/// - any other string is ISO-8601 as `datetime.fromisoformat` reads it, with
///   `Z`/`z` meaning UTC, and must carry a zone;
/// - an aware datetime counts in whole microseconds (its precision); a naive
///   one is refused because its instant is ambiguous;
/// - other integer-like objects (numpy integers: `__index__`) are ns.
///
/// Instants outside int64 ns (years 1677 to 2262) are refused. Refusals
/// raise InvalidArgumentError.
#[pyfunction]
pub fn to_ns(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    timestamp_arg(value)
}
