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
pub mod history;
pub mod instruction_breakpoints;
mod lifecycle;
mod local_watches;
mod object_watches;
pub mod recording;
mod run_control;
mod signals;
pub mod stepping;
pub mod threads;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, OnceLock};

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
use files::{FileClassifier, FileInfo};
use instruction_breakpoints::CodeBreakpoints;
use threads::{ParkedIn, Stop, Threads};

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

/// A code object with LINE on for its file's breakpoints (or for recording), with its file: each
/// LINE event needs the file, and finding it from `co_filename` is an attribute read and a
/// path's hash.
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
    /// Recording for step back, while it is on (`recording.rs`).
    recording: Option<Arc<recording::Recording>>,
    /// The latest recording's number, also after it stopped.
    recording_generation: u64,
    /// Code objects with events on for recording, by address, kept alive, with their file.
    recorded_code: FxHashMap<usize, recording::RecordedCode>,
    /// Whether each file (by key) is in the recording's scope.
    recorded_files: FxHashMap<Arc<str>, bool>,
    /// Frames that were running when recording began, by address, until their first recorded
    /// line: their locals are read whole then, not as a fresh call's.
    frames_before_recording: rustc_hash::FxHashSet<usize>,
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
    /// Whether recording is on, read without the state lock by every return (`recording.rs`).
    recording_on: AtomicBool,
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
            recording: None,
            recording_generation: 0,
            recorded_code: FxHashMap::default(),
            recorded_files: FxHashMap::default(),
            frames_before_recording: Default::default(),
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
        recording_on: AtomicBool::new(false),
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
