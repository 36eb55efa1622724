//! Data breakpoints: a stop when a watched value changes. This first kind watches a local
//! variable of one live frame. Its code object gets LINE (and PY_RETURN) as local events, and at
//! each line that frame reaches, the variable's value is compared with the last one seen: by
//! identity, then with `==` under a time limit. A change stops at that line, the one after the
//! write. The watch ends when its frame returns or unwinds. Other frames of the same code pass
//! through one pointer comparison.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::breakpoints::{Behaviour, Placement};
use super::conditions::Breakpoint;
use super::threads::{ParkedIn, StopReason};
use super::{Engine, EngineEvent};
use crate::frames;
use crate::inspect::watchdog;

/// User code a comparison or a description runs (`__eq__`, `__repr__`) gets this long.
const USER_CODE_LIMIT: Duration = Duration::from_millis(500);
/// Reprs in a stop's description are cut to this many characters.
const SHORT_REPR: usize = 60;

/// A local variable of a live frame, as the client chose it.
pub struct LocalTarget {
    pub frame: Py<PyAny>,
    pub name: String,
}

/// A data breakpoint asked for: what to watch (or why it cannot be), with its condition and hit
/// condition.
pub struct DataRequest {
    pub target: Result<LocalTarget, String>,
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

/// A change one line saw.
struct Change {
    id: i64,
    name: String,
    old: Option<Py<PyAny>>,
    new: Option<Py<PyAny>>,
    breakpoint: Arc<Breakpoint>,
}

impl Engine {
    /// Replaces every data breakpoint and reports how each one was placed.
    pub fn set_data_breakpoints(&self, py: Python<'_>, requested: Vec<DataRequest>) -> Vec<Placement> {
        let mut watches = Vec::new();
        let mut answers = Vec::new();
        for request in requested {
            let id = self.next_breakpoint_id();
            let watch = request.target.and_then(|target| {
                let breakpoint = self.compile_breakpoint(py, id, 0, &request.behaviour)?;
                new_watch(py, id, target, breakpoint).map_err(|e| crate::python_errors::describe_error(py, &e))
            });
            answers.push(match watch {
                Ok(watch) => {
                    watches.push(watch);
                    Placement { id, line: None, column: None, refusal: None }
                }
                Err(message) => Placement { id, line: None, column: None, refusal: Some(message) },
            });
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
        let changes = self.changes_in(py, code, frame);
        let change = changes.into_iter().find(|c| self.breakpoint_stops(py, &c.breakpoint, frame))?;
        Some(StopReason::DataBreakpoint { id: change.id, description: describe(py, &change) })
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
    fn changes_in(&self, py: Python<'_>, code: &Bound<'_, PyAny>, frame: &Bound<'_, PyAny>) -> Vec<Change> {
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
            changes.push(Change { id, name: name.bind(py).to_string(), old, new, breakpoint });
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

fn new_watch(py: Python<'_>, id: i64, target: LocalTarget, breakpoint: Breakpoint) -> PyResult<LocalWatch> {
    let frame = target.frame.bind(py);
    let name = PyString::new(py, &target.name);
    let last = frames::local(frame, &name)?.map(Bound::unbind);
    Ok(LocalWatch {
        id,
        code: frames::code(frame)?.unbind(),
        frame: target.frame,
        name: name.unbind(),
        last,
        breakpoint: Arc::new(breakpoint),
    })
}

/// The same object, or equal by `==`. An `__eq__` that raises or runs past its time limit counts
/// as a change: a stop too many is better than a write missed.
fn same_value(py: Python<'_>, old: Option<&Bound<'_, PyAny>>, new: Option<&Bound<'_, PyAny>>) -> bool {
    match (old, new) {
        (None, None) => true,
        (Some(old), Some(new)) if old.is(new) => true,
        (Some(old), Some(new)) => watchdog::limited(py, USER_CODE_LIMIT, || old.eq(new)).unwrap_or(false),
        _ => false,
    }
}

/// `count: 1 → 2`, with short reprs.
fn describe(py: Python<'_>, change: &Change) -> String {
    let show = |value: &Option<Py<PyAny>>| match value {
        None => "(unbound)".to_owned(),
        Some(value) => short_repr(py, value.bind(py)),
    };
    format!("{}: {} → {}", change.name, show(&change.old), show(&change.new))
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
