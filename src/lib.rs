//! vidvault core: an encrypted, time-indexed segment store for
//! video-surveillance footage. Pure Rust; the Python bindings live in `py/`
//! behind the `python` feature. docs/FORMAT.md specifies the on-disk bytes.

pub mod access;
pub mod audit;
pub mod camera;
pub mod catalog;
pub mod crypto;
pub mod direct_io;
pub mod error;
pub mod fsck;
pub mod fsutil;
pub mod gaps;
mod group_commit;
pub mod keys;
pub mod lock;
pub mod mirror;
pub mod pressure;
pub mod read;
pub mod redact;
pub mod retention;
pub mod segment;
pub mod store;
mod store_access;
mod store_retention;
pub mod sweep;
pub mod time;
pub mod writer;

#[cfg(test)]
mod store_tests;

#[cfg(feature = "python")]
mod py;

pub use camera::{is_gb28181_id, validate_camera_id};
pub use catalog::{CameraRow, SegmentRow, SegmentState};
pub use crypto::SecretKey;
pub use error::{Error, Result};
pub use fsck::{FsckReport, Problem, RebuildReport};
pub use read::FrameCursor;
pub use retention::{Hold, RetentionPolicy, RetentionSetting};
pub use segment::{CodecConfig, Frame, FrameMeta, Gap, NewFrame};
pub use store::{RecoveredSegment, Store, StoreOptions};
pub use sweep::SweepReport;
pub use time::{TimeBase, TimeRange, Timestamp};
pub use writer::{CameraWriter, WriterStats};
