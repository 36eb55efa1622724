//! Data breakpoints: a stop when a watched value changes, at the line after the write, in the
//! frame that wrote. A change is a value that is not the same object and not `==` (under a time
//! limit) to the one before.
//!
//! Three kinds, by where the value lives:
//! - A local variable of one live frame (`local_watches.rs`): compared just after each store to
//!   it, at INSTRUCTION events kept only there.
//! - An entry of a dict: a global, a module attribute, a dict item (`dict_watches.rs`). A dict
//!   watcher sees every write, from any code and thread, and the writing thread then stops at its
//!   next line, as a step over would.
//! - An attribute of an object, or an item of a list (`object_watches.rs`): the object's writing
//!   methods are hooked, and a write that changes the value stops the writer at its next line.

use std::sync::Arc;
use std::time::Duration;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::breakpoints::{Behaviour, Placement};
use super::conditions::Breakpoint;
use super::dict_watches::DictWatch;
use super::local_watches::new_watch;
use super::object_watches::{Member, ObjectWatch};
use super::stepping::{Step, StepKind, StepPlan};
use super::threads::StopReason;
use super::{current_ident, Engine};
use crate::inspect::watchdog;

/// User code a comparison or a description runs (`__eq__`, `__repr__`) gets this long.
const USER_CODE_LIMIT: Duration = Duration::from_millis(500);
/// Reprs in a stop's description are cut to this many characters.
const SHORT_REPR: usize = 60;

/// What the client chose to watch.
pub enum WatchTarget {
    /// A local variable of a live function frame.
    Local { frame: Py<PyAny>, name: String },
    /// An entry of a dict: a global (its module's dict), a module attribute, a dict item. `key` is
    /// of a builtin type (str, int, ...), so comparing keys runs no user code; `label` is how the
    /// stop names it.
    DictEntry { dict: Py<PyAny>, key: Py<PyAny>, label: String, absent: &'static str },
    /// An attribute of an object of a Python class (`object_watches.rs`).
    Attribute { object: Py<PyAny>, name: String, label: String },
    /// An item of a list, by index (negative from the end) (`object_watches.rs`).
    Item { list: Py<PyAny>, index: isize, label: String },
}

impl WatchTarget {
    pub fn clone_ref(&self, py: Python<'_>) -> WatchTarget {
        match self {
            WatchTarget::Local { frame, name } => WatchTarget::Local { frame: frame.clone_ref(py), name: name.clone() },
            WatchTarget::DictEntry { dict, key, label, absent } => WatchTarget::DictEntry {
                dict: dict.clone_ref(py),
                key: key.clone_ref(py),
                label: label.clone(),
                absent,
            },
            WatchTarget::Attribute { object, name, label } => {
                WatchTarget::Attribute { object: object.clone_ref(py), name: name.clone(), label: label.clone() }
            }
            WatchTarget::Item { list, index, label } => {
                WatchTarget::Item { list: list.clone_ref(py), index: *index, label: label.clone() }
            }
        }
    }
}

/// A data breakpoint asked for: what to watch (or why it cannot be), with its condition and hit
/// condition.
pub struct DataRequest {
    pub target: Result<WatchTarget, String>,
    pub behaviour: Behaviour,
}

/// Whether a dict key can be watched: made only of exact builtins (str, int, float, bool, None,
/// bytes, tuples of those), so that comparing keys in the dict watcher runs no Python code.
pub fn is_builtin_key(key: &Bound<'_, PyAny>) -> bool {
    // SAFETY: a live object, with the GIL held (a Bound).
    unsafe { super::dict_watches::builtin_key(key.as_ptr()) }
}

/// A watched value's change; None is an unbound variable or a missing entry.
pub(super) struct DataChange {
    pub(super) id: i64,
    pub(super) label: String,
    pub(super) old: Option<Py<PyAny>>,
    pub(super) new: Option<Py<PyAny>>,
    pub(super) breakpoint: Arc<Breakpoint>,
    /// How a missing value is shown: "(unbound)" for a variable, "(missing)" for a dict item.
    pub(super) absent: &'static str,
    /// Already found to be a change that stops: its condition and hit condition agreed.
    pub(super) judged: bool,
}

impl Engine {
    /// Replaces every data breakpoint and reports how each one was placed.
    pub fn set_data_breakpoints(&self, py: Python<'_>, requested: Vec<DataRequest>) -> Vec<Placement> {
        let mut watches = Vec::new();
        let mut dict_watches = Vec::new();
        let mut object_watches = Vec::new();
        let mut answers = Vec::new();
        for request in requested {
            let id = self.next_breakpoint_id();
            let placed = request.target.and_then(|target| {
                let breakpoint = Arc::new(self.compile_breakpoint(py, id, 0, &request.behaviour)?);
                match target {
                    WatchTarget::Local { frame, name } => new_watch(py, id, frame, &name, breakpoint)
                        .map(|watch| watches.push(watch))
                        .map_err(|e| crate::python_errors::describe_error(py, &e)),
                    WatchTarget::DictEntry { dict, key, label, absent } => {
                        dict_watches.push(DictWatch { id, dict, key, label, absent, breakpoint });
                        Ok(())
                    }
                    WatchTarget::Attribute { object, name, label } => {
                        let member = Member::Attribute(PyString::new(py, &name).unbind());
                        object_watches.push(ObjectWatch { id, object, member, label, breakpoint });
                        Ok(())
                    }
                    WatchTarget::Item { list, index, label } => {
                        let member = Member::Item(index);
                        object_watches.push(ObjectWatch { id, object: list, member, label, breakpoint });
                        Ok(())
                    }
                }
            });
            answers.push(Placement { id, line: None, column: None, refusal: placed.err() });
        }
        let dict_ids: Vec<i64> = dict_watches.iter().map(|w| w.id).collect();
        if let Err(refusal) = self.replace_dict_watches(py, dict_watches) {
            for answer in answers.iter_mut().filter(|a| dict_ids.contains(&a.id)) {
                answer.refusal = Some(refusal.clone());
            }
        }
        for (id, refusal) in self.replace_object_watches(py, object_watches) {
            if let Some(answer) = answers.iter_mut().find(|a| a.id == id) {
                answer.refusal = Some(refusal);
            }
        }
        let old = std::mem::replace(&mut self.state.lock().data_watches, watches);
        self.rearm_watched_code(py, old.iter().flat_map(|w| w.codes()).map(|c| c.clone_ref(py)).collect());
        drop(old);
        answers
    }

    /// Writes to watched entries or attributes that `writer` just made: its thread stops at its
    /// next line, as a step over from `writer` would, if a write there proves a change that stops
    /// (`run_control::step_end_reason`). A stopped thread writes only for the debugger itself
    /// (setVariable, evaluate): no stop.
    pub(super) fn stop_after_writes(&self, py: Python<'_>, writer: &Bound<'_, PyAny>, changes: Vec<DataChange>) {
        let ident = current_ident();
        if changes.is_empty() || self.is_parked(ident) {
            return;
        }
        if let Some(mut plan) = self.plans.get_mut(&ident) {
            let replaced = plan.add_data_changes(changes);
            drop(plan);
            drop(replaced);
            return;
        }
        match StepPlan::new(Step::by_line(StepKind::AfterWrite), writer) {
            Ok(mut plan) => {
                let none_replaced = plan.add_data_changes(changes);
                drop(none_replaced);
                self.start_plan(py, plan);
                self.refresh_events(py);
            }
            Err(e) => tracing::error!("stopping after a write: {e}"),
        }
    }

    /// The stop for a noted change, at the line that ends the plan that noted it: judged then
    /// (`==`, condition, hit condition), unless it was when noted.
    pub(super) fn stop_for_noted_change(
        &self,
        py: Python<'_>,
        change: &DataChange,
        frame: &Bound<'_, PyAny>,
    ) -> Option<StopReason> {
        if change.judged {
            return Some(StopReason::DataBreakpoint { id: change.id, description: describe(py, change) });
        }
        let (old, new) = (change.old.as_ref().map(|v| v.bind(py)), change.new.as_ref().map(|v| v.bind(py)));
        if same_value(py, old, new) {
            return None;
        }
        self.stop_for_change(py, change, frame)
    }

    /// The stop for a change, if its condition and hit condition agree, judged in `frame`.
    pub(super) fn stop_for_change(
        &self,
        py: Python<'_>,
        change: &DataChange,
        frame: &Bound<'_, PyAny>,
    ) -> Option<StopReason> {
        self.breakpoint_stops(py, &change.breakpoint, frame)
            .then(|| StopReason::DataBreakpoint { id: change.id, description: describe(py, change) })
    }
}

/// The same object, or equal by `==`. An `__eq__` that raises or runs past its time limit counts
/// as a change: a stop too many is better than a write missed.
pub(super) fn same_value(py: Python<'_>, old: Option<&Bound<'_, PyAny>>, new: Option<&Bound<'_, PyAny>>) -> bool {
    if let Some(equal) = equal_without_python(old, new) {
        return equal;
    }
    match (old, new) {
        (Some(old), Some(new)) => watchdog::limited(py, USER_CODE_LIMIT, || old.eq(new)).unwrap_or(false),
        _ => false,
    }
}

/// Whether two values are equal, when that can be told without running Python: the same object,
/// missing on both sides or one side only, or two values of the same builtin scalar type. None
/// when only `__eq__` can tell.
pub(super) fn equal_without_python(old: Option<&Bound<'_, PyAny>>, new: Option<&Bound<'_, PyAny>>) -> Option<bool> {
    let (old, new) = match (old, new) {
        (None, None) => return Some(true),
        (Some(old), Some(new)) => (old, new),
        _ => return Some(false),
    };
    if old.is(new) {
        return Some(true);
    }
    // SAFETY (Py_TYPE): live objects (Bounds).
    let same_type = unsafe { ffi::Py_TYPE(old.as_ptr()) == ffi::Py_TYPE(new.as_ptr()) };
    if !(same_type && is_builtin_scalar(old) && is_builtin_scalar(new)) {
        return None;
    }
    // SAFETY: the GIL is held; comparing builtin scalars of one type runs no Python code.
    let equal = unsafe { ffi::PyObject_RichCompareBool(old.as_ptr(), new.as_ptr(), ffi::Py_EQ) };
    if equal < 0 {
        // SAFETY: the GIL is held; the error is the comparison's own.
        unsafe { ffi::PyErr_Clear() };
        return None;
    }
    Some(equal == 1)
}

/// None, or an object of exactly int, float, str, bytes or bool: comparing or releasing one runs
/// no Python code.
pub(super) fn is_builtin_scalar(value: &Bound<'_, PyAny>) -> bool {
    value.is_none()
        || value.is_exact_instance_of::<pyo3::types::PyInt>()
        || value.is_exact_instance_of::<pyo3::types::PyFloat>()
        || value.is_exact_instance_of::<pyo3::types::PyString>()
        || value.is_exact_instance_of::<pyo3::types::PyBytes>()
        || value.is_exact_instance_of::<pyo3::types::PyBool>()
}

/// `count: 1 → 2`, with short reprs.
pub(super) fn describe(py: Python<'_>, change: &DataChange) -> String {
    let show = |value: &Option<Py<PyAny>>| match value {
        None => change.absent.to_owned(),
        Some(value) => short_repr(py, value.bind(py)),
    };
    format!("{}: {} → {}", change.label, show(&change.old), show(&change.new))
}

fn short_repr(py: Python<'_>, value: &Bound<'_, PyAny>) -> String {
    let text = watchdog::limited(py, USER_CODE_LIMIT, || value.repr().map(|r| r.to_string()))
        .unwrap_or_else(|_| format!("<{} object>", value.get_type().name().map(|n| n.to_string()).unwrap_or_default()));
    if text.chars().count() <= SHORT_REPR {
        return text;
    }
    let cut: String = text.chars().take(SHORT_REPR - 1).collect();
    format!("{cut}…")
}
