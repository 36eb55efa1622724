//! The `sys.monitoring` callbacks: the entry points CPython calls, pyo3 functions and raw
//! `METH_FASTCALL` ones, whose decisions are in `handlers.rs`. Each one catches every error and
//! panic: pydbg's own failures must never reach the user's program (a Rust panic would surface as
//! a BaseException that skips the user's `except Exception`).

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

use std::ffi::CStr;

use super::exceptions::LAST_RAISED;
use super::local_watches::AfterStore;
use super::{engine, is_pydbg_thread, EventIds, TOOL_ID};

/// How a frame is left.
#[derive(Clone, Copy)]
pub(super) enum Leave<'a, 'py> {
    /// With the value returned.
    Return(&'a Bound<'py, PyAny>),
    Yield,
    /// An exception leaves the frame; the handler's line, wherever it is, ends a step.
    Unwind,
}

/// What a callback answers: keep the event, DISABLE it for this code location, or raise in the
/// program the KeyboardInterrupt that a terminate sent while the thread was stopped.
pub(super) enum Answer {
    Keep,
    Disable,
    Raise(PyErr),
}

impl Answer {
    pub(super) fn after_stop(interrupt: Option<PyErr>) -> Answer {
        interrupt.map_or(Answer::Keep, Answer::Raise)
    }
}

pub(super) fn register(py: Python<'_>, monitoring: &Bound<'_, PyAny>, ids: &EventIds) -> PyResult<()> {
    let module = PyModule::new(py, "pydbg_callbacks")?;
    let register = |event: i64, f: Bound<'_, PyAny>| -> PyResult<()> {
        monitoring.call_method1("register_callback", (TOOL_ID, event, f)).map(drop)
    };
    register(ids.py_start, wrap_pyfunction!(on_py_start, &module)?.into_any())?;
    register(ids.line, wrap_pyfunction!(on_line, &module)?.into_any())?;
    register(ids.py_return, wrap_pyfunction!(on_py_return, &module)?.into_any())?;
    register(ids.py_unwind, wrap_pyfunction!(on_py_unwind, &module)?.into_any())?;
    register(ids.py_yield, wrap_pyfunction!(on_py_yield, &module)?.into_any())?;
    register(ids.instruction, raw_fastcall_function(py, c"on_instruction", on_instruction)?)?;
    register(ids.raise, raw_fastcall_function(py, c"on_raise", on_raise)?)?;
    Ok(())
}

/// Runs a callback body, turning any error or panic of pydbg's into a logged "keep going": only
/// the program's own KeyboardInterrupt ever reaches it.
fn guarded(py: Python<'_>, what: &str, body: impl FnOnce() -> PyResult<Answer>) -> PyResult<Py<PyAny>> {
    if is_pydbg_thread() {
        return Ok(py.None());
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(Answer::Keep)) => Ok(py.None()),
        Ok(Ok(Answer::Disable)) => Ok(engine().monitoring.disable.clone_ref(py)),
        Ok(Ok(Answer::Raise(interrupt))) => Err(interrupt),
        Ok(Err(e)) => {
            tracing::error!("{what} callback failed: {e}");
            Ok(py.None())
        }
        Err(_) => {
            tracing::error!("{what} callback panicked");
            Ok(py.None())
        }
    }
}

/// The frame that raised the current event.
pub(super) fn current_frame(py: Python<'_>) -> Option<Bound<'_, PyAny>> {
    // SAFETY: called with the GIL held; PyEval_GetFrame returns a borrowed reference or NULL.
    unsafe {
        let frame = ffi::PyEval_GetFrame();
        if frame.is_null() {
            None
        } else {
            Some(Bound::from_borrowed_ptr(py, frame.cast::<ffi::PyObject>()))
        }
    }
}

// Each callback takes the event's arguments as sys.monitoring passes them, positionally: pyo3
// receives them by vectorcall, with no tuple built per event.

#[pyfunction]
fn on_py_start(py: Python<'_>, code: &Bound<'_, PyAny>, _offset: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    guarded(py, "PY_START", || engine().on_py_start(py, code))
}

#[pyfunction]
fn on_line(py: Python<'_>, code: &Bound<'_, PyAny>, line: i64) -> PyResult<Py<PyAny>> {
    guarded(py, "LINE", || engine().on_line(py, code, line))
}

#[pyfunction]
fn on_py_return(
    py: Python<'_>,
    _code: &Bound<'_, PyAny>,
    _offset: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    guarded(py, "PY_RETURN", || engine().on_frame_leave(py, Leave::Return(value)))
}

#[pyfunction]
fn on_py_unwind(
    py: Python<'_>,
    _code: &Bound<'_, PyAny>,
    _offset: &Bound<'_, PyAny>,
    exception: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    guarded(py, "PY_UNWIND", || {
        engine().on_frame_leave(py, Leave::Unwind)?;
        engine().on_unwind(py, exception)
    })
}

/// A builtin function object for a raw METH_FASTCALL function, which lives as long as the process.
fn raw_fastcall_function<'py>(
    py: Python<'py>,
    name: &'static CStr,
    function: ffi::PyCFunctionFast,
) -> PyResult<Bound<'py, PyAny>> {
    let definition = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunctionFast: function },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: std::ptr::null(),
    }));
    // SAFETY: the definition is never freed; NewEx returns a new reference or NULL with an error set.
    unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyCFunction_NewEx(definition, std::ptr::null_mut(), std::ptr::null_mut()))
    }
}

/// RAISE, a raw METH_FASTCALL function rather than a pyo3 one: when the raised type is known not
/// to stop, it returns after a few atomic loads, without pyo3's per-call bookkeeping. Never
/// answers DISABLE: for RAISE that would raise ValueError inside the user's program.
unsafe extern "C" fn on_raise(
    _module: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: sys.monitoring calls RAISE callbacks with the GIL held and three live arguments:
    // code, offset and exception.
    unsafe {
        if nargs != 3 {
            return ffi::Py_NewRef(ffi::Py_None());
        }
        let exception = *args.add(2);
        // Most raised types never stop. The exception last judged is forgotten, so that it counts
        // as new if it is raised again.
        if engine().raise_verdict_known(ffi::Py_TYPE(exception)) == Some(false) {
            LAST_RAISED.forget();
            return ffi::Py_NewRef(ffi::Py_None());
        }
        let (code, exception) = (*args, exception);
        attached(|py| {
            let code = Bound::from_borrowed_ptr(py, code);
            let exception = Bound::from_borrowed_ptr(py, exception);
            raw_answer(py, guarded(py, "RAISE", || engine().on_raise(py, &code, &exception)))
        })
    }
}

// The raw callbacks' fast paths drop no `Py` (pyo3 would defer the release, not knowing the
// thread is attached); their other paths run in `attached`, as pyo3's own callbacks do.

/// Runs a raw callback's full path attached as pyo3 counts it. While the interpreter finalizes
/// pyo3 will not attach: the event is let through (None).
fn attached(path: impl FnOnce(Python<'_>) -> *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held by the caller, a callback CPython called.
    Python::try_attach(path).unwrap_or_else(|| unsafe { ffi::Py_NewRef(ffi::Py_None()) })
}

/// What a raw callback returns for `guarded`'s answer: a new reference, or NULL with the
/// program's KeyboardInterrupt set.
fn raw_answer(py: Python<'_>, answer: PyResult<Py<PyAny>>) -> *mut ffi::PyObject {
    match answer {
        Ok(answer) => answer.into_ptr(),
        Err(interrupt) => {
            interrupt.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// INSTRUCTION, a raw METH_FASTCALL function: just after a store to a watched local, the write
/// that neither changes the value nor stops is decided under one lock, with no Python
/// (`local_watches::after_store`); everything else takes the full path.
unsafe extern "C" fn on_instruction(
    _module: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: sys.monitoring calls INSTRUCTION callbacks with the GIL held and two live
    // arguments: code and offset.
    unsafe {
        let py = Python::assume_attached();
        // (pydbg's own threads are turned away by `guarded`, on the full path; the fast path acts
        // only in a watched frame, which is never theirs.)
        if nargs != 2 {
            return ffi::Py_NewRef(ffi::Py_None());
        }
        let offset = ffi::PyLong_AsLongLong(*args.add(1));
        if offset == -1 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return ffi::Py_NewRef(ffi::Py_None());
        }
        let engine = engine();
        let code = *args;
        let decided =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.after_store(py, code as usize, offset)));
        match decided.unwrap_or(AfterStore::FullPath) {
            AfterStore::Nothing => ffi::Py_NewRef(ffi::Py_None()),
            AfterStore::Stop(change, on_store_line) => attached(|py| {
                raw_answer(
                    py,
                    guarded(py, "INSTRUCTION", || {
                        Ok(Answer::after_stop(engine.stop_after_store(py, change, on_store_line).flatten()))
                    }),
                )
            }),
            AfterStore::FullPath => attached(|py| {
                let code = Bound::from_borrowed_ptr(py, code);
                raw_answer(py, guarded(py, "INSTRUCTION", || engine.on_instruction(py, &code, offset)))
            }),
        }
    }
}

#[pyfunction]
fn on_py_yield(
    py: Python<'_>,
    _code: &Bound<'_, PyAny>,
    _offset: &Bound<'_, PyAny>,
    _value: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    guarded(py, "PY_YIELD", || engine().on_frame_leave(py, Leave::Yield))
}

pub(super) fn filename<'py>(py: Python<'py>, code: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
    Ok(code.getattr(pyo3::intern!(py, "co_filename"))?.cast_into::<PyString>()?)
}
