//! The engine's life with a client and a program: a client attaches, configures (justMyCode,
//! return values, output), finishes configuring, and detaches, which clears everything it chose;
//! the program forks, exits or is terminated.

use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::Duration;

use parking_lot::Mutex;
use pyo3::prelude::*;
use tokio::sync::mpsc::UnboundedSender;

use super::exceptions::ExceptionFilters;
use super::files::{CodeRule, Origin, RuleRequest, RuleScope};
use super::stepping::{StepKind, StepPlan};
use super::threads::{ParkedIn, StopReason, Threads};
use super::{current_ident, is_pydbg_thread, Engine, EngineEvent, State};

/// Where a module's code lives: its package directory, or its file.
fn module_location(py: Python<'_>, module: &str) -> Option<String> {
    let spec = py.import("importlib.util").ok()?.call_method1("find_spec", (module,)).ok()?;
    if spec.is_none() {
        return None;
    }
    if let Ok(Some(locations)) = spec.getattr("submodule_search_locations").map(|l| (!l.is_none()).then_some(l)) {
        return locations.try_iter().ok()?.next()?.ok()?.extract().ok();
    }
    spec.getattr("origin").ok()?.extract().ok()
}

/// `sys.monitoring.DEBUGGER_ID`.
impl Engine {
    pub fn program_name(&self) -> &str {
        &self.program_name
    }

    pub fn set_forward_program_output(&self, on: bool) {
        self.forward_program_output.store(on, Ordering::Release);
    }

    /// The program's own stdout/stderr, from the tee in `_hooks.py`.
    pub fn program_output(&self, category: &'static str, text: String) {
        if self.forward_program_output.load(Ordering::Acquire) {
            self.output(category, text);
        }
    }

    /// stopOnEntry: stop at the first line of the user's program, if it has not started yet.
    pub fn stop_on_entry(&self, py: Python<'_>) {
        if !self.program_waiting.load(Ordering::Acquire) {
            return;
        }
        let Some(main) = self.state.lock().threads.ident_of(1) else { return };
        self.plans.insert(main, StepPlan::entry(StepKind::ProgramEntry));
        self.refresh_events(py);
    }

    pub fn attach_client(&self, events: UnboundedSender<EngineEvent>) {
        *self.client.lock() = Some(events);
        self.client_attached.store(true, Ordering::Release);
    }

    /// justMyCode and its rules, from attach. Module rules become path rules here, where the
    /// module's location can be found without importing it.
    pub fn set_show_return_value(&self, on: bool) {
        self.state.lock().show_return_value = on;
    }

    pub fn set_just_my_code(&self, py: Python<'_>, on: bool, rules: &[RuleRequest]) -> Result<(), String> {
        let mut resolved = Vec::new();
        for rule in rules {
            let prefix = match &rule.scope {
                RuleScope::Path(path) => path.clone(),
                RuleScope::Module(module) => module_location(py, module)
                    .ok_or_else(|| format!("justMyCode rule: no module named {module:?} can be found"))?,
            };
            resolved.push(CodeRule { prefix, include: rule.include });
        }
        let mut state = self.state.lock();
        state.just_my_code = on;
        state.files.set_rules(resolved);
        state.recorded_files.clear();
        let State { breakpoint_code, recorded_code, files, .. } = &mut *state;
        let armed = breakpoint_code.values_mut().chain(recorded_code.values_mut().map(|r| &mut r.armed));
        for armed in armed {
            if let Ok(filename) = armed.code.bind(py).getattr("co_filename").and_then(|f| f.extract::<String>()) {
                armed.file = files.info(&filename);
            }
        }
        Ok(())
    }

    /// The client has gone or disconnected: remove every breakpoint and stop, and let the program
    /// run on at full speed.
    pub fn detach_client(&self, py: Python<'_>) {
        self.client_attached.store(false, Ordering::Release);
        *self.client.lock() = None;
        // What the client chose ends with it: the next one starts from the defaults.
        self.breakpoint_calls_stop.store(true, Ordering::Release);
        self.replace_exception_filters(ExceptionFilters::uncaught_only());
        self.set_recording(py, None);
        self.clear_debugging(py);
    }

    fn clear_debugging(&self, py: Python<'_>) {
        let (line_bps, function_bps, codes, instruction_bps, column_code, data_watches, parked) = {
            let mut state = self.state.lock();
            self.all_stop.end();
            (
                std::mem::take(&mut state.line_breakpoints),
                std::mem::take(&mut state.function_breakpoints),
                std::mem::take(&mut state.breakpoint_code),
                std::mem::take(&mut state.instruction_breakpoints),
                std::mem::take(&mut state.column_code),
                std::mem::take(&mut state.data_watches),
                state.threads.release_all(),
            )
        };
        // Watches first: a plan's values, released below, may have finalizers that write.
        if let Err(e) = self.replace_dict_watches(py, Vec::new()) {
            tracing::error!("clearing dict watches: {e}");
        }
        self.replace_object_watches(py, Vec::new());
        self.clear_plans();
        let instruction_codes = instruction_bps.values().map(|c| &c.code).chain(column_code.values().map(|c| &c.code));
        let watched_codes = data_watches.iter().flat_map(|w| w.codes());
        for code in codes.values().map(|armed| &armed.code).chain(instruction_codes).chain(watched_codes) {
            self.set_local_events(py, code.bind(py), 0);
        }
        self.refresh_events(py);
        drop((line_bps, function_bps, codes, instruction_bps, column_code, data_watches, parked));
    }

    /// Ends every step plan. Each is released after its table lock: its values may have
    /// finalizers, which can raise events that look at the table.
    fn clear_plans(&self) {
        for thread in self.plans.threads() {
            drop(self.plans.remove(&thread));
        }
    }

    pub(super) fn emit(&self, event: EngineEvent) {
        if let Some(client) = self.client.lock().as_ref() {
            let _ = client.send(event);
        }
    }

    pub fn output(&self, category: &'static str, text: String) {
        if self.client_attached.load(Ordering::Acquire) {
            self.emit(EngineEvent::Output { category, text });
        }
    }

    pub fn configuration_done(&self) {
        let (done, signal) = &self.configuration_done;
        *done.lock() = true;
        signal.notify_all();
    }

    /// Blocks the calling Python thread until a client has sent configurationDone, or until
    /// `limit` has passed; returns whether the client is there.
    pub fn wait_for_configuration(&self, py: Python<'_>, limit: Option<Duration>) -> bool {
        self.program_waiting.store(true, Ordering::Release);
        let configured = py.detach(|| {
            let (done, signal) = &self.configuration_done;
            let deadline = limit.map(|limit| std::time::Instant::now() + limit);
            let mut done = done.lock();
            while !*done {
                match deadline {
                    Some(deadline) => {
                        if signal.wait_until(&mut done, deadline).timed_out() {
                            break;
                        }
                    }
                    None => signal.wait(&mut done),
                }
            }
            *done
        });
        self.program_waiting.store(false, Ordering::Release);
        configured
    }

    /// In the child of a `fork()`: the parent's client, stops and threads are not this process's.
    /// Everything is turned off, so the child runs free until a client of its own attaches.
    pub fn forget_parent_after_fork(&self, py: Python<'_>) {
        // A lock held at the fork by one of the parent's other threads has no owner here, and
        // the calling thread is the only one: releasing it is the only way to use it again.
        // SAFETY: no other thread exists in the child to hold, or race for, these locks.
        unsafe {
            release_if_held(&self.state);
            release_if_held(&self.client);
            release_if_held(&self.configuration_done.0);
        }
        // The receiver lived on a runtime thread that the child does not have; dropping the
        // sender could try to wake it.
        std::mem::forget(self.client.lock().take());
        self.client_attached.store(false, Ordering::Release);
        self.state.lock().threads = Threads::default();
        self.main_thread.store(current_ident(), Ordering::Release);
        self.pydbg_threads.clear();
        self.all_stop.forget_all();
        *self.configuration_done.0.lock() = false;
        self.terminating.store(false, Ordering::Release);
        self.clear_debugging(py);
    }

    /// The program has ended with `code`: tell the client, and wait (bounded) until it is told.
    /// Then pydbg's own threads may no longer take the GIL: the interpreter is being finalized.
    pub fn program_exited(&self, py: Python<'_>, code: i64) {
        self.clear_debugging(py);
        if self.client_attached.load(Ordering::Acquire) {
            let (written, done) = mpsc::channel();
            self.emit(EngineEvent::Exited { code, written });
            py.detach(move || {
                let _ = done.recv_timeout(Duration::from_secs(3));
            });
        }
        crate::gil::close_for_exit(py);
    }

    pub fn set_interrupt_signal(&self, signal: Option<i32>) {
        self.interrupt_signal.store(signal.unwrap_or(0), Ordering::Release);
    }

    /// Ends the program as Ctrl-C would, after releasing every stop.
    pub fn terminate(&self, py: Python<'_>) {
        self.terminating.store(true, Ordering::Release);
        // To the main thread, where Python handles signals: a blocking call there is interrupted,
        // and a parked main thread raises it as it is released. SIGINT runs the program's own
        // handler, as Ctrl-C does; pydbg's signal serves a program that has none (SIGINT ignored).
        let own = self.interrupt_signal.load(Ordering::Acquire);
        let signal = if own == 0 || sigint_handled_in_python(py) { libc::SIGINT } else { own };
        let main = self.main_thread.load(Ordering::Acquire);
        // SAFETY: `main` is the pthread_t of the interpreter's main thread, which lives as long
        // as the process; signalling it has no memory-safety preconditions.
        unsafe {
            libc::pthread_kill(main as libc::pthread_t, signal);
        }
        self.clear_debugging(py);
        // A program held by --wait-for-client goes on, to meet its KeyboardInterrupt.
        self.configuration_done();
    }

    pub fn is_client_attached(&self) -> bool {
        self.client_attached.load(Ordering::Acquire)
    }

    /// Whether `breakpoint()` stops the program: not in a session without debugging (`noDebug`).
    pub fn set_breakpoint_calls_stop(&self, stop: bool) {
        self.breakpoint_calls_stop.store(stop, Ordering::Release);
    }

    /// `breakpoint()` in the program: stops in `frame`, the caller's, while a client is attached.
    pub fn breakpoint_call(&self, py: Python<'_>, frame: &Bound<'_, PyAny>) -> PyResult<()> {
        let wanted = self.is_client_attached() && self.breakpoint_calls_stop.load(Ordering::Acquire);
        if wanted && !self.is_terminating() && !is_pydbg_thread() {
            if let Some(interrupt) = self.park(py, frame, StopReason::BreakpointCall, ParkedIn::OtherEvent) {
                return Err(interrupt);
            }
        }
        Ok(())
    }

    pub fn is_terminating(&self) -> bool {
        self.terminating.load(Ordering::Acquire)
    }

    // ------------------------------------------------------------ files

    pub fn origin_of(&self, filename: &str) -> Origin {
        self.state.lock().files.info(filename).origin
    }

    pub fn origin_of_frame(&self, frame: &Bound<'_, PyAny>) -> Option<Origin> {
        let filename = frame.getattr("f_code").and_then(|c| c.getattr("co_filename")).ok()?;
        Some(self.origin_of(filename.cast::<pyo3::types::PyString>().ok()?.to_str().ok()?))
    }

    /// Whether code other than the user's is only shown, never stopped or stepped in.
    pub fn just_my_code(&self) -> bool {
        self.state.lock().just_my_code
    }
}

/// Whether SIGINT has a Python handler (the default one raises KeyboardInterrupt), rather than
/// being ignored or left to the system.
fn sigint_handled_in_python(py: Python<'_>) -> bool {
    py.import("signal")
        .and_then(|signal| signal.call_method1("getsignal", (libc::SIGINT,)))
        .is_ok_and(|handler| handler.is_callable())
}

/// # Safety
/// Only in the child of a fork, where the calling thread is the only thread.
unsafe fn release_if_held<T>(lock: &Mutex<T>) {
    if lock.is_locked() {
        lock.force_unlock();
    }
}
