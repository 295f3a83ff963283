//! Fault injection: a process-wide switch that makes the Nth write, fsync,
//! rename or remove of the store's files fail with a chosen errno (ENOSPC,
//! EIO...), so tests can prove that every such failure of ingest, sealing,
//! retention, key rotation and holds loses no acknowledged frame and reports
//! the file and what to do.
//!
//! Why compiled into every build rather than behind a cargo feature: the
//! test suite runs against the wheel users get, so the code under test is
//! the code that ships. It stays inert unless armed explicitly (only the
//! hidden binding function `_core._inject_fault` arms it; nothing reads an
//! environment variable or a file): while disarmed, each file operation pays
//! one relaxed atomic load.
//!
//! Every durable file operation of the core calls `check(op)` just before
//! the system call (fsutil.rs, store/direct_io.rs, segment/recover.rs,
//! store/pressure.rs). SQLite's own writes cannot be routed here; a real
//! full filesystem (a small tmpfs) covers them.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

/// The kinds of file operation a fault can target.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// write(2), ftruncate(2), fallocate(2), and creating a file or directory.
    Write = 0,
    /// fsync(2)/fdatasync(2) of a file or a directory.
    Fsync = 1,
    /// rename(2).
    Rename = 2,
    /// unlink(2)/rmdir(2).
    Remove = 3,
}

pub const OPS: [Op; 4] = [Op::Write, Op::Fsync, Op::Rename, Op::Remove];

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Write => "write",
            Op::Fsync => "fsync",
            Op::Rename => "rename",
            Op::Remove => "remove",
        }
    }

    pub fn parse(name: &str) -> Option<Op> {
        OPS.iter().copied().find(|op| op.name() == name)
    }
}

/// One op's fault: fail call number `at` (1-based, counted from arming) and,
/// when `sticky`, every call after it (a disk that stays full).
struct Slot {
    at: AtomicU64,
    calls: AtomicU64,
    fired: AtomicU64,
    errno: AtomicI32,
    sticky: AtomicBool,
}

impl Slot {
    const fn new() -> Slot {
        Slot {
            at: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            fired: AtomicU64::new(0),
            errno: AtomicI32::new(0),
            sticky: AtomicBool::new(false),
        }
    }
}

static ARMED: AtomicBool = AtomicBool::new(false);
static SLOTS: [Slot; 4] = [Slot::new(), Slot::new(), Slot::new(), Slot::new()];

impl Slot {
    fn arm(&self, at: u64, errno: i32, sticky: bool) {
        self.calls.store(0, Ordering::SeqCst);
        self.fired.store(0, Ordering::SeqCst);
        self.errno.store(errno, Ordering::SeqCst);
        self.sticky.store(sticky, Ordering::SeqCst);
        self.at.store(at, Ordering::SeqCst);
    }

    fn clear(&self) {
        self.at.store(0, Ordering::SeqCst);
        self.calls.store(0, Ordering::SeqCst);
        self.fired.store(0, Ordering::SeqCst);
    }

    fn report(&self) -> (u64, u64) {
        (self.calls.load(Ordering::SeqCst), self.fired.load(Ordering::SeqCst))
    }

    fn check(&self) -> io::Result<()> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let at = self.at.load(Ordering::SeqCst);
        if at != 0 && (n == at || (n > at && self.sticky.load(Ordering::SeqCst))) {
            self.fired.fetch_add(1, Ordering::SeqCst);
            return Err(io::Error::from_raw_os_error(self.errno.load(Ordering::SeqCst)));
        }
        Ok(())
    }
}

/// Arms `op` to fail its `at`-th call from now with `errno` (`at` = 0 only
/// counts calls). Resets that op's counters.
pub fn arm(op: Op, at: u64, errno: i32, sticky: bool) {
    SLOTS[op as usize].arm(at, errno, sticky);
    ARMED.store(true, Ordering::SeqCst);
}

/// Disarms every op and resets the counters.
pub fn clear() {
    ARMED.store(false, Ordering::SeqCst);
    for s in &SLOTS {
        s.clear();
    }
}

/// (calls seen, faults fired) for `op` since it was armed.
pub fn report(op: Op) -> (u64, u64) {
    SLOTS[op as usize].report()
}

/// Called just before every file operation of kind `op`: the injected
/// error, or Ok to go ahead.
#[inline]
pub fn check(op: Op) -> io::Result<()> {
    if !ARMED.load(Ordering::Relaxed) {
        return Ok(());
    }
    SLOTS[op as usize].check()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a local slot: the process-wide switch stays disarmed, since other
    /// tests in this binary write files in parallel.
    #[test]
    fn a_slot_counts_fires_once_or_sticks_and_clears() {
        assert!(check(Op::Write).is_ok(), "disarmed by default");
        let s = Slot::new();
        s.arm(2, libc::EIO, false);
        assert!(s.check().is_ok());
        assert_eq!(s.check().unwrap_err().raw_os_error(), Some(libc::EIO));
        assert!(s.check().is_ok(), "one-shot");
        assert_eq!(s.report(), (3, 1));
        s.arm(1, libc::ENOSPC, true);
        assert!(s.check().is_err() && s.check().is_err(), "sticky");
        s.clear();
        assert!(s.check().is_ok());
        s.arm(0, libc::EIO, true);
        assert!(s.check().is_ok() && s.check().is_ok(), "0 only counts");
        assert_eq!(s.report(), (2, 0));
        assert_eq!(Op::parse("rename"), Some(Op::Rename));
        assert_eq!(Op::parse("chmod"), None);
    }
}
