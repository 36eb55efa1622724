//! Event arming: the one place that calls `set_local_events`, `set_events` and `restart_events`.
//! LINE goes on only on code objects with breakpoints or that a step or stop needs; global events
//! only while something must see them.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::prelude::*;

use super::files::{FileInfo, Origin};
use super::{ArmedCode, Engine, State, TOOL_ID};

impl Engine {
    pub(super) fn local_events_for(&self, state: &State, address: usize) -> i64 {
        let ids = self.monitoring.ids;
        let mut events = 0;
        if state.breakpoint_code.contains_key(&address) {
            events |= ids.line;
        }
        let column_stops = state.column_code.get(&address).is_some_and(|c| !c.by_offset.is_empty());
        if state.instruction_breakpoints.contains_key(&address) || column_stops {
            events |= ids.instruction;
        }
        if let Some((_, step_events)) = state.step_code.get(&address) {
            events |= step_events;
        }
        if Engine::watches_code(state, address) {
            events |= ids.instruction | ids.py_return;
        }
        if state.recorded_code.contains_key(&address) {
            events |= self.recording_events();
        }
        events
    }

    pub(super) fn set_local_events(&self, py: Python<'_>, code: &Bound<'_, PyAny>, events: i64) {
        if let Err(e) = self.monitoring.set_local_events.bind(py).call1((TOOL_ID, code, events)) {
            tracing::warn!("set_local_events: {e}");
        }
    }

    pub(super) fn watch_code_for_step(&self, py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<()> {
        let ids = self.monitoring.ids;
        self.watch_code(py, code, ids.line | ids.py_return | ids.py_yield)
    }

    /// An instruction in this code may end a step: the one a stepping frame returned to, or the
    /// next one of an instruction step's origin.
    pub(super) fn watch_code_for_instructions(&self, py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<()> {
        let ids = self.monitoring.ids;
        self.watch_code(py, code, ids.line | ids.py_return | ids.py_yield | ids.instruction)
    }

    /// A function called by the line a step is over: what it returns is shown at the stop.
    pub(super) fn watch_code_for_return_value(&self, py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<()> {
        self.watch_code(py, code, self.monitoring.ids.py_return)
    }

    pub(super) fn watch_code(&self, py: Python<'_>, code: &Bound<'_, PyAny>, events: i64) -> PyResult<()> {
        let filename: String = code.getattr(pyo3::intern!(py, "co_filename"))?.extract()?;
        let mut state = self.state.lock();
        if state.files.info(&filename).origin == Origin::Internal {
            return Ok(());
        }
        let address = code.as_ptr() as usize;
        let entry = state.step_code.entry(address).or_insert_with(|| (code.clone().unbind(), 0));
        entry.1 |= events;
        let events = self.local_events_for(&state, address);
        drop(state);
        self.set_local_events(py, code, events);
        Ok(())
    }

    /// Turns LINE on for `code`, of `file`, which has breakpoints.
    pub(super) fn watch_code_for_breakpoints(&self, py: Python<'_>, code: &Bound<'_, PyAny>, file: Arc<FileInfo>) {
        let address = code.as_ptr() as usize;
        let mut state = self.state.lock();
        state.breakpoint_code.entry(address).or_insert_with(|| ArmedCode { code: code.clone().unbind(), file });
        let events = self.local_events_for(&state, address);
        drop(state);
        self.set_local_events(py, code, events);
    }

    /// Brings global events in line with the current breakpoints, plans and stops, resets step
    /// instrumentation once no step or stop needs it, and re-arms lines disabled under an older plan.
    pub(super) fn refresh_events(&self, py: Python<'_>) {
        let ids = self.monitoring.ids;
        let quiet = self.quiet();
        let mut state = self.state.lock();
        let watching = !state.line_breakpoints.is_empty() || !state.function_breakpoints.is_empty();
        let mut global = 0;
        if watching || !quiet || state.recording.is_some() {
            global |= ids.py_start;
        }
        // A watched local's frame can end by unwinding; PY_UNWIND cannot be a local event.
        let frame_exits = !self.plans.is_empty() || !state.data_watches.is_empty();
        if frame_exits || state.exception_filters.wants_unwind_events() {
            global |= ids.py_unwind;
        }
        if state.exception_filters.wants_raise_events() {
            global |= ids.raise;
        }
        let finished_steps = if quiet { std::mem::take(&mut state.step_code) } else { HashMap::new() };
        let resets: Vec<(Py<PyAny>, i64)> = finished_steps
            .into_iter()
            .map(|(address, (code, _))| (code, self.local_events_for(&state, address)))
            .collect();
        let global_changed = std::mem::replace(&mut state.global_events, global) != global;
        drop(state);
        for (code, events) in &resets {
            self.set_local_events(py, code.bind(py), *events);
        }
        let m = &self.monitoring;
        if global_changed {
            if let Err(e) = m.set_events.bind(py).call1((TOOL_ID, global)) {
                tracing::error!("set_events: {e}");
            }
        }
        if let Err(e) = m.restart_events.bind(py).call0() {
            tracing::error!("restart_events: {e}");
        }
    }
}
