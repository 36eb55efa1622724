//! Data breakpoints: a stop when a watched value changes, at the line after the write, in the
//! frame that wrote. A change is a value that is not the same object and not `==` (under a time
//! limit) to the one before.
//!
//! Two kinds, by where the value lives:
//! - A local variable of one live frame (here). Its code object gets LINE (and PY_RETURN) as local
//!   events, and at each line that frame reaches, the variable's value is compared with the last
//!   one seen. The watch ends when its frame returns or unwinds. Other frames of the same code
//!   pass through one pointer comparison.
//! - An entry of a dict: a global, a module attribute, a dict item (`dict_watches.rs`). A dict
//!   watcher sees every write, from any code and thread, and the writing thread then stops at its
//!   next line, as a step over would.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::attribute_watches::AttributeWatch;
use super::breakpoints::{Behaviour, Placement};
use super::conditions::Breakpoint;
use super::dict_watches::DictWatch;
use super::stepping::{Step, StepKind, StepPlan};
use super::threads::{ParkedIn, StopReason};
use super::{current_ident, Engine, EngineEvent};
use crate::frames;
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
    /// An attribute of an object of a Python class (`attribute_watches.rs`).
    Attribute { object: Py<PyAny>, name: String, label: String },
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
        }
    }
}

/// A data breakpoint asked for: what to watch (or why it cannot be), with its condition and hit
/// condition.
pub struct DataRequest {
    pub target: Result<WatchTarget, String>,
    pub behaviour: Behaviour,
}

pub(super) struct LocalWatch {
    id: i64,
    /// Held, so that its address, which LINE events are matched by, stays its own.
    frame: Py<PyAny>,
    code: Py<PyAny>,
    name: Py<PyString>,
    /// The value at the last line the frame reached; None while unbound.
    last: Option<Py<PyAny>>,
    breakpoint: Arc<Breakpoint>,
}

impl LocalWatch {
    pub(super) fn code(&self) -> &Py<PyAny> {
        &self.code
    }

    fn code_address(&self) -> usize {
        self.code.as_ptr() as usize
    }
}

/// A watch of the frame at hand: its id, variable, last value and breakpoint.
type Candidate = (i64, Py<PyString>, Option<Py<PyAny>>, Arc<Breakpoint>);

/// A watched value's change; None is an unbound variable or a missing entry.
pub(super) struct DataChange {
    pub(super) id: i64,
    pub(super) label: String,
    pub(super) old: Option<Py<PyAny>>,
    pub(super) new: Option<Py<PyAny>>,
    pub(super) breakpoint: Arc<Breakpoint>,
    /// How a missing value is shown: "(unbound)" for a variable, "(missing)" for a dict item.
    pub(super) absent: &'static str,
}

impl Engine {
    /// Replaces every data breakpoint and reports how each one was placed.
    pub fn set_data_breakpoints(&self, py: Python<'_>, requested: Vec<DataRequest>) -> Vec<Placement> {
        let mut watches = Vec::new();
        let mut dict_watches = Vec::new();
        let mut attribute_watches = Vec::new();
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
                        let name = PyString::new(py, &name).unbind();
                        attribute_watches.push(AttributeWatch { id, object, name, label, breakpoint });
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
        for (id, refusal) in self.replace_attribute_watches(py, attribute_watches) {
            if let Some(answer) = answers.iter_mut().find(|a| a.id == id) {
                answer.refusal = Some(refusal);
            }
        }
        let old = std::mem::replace(&mut self.state.lock().data_watches, watches);
        self.rearm_watched_code(py, old.iter().map(|w| w.code.clone_ref(py)).collect());
        drop(old);
        answers
    }

    /// Whether a local watch is on `address`'s code (called with the state lock held).
    pub(super) fn watches_code(state: &super::State, address: usize) -> bool {
        state.data_watches.iter().any(|w| w.code_address() == address)
    }

    /// At a LINE event of watched code: the watches of this frame whose value changed since the
    /// frame's last line, if one of them stops (its condition and hit condition agree).
    /// Returns the stop's reason.
    pub(super) fn data_change_stop(
        &self,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        frame: &Bound<'_, PyAny>,
    ) -> Option<StopReason> {
        self.changes_in(py, code, frame).iter().find_map(|change| self.stop_for_change(py, change, frame))
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
            plan.add_data_changes(changes);
            return;
        }
        match StepPlan::new(Step::by_line(StepKind::AfterWrite), writer) {
            Ok(mut plan) => {
                plan.add_data_changes(changes);
                self.start_plan(py, plan);
                self.refresh_events(py);
            }
            Err(e) => tracing::error!("stopping after a write: {e}"),
        }
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

    /// The frame is leaving for good: its last write is judged, then its watches end.
    pub(super) fn data_frame_exit(
        &self,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        frame: &Bound<'_, PyAny>,
    ) -> Option<PyErr> {
        let interrupt = self
            .data_change_stop(py, code, frame)
            .and_then(|reason| self.park(py, frame, reason, ParkedIn::OtherEvent));
        let ended: Vec<LocalWatch> = {
            let mut state = self.state.lock();
            let (ended, kept) =
                std::mem::take(&mut state.data_watches).into_iter().partition(|w| w.frame.as_ptr() == frame.as_ptr());
            state.data_watches = kept;
            ended
        };
        if !ended.is_empty() {
            for watch in &ended {
                let name = watch.name.bind(py).to_string();
                self.emit(EngineEvent::DataWatchEnded {
                    id: watch.id,
                    reason: format!("`{name}` is gone: its frame returned"),
                });
            }
            self.rearm_watched_code(py, ended.iter().map(|w| w.code.clone_ref(py)).collect());
        }
        drop(ended);
        interrupt
    }

    /// The debugger itself may have written the watched locals of `frame`'s thread while it was
    /// stopped (setVariable, evaluate): their values now are the ones to compare with.
    pub(super) fn rebase_data_watches(&self, py: Python<'_>, stopped: &Bound<'_, PyAny>) {
        let mut on_stack = Vec::new();
        let mut next = Some(stopped.clone());
        while let Some(frame) = next {
            next = frames::back(&frame).ok().flatten();
            on_stack.push(frame.as_ptr() as usize);
        }
        let watched: Vec<(i64, Py<PyAny>, Py<PyString>)> = {
            let state = self.state.lock();
            state
                .data_watches
                .iter()
                .filter(|w| on_stack.contains(&(w.frame.as_ptr() as usize)))
                .map(|w| (w.id, w.frame.clone_ref(py), w.name.clone_ref(py)))
                .collect()
        };
        for (id, frame, name) in watched {
            let value = frames::local(frame.bind(py), name.bind(py)).ok().flatten().map(Bound::unbind);
            if let Some(watch) = self.state.lock().data_watches.iter_mut().find(|w| w.id == id) {
                watch.last = value;
            }
        }
    }

    /// The changed watches of `frame`, their last values brought up to date. No Python runs
    /// under the state lock: values are read by the frame API, compared after.
    fn changes_in(&self, py: Python<'_>, code: &Bound<'_, PyAny>, frame: &Bound<'_, PyAny>) -> Vec<DataChange> {
        let address = code.as_ptr() as usize;
        let candidates: Vec<Candidate> = {
            let state = self.state.lock();
            state
                .data_watches
                .iter()
                .filter(|w| w.code_address() == address && w.frame.as_ptr() == frame.as_ptr())
                .map(|w| (w.id, w.name.clone_ref(py), w.last.as_ref().map(|v| v.clone_ref(py)), w.breakpoint.clone()))
                .collect()
        };
        let mut changes = Vec::new();
        for (id, name, old, breakpoint) in candidates {
            let new = frames::local(frame, name.bind(py)).ok().flatten();
            if same_value(py, old.as_ref().map(|v| v.bind(py)), new.as_ref()) {
                continue;
            }
            let new = new.map(Bound::unbind);
            if let Some(watch) = self.state.lock().data_watches.iter_mut().find(|w| w.id == id) {
                watch.last = new.as_ref().map(|v| v.clone_ref(py));
            }
            changes.push(DataChange {
                id,
                label: name.bind(py).to_string(),
                old,
                new,
                breakpoint,
                absent: "(unbound)",
            });
        }
        changes
    }

    /// Sets the local events of code that gained or lost watches, and the global ones.
    fn rearm_watched_code(&self, py: Python<'_>, mut touched: Vec<Py<PyAny>>) {
        let rearm: Vec<(Py<PyAny>, i64)> = {
            let state = self.state.lock();
            touched.extend(state.data_watches.iter().map(|w| w.code.clone_ref(py)));
            touched
                .into_iter()
                .map(|code| {
                    let events = self.local_events_for(&state, code.as_ptr() as usize);
                    (code, events)
                })
                .collect()
        };
        for (code, events) in &rearm {
            self.set_local_events(py, code.bind(py), *events);
        }
        self.refresh_events(py);
    }
}

fn new_watch(
    py: Python<'_>,
    id: i64,
    frame: Py<PyAny>,
    name: &str,
    breakpoint: Arc<Breakpoint>,
) -> PyResult<LocalWatch> {
    let name = PyString::new(py, name);
    let last = frames::local(frame.bind(py), &name)?.map(Bound::unbind);
    Ok(LocalWatch { id, code: frames::code(frame.bind(py))?.unbind(), frame, name: name.unbind(), last, breakpoint })
}

/// The same object, or equal by `==`. An `__eq__` that raises or runs past its time limit counts
/// as a change: a stop too many is better than a write missed.
pub(super) fn same_value(py: Python<'_>, old: Option<&Bound<'_, PyAny>>, new: Option<&Bound<'_, PyAny>>) -> bool {
    match (old, new) {
        (None, None) => true,
        (Some(old), Some(new)) if old.is(new) => true,
        (Some(old), Some(new)) => watchdog::limited(py, USER_CODE_LIMIT, || old.eq(new)).unwrap_or(false),
        _ => false,
    }
}

/// `count: 1 → 2`, with short reprs.
fn describe(py: Python<'_>, change: &DataChange) -> String {
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
