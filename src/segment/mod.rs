//! Segment files: one camera's footage over a few minutes, encrypted, framed
//! and indexed. `format` is the bytes; `writer`, `reader` and `recover` are
//! the three ways code meets those bytes.

pub mod format;
pub mod reader;
pub mod recover;
pub mod writer;

pub use format::{CodecConfig, FrameMeta, Gap, IndexEntry, SegmentHeader, SegmentSummary};
pub use reader::{Frame, SealState, SegmentFile};
pub use recover::Recovery;
pub use writer::{NewFrame, SegmentWriter};
