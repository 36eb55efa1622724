//! Reading a frame through CPython's frame API rather than its attributes. An attribute read is a
//! type lookup and a call, and `f_code` also raises an audit event that every audit hook sees
//! (pydbg has one, `unfiled_sources`). `stackTrace` reads three of them for each of hundreds of
//! frames, and a condition reads the code on every evaluation.
//!
//! The functions outside the limited API (`PyFrame_GetBack`, `PyFrame_GetLasti`, ...) are in every
//! CPython 3.12+ (cpython/pyframe.h).

use std::sync::atomic::{AtomicUsize, Ordering};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};

extern "C" {
    fn PyFrame_GetCode(frame: *mut ffi::PyObject) -> *mut ffi::PyObject;
    fn PyFrame_GetBack(frame: *mut ffi::PyObject) -> *mut ffi::PyObject;
    fn PyFrame_GetGlobals(frame: *mut ffi::PyObject) -> *mut ffi::PyObject;
    fn PyFrame_GetLineNumber(frame: *mut ffi::PyObject) -> std::ffi::c_int;
    fn PyFrame_GetLasti(frame: *mut ffi::PyObject) -> std::ffi::c_int;
    fn PyFrame_GetVar(frame: *mut ffi::PyObject, name: *mut ffi::PyObject) -> *mut ffi::PyObject;
    fn PyFrame_GetLocals(frame: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

/// `co_flags` bit: the code keeps its locals in fast slots (a function, not a module or class body).
const CO_OPTIMIZED: i64 = 0x0001;

/// The names a function's code keeps in fast slots (its locals, cells and free variables), or
/// None for code that keeps them in a dict (a module or class body, `exec`).
pub fn fast_local_names(code: &Bound<'_, PyAny>) -> PyResult<Option<Vec<String>>> {
    let flags: i64 = code.getattr("co_flags")?.extract()?;
    if flags & CO_OPTIMIZED == 0 {
        return Ok(None);
    }
    let mut names = Vec::new();
    for kind in ["co_varnames", "co_cellvars", "co_freevars"] {
        for name in code.getattr(kind)?.try_iter()? {
            names.push(name?.extract::<String>()?);
        }
    }
    Ok(Some(names))
}

/// The frame API takes nothing but frames: anything else is refused before the call. (Data
/// breakpoints read a local through here on every write: the frame type's address is kept.)
fn checked<'a, 'py>(frame: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyAny>> {
    static FRAME_TYPE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
    static FRAME_TYPE_ADDRESS: AtomicUsize = AtomicUsize::new(0);
    let mut frame_type = FRAME_TYPE_ADDRESS.load(Ordering::Relaxed);
    if frame_type == 0 {
        frame_type = FRAME_TYPE.import(frame.py(), "types", "FrameType")?.as_ptr() as usize;
        FRAME_TYPE_ADDRESS.store(frame_type, Ordering::Relaxed);
    }
    // SAFETY: a live object (a Bound).
    if unsafe { ffi::Py_TYPE(frame.as_ptr()) } as usize == frame_type {
        Ok(frame)
    } else {
        Err(pyo3::exceptions::PyTypeError::new_err(format!("not a frame: {}", frame.get_type())))
    }
}

/// `frame.f_code`.
pub fn code<'py>(frame: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let frame = checked(frame)?;
    // SAFETY: a frame, with the GIL held; a new reference, never NULL.
    unsafe { Bound::from_owned_ptr_or_err(frame.py(), PyFrame_GetCode(frame.as_ptr())) }
}

/// `frame.f_back`, None for the outermost frame.
pub fn back<'py>(frame: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let frame = checked(frame)?;
    // SAFETY: a frame, with the GIL held; a new reference, or NULL (no error set) at the outermost.
    Ok(unsafe { Bound::from_owned_ptr_or_opt(frame.py(), PyFrame_GetBack(frame.as_ptr())) })
}

/// `frame.f_globals`.
pub fn globals<'py>(frame: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let frame = checked(frame)?;
    // SAFETY: a frame, with the GIL held; a new reference.
    unsafe { Bound::from_owned_ptr_or_err(frame.py(), PyFrame_GetGlobals(frame.as_ptr())) }
}

/// `frame.f_lineno`: None where the frame is at no line (before its first instruction).
pub fn line(frame: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    let frame = checked(frame)?;
    // SAFETY: a frame, with the GIL held.
    let line = unsafe { PyFrame_GetLineNumber(frame.as_ptr()) };
    Ok((line >= 0).then_some(i64::from(line)))
}

/// `frame.f_lasti`: the offset in bytes of the last instruction started, -1 before the first.
pub fn last_instruction(frame: &Bound<'_, PyAny>) -> PyResult<i64> {
    let frame = checked(frame)?;
    // SAFETY: a frame, with the GIL held.
    Ok(i64::from(unsafe { PyFrame_GetLasti(frame.as_ptr()) }))
}

/// The value of a local (or free, or cell) variable of `frame`, None while it is unbound. No
/// Python code runs, and no `f_locals` is built.
pub fn local<'py>(frame: &Bound<'py, PyAny>, name: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let frame = checked(frame)?;
    let py = frame.py();
    // SAFETY: a frame and a str, with the GIL held; a new reference, or NULL with NameError set
    // when the variable is unbound (or another error, for a name the code does not have).
    match unsafe { Bound::from_owned_ptr_or_opt(py, PyFrame_GetVar(frame.as_ptr(), name.as_ptr())) } {
        Some(value) => Ok(Some(value)),
        // Cleared without making an exception object: this runs in the hot paths of data
        // breakpoints, whose callers are not always pyo3's (a released object would be deferred).
        // SAFETY: the GIL is held and PyFrame_GetVar has just set the error.
        None if unsafe { ffi::PyErr_ExceptionMatches(ffi::PyExc_NameError) } != 0 => {
            unsafe { ffi::PyErr_Clear() };
            Ok(None)
        }
        None => Err(PyErr::fetch(py)),
    }
}

/// The locals of `frame` as a dict (3.12, and code whose locals are a dict: a module's) or as a
/// list of `(name, value)` pairs (3.13+, a function's, read through its locals proxy). No Python
/// code runs, and nothing is written to the frame.
pub fn locals_snapshot<'py>(frame: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let frame = checked(frame)?;
    let py = frame.py();
    // SAFETY: a frame, with the GIL held; a new reference, or NULL with an error set.
    let locals = unsafe { Bound::from_owned_ptr_or_err(py, PyFrame_GetLocals(frame.as_ptr()))? };
    if locals.is_instance_of::<pyo3::types::PyDict>() {
        return Ok(locals);
    }
    // SAFETY: a mapping (the proxy), with the GIL held; a new list, or NULL with an error set.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyMapping_Items(locals.as_ptr())) }
}
