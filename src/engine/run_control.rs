//! Stopping and resuming: parking a thread inside its callback, the all-threads stop, resume,
//! steps and pause.

use std::sync::atomic::Ordering;
use std::sync::mpsc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::signals::DeferredSignals;
use super::stepping::{Step, StepKind, StepPlan};
use super::threads::{Command, Parked, ParkedIn, StopReason};
use super::{current_ident, engine, Engine, EngineEvent, IS_PYDBG_THREAD};

impl Engine {
    /// Resumes after a stop. With `single_thread`, only `ident` runs. Returns whether all threads
    /// continued.
    pub fn resume(&self, ident: u64, step: Option<Step>, single_thread: bool) -> Result<bool, String> {
        let outcome = {
            let mut state = self.state.lock();
            let parked = state.threads.parked.contains_key(&ident);
            if step.is_some() && !parked {
                return Err("that thread is not stopped in Python code (it may be blocked in a call)".into());
            }
            if single_thread {
                if !state.threads.resume_one(ident, step) {
                    // Blocked in C code, not parked yet: keep it from parking for this stop.
                    self.all_stop.exempt(ident);
                }
                return Ok(false);
            }
            self.all_stop.end();
            let outcome = state.threads.resume_all(ident, step);
            if let Some(generation) = outcome.stop_all {
                // The next pending stop is reported at once; the stopped thread brings the others
                // to a stop, since it can take the GIL without waiting.
                if let Some(parked) = outcome
                    .report
                    .as_ref()
                    .and_then(|r| state.threads.ident_of(r.thread_id).and_then(|i| state.threads.parked.get(&i)))
                {
                    let stop_all = Box::new(move |py: Python<'_>| engine().stop_all_threads(py, generation));
                    let _ = parked.commands.send(Command::Run(stop_all));
                }
            }
            outcome
        };
        if let Some(report) = outcome.report {
            self.emit(EngineEvent::Stopped(report));
        }
        Ok(true)
    }

    /// The client asked to pause. Needs the GIL to reach running threads.
    pub fn pause(&self, py: Python<'_>) {
        let outcome = self.state.lock().threads.request_pause();
        if let Some(report) = outcome.report {
            self.emit(EngineEvent::Stopped(report));
        }
        if let Some(generation) = outcome.stop_all {
            self.stop_all_threads(py, generation);
        }
    }

    /// Brings every running thread to a stop at its next line: LINE on each thread's current
    /// frames, PY_START for the frames they enter next.
    pub(super) fn stop_all_threads(&self, py: Python<'_>, generation: u64) {
        {
            let state = self.state.lock();
            if state.threads.generation != generation {
                return; // resumed since this stop was decided
            }
            self.all_stop.begin();
        }
        let result: PyResult<()> = (|| {
            let frames = py.import("sys")?.call_method0("_current_frames")?;
            let frames = frames.cast::<PyDict>()?;
            for (ident, frame) in frames.iter() {
                let ident: u64 = ident.extract()?;
                if self.pydbg_threads.contains(&ident) {
                    continue;
                }
                let mut frame = frame;
                while !frame.is_none() {
                    self.watch_code_for_step(py, &frame.getattr("f_code")?)?;
                    frame = frame.getattr("f_back")?;
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            tracing::error!("stopping all threads: {e}");
        }
        self.refresh_events(py);
    }

    /// Parks the calling thread, which is inside a monitoring callback, until it is resumed.
    /// Returns the KeyboardInterrupt to raise when a terminate released it (see `park_with`).
    pub(super) fn park(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        reason: StopReason,
        parked_in: ParkedIn,
    ) -> Option<PyErr> {
        self.park_with(py, frame, reason, parked_in, None, None)
    }

    pub(crate) fn park_with(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        reason: StopReason,
        parked_in: ParkedIn,
        exception: Option<&Bound<'_, PyAny>>,
        frames: Option<Vec<Py<PyAny>>>,
    ) -> Option<PyErr> {
        let ident = current_ident();
        let show_return_value = self.state.lock().show_return_value;
        let return_values = match self.plans.get(&ident) {
            Some(plan) if show_return_value => {
                plan.return_values.iter().map(|(name, value)| (name.clone(), value.clone_ref(py))).collect()
            }
            _ => Vec::new(),
        };
        let (commands, inbox) = mpsc::channel();
        // Sync wrapper: detach() needs a closure that can be shared across threads.
        let inbox = Mutex::new(inbox);
        let parked = Parked {
            commands,
            frame: frame.clone().unbind(),
            reason,
            parked_in,
            exception: exception.map(|e| e.clone().unbind()),
            frames,
            return_values,
        };
        let Some(outcome) = self.state.lock().threads.park(ident, parked, &self.all_stop) else {
            return None; // the all-threads stop it was to park for is over; a step in progress goes on
        };
        self.plans.remove(&ident);
        if let Some(generation) = outcome.stop_all {
            self.stop_all_threads(py, generation);
        }
        if let Some(report) = outcome.report {
            self.emit(EngineEvent::Stopped(report));
        }
        tracing::debug!(ident, "parked");
        // Inspection runs Python on this thread; outside a callback that code raises events, which
        // must not stop the thread again inside its own stop.
        let was_pydbg = IS_PYDBG_THREAD.with(|f| f.replace(true));
        let on_main_thread = ident == self.main_thread.load(Ordering::Acquire);
        let mut signals = DeferredSignals::default();
        loop {
            match py.detach(|| inbox.lock().recv()) {
                Ok(Command::Run(work)) => {
                    if on_main_thread {
                        signals.defer(py);
                    }
                    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(py))).is_err() {
                        tracing::error!("inspection work panicked on a parked thread");
                    }
                }
                Ok(Command::Resume { step, single_thread }) => {
                    self.resume_here(py, frame, step, single_thread);
                    break;
                }
                Err(_) => {
                    // Released by a detach: run on without a plan.
                    self.refresh_events(py);
                    break;
                }
            }
        }
        IS_PYDBG_THREAD.with(|f| f.set(was_pydbg));
        super::history::locals_may_have_changed();
        tracing::debug!(ident, "resumed");
        if let Some(raised) = signals.restore(py) {
            return Some(raised);
        }
        // terminate's SIGINT reached the main thread while it was parked. Raised here, at the
        // stop, it cannot be missed by a blocking call the program makes next.
        if self.is_terminating() && on_main_thread {
            // SAFETY: called with the GIL held, on the main thread.
            if unsafe { pyo3::ffi::PyErr_CheckSignals() } < 0 {
                return PyErr::take(py);
            }
        }
        None
    }

    pub(super) fn resume_here(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        step: Option<Step>,
        single_thread: bool,
    ) {
        if single_thread {
            self.all_stop.exempt(current_ident());
        }
        self.rebase_data_watches(py, frame);
        if let Some(step) = step {
            match StepPlan::new(step, frame) {
                Ok(plan) => self.start_plan(py, plan),
                Err(e) => tracing::error!("preparing a step: {e}"),
            }
        }
        self.refresh_events(py);
    }

    /// Makes `plan` this thread's, with the events it needs on its frames' code; the caller
    /// refreshes the global events.
    pub(super) fn start_plan(&self, py: Python<'_>, plan: StepPlan) {
        for f in plan.frames() {
            if let Err(e) = crate::frames::code(f.bind(py)).and_then(|c| self.watch_code_for_step(py, &c)) {
                tracing::error!("preparing a step: {e}");
            }
        }
        if let Some(f) = plan.instruction_frame() {
            if let Err(e) = crate::frames::code(f.bind(py)).and_then(|c| self.watch_code_for_instructions(py, &c)) {
                tracing::error!("preparing an instruction step: {e}");
            }
        }
        self.plans.insert(current_ident(), plan);
    }

    /// The stop a step ends with: a write it saw to a watched entry, if that stops, or else
    /// `reason`. A plan made only to see a write ends with no stop when that write does not stop.
    pub(super) fn step_end_reason(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        reason: StopReason,
    ) -> Option<StopReason> {
        let ident = current_ident();
        let (changes, after_write) = match self.plans.get_mut(&ident) {
            Some(mut plan) => (std::mem::take(&mut plan.data_changes), plan.kind == StepKind::AfterWrite),
            None => return Some(reason),
        };
        let data_stop = changes.iter().find_map(|change| self.stop_for_noted_change(py, change, frame));
        if data_stop.is_some() || !after_write {
            return data_stop.or(Some(reason));
        }
        self.plans.remove(&ident);
        self.refresh_events(py);
        None
    }

    pub(super) fn must_stop_for_all_stop(&self) -> bool {
        self.all_stop.applies_to(current_ident())
    }

    /// True while no thread can need an event that a DISABLE would hide.
    pub(super) fn quiet(&self) -> bool {
        self.plans.is_empty() && !self.all_stop.is_active()
    }
}
