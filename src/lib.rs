//! vidvault core: an encrypted, time-indexed segment store for
//! video-surveillance footage. Pure Rust; the Python bindings live in `py/`
//! behind the `python` feature. docs/FORMAT.md specifies the on-disk bytes.
//!
//! Layers, lowest first (a module imports only from layers below it):
//! - `error`, `time`, `camera`, `crypto`, `fsutil`, `redact`, `clip_layout`: leaves;
//! - `segment/` (the bytes of one segment file), `keys` (the keystore),
//!   `retention` (pure policy and planning), `gaps` (pure availability
//!   arithmetic), `access/` (grants and the audit log), `catalog/` (SQLite),
//!   `replica` (metadata blobs for the object-storage tier, on `keys`);
//! - `store/`: the Store facade and everything that does I/O policy on top.

pub mod access;
pub mod camera;
pub mod catalog;
pub mod clip_layout;
pub mod crypto;
pub mod error;
pub mod faults;
pub mod fsutil;
// Entry points for the fuzz targets and their corpus runner; not API.
#[doc(hidden)]
pub mod fuzzing;
pub mod gaps;
pub mod keys;
pub mod redact;
pub mod replica;
pub mod retention;
pub mod segment;
pub mod store;
pub mod time;

#[cfg(feature = "python")]
mod py;

pub use camera::{is_gb28181_id, validate_camera_id};
pub use catalog::{CameraRow, SegmentRow, SegmentState};
pub use crypto::SecretKey;
pub use error::{Error, Result};
pub use retention::{Hold, RetentionPolicy, RetentionSetting};
pub use segment::{CodecConfig, Frame, FrameMeta, Gap, NewFrame};
pub use store::fsck::{FsckReport, Problem, RebuildReport};
pub use store::read::FrameCursor;
pub use store::sweep::SweepReport;
pub use store::writer::{CameraWriter, WriterStats};
pub use store::{RecoveredSegment, Store, StoreOptions};
pub use time::{TimeBase, TimeRange, Timestamp};
