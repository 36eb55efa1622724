//! Data breakpoints on attributes of objects (plain classes, dataclasses, `__slots__` classes).
//! A watched object's class is swapped for a private subclass, made once per class, whose
//! `__setattr__` and `__delattr__` call the original ones and report writes of watched names.
//! Every write through `setattr`, from any code and thread, passes there. When no watch is left
//! on the object, its class is put back.
//!
//! The subclass has the original's name, qualname and module, and no slots of its own (so CPython
//! allows the swap); `isinstance` holds, `type(obj) is C` does not while the watch lasts.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyTuple};

use super::conditions::Breakpoint;
use super::data_breakpoints::DataChange;
use super::{engine, is_pydbg_thread, Engine};
use crate::embedded_python::embedded_function;

const HOOKS: &str = r#"
import sys

def watching_class(cls, before, after):
    base_setattr = cls.__setattr__
    base_delattr = cls.__delattr__

    def __setattr__(self, name, value):
        old = before(self, name)
        base_setattr(self, name, value)
        if old is not None:
            after(self, name, old, sys._getframe(1))

    def __delattr__(self, name):
        old = before(self, name)
        base_delattr(self, name)
        if old is not None:
            after(self, name, old, sys._getframe(1))

    namespace = {"__slots__": (), "__setattr__": __setattr__, "__delattr__": __delattr__,
                 "__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__}
    return type(cls)(cls.__name__, (cls,), namespace)
"#;

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
        object.setattr("__class__", subclass)
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
            Some(original) => object.setattr("__class__", original),
            None => Ok(()),
        }
    }

    fn is_private_subclass(&self, class: &Bound<'_, PyAny>) -> bool {
        self.attribute_watches.subclasses.lock().values().any(|(_, subclass)| subclass.as_ptr() == class.as_ptr())
    }

    fn private_subclass<'py>(&self, py: Python<'py>, class: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let key = class.as_ptr() as usize;
        if let Some((_, subclass)) = self.attribute_watches.subclasses.lock().get(&key) {
            return Ok(subclass.bind(py).clone());
        }
        static WATCHING_CLASS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let make = embedded_function(py, &WATCHING_CLASS, HOOKS, c"attribute_hooks", "watching_class")?;
        let module = pyo3::types::PyModule::new(py, "pydbg_attribute_hooks")?;
        let before = wrap_pyfunction!(before_attribute_write, &module)?;
        let after = wrap_pyfunction!(after_attribute_write, &module)?;
        let subclass = make.call1((class, before, after))?;
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
            .filter(|w| w.object.as_ptr() == object.as_ptr() && w.name.bind(py).as_any().eq(name).unwrap_or(false))
            .map(|w| (w.id, w.label.clone(), w.breakpoint.clone()))
            .collect()
    }
}

/// An attribute's value as `object.__getattribute__` reads it; None when unset.
fn stored_value(py: Python<'_>, object: &Bound<'_, PyAny>, name: &Bound<'_, PyAny>) -> Option<Py<PyAny>> {
    // SAFETY: the GIL is held and both are live; a new reference, or NULL with an error set.
    let value =
        unsafe { Bound::from_owned_ptr_or_opt(py, pyo3::ffi::PyObject_GenericGetAttr(object.as_ptr(), name.as_ptr())) };
    if value.is_none() {
        drop(PyErr::take(py));
    }
    value.map(Bound::unbind)
}

/// Called by a watched object's `__setattr__` / `__delattr__` before the write: the old value
/// (as a 1-tuple, empty when unset) if the name is watched and the write is the program's, or
/// None. Never raises: nothing of pydbg's may reach the program.
#[pyfunction]
fn before_attribute_write<'py>(
    py: Python<'py>,
    object: &Bound<'py, PyAny>,
    name: &Bound<'py, PyAny>,
) -> Option<Bound<'py, PyTuple>> {
    let engine = engine();
    if is_pydbg_thread() || engine.is_parked(super::current_ident()) {
        return None;
    }
    if engine.attribute_watches_of(py, object, name).is_empty() {
        return None;
    }
    PyTuple::new(py, stored_value(py, object, name)).ok()
}

/// Called after the write with what `before_attribute_write` returned, and the writing frame.
#[pyfunction]
fn after_attribute_write(
    py: Python<'_>,
    object: &Bound<'_, PyAny>,
    name: &Bound<'_, PyAny>,
    old: &Bound<'_, PyTuple>,
    writer: &Bound<'_, PyAny>,
) {
    let engine = engine();
    let new = stored_value(py, object, name);
    let old: Option<Py<PyAny>> = old.get_item(0).ok().map(Bound::unbind);
    if let (Some(old), Some(new)) = (&old, &new) {
        if old.is(new) {
            return;
        }
    }
    let changes = engine
        .attribute_watches_of(py, object, name)
        .into_iter()
        .map(|(id, label, breakpoint)| DataChange {
            id,
            label,
            old: old.as_ref().map(|v| v.clone_ref(py)),
            new: new.as_ref().map(|v| v.clone_ref(py)),
            breakpoint,
            absent: "(unset)",
        })
        .collect();
    engine.stop_after_writes(py, writer, changes);
}
