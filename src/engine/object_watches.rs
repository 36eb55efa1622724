//! Data breakpoints inside objects: attributes of objects of Python classes (plain classes,
//! dataclasses, `__slots__` classes) and items of lists. A watched object's class is swapped for a
//! private subclass, made once per class, whose writing methods call the original ones and report
//! writes that change a watched member:
//! - `__setattr__` and `__delattr__`, for attributes;
//! - for lists, every method that writes items: `__setitem__`, `__delitem__`, `__iadd__`,
//!   `__imul__`, `append`, `extend`, `insert`, `pop`, `remove`, `clear`, `sort`, `reverse`.
//!
//! They are Rust functions bound as methods (`PyInstanceMethod_New`): no frame of pydbg's appears
//! in the program's tracebacks, and the frame that called them is the writer's. Every write through
//! them, from any code and thread, passes there. When no watch is left on the object, its class is
//! put back.
//!
//! The subclass has the original's name, qualname and module, and no slots of its own, so the two
//! layouts are the same; `isinstance` holds, `type(obj) is C` does not while the watch lasts.
//! CPython refuses to assign `__class__` of a builtin type's object; for `list` pydbg swaps the
//! type pointer itself, after checking that the layouts match (docs/decisions.md).

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple, PyType};

use super::conditions::Breakpoint;
use super::data_breakpoints::{same_value, DataChange};
use super::{engine, is_pydbg_thread, Engine};

// Not in the limited API, but in every CPython 3.12+ (cpython/classobject.h): wraps a callable so
// that it binds to the instance as a function does.
extern "C" {
    fn PyInstanceMethod_New(function: *mut ffi::PyObject) -> *mut ffi::PyObject;
}

/// The methods that write an object's attributes.
const ATTRIBUTE_WRITERS: [&str; 2] = ["__setattr__", "__delattr__"];
/// The methods of `list` that write its items.
const LIST_WRITERS: [&str; 12] = [
    "__setitem__",
    "__delitem__",
    "__iadd__",
    "__imul__",
    "append",
    "extend",
    "insert",
    "pop",
    "remove",
    "clear",
    "sort",
    "reverse",
];

/// What of an object a watch is on.
pub(super) enum Member {
    Attribute(Py<PyString>),
    /// An index of a list; a negative one counts from the end, as in Python.
    Item(isize),
}

/// A watched attribute or item. The object is held, so that its address stays its own.
pub(super) struct ObjectWatch {
    pub(super) id: i64,
    pub(super) object: Py<PyAny>,
    pub(super) member: Member,
    pub(super) label: String,
    pub(super) breakpoint: Arc<Breakpoint>,
}

#[derive(Default)]
pub(super) struct ObjectWatches {
    watches: Mutex<Vec<ObjectWatch>>,
    /// Each class's private subclass, by the class's address; both held.
    subclasses: Mutex<HashMap<usize, (Py<PyAny>, Py<PyAny>)>>,
}

impl Engine {
    /// Replaces the watched attributes and items. Each object is hooked, or refused with the
    /// reason (a class CPython will not swap); objects no longer watched get their class back.
    /// Returns the refusals by watch id.
    pub(super) fn replace_object_watches(&self, py: Python<'_>, watches: Vec<ObjectWatch>) -> Vec<(i64, String)> {
        let mut refusals = Vec::new();
        let mut kept = Vec::new();
        for watch in watches {
            match self.hook_object(py, watch.object.bind(py)) {
                Ok(()) => kept.push(watch),
                Err(e) => refusals.push((watch.id, crate::python_errors::describe_error(py, &e))),
            }
        }
        let now: Vec<usize> = kept.iter().map(|w| w.object.as_ptr() as usize).collect();
        let old = std::mem::replace(&mut *self.object_watches.watches.lock(), kept);
        let mut restored: Vec<usize> = Vec::new();
        for watch in &old {
            let address = watch.object.as_ptr() as usize;
            if now.contains(&address) || restored.contains(&address) {
                continue;
            }
            restored.push(address);
            if let Err(e) = self.unhook_object(py, watch.object.bind(py)) {
                tracing::error!("restoring the class of a watched object: {e}");
            }
        }
        drop(old);
        refusals
    }

    fn hook_object(&self, py: Python<'_>, object: &Bound<'_, PyAny>) -> PyResult<()> {
        let class = object.get_type();
        if self.is_private_subclass(class.as_any()) {
            return Ok(());
        }
        let subclass = self.private_subclass(py, &class)?;
        set_class(object, &subclass)
    }

    fn unhook_object(&self, py: Python<'_>, object: &Bound<'_, PyAny>) -> PyResult<()> {
        let class = object.get_type().into_any();
        let original = self
            .object_watches
            .subclasses
            .lock()
            .values()
            .find_map(|(original, subclass)| (subclass.as_ptr() == class.as_ptr()).then(|| original.clone_ref(py)));
        match original {
            Some(original) => set_class(object, original.bind(py).cast()?),
            None => Ok(()),
        }
    }

    fn is_private_subclass(&self, class: &Bound<'_, PyAny>) -> bool {
        self.object_watches.subclasses.lock().values().any(|(_, subclass)| subclass.as_ptr() == class.as_ptr())
    }

    fn private_subclass<'py>(&self, py: Python<'py>, class: &Bound<'py, PyType>) -> PyResult<Bound<'py, PyType>> {
        let key = class.as_ptr() as usize;
        if let Some((_, subclass)) = self.object_watches.subclasses.lock().get(&key) {
            return Ok(subclass.bind(py).cast()?.clone());
        }
        let namespace = PyDict::new(py);
        namespace.set_item("__slots__", PyTuple::empty(py))?;
        let list_writers: &[&str] = if class.is_subclass_of::<PyList>()? { &LIST_WRITERS } else { &[] };
        for name in ATTRIBUTE_WRITERS.iter().chain(list_writers) {
            let writer = WritingMethod {
                original: class.clone().unbind(),
                name: PyString::intern(py, name).unbind(),
                writes_attribute: ATTRIBUTE_WRITERS.contains(name),
            };
            namespace.set_item(name, as_method(Bound::new(py, writer)?.into_any())?)?;
        }
        for name in ["__module__", "__qualname__", "__doc__"] {
            namespace.set_item(name, class.getattr(name)?)?;
        }
        // The class's own metaclass makes the subclass, as `class Sub(C)` would. (Another thread
        // may have made one meanwhile: the first one made is the one kept.)
        let made = class.get_type().call1((class.getattr("__name__")?, (class,), namespace))?;
        let kept = {
            let mut subclasses = self.object_watches.subclasses.lock();
            let entry =
                subclasses.entry(key).or_insert_with(|| (class.clone().into_any().unbind(), made.clone().unbind()));
            entry.1.clone_ref(py)
        };
        // (`made`, if not kept, is released here, after the lock.)
        Ok(kept.into_bound(py).cast_into::<PyType>()?)
    }

    fn is_object_watch(&self, id: i64) -> bool {
        self.object_watches.watches.lock().iter().any(|w| w.id == id)
    }

    /// The watches on `object` that a write may change: those of the attribute `attribute`, or
    /// else (a list method) those of items.
    fn watches_written(
        &self,
        py: Python<'_>,
        object: &Bound<'_, PyAny>,
        attribute: Option<&Bound<'_, PyAny>>,
    ) -> Vec<(i64, Member, String, Arc<Breakpoint>)> {
        self.object_watches
            .watches
            .lock()
            .iter()
            .filter(|w| w.object.as_ptr() == object.as_ptr())
            .filter(|w| match (&w.member, attribute) {
                // Only an exact str is compared: a str subclass's `__eq__` must not run under the
                // lock.
                (Member::Attribute(name), Some(written)) => {
                    written.is_exact_instance_of::<PyString>() && name.bind(py).as_any().eq(written).unwrap_or(false)
                }
                (Member::Item(_), None) => true,
                _ => false,
            })
            .map(|w| (w.id, w.member.clone_ref(py), w.label.clone(), w.breakpoint.clone()))
            .collect()
    }
}

impl Member {
    fn clone_ref(&self, py: Python<'_>) -> Member {
        match self {
            Member::Attribute(name) => Member::Attribute(name.clone_ref(py)),
            Member::Item(index) => Member::Item(*index),
        }
    }

    /// The member's value as the object stores it; None when unset or out of range.
    fn value(&self, object: &Bound<'_, PyAny>) -> Option<Py<PyAny>> {
        match self {
            Member::Attribute(name) => stored_value(object, name.bind(object.py())),
            Member::Item(index) => item_at(object, *index),
        }
    }

    fn absent(&self) -> &'static str {
        match self {
            Member::Attribute(_) => "(unset)",
            Member::Item(_) => "(missing)",
        }
    }
}

/// An attribute's value as `object.__getattribute__` reads it; None when unset.
fn stored_value(object: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> Option<Py<PyAny>> {
    let py = object.py();
    // SAFETY: the GIL is held and both are live; a new reference, or NULL with an error set.
    let value =
        unsafe { Bound::from_owned_ptr_or_opt(py, ffi::PyObject_GenericGetAttr(object.as_ptr(), name.as_ptr())) };
    if value.is_none() {
        drop(PyErr::take(py));
    }
    value.map(Bound::unbind)
}

/// A list's item at `index` (negative from the end), read without calling the list's methods.
fn item_at(object: &Bound<'_, PyAny>, index: isize) -> Option<Py<PyAny>> {
    let list = object.cast::<PyList>().ok()?;
    let length = list.len() as isize;
    let index = if index < 0 { index + length } else { index };
    (0..length).contains(&index).then(|| list.get_item(index as usize).ok()).flatten().map(Bound::unbind)
}

/// `object.__class__ = class`, past the class's own `__setattr__` (which may refuse it, or be
/// watched). Between `list` and its private subclass, which CPython refuses, the type pointer is
/// swapped as CPython's own assignment does it.
fn set_class(object: &Bound<'_, PyAny>, class: &Bound<'_, PyType>) -> PyResult<()> {
    let py = object.py();
    let list = py.get_type::<PyList>();
    if object.get_type().is(&list) || class.is(&list) {
        return swap_list_type(object, class);
    }
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

/// Swaps an exact list's type for `class` (or back). Only a subclass with `list`'s own layout is
/// taken: the same size, and nothing stored before the object (no managed dict or weakref list),
/// which is what `__slots__ = ()` gives.
fn swap_list_type(object: &Bound<'_, PyAny>, class: &Bound<'_, PyType>) -> PyResult<()> {
    const MANAGED_WEAKREF: u64 = 1 << 3;
    const MANAGED_DICT: u64 = 1 << 4;
    const HEAP_TYPE: u64 = 1 << 9;
    let py = object.py();
    let list = py.get_type::<PyList>();
    let (old, new) = (object.get_type(), class.clone());
    for class in [&old, &new] {
        let same_size = class.getattr("__basicsize__")?.eq(list.getattr("__basicsize__")?)?;
        let flags: u64 = class.getattr("__flags__")?.extract()?;
        if !same_size || flags & (MANAGED_WEAKREF | MANAGED_DICT) != 0 || !class.is_subclass(&list)? {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!("cannot hook a list of class {class}")));
        }
    }
    let is_heap = |class: &Bound<'_, PyType>| -> PyResult<bool> {
        Ok(class.getattr("__flags__")?.extract::<u64>()? & HEAP_TYPE != 0)
    };
    let (old_is_heap, new_is_heap) = (is_heap(&old)?, is_heap(&new)?);
    // SAFETY: the GIL is held; both types have the object's layout (checked above). As in
    // CPython's `object_set_class`: an object holds a reference to its type when it is a heap type.
    unsafe {
        if new_is_heap {
            ffi::Py_INCREF(new.as_ptr());
        }
        (*object.as_ptr()).ob_type = new.as_ptr().cast();
        if old_is_heap {
            ffi::Py_DECREF(old.as_ptr());
        }
    }
    Ok(())
}

/// `function` bound to instances as a method is.
fn as_method(function: Bound<'_, PyAny>) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the GIL is held; a new reference, or NULL with an error set.
    unsafe { Bound::from_owned_ptr_or_err(function.py(), PyInstanceMethod_New(function.as_ptr())) }
}

// A writing method of a private subclass: the original class's own method makes the write, then
// the watched members it may have changed are compared. The original is the one the subclass was
// made from, also for a class the program derives from the private one, and for a call through
// a method looked up before the object got its class back. (A `//` comment: a doc comment would
// become the class's `__doc__`, which the program would read instead of the original's.)
#[pyclass(frozen)]
struct WritingMethod {
    original: Py<PyType>,
    name: Py<PyString>,
    /// `__setattr__` or `__delattr__`, whose first argument names the attribute; else a list's.
    writes_attribute: bool,
}

#[pymethods]
impl WritingMethod {
    // The arguments go to the original method as they came: with none, or the wrong ones, the
    // program gets the original's own TypeError.
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__<'py>(
        &self,
        py: Python<'py>,
        args: &Bound<'py, PyTuple>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let method = self.original_method(py)?;
        let Ok(object) = args.get_item(0) else { return method.call(args, kwargs) };
        let attribute = match (self.writes_attribute, args.get_item(1)) {
            (false, _) => None,
            (true, Ok(name)) => Some(name),
            (true, Err(_)) => return method.call(args, kwargs),
        };
        watched_write(&object, attribute.as_ref(), || method.call(args, kwargs))
    }

    // What introspection and reprs read (`<bound method list.append of [...]>`): the original's.
    #[getter]
    fn __name__<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        self.name.bind(py).clone()
    }

    #[getter]
    fn __qualname__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.original_method(py)?.getattr("__qualname__")
    }

    #[getter]
    fn __doc__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.original_method(py)?.getattr("__doc__")
    }
}

impl WritingMethod {
    fn original_method<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.original.bind(py).getattr(self.name.bind(py))
    }
}

/// Makes the write, and if it is the program's and changes a watched member (the attribute
/// `attribute`, or else the items), notes it for a stop at the writer's next line. A write that
/// fails may have changed the object first (`extend` from a generator that raises): it is
/// compared too. The write's own result or error is the program's, and reaches it; pydbg's never
/// do.
fn watched_write<'py>(
    object: &Bound<'py, PyAny>,
    attribute: Option<&Bound<'py, PyAny>>,
    write: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = object.py();
    let engine = engine();
    let watched = !is_pydbg_thread() && !engine.is_parked(super::current_ident());
    let watches = if watched { engine.watches_written(py, object, attribute) } else { Vec::new() };
    if watches.is_empty() {
        return write();
    }
    let before: Vec<Option<Py<PyAny>>> = watches.iter().map(|(_, member, ..)| member.value(object)).collect();
    let written = write();
    let Some(writer) = super::callbacks::current_frame(py) else { return written };
    // Python may run here (unlike in a dict watcher): the write is judged now, and only one that
    // stops makes the writer's thread stop at its next line. A watch removed meanwhile (the write
    // or a comparison ran Python, and the client changed its set) no longer stops.
    let stopping = watches.into_iter().zip(before).find_map(|((id, member, label, breakpoint), old)| {
        let new = member.value(object);
        if same_value(py, old.as_ref().map(|v| v.bind(py)), new.as_ref().map(|v| v.bind(py))) {
            return None;
        }
        let change = DataChange { id, label, old, new, breakpoint, absent: member.absent(), judged: true };
        engine.stop_for_change(py, &change, &writer).filter(|_| engine.is_object_watch(id)).map(|_| change)
    });
    if let Some(change) = stopping {
        engine.stop_after_writes(py, &writer, vec![change]);
    }
    written
}
