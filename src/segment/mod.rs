//! Segment files: one camera's footage over a few minutes, encrypted, framed
//! and indexed. `format` is the bytes; `writer`, `reader` and `recover` are
//! the three ways code meets those bytes; `open` (header and keys) and
//! `scan` (indexing by walking the records) are the steps they share;
//! `frame_table` is the bytes of a sealed segment's list of its frames;
//! `bytes` is the file a reader reads (a segment's own, or a partial copy
//! of its object completed block by block from an object-storage tier).

pub mod bytes;
pub mod format;
pub mod frame_table;
mod open;
pub mod reader;
pub mod recover;
mod scan;
pub mod writer;

pub use format::{CodecConfig, FrameMeta, Gap, IndexEntry, SegmentHeader, SegmentSummary};
pub use reader::{Frame, SealState, SegmentFile};
pub use recover::Recovery;
pub use writer::{NewFrame, SegmentWriter};
