//! Hidden test hooks over the core's fault-injection switch (faults.rs).
//! Underscored and absent from the stubs: they exist so the test suite can
//! fail the Nth file operation of the very wheel users install; nothing in
//! the library calls them.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::Error;
use crate::faults::{self, Op, OPS};
use crate::py::errors::to_py;

fn op_arg(py: Python<'_>, op: &str) -> PyResult<Op> {
    Op::parse(op).ok_or_else(|| {
        let names: Vec<&str> = OPS.iter().map(|o| o.name()).collect();
        to_py(py, Error::invalid(format!("fault op {op:?}: use one of {}", names.join(", "))))
    })
}

/// `_inject_fault(op, n, errno=ENOSPC, sticky=False)`: the `n`-th call of
/// `op` ("write", "fsync", "rename", "remove") from now fails with `errno`
/// (and every later one too with `sticky`); `n=0` only counts calls.
#[pyfunction]
#[pyo3(signature = (op, n, errno = libc::ENOSPC, sticky = false))]
pub fn _inject_fault(py: Python<'_>, op: &str, n: u64, errno: i32, sticky: bool) -> PyResult<()> {
    faults::arm(op_arg(py, op)?, n, errno, sticky);
    Ok(())
}

/// `_clear_faults()`: disarms every fault and resets the counters.
#[pyfunction]
pub fn _clear_faults() {
    faults::clear();
}

/// `_fault_report()` -> {op: (calls since armed, faults fired)}.
#[pyfunction]
pub fn _fault_report(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    for op in OPS {
        d.set_item(op.name(), faults::report(op))?;
    }
    Ok(d)
}
