//! The `sys.monitoring` tool: breakpoints, steps, stops and the events that serve them.
//!
//! The engine owns every call to `set_events`, `set_local_events` and `restart_events`. Its rule
//! is to enable as little as possible: LINE only on code objects of files with breakpoints and on
//! the frames a step or a stop needs, PY_START globally only while something must see new frames,
//! and DISABLE returned wherever no thread can need an event again.

mod all_stop;
pub mod breakpoints;
pub mod callbacks;
pub mod columns;
mod condition_functions;
mod conditions;
pub mod data_breakpoints;
mod dict_watches;
mod events;
pub mod exceptions;
pub mod files;
mod handlers;
pub mod instruction_breakpoints;
mod local_watches;
mod object_watches;
mod run_control;
mod signals;
pub mod stepping;
pub mod threads;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Duration;

use dashmap::DashSet;
use parking_lot::{Condvar, Mutex};
use pyo3::prelude::*;
use rustc_hash::FxHashMap;
use tokio::sync::mpsc::UnboundedSender;

use all_stop::AllThreadsStop;
use breakpoints::FileBreakpoints;
use columns::CodeColumns;
use conditions::Breakpoint;
use exceptions::{ExceptionFilters, RaiseVerdicts};
use files::{CodeRule, FileClassifier, FileInfo, Origin, RuleRequest, RuleScope};
use instruction_breakpoints::CodeBreakpoints;
use stepping::{StepKind, StepPlan};
use threads::{ParkedIn, Stop, StopReason, Threads};

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
const TOOL_ID: u8 = 0;

/// Where a parked thread stopped (`top`), and the frames to show, innermost first, when they are
/// not `top` and its callers (an uncaught exception shows its traceback's frames).
pub struct ParkedFrames {
    pub top: Py<PyAny>,
    pub shown: Option<Vec<Py<PyAny>>>,
    pub parked_in: ParkedIn,
}

/// What the engine tells the session.
pub enum EngineEvent {
    Stopped(Stop),
    /// A thread (by DAP id) started, or exited.
    ThreadStarted(i64),
    ThreadExited(i64),
    Output {
        category: &'static str,
        text: String,
    },
    /// The program has ended; the session acknowledges once `exited` and `terminated` are written.
    Exited {
        code: i64,
        written: mpsc::Sender<()>,
    },
    /// A data breakpoint can no longer stop (its frame is gone), and why.
    DataWatchEnded {
        id: i64,
        reason: String,
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

/// A code object with LINE on for its file's breakpoints, with its file: each LINE event needs
/// the file, and finding it from `co_filename` is an attribute read and a path's hash.
struct ArmedCode {
    code: Py<PyAny>,
    file: Arc<FileInfo>,
}

struct State {
    files: FileClassifier,
    line_breakpoints: FxHashMap<Arc<str>, FileBreakpoints>,
    function_breakpoints: Vec<(String, Arc<Breakpoint>)>,
    /// Code objects with LINE on because their file has breakpoints, by address. Held strongly
    /// while the file has breakpoints, so an address can't be reused by another code object.
    breakpoint_code: FxHashMap<usize, ArmedCode>,
    /// Instruction breakpoints, by the address of their code object.
    instruction_breakpoints: HashMap<usize, CodeBreakpoints>,
    /// Code objects that reached a line with column breakpoints, by address (`columns.rs`).
    column_code: HashMap<usize, CodeColumns>,
    /// Code objects with events on for a step or an all-threads stop, with those events; reset
    /// when no step or stop is active.
    step_code: HashMap<usize, (Py<PyAny>, i64)>,
    /// Data breakpoints on local variables (`local_watches.rs`).
    data_watches: Vec<local_watches::LocalWatch>,
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
    plans: stepping::StepPlans,
    all_stop: AllThreadsStop,
    raise_verdicts: RaiseVerdicts,
    dict_watches: dict_watches::DictWatches,
    object_watches: object_watches::ObjectWatches,
    pydbg_threads: DashSet<u64>,
    configuration_done: (Mutex<bool>, Condvar),
    terminating: AtomicBool,
    /// The interpreter's main thread (`threading.main_thread().ident`), where signals are handled.
    main_thread: AtomicU64,
    /// pydbg's own signal for KeyboardInterrupt (`_hooks.install_interrupt_signal`), 0 if none.
    interrupt_signal: AtomicI32,
    /// False while the attached client runs the program without debugging (`noDebug`).
    breakpoint_calls_stop: AtomicBool,
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
            line_breakpoints: FxHashMap::default(),
            function_breakpoints: Vec::new(),
            breakpoint_code: FxHashMap::default(),
            instruction_breakpoints: HashMap::new(),
            column_code: HashMap::new(),
            step_code: HashMap::new(),
            global_events: 0,
            exception_filters: Arc::new(ExceptionFilters::uncaught_only()),
            exception_type_names: HashMap::new(),
            just_my_code: true,
            show_return_value: true,
            next_breakpoint_id: 0,
            data_watches: Vec::new(),
            threads: Threads::default(),
        }),
        client: Mutex::new(None),
        client_attached: AtomicBool::new(false),
        forward_program_output: AtomicBool::new(true),
        program_waiting: AtomicBool::new(false),
        program_name,
        plans: Default::default(),
        raise_verdicts: RaiseVerdicts::default(),
        dict_watches: Default::default(),
        object_watches: Default::default(),
        all_stop: AllThreadsStop::default(),
        pydbg_threads: DashSet::new(),
        configuration_done: (Mutex::new(false), Condvar::new()),
        terminating: AtomicBool::new(false),
        main_thread: AtomicU64::new(current_ident()),
        interrupt_signal: AtomicI32::new(0),
        breakpoint_calls_stop: AtomicBool::new(true),
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
        let State { breakpoint_code, files, .. } = &mut *state;
        for armed in breakpoint_code.values_mut() {
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
