//! The `sys.monitoring` tool: breakpoints, steps, stops and the events that serve them.
//!
//! The engine owns every call to `set_events`, `set_local_events` and `restart_events`. Its rule
//! is to enable as little as possible: LINE only on code objects of files with breakpoints and on
//! the frames a step or a stop needs, PY_START globally only while something must see new frames,
//! and DISABLE returned wherever no thread can need an event again.

mod all_stop;
pub mod breakpoints;
pub mod callbacks;
pub mod exceptions;
pub mod files;
mod signals;
pub mod stepping;
pub mod threads;

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Duration;

use dashmap::{DashMap, DashSet};
use parking_lot::{Condvar, Mutex};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tokio::sync::mpsc::UnboundedSender;

use crate::protocol::types::{self as dap, SourceBreakpoint, StoppedEventBody, ThreadEventBody};
use all_stop::AllThreadsStop;
use breakpoints::{code_lines, compile_log_message, resolve_line, Breakpoint, Expression, HitCondition};
use exceptions::{type_names, BreakMode, ExceptionFilters};
use files::{canonical_key, CodeRule, FileClassifier, Origin};
use signals::DeferredSignals;
use stepping::{StepKind, StepPlan};
use threads::{Command, Parked, ParkedWork, StopReason, Threads};

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

/// `Type: message`, as the last line of a traceback says it.
pub(crate) fn exception_text(py: Python<'_>, exception: &Bound<'_, PyAny>) -> String {
    breakpoints::describe_error(py, &PyErr::from_value(exception.clone()))
}

/// `sys.monitoring.DEBUGGER_ID`.
const TOOL_ID: u8 = 0;

/// What the engine tells the session.
pub enum EngineEvent {
    Stopped(StoppedEventBody),
    Thread(ThreadEventBody),
    Output {
        category: &'static str,
        text: String,
    },
    /// The program has ended; the session acknowledges once `exited` and `terminated` are written.
    Exited {
        code: i64,
        written: mpsc::Sender<()>,
    },
}

#[derive(Clone, Copy)]
struct EventIds {
    py_start: i64,
    py_return: i64,
    py_yield: i64,
    line: i64,
    py_unwind: i64,
    instruction: i64,
    raise: i64,
}

struct Monitoring {
    set_events: Py<PyAny>,
    set_local_events: Py<PyAny>,
    restart_events: Py<PyAny>,
    disable: Py<PyAny>,
    ids: EventIds,
}

struct State {
    files: FileClassifier,
    line_breakpoints: HashMap<Arc<str>, BTreeMap<i64, Arc<Breakpoint>>>,
    function_breakpoints: Vec<(String, Arc<Breakpoint>)>,
    /// Code objects with LINE on because their file has breakpoints, by address. Held strongly
    /// while the file has breakpoints, so an address can't be reused by another code object.
    breakpoint_code: HashMap<usize, Py<PyAny>>,
    /// Code objects with events on for a step or an all-threads stop, with those events; reset
    /// when no step or stop is active.
    step_code: HashMap<usize, (Py<PyAny>, i64)>,
    global_events: i64,
    exception_filters: Arc<ExceptionFilters>,
    /// Each exception type's names for filter matching, by type; types are kept alive here.
    exception_type_names: HashMap<usize, (Py<PyAny>, Arc<Vec<String>>)>,
    just_my_code: bool,
    show_return_value: bool,
    next_breakpoint_id: i64,
    threads: Threads,
}

pub struct Engine {
    monitoring: Monitoring,
    state: Mutex<State>,
    client: Mutex<Option<UnboundedSender<EngineEvent>>>,
    client_attached: AtomicBool,
    /// Whether the program's stdout/stderr go to the client as output events.
    forward_program_output: AtomicBool,
    /// The program is held before its first line by --wait-for-client.
    program_waiting: AtomicBool,
    /// What the program is (a file, `-m module`, `-c`), for the `process` event.
    program_name: String,
    plans: DashMap<u64, StepPlan>,
    all_stop: AllThreadsStop,
    pydbg_threads: DashSet<u64>,
    configuration_done: (Mutex<bool>, Condvar),
    terminating: AtomicBool,
    /// The interpreter's main thread (`threading.main_thread().ident`), where signals are handled.
    main_thread: AtomicU64,
    /// pydbg's own signal for KeyboardInterrupt (`_hooks.install_interrupt_signal`), 0 if none.
    interrupt_signal: AtomicI32,
}

static ENGINE: OnceLock<Engine> = OnceLock::new();

thread_local! {
    static IS_PYDBG_THREAD: Cell<bool> = const { Cell::new(false) };
}

pub fn engine() -> &'static Engine {
    ENGINE.get().expect("pydbg engine used before install()")
}

pub fn try_engine() -> Option<&'static Engine> {
    ENGINE.get()
}

/// The calling thread's id, equal to Python's `threading.get_ident()`.
pub fn current_ident() -> u64 {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as u64 }
}

/// Marks the calling thread as pydbg's own: no event on it is ever acted on.
pub fn mark_pydbg_thread() {
    IS_PYDBG_THREAD.with(|f| f.set(true));
    if let Some(engine) = try_engine() {
        engine.pydbg_threads.insert(current_ident());
    }
}

/// Undoes `mark_pydbg_thread` on a Python thread pydbg borrowed, before it ends (its ident may
/// be reused by a user's thread).
pub fn unmark_pydbg_thread() {
    IS_PYDBG_THREAD.with(|f| f.set(false));
    if let Some(engine) = try_engine() {
        engine.pydbg_threads.remove(&current_ident());
    }
}

fn is_pydbg_thread() -> bool {
    IS_PYDBG_THREAD.with(|f| f.get())
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

/// Registers the tool with `sys.monitoring`. `internal` and `library` are path prefixes of
/// pydbg's own files and of the standard library and site-packages.
pub fn install(py: Python<'_>, internal: Vec<String>, library: Vec<String>, program_name: String) -> PyResult<()> {
    if ENGINE.get().is_some() {
        return Ok(());
    }
    let monitoring = py.import("sys")?.getattr("monitoring")?;
    if let Err(e) = monitoring.call_method1("use_tool_id", (TOOL_ID, "pydbg")) {
        let holder = monitoring.call_method1("get_tool", (TOOL_ID,))?;
        return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
            "another debugger ({holder}) already holds sys.monitoring.DEBUGGER_ID: {e}"
        )));
    }
    let events = monitoring.getattr("events")?;
    let id = |name: &str| -> PyResult<i64> { events.getattr(name)?.extract() };
    let ids = EventIds {
        py_start: id("PY_START")?,
        py_return: id("PY_RETURN")?,
        py_yield: id("PY_YIELD")?,
        line: id("LINE")?,
        py_unwind: id("PY_UNWIND")?,
        instruction: id("INSTRUCTION")?,
        raise: id("RAISE")?,
    };
    let instance = Engine {
        monitoring: Monitoring {
            set_events: monitoring.getattr("set_events")?.unbind(),
            set_local_events: monitoring.getattr("set_local_events")?.unbind(),
            restart_events: monitoring.getattr("restart_events")?.unbind(),
            disable: monitoring.getattr("DISABLE")?.unbind(),
            ids,
        },
        state: Mutex::new(State {
            files: FileClassifier::new(internal, library),
            line_breakpoints: HashMap::new(),
            function_breakpoints: Vec::new(),
            breakpoint_code: HashMap::new(),
            step_code: HashMap::new(),
            global_events: 0,
            exception_filters: Arc::new(ExceptionFilters::uncaught_only()),
            exception_type_names: HashMap::new(),
            just_my_code: true,
            show_return_value: true,
            next_breakpoint_id: 0,
            threads: Threads::default(),
        }),
        client: Mutex::new(None),
        client_attached: AtomicBool::new(false),
        forward_program_output: AtomicBool::new(true),
        program_waiting: AtomicBool::new(false),
        program_name,
        plans: DashMap::new(),
        all_stop: AllThreadsStop::default(),
        pydbg_threads: DashSet::new(),
        configuration_done: (Mutex::new(false), Condvar::new()),
        terminating: AtomicBool::new(false),
        main_thread: AtomicU64::new(current_ident()),
        interrupt_signal: AtomicI32::new(0),
    };
    callbacks::register(py, &monitoring, &ids)?;
    let _ = ENGINE.set(instance);
    // Threads that exist already; the main thread comes first and gets id 1.
    let threading = py.import("threading")?;
    let main = threading.call_method0("main_thread")?;
    if let Some(ident) = main.getattr("ident")?.extract::<Option<u64>>()? {
        engine().main_thread.store(ident, Ordering::Release);
    }
    let mut all = vec![main.clone()];
    for t in threading.call_method0("enumerate")?.try_iter()? {
        let t = t?;
        if !t.is(&main) {
            all.push(t);
        }
    }
    for t in all {
        let ident: Option<u64> = t.getattr("ident")?.extract()?;
        if let Some(ident) = ident {
            engine().thread_started(ident, &t.getattr("name")?.extract::<String>()?);
        }
    }
    Ok(())
}

impl Engine {
    // ------------------------------------------------------------ client and program lifecycle

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

    pub fn set_just_my_code(&self, py: Python<'_>, on: bool, rules: &[dap::CodeRuleArgument]) -> Result<(), String> {
        let mut resolved = Vec::new();
        for rule in rules {
            let prefix = match (&rule.path, &rule.module) {
                (Some(path), _) => path.clone(),
                (None, Some(module)) => module_location(py, module)
                    .ok_or_else(|| format!("justMyCode rule: no module named {module:?} can be found"))?,
                (None, None) => return Err("a justMyCode rule needs \"path\" or \"module\"".into()),
            };
            resolved.push(CodeRule { prefix, include: rule.include });
        }
        let mut state = self.state.lock();
        state.just_my_code = on;
        state.files.set_rules(resolved);
        Ok(())
    }

    /// The client has gone or disconnected: remove every breakpoint and stop, and let the program
    /// run on at full speed.
    pub fn detach_client(&self, py: Python<'_>) {
        self.client_attached.store(false, Ordering::Release);
        *self.client.lock() = None;
        self.clear_debugging(py);
    }

    fn clear_debugging(&self, py: Python<'_>) {
        let (line_bps, function_bps, codes, parked) = {
            let mut state = self.state.lock();
            self.all_stop.end();
            (
                std::mem::take(&mut state.line_breakpoints),
                std::mem::take(&mut state.function_breakpoints),
                std::mem::take(&mut state.breakpoint_code),
                state.threads.release_all(),
            )
        };
        self.plans.clear();
        for code in codes.values() {
            self.set_local_events(py, code.bind(py), 0);
        }
        self.refresh_events(py);
        drop((line_bps, function_bps, codes, parked));
    }

    fn emit(&self, event: EngineEvent) {
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

    /// `breakpoint()` in the program: stops in `frame`, the caller's, while a client is attached.
    pub fn breakpoint_call(&self, py: Python<'_>, frame: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.is_client_attached() && !self.is_terminating() && !is_pydbg_thread() {
            if let Some(interrupt) = self.park(py, frame, StopReason::BreakpointCall) {
                return Err(interrupt);
            }
        }
        Ok(())
    }

    pub fn is_terminating(&self) -> bool {
        self.terminating.load(Ordering::Acquire)
    }

    // ------------------------------------------------------------ threads

    pub fn thread_started(&self, ident: u64, name: &str) {
        let (id, new) = self.state.lock().threads.register(ident, name);
        if new {
            self.emit(EngineEvent::Thread(ThreadEventBody { reason: "started", thread_id: id }));
        }
    }

    pub fn thread_exited(&self, ident: u64) {
        self.plans.remove(&ident);
        self.all_stop.forget(ident);
        if let Some(id) = self.state.lock().threads.forget(ident) {
            self.emit(EngineEvent::Thread(ThreadEventBody { reason: "exited", thread_id: id }));
        }
    }

    pub fn threads(&self) -> Vec<dap::Thread> {
        self.state.lock().threads.list()
    }

    pub fn ident_of(&self, dap_id: i64) -> Option<u64> {
        self.state.lock().threads.ident_of(dap_id)
    }

    /// Sends inspection work to a parked thread. Gives the work back if the thread is not parked.
    pub fn run_on_parked(&self, ident: u64, work: ParkedWork) -> Result<(), ParkedWork> {
        let state = self.state.lock();
        match state.threads.parked.get(&ident) {
            Some(parked) => parked.commands.send(Command::Run(work)).map_err(|e| match e.0 {
                Command::Run(work) => work,
                Command::Resume { .. } => unreachable!("only Run is sent here"),
            }),
            None => Err(work),
        }
    }

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

    /// The frames a parked thread shows, innermost first; None for the frame's own callers.
    pub fn parked_frames(&self, py: Python<'_>, ident: u64) -> Option<(Py<PyAny>, Option<Vec<Py<PyAny>>>)> {
        let state = self.state.lock();
        let parked = state.threads.parked.get(&ident)?;
        let frames = parked.frames.as_ref().map(|f| f.iter().map(|p| p.clone_ref(py)).collect());
        Some((parked.frame.clone_ref(py), frames))
    }

    /// What the functions a step left or stepped over returned, if the thread stopped in `frame`
    /// after them.
    pub fn parked_return_values(
        &self,
        py: Python<'_>,
        ident: u64,
        frame: &Bound<'_, PyAny>,
    ) -> Vec<(String, Py<PyAny>)> {
        let state = self.state.lock();
        match state.threads.parked.get(&ident) {
            Some(parked) if parked.frame.as_ptr() == frame.as_ptr() => {
                parked.return_values.iter().map(|(name, value)| (name.clone(), value.clone_ref(py))).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The exception a parked thread stopped on, and how.
    pub fn parked_exception(&self, py: Python<'_>, ident: u64) -> Option<(Py<PyAny>, BreakMode)> {
        let state = self.state.lock();
        let parked = state.threads.parked.get(&ident)?;
        match (&parked.exception, &parked.reason) {
            (Some(e), StopReason::Exception { mode, .. }) => Some((e.clone_ref(py), *mode)),
            _ => None,
        }
    }

    // ------------------------------------------------------------ run control

    /// Resumes after a stop. With `single_thread`, only `ident` runs. Returns whether all threads
    /// continued.
    pub fn resume(&self, ident: u64, step: Option<StepKind>, single_thread: bool) -> Result<bool, String> {
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
    fn stop_all_threads(&self, py: Python<'_>, generation: u64) {
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
    fn park(&self, py: Python<'_>, frame: &Bound<'_, PyAny>, reason: StopReason) -> Option<PyErr> {
        self.park_with(py, frame, reason, None, None)
    }

    pub(crate) fn park_with(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        reason: StopReason,
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

    fn resume_here(&self, py: Python<'_>, frame: &Bound<'_, PyAny>, step: Option<StepKind>, single_thread: bool) {
        if single_thread {
            self.all_stop.exempt(current_ident());
        }
        if let Some(kind) = step {
            match StepPlan::new(kind, frame) {
                Ok(plan) => {
                    for f in plan.frames() {
                        if let Err(e) = f.bind(py).getattr("f_code").and_then(|c| self.watch_code_for_step(py, &c)) {
                            tracing::error!("preparing a step: {e}");
                        }
                    }
                    self.plans.insert(current_ident(), plan);
                }
                Err(e) => tracing::error!("preparing a step: {e}"),
            }
        }
        self.refresh_events(py);
    }

    fn must_stop_for_all_stop(&self) -> bool {
        self.all_stop.applies_to(current_ident())
    }

    /// True while no thread can need an event that a DISABLE would hide.
    fn quiet(&self) -> bool {
        self.plans.is_empty() && !self.all_stop.is_active()
    }

    // ------------------------------------------------------------ events

    fn local_events_for(&self, state: &State, address: usize) -> i64 {
        let ids = self.monitoring.ids;
        let mut events = 0;
        if state.breakpoint_code.contains_key(&address) {
            events |= ids.line;
        }
        if let Some((_, step_events)) = state.step_code.get(&address) {
            events |= step_events;
        }
        events
    }

    fn set_local_events(&self, py: Python<'_>, code: &Bound<'_, PyAny>, events: i64) {
        if let Err(e) = self.monitoring.set_local_events.bind(py).call1((TOOL_ID, code, events)) {
            tracing::warn!("set_local_events: {e}");
        }
    }

    fn watch_code_for_step(&self, py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<()> {
        let ids = self.monitoring.ids;
        self.watch_code(py, code, ids.line | ids.py_return | ids.py_yield)
    }

    /// A stepping frame returned into `code`: its next instruction ends the step.
    fn watch_code_for_return(&self, py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<()> {
        let ids = self.monitoring.ids;
        self.watch_code(py, code, ids.line | ids.py_return | ids.py_yield | ids.instruction)
    }

    /// A function called by the line a step is over: what it returns is shown at the stop.
    fn watch_code_for_return_value(&self, py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<()> {
        self.watch_code(py, code, self.monitoring.ids.py_return)
    }

    fn watch_code(&self, py: Python<'_>, code: &Bound<'_, PyAny>, events: i64) -> PyResult<()> {
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

    fn watch_code_for_breakpoints(&self, py: Python<'_>, code: &Bound<'_, PyAny>) {
        let address = code.as_ptr() as usize;
        let mut state = self.state.lock();
        state.breakpoint_code.entry(address).or_insert_with(|| code.clone().unbind());
        let events = self.local_events_for(&state, address);
        drop(state);
        self.set_local_events(py, code, events);
    }

    /// Brings global events in line with the current breakpoints, plans and stops, resets step
    /// instrumentation once no step or stop needs it, and re-arms lines disabled under an older plan.
    fn refresh_events(&self, py: Python<'_>) {
        let ids = self.monitoring.ids;
        let quiet = self.quiet();
        let mut state = self.state.lock();
        let watching = !state.line_breakpoints.is_empty() || !state.function_breakpoints.is_empty();
        let mut global = 0;
        if watching || !quiet {
            global |= ids.py_start;
        }
        if !self.plans.is_empty() || state.exception_filters.wants_unwind_events() {
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

    // ------------------------------------------------------------ exceptions

    pub fn set_exception_filters(&self, py: Python<'_>, filters: ExceptionFilters) {
        self.state.lock().exception_filters = Arc::new(filters);
        self.refresh_events(py);
    }

    pub(crate) fn exception_filters(&self) -> Arc<ExceptionFilters> {
        self.state.lock().exception_filters.clone()
    }

    /// The names an exception's type matches by (see `exceptions::type_names`), computed once a type.
    pub(crate) fn exception_type_names(&self, exception: &Bound<'_, PyAny>) -> PyResult<Arc<Vec<String>>> {
        let ty = exception.get_type();
        let key = ty.as_ptr() as usize;
        if let Some((_, names)) = self.state.lock().exception_type_names.get(&key) {
            return Ok(names.clone());
        }
        let names = Arc::new(type_names(exception)?);
        self.state.lock().exception_type_names.insert(key, (ty.into_any().unbind(), names.clone()));
        Ok(names)
    }

    /// An exception is about to end the program or a thread (called at pydbg's own boundary:
    /// the runner and `threading.excepthook`). Stops there if a filter asks for it, showing the
    /// frames of the exception's traceback.
    pub fn on_uncaught(&self, py: Python<'_>, exception: &Bound<'_, PyAny>) -> PyResult<()> {
        if !self.client_attached.load(Ordering::Acquire) || self.is_terminating() {
            return Ok(());
        }
        if exception.is_instance_of::<pyo3::exceptions::PySystemExit>() {
            let code = exception.getattr("code")?;
            if code.is_none() || code.extract::<i64>().is_ok_and(|c| c == 0) {
                return Ok(());
            }
        }
        if !self.exception_filters().stops_when_uncaught(&self.exception_type_names(exception)?) {
            return Ok(());
        }
        let mut frames = Vec::new();
        let mut tb = exception.getattr("__traceback__")?;
        while !tb.is_none() {
            let frame = tb.getattr("tb_frame")?;
            if self.origin_of_frame(&frame) != Some(Origin::Internal) {
                frames.push(frame.unbind());
            }
            tb = tb.getattr("tb_next")?;
        }
        frames.reverse();
        // With justMyCode, an exception that never passed through the user's code is a library's
        // business: a SystemExit that pytest raises at its end is the program ending.
        if self.just_my_code() && !frames.iter().any(|f| self.origin_of_frame(f.bind(py)) == Some(Origin::User)) {
            return Ok(());
        }
        let Some(top) = frames.first().map(|f| f.bind(py).clone()) else { return Ok(()) };
        let text = exception_text(py, exception);
        // The program is ending already: an interrupt from terminate changes nothing here.
        let _interrupt = self.park_with(
            py,
            &top,
            StopReason::Exception { mode: BreakMode::Unhandled, text },
            Some(exception),
            Some(frames),
        );
        Ok(())
    }

    // ------------------------------------------------------------ breakpoints

    /// Replaces the breakpoints of one file and reports how each one resolved.
    pub fn set_breakpoints(&self, py: Python<'_>, path: &str, requested: &[SourceBreakpoint]) -> Vec<dap::Breakpoint> {
        let key = canonical_key(path);
        let lines = if requested.is_empty() { Ok(Default::default()) } else { code_lines(py, &key) };
        let mut table = BTreeMap::new();
        let mut answers = Vec::new();
        for request in requested {
            let id = {
                let mut state = self.state.lock();
                state.next_breakpoint_id += 1;
                state.next_breakpoint_id
            };
            let mut answer = dap::Breakpoint { id: Some(id), line: Some(request.line), ..Default::default() };
            let resolved = match &lines {
                Err(message) => Err(message.clone()),
                Ok(lines) => resolve_line(lines, request.line)
                    .ok_or_else(|| format!("line {} is past the last line with code", request.line))
                    .and_then(|line| {
                        self.compile_breakpoint(
                            py,
                            id,
                            line,
                            request.condition.as_deref(),
                            request.hit_condition.as_deref(),
                            request.log_message.as_deref(),
                        )
                    }),
            };
            match resolved {
                Ok(bp) => {
                    answer.verified = true;
                    answer.line = Some(bp.line);
                    table.entry(bp.line).or_insert_with(|| Arc::new(bp));
                }
                Err(message) => answer.message = Some(message),
            }
            answers.push(answer);
        }
        let stale_code = {
            let mut state = self.state.lock();
            if table.is_empty() {
                state.line_breakpoints.remove(&key);
            } else {
                state.line_breakpoints.insert(key.clone(), table);
            }
            // Code of this file stops being watched; running frames are found again below.
            let State { breakpoint_code, files, .. } = &mut *state;
            let stale: Vec<usize> = breakpoint_code
                .iter()
                .filter(|(_, code)| {
                    code.bind(py)
                        .getattr("co_filename")
                        .and_then(|f| f.extract::<String>())
                        .is_ok_and(|f| files.info(&f).key == key)
                })
                .map(|(address, _)| *address)
                .collect();
            let removed: Vec<(usize, Py<PyAny>)> =
                stale.into_iter().filter_map(|a| breakpoint_code.remove(&a).map(|c| (a, c))).collect();
            removed
                .into_iter()
                .map(|(address, code)| {
                    let events = self.local_events_for(&state, address);
                    (code, events)
                })
                .collect::<Vec<_>>()
        };
        for (code, events) in &stale_code {
            self.set_local_events(py, code.bind(py), *events);
        }
        if !requested.is_empty() {
            self.watch_running_frames(py, &key);
        }
        self.refresh_events(py);
        answers
    }

    fn compile_breakpoint(
        &self,
        py: Python<'_>,
        id: i64,
        line: i64,
        condition: Option<&str>,
        hit_condition: Option<&str>,
        log_message: Option<&str>,
    ) -> Result<Breakpoint, String> {
        fn non_empty(s: Option<&str>) -> Option<&str> {
            s.filter(|s| !s.trim().is_empty())
        }
        let condition =
            non_empty(condition).map(|c| Expression::compile(py, c, "<breakpoint condition>")).transpose()?;
        let hit_condition = non_empty(hit_condition).map(HitCondition::parse).transpose()?;
        let log_message = non_empty(log_message).map(|m| compile_log_message(py, m)).transpose()?;
        Ok(Breakpoint::new(id, line, condition, hit_condition, log_message))
    }

    /// Turns LINE on for frames of `key` that are already running on any thread, such as a
    /// module body or a long loop that will never see PY_START again.
    fn watch_running_frames(&self, py: Python<'_>, key: &Arc<str>) {
        let result: PyResult<()> = (|| {
            let frames = py.import("sys")?.call_method0("_current_frames")?;
            for frame in frames.cast::<PyDict>()?.values() {
                let mut frame = frame;
                while !frame.is_none() {
                    let code = frame.getattr("f_code")?;
                    let filename: String = code.getattr("co_filename")?.extract()?;
                    if self.state.lock().files.info(&filename).key == *key {
                        self.watch_code_for_breakpoints(py, &code);
                    }
                    frame = frame.getattr("f_back")?;
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            tracing::error!("watching running frames: {e}");
        }
    }

    /// Replaces the function breakpoints. They bind by qualified name when a function starts.
    pub fn set_function_breakpoints(
        &self,
        py: Python<'_>,
        requested: &[dap::FunctionBreakpoint],
    ) -> Vec<dap::Breakpoint> {
        let mut table = Vec::new();
        let mut answers = Vec::new();
        for request in requested {
            let id = {
                let mut state = self.state.lock();
                state.next_breakpoint_id += 1;
                state.next_breakpoint_id
            };
            let name = request.name.trim().to_owned();
            let compiled = if name.is_empty() {
                Err("a function breakpoint needs a name".to_owned())
            } else {
                self.compile_breakpoint(py, id, 0, request.condition.as_deref(), request.hit_condition.as_deref(), None)
            };
            answers.push(match compiled {
                Ok(bp) => {
                    table.push((name, Arc::new(bp)));
                    dap::Breakpoint { id: Some(id), verified: true, ..Default::default() }
                }
                Err(message) => {
                    dap::Breakpoint { id: Some(id), verified: false, message: Some(message), ..Default::default() }
                }
            });
        }
        self.state.lock().function_breakpoints = table;
        self.refresh_events(py);
        answers
    }
}
