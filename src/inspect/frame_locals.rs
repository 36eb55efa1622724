//! Writing to a frame's local variables.
//!
//! On 3.13, `frame.f_locals` is a write-through proxy (PEP 667). On 3.12 it is a snapshot dict:
//! after writing to it, `PyFrame_LocalsToFast` copies it back into the frame. That function is
//! not in the stable ABI, so it is looked up in the running interpreter.

use std::ffi::c_int;
use std::sync::OnceLock;

use pyo3::ffi;
use pyo3::prelude::*;

type LocalsToFast = unsafe extern "C" fn(*mut ffi::PyObject, c_int);

fn locals_to_fast() -> Option<LocalsToFast> {
    static FUNCTION: OnceLock<Option<LocalsToFast>> = OnceLock::new();
    *FUNCTION.get_or_init(|| {
        // SAFETY: dlsym with a NUL-terminated name; the symbol, if present, has this signature
        // (cpython/frameobject.h in 3.12).
        unsafe {
            let symbol = libc::dlsym(libc::RTLD_DEFAULT, c"PyFrame_LocalsToFast".as_ptr());
            (!symbol.is_null()).then(|| std::mem::transmute::<*mut libc::c_void, LocalsToFast>(symbol))
        }
    })
}

/// The mapping to read and write `frame`'s locals through.
pub fn locals<'py>(frame: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    frame.getattr("f_locals")
}

/// Makes writes to `locals(frame)` visible to the running frame.
pub fn commit(py: Python<'_>, frame: &Bound<'_, PyAny>) {
    // Recording reads only the locals a line stores to: this write is read at the next line.
    crate::engine::history::locals_may_have_changed();
    if py.version_info() >= (3, 13) {
        return; // the proxy wrote through already
    }
    if let Some(copy_back) = locals_to_fast() {
        // SAFETY: the GIL is held and `frame` is a frame object.
        unsafe { copy_back(frame.as_ptr(), 0) };
    }
}
