//! Data breakpoints on attributes of objects (plain classes, dataclasses, `__slots__` classes).
//! A watched object's class is swapped for a private subclass, made once per class, whose
//! `__setattr__` and `__delattr__` call the original ones and report writes of watched names.
//! They are Rust functions bound as methods (`PyInstanceMethod_New`): no frame of pydbg's appears
//! in the program's tracebacks, and the frame that called them is the writer's.
//! Every write through `setattr`, from any code and thread, passes there. When no watch is left
//! on the object, its class is put back.
//!
//! The subclass has the original's name, qualname and module, and no slots of its own (so CPython
//! allows the swap); `isinstance` holds, `type(obj) is C` does not while the watch lasts.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use super::conditions::Breakpoint;
use super::data_breakpoints::{same_value, DataChange};
use super::{engine, is_pydbg_thread, Engine};

// Not in the limited API, but in every CPython 3.12+ (cpython/classobject.h): wraps a callable so
// that it binds to the instance as a function does.
extern "C" {
    fn PyInstanceMethod_New(function: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

/// A watched attribute. The object is held, so that its address stays its own.
pub(super) struct AttributeWatch {
    pub(super) id: i64,
    pub(super) object: Py<PyAny>,
    pub(super) name: Py<PyString>,
    pub(super) label: String,
    pub(super) breakpoint: Arc<Breakpoint>,
}

#[derive(Default)]
pub(super) struct AttributeWatches {
    watches: Mutex<Vec<AttributeWatch>>,
    /// Each class's private subclass, by the class's address; both held.
    subclasses: Mutex<HashMap<usize, (Py<PyAny>, Py<PyAny>)>>,
}

impl Engine {
    /// Replaces the watched attributes. Each object is hooked, or refused with the reason (a
    /// builtin type, or a class CPython will not swap); objects no longer watched get their class
    /// back. Returns the refusals by watch id.
    pub(super) fn replace_attribute_watches(&self, py: Python<'_>, watches: Vec<AttributeWatch>) -> Vec<(i64, String)> {
        let mut refusals = Vec::new();
        let mut kept = Vec::new();
        for watch in watches {
            match self.hook_object(py, watch.object.bind(py)) {
                Ok(()) => kept.push(watch),
                Err(e) => refusals.push((watch.id, crate::python_errors::describe_error(py, &e))),
            }
        }
        let now: Vec<usize> = kept.iter().map(|w| w.object.as_ptr() as usize).collect();
        let old = std::mem::replace(&mut *self.attribute_watches.watches.lock(), kept);
        for watch in old.iter().filter(|w| !now.contains(&(w.object.as_ptr() as usize))) {
            if let Err(e) = self.unhook_object(py, watch.object.bind(py)) {
                tracing::error!("restoring the class of a watched object: {e}");
            }
        }
        drop(old);
        refusals
    }

    fn hook_object(&self, py: Python<'_>, object: &Bound<'_, PyAny>) -> PyResult<()> {
        let class = object.get_type().into_any();
        if self.is_private_subclass(&class) {
            return Ok(());
        }
        let subclass = self.private_subclass(py, &class)?;
        set_class(object, &subclass)
    }

    fn unhook_object(&self, py: Python<'_>, object: &Bound<'_, PyAny>) -> PyResult<()> {
        let class = object.get_type().into_any();
        let original = self
            .attribute_watches
            .subclasses
            .lock()
            .values()
            .find_map(|(original, subclass)| (subclass.as_ptr() == class.as_ptr()).then(|| original.clone_ref(py)));
        match original {
            Some(original) => set_class(object, original.bind(py)),
            None => Ok(()),
        }
    }

    /// The class a private subclass in `object`'s MRO was made from: the class whose own
    /// `__setattr__` the hooks call. (Not `type(object).__base__`: a class the program derives
    /// from the private one would make the hooks call themselves.)
    fn original_class<'py>(&self, object: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = object.py();
        let subclasses = self.attribute_watches.subclasses.lock();
        for class in object.get_type().mro().iter() {
            let original = subclasses.values().find(|(_, subclass)| subclass.as_ptr() == class.as_ptr());
            if let Some((original, _)) = original {
                return Ok(original.bind(py).clone());
            }
        }
        Err(pyo3::exceptions::PyTypeError::new_err("not an object pydbg watches"))
    }

    fn is_private_subclass(&self, class: &Bound<'_, PyAny>) -> bool {
        self.attribute_watches.subclasses.lock().values().any(|(_, subclass)| subclass.as_ptr() == class.as_ptr())
    }

    fn private_subclass<'py>(&self, py: Python<'py>, class: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let key = class.as_ptr() as usize;
        if let Some((_, subclass)) = self.attribute_watches.subclasses.lock().get(&key) {
            return Ok(subclass.bind(py).clone());
        }
        let module = pyo3::types::PyModule::new(py, "pydbg_attribute_hooks")?;
        let namespace = PyDict::new(py);
        namespace.set_item("__slots__", PyTuple::empty(py))?;
        namespace.set_item("__setattr__", as_method(wrap_pyfunction!(watched_setattr, &module)?.into_any())?)?;
        namespace.set_item("__delattr__", as_method(wrap_pyfunction!(watched_delattr, &module)?.into_any())?)?;
        for name in ["__module__", "__qualname__", "__doc__"] {
            namespace.set_item(name, class.getattr(name)?)?;
        }
        // The class's own metaclass makes the subclass, as `class Sub(C)` would.
        let subclass = class.get_type().call1((class.getattr("__name__")?, (class,), namespace))?;
        self.attribute_watches.subclasses.lock().insert(key, (class.clone().unbind(), subclass.clone().unbind()));
        Ok(subclass)
    }

    /// The watches on `object`'s attribute `name`, with the attribute's value now.
    fn attribute_watches_of(
        &self,
        py: Python<'_>,
        object: &Bound<'_, PyAny>,
        name: &Bound<'_, PyAny>,
    ) -> Vec<(i64, String, Arc<Breakpoint>)> {
        self.attribute_watches
            .watches
            .lock()
            .iter()
            // Only an exact str is compared: a str subclass's `__eq__` must not run under the lock.
            .filter(|w| {
                w.object.as_ptr() == object.as_ptr()
                    && name.is_exact_instance_of::<PyString>()
                    && w.name.bind(py).as_any().eq(name).unwrap_or(false)
            })
            .map(|w| (w.id, w.label.clone(), w.breakpoint.clone()))
            .collect()
    }
}

/// An attribute's value as `object.__getattribute__` reads it; None when unset.
fn stored_value(py: Python<'_>, object: &Bound<'_, PyAny>, name: &Bound<'_, PyAny>) -> Option<Py<PyAny>> {
    // SAFETY: the GIL is held and both are live; a new reference, or NULL with an error set.
    let value =
        unsafe { Bound::from_owned_ptr_or_opt(py, ffi::PyObject_GenericGetAttr(object.as_ptr(), name.as_ptr())) };
    if value.is_none() {
        drop(PyErr::take(py));
    }
    value.map(Bound::unbind)
}

/// `object.__class__ = class`, past the class's own `__setattr__` (which may refuse it, or be
/// watched).
fn set_class(object: &Bound<'_, PyAny>, class: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = object.py();
    // SAFETY: the GIL is held and all three are live; -1 with an error set on failure.
    let done = unsafe {
        ffi::PyObject_GenericSetAttr(object.as_ptr(), pyo3::intern!(py, "__class__").as_ptr(), class.as_ptr())
    };
    if done < 0 {
        Err(PyErr::fetch(py))
    } else {
        Ok(())
    }
}

/// `function` bound to instances as a method is.
fn as_method(function: Bound<'_, PyAny>) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the GIL is held; a new reference, or NULL with an error set.
    unsafe { Bound::from_owned_ptr_or_err(function.py(), PyInstanceMethod_New(function.as_ptr())) }
}

#[pyfunction]
fn watched_setattr(object: &Bound<'_, PyAny>, name: &Bound<'_, PyAny>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    let original = engine().original_class(object)?;
    watched_write(object, name, || original.getattr("__setattr__")?.call1((object, name, value)).map(drop))
}

#[pyfunction]
fn watched_delattr(object: &Bound<'_, PyAny>, name: &Bound<'_, PyAny>) -> PyResult<()> {
    let original = engine().original_class(object)?;
    watched_write(object, name, || original.getattr("__delattr__")?.call1((object, name)).map(drop))
}

/// Makes the write, and if it is the program's and to a watched name, notes it for a stop at the
/// writer's next line. The write's own error is the program's, and reaches it; pydbg's never do.
fn watched_write(
    object: &Bound<'_, PyAny>,
    name: &Bound<'_, PyAny>,
    write: impl FnOnce() -> PyResult<()>,
) -> PyResult<()> {
    let py = object.py();
    let engine = engine();
    let watched = !is_pydbg_thread() && !engine.is_parked(super::current_ident());
    let watches = if watched { engine.attribute_watches_of(py, object, name) } else { Vec::new() };
    if watches.is_empty() {
        return write();
    }
    let old = stored_value(py, object, name);
    write()?;
    let new = stored_value(py, object, name);
    if same_value(py, old.as_ref().map(|v| v.bind(py)), new.as_ref().map(|v| v.bind(py))) {
        return Ok(());
    }
    let Some(writer) = super::callbacks::current_frame(py) else { return Ok(()) };
    // Python may run here (unlike in a dict watcher): the write is judged now, and only one that
    // stops makes the writer's thread stop at its next line.
    let stopping = watches.into_iter().find_map(|(id, label, breakpoint)| {
        let change = DataChange {
            id,
            label,
            old: old.as_ref().map(|v| v.clone_ref(py)),
            new: new.as_ref().map(|v| v.clone_ref(py)),
            breakpoint,
            absent: "(unset)",
            judged: true,
        };
        engine.stop_for_change(py, &change, &writer).map(|_| change)
    });
    if let Some(change) = stopping {
        engine.stop_after_writes(py, &writer, vec![change]);
    }
    Ok(())
}
