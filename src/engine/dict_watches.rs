//! Data breakpoints on dict entries: globals, module attributes, dict items. CPython's dict
//! watchers (`PyDict_AddWatcher`, 3.12+) call pydbg before each change to a watched dict, from
//! whatever code or thread makes it; dicts nobody watches pay nothing. CPython forbids running
//! Python code in that callback, so it only notes the change in a step plan of the writing thread
//! (`StepKind::AfterWrite`, a step over from the writing frame). The line that ends the plan
//! judges it: a real change (not `==`), a condition and hit condition that agree, then a stop.

use std::ffi::c_int;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;

use super::callbacks::current_frame;
use super::conditions::Breakpoint;
use super::data_breakpoints::{equal_without_python, DataChange};
use super::{current_ident, is_pydbg_thread, try_engine, Engine};

type DictWatchCallback =
    unsafe extern "C" fn(c_int, *mut ffi::PyObject, *mut ffi::PyObject, *mut ffi::PyObject) -> c_int;

// CPython's dict watcher API (cpython/dictobject.h), in every 3.12+.
extern "C" {
    fn PyDict_AddWatcher(callback: DictWatchCallback) -> c_int;
    fn PyDict_Watch(watcher: c_int, dict: *mut ffi::PyObject) -> c_int;
    fn PyDict_Unwatch(watcher: c_int, dict: *mut ffi::PyObject) -> c_int;
}

// PyDict_WatchEvent
const ADDED: c_int = 0;
const MODIFIED: c_int = 1;
const DELETED: c_int = 2;
const CLONED: c_int = 3;
const CLEARED: c_int = 4;

/// pydbg's dict watcher: CPython has eight for the whole process, so pydbg takes one, once.
static WATCHER: OnceLock<Result<c_int, String>> = OnceLock::new();

fn watcher(py: Python<'_>) -> Result<c_int, String> {
    WATCHER
        .get_or_init(|| {
            // SAFETY: the GIL is held; the callback lives as long as the process.
            let id = unsafe { PyDict_AddWatcher(on_dict_event) };
            if id < 0 {
                let reason = PyErr::take(py).map(|e| e.to_string()).unwrap_or_default();
                return Err(format!("CPython has no dict watcher left for pydbg ({reason})"));
            }
            Ok(id)
        })
        .clone()
}

/// A watched entry. The dict is held, so that its address stays its own.
pub(super) struct DictWatch {
    pub(super) id: i64,
    pub(super) dict: Py<PyAny>,
    pub(super) key: Py<PyAny>,
    pub(super) label: String,
    pub(super) absent: &'static str,
    pub(super) breakpoint: Arc<Breakpoint>,
}

/// The watched entries, for the dict watcher callback, which must not wait on the state lock.
#[derive(Default)]
pub(super) struct DictWatches(Mutex<Vec<DictWatch>>);

impl Engine {
    /// Replaces the dict entries watched; refused (and none watched) when CPython has no dict
    /// watcher to spare.
    pub(super) fn replace_dict_watches(&self, py: Python<'_>, watches: Vec<DictWatch>) -> Result<(), String> {
        let watcher = match (watches.is_empty(), WATCHER.get()) {
            (true, None) => return Ok(()),
            _ => watcher(py),
        };
        let (watches, refusal) = match &watcher {
            Ok(_) => (watches, None),
            Err(reason) => (Vec::new(), Some(reason.clone())),
        };
        let old = std::mem::replace(&mut *self.dict_watches.0.lock(), watches);
        if let Ok(watcher) = watcher {
            let now: Vec<*mut ffi::PyObject> = self.dict_watches.0.lock().iter().map(|w| w.dict.as_ptr()).collect();
            // SAFETY: the GIL is held and every dict named here is held, by `old` or the table.
            unsafe {
                for gone in old.iter().map(|w| w.dict.as_ptr()).filter(|d| !now.contains(d)) {
                    PyDict_Unwatch(watcher, gone);
                }
                for dict in now {
                    PyDict_Watch(watcher, dict);
                }
                ffi::PyErr_Clear();
            }
        }
        drop(old);
        refusal.map_or(Ok(()), Err)
    }

    /// Before `dict` changes: notes the changes to watched entries in the writing thread's plan.
    /// No Python code runs here, and no lock but the table's is waited on before it is known that
    /// a watched entry changes.
    fn on_dict_write(
        &self,
        py: Python<'_>,
        event: c_int,
        dict: *mut ffi::PyObject,
        key: *mut ffi::PyObject,
        new_value: *mut ffi::PyObject,
    ) {
        // A stopped thread writes only for the debugger (setVariable, evaluate): it neither stops
        // nor counts as a hit.
        let ident = current_ident();
        if self.is_parked(ident) {
            return;
        }
        // Watches whose earlier write this thread has noted already: a later one is only noted
        // too (its value is the one to show), and judged with it at the line.
        let noted: Vec<i64> =
            self.plans.get(&ident).map(|plan| plan.noted_data_changes().collect()).unwrap_or_default();
        let changes: Vec<DataChange> = {
            let watches = self.dict_watches.0.lock();
            watches
                .iter()
                .filter(|w| w.dict.as_ptr() == dict)
                .filter_map(|w| {
                    // SAFETY: the GIL is held; CPython passes live objects (key and new_value may
                    // be NULL, as its documentation says for each event).
                    let new = unsafe {
                        match event {
                            ADDED | MODIFIED | DELETED if same_key(key, w.key.as_ptr()) => {
                                Bound::from_borrowed_ptr_or_opt(py, new_value).map(Bound::unbind)
                            }
                            // `key` is the dict merged into the empty watched one.
                            CLONED => entry(py, key, w.key.as_ptr()),
                            CLEARED => None,
                            _ => return None,
                        }
                    };
                    // SAFETY: as above; the dict is held by the watch.
                    let old = unsafe { entry(py, dict, w.key.as_ptr()) };
                    // Decided here when no Python is needed: the same value, or a breakpoint with
                    // no condition (its hit counted). The rest is judged at the writer's next line.
                    let equal =
                        equal_without_python(old.as_ref().map(|v| v.bind(py)), new.as_ref().map(|v| v.bind(py)));
                    let judged = match equal.filter(|_| !noted.contains(&w.id)) {
                        Some(true) => return None,
                        Some(false) => match w.breakpoint.decide_without_python() {
                            Some(false) => return None,
                            Some(true) => true,
                            None => false,
                        },
                        None => false,
                    };
                    Some(DataChange {
                        id: w.id,
                        label: w.label.clone(),
                        old,
                        new,
                        breakpoint: w.breakpoint.clone(),
                        absent: w.absent,
                        judged,
                    })
                })
                .collect()
        };
        if let Some(frame) = current_frame(py).filter(|_| !changes.is_empty()) {
            self.stop_after_writes(py, &frame, changes);
        }
    }
}

/// Whether two dict keys are equal. The watched key is a builtin (`builtin_key`); a key written is
/// compared only when it is one too, so no user `__eq__` runs. Numbers compare across int, float
/// and bool, as the dict does (`d[1.0]` is `d[1]`'s entry).
///
/// SAFETY: the GIL is held and both are live objects.
unsafe fn same_key(key: *mut ffi::PyObject, watched: *mut ffi::PyObject) -> bool {
    unsafe {
        if key == watched {
            return true;
        }
        if key.is_null() || !builtin_key(key) {
            return false;
        }
        let equal = ffi::PyObject_RichCompareBool(key, watched, ffi::Py_EQ);
        if equal < 0 {
            ffi::PyErr_Clear();
        }
        equal == 1
    }
}

/// Whether a key is made only of builtins (str, int, float, bool, None, bytes, tuples of those),
/// exactly those types: comparing it runs no Python code.
///
/// SAFETY: the GIL is held and `key` is live.
pub(crate) unsafe fn builtin_key(key: *mut ffi::PyObject) -> bool {
    unsafe {
        let exact = |ty: *mut ffi::PyTypeObject| ffi::Py_TYPE(key) == ty;
        if key == ffi::Py_None()
            || exact(&raw mut ffi::PyUnicode_Type)
            || exact(&raw mut ffi::PyLong_Type)
            || exact(&raw mut ffi::PyFloat_Type)
            || exact(&raw mut ffi::PyBool_Type)
            || exact(&raw mut ffi::PyBytes_Type)
        {
            return true;
        }
        if !exact(&raw mut ffi::PyTuple_Type) {
            return false;
        }
        (0..ffi::PyTuple_Size(key)).all(|i| builtin_key(ffi::PyTuple_GetItem(key, i)))
    }
}

/// `dict[key]`, None when missing.
///
/// SAFETY: the GIL is held and both are live objects; `key` is of a builtin type.
unsafe fn entry(py: Python<'_>, dict: *mut ffi::PyObject, key: *mut ffi::PyObject) -> Option<Py<PyAny>> {
    unsafe {
        if dict.is_null() || ffi::PyDict_Check(dict) == 0 {
            return None;
        }
        let value = ffi::PyDict_GetItemWithError(dict, key);
        if value.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        Some(Bound::from_borrowed_ptr(py, value).unbind())
    }
}

/// The dict watcher callback. It never fails, and leaves the program's own exception state as it
/// found it.
unsafe extern "C" fn on_dict_event(
    event: c_int,
    dict: *mut ffi::PyObject,
    key: *mut ffi::PyObject,
    new_value: *mut ffi::PyObject,
) -> c_int {
    let Some(engine) = try_engine() else { return 0 };
    if is_pydbg_thread() {
        return 0;
    }
    // SAFETY: CPython calls dict watchers with the GIL held. Not attached as pyo3 counts it: on
    // attaching, pyo3 releases the objects whose release it deferred, and their finalizers would
    // run Python here. So what pydbg lets go of here is deferred in turn.
    let py = unsafe { Python::assume_attached() };
    let program_error = PyErr::take(py);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        engine.on_dict_write(py, event, dict, key, new_value)
    }));
    if outcome.is_err() {
        tracing::error!("the dict watcher panicked");
    }
    drop(PyErr::take(py));
    if let Some(error) = program_error {
        error.restore(py);
    }
    0
}
