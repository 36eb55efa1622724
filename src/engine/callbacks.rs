//! The `sys.monitoring` callbacks. Each one catches every error and panic: pydbg's own failures
//! must never reach the user's program (a Rust panic would surface as a BaseException that skips
//! the user's `except Exception`).

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::LocalKey;

use super::conditions::{Breakpoint, Verdict};
use super::exceptions::BreakMode;
use super::files::{FileInfo, Origin};
use super::local_watches::AfterStore;
use super::stepping::{StepKind, StepPlan};
use super::threads::{ParkedIn, StopReason};
use super::{current_ident, engine, is_pydbg_thread, Engine, EventIds, State, TOOL_ID};
use crate::python_errors::exception_text;

thread_local! {
    static RAISED_SLOT: RefCell<Option<HeldException>> = const { RefCell::new(None) };
    static LEFT_USER_CODE_SLOT: RefCell<Option<HeldException>> = const { RefCell::new(None) };
}

/// The exception this thread last judged under `raised`, and under `userUnhandled`. RAISE fires
/// again in every frame an exception passes through; one exception stops once.
static LAST_RAISED: LastSeen = LastSeen { slot: &RAISED_SLOT, held: AtomicUsize::new(0) };
static LAST_LEFT_USER_CODE: LastSeen = LastSeen { slot: &LEFT_USER_CODE_SLOT, held: AtomicUsize::new(0) };

/// One kind of "last exception judged", per thread, with a count of the threads that hold one:
/// while none does, RAISE's fast path touches no thread-local storage (which a shared library
/// reaches through `__tls_get_addr`, a tenth of that path's cost).
struct LastSeen {
    slot: &'static LocalKey<RefCell<Option<HeldException>>>,
    held: AtomicUsize,
}

struct HeldException {
    exception: Py<PyAny>,
    held: &'static AtomicUsize,
}

impl Drop for HeldException {
    fn drop(&mut self) {
        self.held.fetch_sub(1, Ordering::Relaxed);
    }
}

impl LastSeen {
    /// Records `exception` as this thread's; false if it was already.
    fn first_sight(&'static self, exception: &Bound<'_, PyAny>) -> bool {
        let replaced = self.slot.try_with(|slot| {
            let mut slot = slot.try_borrow_mut().ok()?;
            if slot.as_ref().is_some_and(|last| last.exception.as_ptr() == exception.as_ptr()) {
                return None;
            }
            self.held.fetch_add(1, Ordering::Relaxed);
            let held = HeldException { exception: exception.clone().unbind(), held: &self.held };
            Some(slot.replace(held))
        });
        // The exception replaced is released outside the borrow: its release can run Python.
        matches!(replaced, Ok(Some(_)))
    }

    fn forget(&'static self) {
        if self.held.load(Ordering::Relaxed) == 0 {
            return;
        }
        // Attached as pyo3 counts it, so that the exception is released now, not deferred. (Not
        // while the interpreter finalizes: it is then kept.)
        let _ = Python::try_attach(|_| {
            let forgotten = self.slot.try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut slot| slot.take()));
            drop(forgotten);
        });
    }
}

/// How a frame is left.
#[derive(Clone, Copy)]
enum Leave<'a, 'py> {
    /// With the value returned.
    Return(&'a Bound<'py, PyAny>),
    Yield,
    /// An exception leaves the frame; the handler's line, wherever it is, ends a step.
    Unwind,
}

/// What a callback answers: keep the event, DISABLE it for this code location, or raise in the
/// program the KeyboardInterrupt that a terminate sent while the thread was stopped.
enum Answer {
    Keep,
    Disable,
    Raise(PyErr),
}

impl Answer {
    fn after_stop(interrupt: Option<PyErr>) -> Answer {
        interrupt.map_or(Answer::Keep, Answer::Raise)
    }
}

pub(super) fn register(py: Python<'_>, monitoring: &Bound<'_, PyAny>, ids: &EventIds) -> PyResult<()> {
    let module = PyModule::new(py, "pydbg_callbacks")?;
    let register = |event: i64, f: Bound<'_, PyAny>| -> PyResult<()> {
        monitoring.call_method1("register_callback", (TOOL_ID, event, f)).map(drop)
    };
    register(ids.py_start, wrap_pyfunction!(on_py_start, &module)?.into_any())?;
    register(ids.line, wrap_pyfunction!(on_line, &module)?.into_any())?;
    register(ids.py_return, wrap_pyfunction!(on_py_return, &module)?.into_any())?;
    register(ids.py_unwind, wrap_pyfunction!(on_py_unwind, &module)?.into_any())?;
    register(ids.py_yield, wrap_pyfunction!(on_py_yield, &module)?.into_any())?;
    register(ids.instruction, raw_fastcall_function(py, c"on_instruction", on_instruction)?)?;
    register(ids.raise, raw_fastcall_function(py, c"on_raise", on_raise)?)?;
    Ok(())
}

/// Runs a callback body, turning any error or panic of pydbg's into a logged "keep going": only
/// the program's own KeyboardInterrupt ever reaches it.
fn guarded(py: Python<'_>, what: &str, body: impl FnOnce() -> PyResult<Answer>) -> PyResult<Py<PyAny>> {
    if is_pydbg_thread() {
        return Ok(py.None());
    }
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Ok(Answer::Keep)) => Ok(py.None()),
        Ok(Ok(Answer::Disable)) => Ok(engine().monitoring.disable.clone_ref(py)),
        Ok(Ok(Answer::Raise(interrupt))) => Err(interrupt),
        Ok(Err(e)) => {
            tracing::error!("{what} callback failed: {e}");
            Ok(py.None())
        }
        Err(_) => {
            tracing::error!("{what} callback panicked");
            Ok(py.None())
        }
    }
}

/// The frame that raised the current event.
pub(super) fn current_frame(py: Python<'_>) -> Option<Bound<'_, PyAny>> {
    // SAFETY: called with the GIL held; PyEval_GetFrame returns a borrowed reference or NULL.
    unsafe {
        let frame = ffi::PyEval_GetFrame();
        if frame.is_null() {
            None
        } else {
            Some(Bound::from_borrowed_ptr(py, frame.cast::<ffi::PyObject>()))
        }
    }
}

// Each callback takes the event's arguments as sys.monitoring passes them, positionally: pyo3
// receives them by vectorcall, with no tuple built per event.

#[pyfunction]
fn on_py_start(py: Python<'_>, code: &Bound<'_, PyAny>, _offset: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    guarded(py, "PY_START", || engine().on_py_start(py, code))
}

#[pyfunction]
fn on_line(py: Python<'_>, code: &Bound<'_, PyAny>, line: i64) -> PyResult<Py<PyAny>> {
    guarded(py, "LINE", || engine().on_line(py, code, line))
}

#[pyfunction]
fn on_py_return(
    py: Python<'_>,
    _code: &Bound<'_, PyAny>,
    _offset: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    guarded(py, "PY_RETURN", || engine().on_frame_leave(py, Leave::Return(value)))
}

#[pyfunction]
fn on_py_unwind(
    py: Python<'_>,
    _code: &Bound<'_, PyAny>,
    _offset: &Bound<'_, PyAny>,
    exception: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    guarded(py, "PY_UNWIND", || {
        engine().on_frame_leave(py, Leave::Unwind)?;
        engine().on_unwind(py, exception)
    })
}

/// A builtin function object for a raw METH_FASTCALL function, which lives as long as the process.
fn raw_fastcall_function<'py>(
    py: Python<'py>,
    name: &'static CStr,
    function: ffi::PyCFunctionFast,
) -> PyResult<Bound<'py, PyAny>> {
    let definition = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: name.as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunctionFast: function },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: std::ptr::null(),
    }));
    // SAFETY: the definition is never freed; NewEx returns a new reference or NULL with an error set.
    unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyCFunction_NewEx(definition, std::ptr::null_mut(), std::ptr::null_mut()))
    }
}

/// RAISE, a raw METH_FASTCALL function rather than a pyo3 one: when the raised type is known not
/// to stop, it returns after a few atomic loads, without pyo3's per-call bookkeeping. Never
/// answers DISABLE: for RAISE that would raise ValueError inside the user's program.
unsafe extern "C" fn on_raise(
    _module: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: sys.monitoring calls RAISE callbacks with the GIL held and three live arguments:
    // code, offset and exception.
    unsafe {
        if nargs != 3 {
            return ffi::Py_NewRef(ffi::Py_None());
        }
        let exception = *args.add(2);
        // Most raised types never stop. The exception last judged is forgotten, so that it counts
        // as new if it is raised again.
        if engine().raise_verdict_known(ffi::Py_TYPE(exception)) == Some(false) {
            LAST_RAISED.forget();
            return ffi::Py_NewRef(ffi::Py_None());
        }
        let (code, exception) = (*args, exception);
        attached(|py| {
            let code = Bound::from_borrowed_ptr(py, code);
            let exception = Bound::from_borrowed_ptr(py, exception);
            raw_answer(py, guarded(py, "RAISE", || engine().on_raise(py, &code, &exception)))
        })
    }
}

// The raw callbacks' fast paths drop no `Py` (pyo3 would defer the release, not knowing the
// thread is attached); their other paths run in `attached`, as pyo3's own callbacks do.

/// Runs a raw callback's full path attached as pyo3 counts it. While the interpreter finalizes
/// pyo3 will not attach: the event is let through (None).
fn attached(path: impl FnOnce(Python<'_>) -> *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: the GIL is held by the caller, a callback CPython called.
    Python::try_attach(path).unwrap_or_else(|| unsafe { ffi::Py_NewRef(ffi::Py_None()) })
}

/// What a raw callback returns for `guarded`'s answer: a new reference, or NULL with the
/// program's KeyboardInterrupt set.
fn raw_answer(py: Python<'_>, answer: PyResult<Py<PyAny>>) -> *mut ffi::PyObject {
    match answer {
        Ok(answer) => answer.into_ptr(),
        Err(interrupt) => {
            interrupt.restore(py);
            std::ptr::null_mut()
        }
    }
}

/// INSTRUCTION, a raw METH_FASTCALL function: just after a store to a watched local, the write
/// that neither changes the value nor stops is decided under one lock, with no Python
/// (`local_watches::after_store`); everything else takes the full path.
unsafe extern "C" fn on_instruction(
    _module: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: sys.monitoring calls INSTRUCTION callbacks with the GIL held and two live
    // arguments: code and offset.
    unsafe {
        let py = Python::assume_attached();
        // (pydbg's own threads are turned away by `guarded`, on the full path; the fast path acts
        // only in a watched frame, which is never theirs.)
        if nargs != 2 {
            return ffi::Py_NewRef(ffi::Py_None());
        }
        let offset = ffi::PyLong_AsLongLong(*args.add(1));
        if offset == -1 && !ffi::PyErr_Occurred().is_null() {
            ffi::PyErr_Clear();
            return ffi::Py_NewRef(ffi::Py_None());
        }
        let engine = engine();
        let code = *args;
        let decided =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| engine.after_store(py, code as usize, offset)));
        match decided.unwrap_or(AfterStore::FullPath) {
            AfterStore::Nothing => ffi::Py_NewRef(ffi::Py_None()),
            AfterStore::Stop(change, on_store_line) => attached(|py| {
                raw_answer(
                    py,
                    guarded(py, "INSTRUCTION", || {
                        Ok(Answer::after_stop(engine.stop_after_store(py, change, on_store_line).flatten()))
                    }),
                )
            }),
            AfterStore::FullPath => attached(|py| {
                let code = Bound::from_borrowed_ptr(py, code);
                raw_answer(py, guarded(py, "INSTRUCTION", || engine.on_instruction(py, &code, offset)))
            }),
        }
    }
}

#[pyfunction]
fn on_py_yield(
    py: Python<'_>,
    _code: &Bound<'_, PyAny>,
    _offset: &Bound<'_, PyAny>,
    _value: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    guarded(py, "PY_YIELD", || engine().on_frame_leave(py, Leave::Yield))
}

fn filename<'py>(py: Python<'py>, code: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
    Ok(code.getattr(pyo3::intern!(py, "co_filename"))?.cast_into::<PyString>()?)
}

impl Engine {
    fn on_py_start(&self, py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<Answer> {
        let filename = filename(py, code)?;
        let (info, has_breakpoints, has_function_breakpoints, just_my_code) = {
            let mut state = self.state.lock();
            let info = state.files.info(filename.to_str()?);
            let has_breakpoints = state.line_breakpoints.contains_key(&info.key);
            (info, has_breakpoints, !state.function_breakpoints.is_empty(), state.just_my_code)
        };
        let origin = info.origin;
        if origin == Origin::Internal {
            return Ok(Answer::Disable);
        }
        if has_breakpoints {
            self.watch_code_for_breakpoints(py, code, info);
        }
        let mut keep = false;
        if has_function_breakpoints {
            keep = self.check_function_breakpoints(py, code)?;
        }
        let ident = current_ident();
        let plan = self.plans.get(&ident).map(|p| p.wants_new_frames());
        let stoppable = origin == Origin::User || !just_my_code;
        if (plan == Some(true) && stoppable) || self.must_stop_for_all_stop() {
            self.watch_code_for_step(py, code)?;
        }
        if plan.is_some() {
            if let Some(frame) = current_frame(py) {
                let caller = frame.getattr("f_back")?.as_ptr() as usize;
                if self.plans.get(&ident).is_some_and(|p| p.steps_over_calls_from(caller)) {
                    self.watch_code_for_return_value(py, code)?;
                }
            }
        }
        Ok(if keep || !self.quiet() { Answer::Keep } else { Answer::Disable })
    }

    /// Matches a starting function against the function breakpoints by qualified name, with or
    /// without its module. Returns whether PY_START must stay on for this code.
    fn check_function_breakpoints(&self, py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<bool> {
        let qualname: String = code.getattr(pyo3::intern!(py, "co_qualname"))?.extract()?;
        let candidates: Vec<_> = self
            .state
            .lock()
            .function_breakpoints
            .iter()
            .filter(|(name, _)| name.ends_with(qualname.as_str()))
            .cloned()
            .collect();
        if candidates.is_empty() {
            return Ok(false);
        }
        let Some(frame) = current_frame(py) else { return Ok(true) };
        let module: String =
            frame.getattr("f_globals")?.get_item("__name__").and_then(|n| n.extract()).unwrap_or_default();
        for (name, bp) in candidates {
            if name != qualname && name != format!("{module}.{qualname}") {
                continue;
            }
            if self.breakpoint_stops(py, &bp, &frame) {
                self.plans.insert(current_ident(), StepPlan::entry(StepKind::FunctionEntry(bp.id)));
                self.watch_code_for_step(py, code)?;
                self.refresh_events(py);
                break;
            }
        }
        Ok(true)
    }

    /// Runs a breakpoint's condition, hit count and log message in `frame`; whether it stops.
    pub(super) fn breakpoint_stops(&self, py: Python<'_>, bp: &Breakpoint, frame: &Bound<'_, PyAny>) -> bool {
        let (verdict, error) = bp.decide(py, frame);
        if let Some(error) = error {
            self.output("console", error);
        }
        match verdict {
            Verdict::Stop => true,
            Verdict::Log(text) => {
                self.output("console", text);
                false
            }
            Verdict::Ignore => false,
        }
    }

    /// PY_RETURN, PY_UNWIND or PY_YIELD on a thread that may be stepping.
    fn on_frame_leave<'py>(&self, py: Python<'py>, how: Leave<'_, 'py>) -> PyResult<Answer> {
        let Some(frame) = current_frame(py) else { return Ok(Answer::Keep) };
        let mut interrupt = None;
        if !matches!(how, Leave::Yield) {
            let code = crate::frames::code(&frame)?;
            if Engine::watches_code(&self.state.lock(), code.as_ptr() as usize) {
                interrupt = self.data_frame_exit(py, &frame);
            }
        }
        let mut released = Vec::new();
        let caller = match (self.plans.get_mut(&current_ident()), how) {
            (Some(mut plan), Leave::Yield) => plan.on_frame_yield(&frame)?,
            (Some(mut plan), Leave::Return(value)) => {
                plan.on_call_return(&frame, value, &mut released)?;
                plan.on_frame_exit(&frame, Some(value), &mut released)?
            }
            (Some(mut plan), Leave::Unwind) => plan.on_frame_exit(&frame, None, &mut released)?,
            (None, _) => None,
        };
        drop(released);
        if let Some(caller) = caller {
            self.watch_code_for_instructions(py, &crate::frames::code(&caller)?)?;
        }
        Ok(Answer::after_stop(interrupt))
    }

    fn on_raise(&self, py: Python<'_>, code: &Bound<'_, PyAny>, exception: &Bound<'_, PyAny>) -> PyResult<Answer> {
        // Most raised types never stop: decided first, by type, without the state lock.
        if !self.raise_stops_on_type(exception)? {
            return Ok(Answer::Keep);
        }
        let filename = filename(py, code)?;
        let (origin, just_my_code) = {
            let mut state = self.state.lock();
            (state.files.info(filename.to_str()?).origin, state.just_my_code)
        };
        // With justMyCode, an exception from a library is judged where it reaches user code.
        if origin == Origin::Internal || (just_my_code && origin != Origin::User) {
            return Ok(Answer::Keep);
        }
        if !LAST_RAISED.first_sight(exception) {
            return Ok(Answer::Keep);
        }
        let Some(frame) = current_frame(py) else { return Ok(Answer::Keep) };
        let text = exception_text(py, exception);
        let interrupt = self.park_with(
            py,
            &frame,
            StopReason::Exception { mode: BreakMode::Always, text },
            ParkedIn::OtherEvent,
            Some(exception),
            None,
        );
        Ok(Answer::after_stop(interrupt))
    }

    /// `userUnhandled`: an exception leaves a user frame into a library frame.
    fn on_unwind(&self, py: Python<'_>, exception: &Bound<'_, PyAny>) -> PyResult<Answer> {
        let filters = self.exception_filters();
        if !filters.wants_unwind_events() {
            return Ok(Answer::Keep);
        }
        let Some(frame) = current_frame(py) else { return Ok(Answer::Keep) };
        let caller = frame.getattr("f_back")?;
        if caller.is_none() {
            return Ok(Answer::Keep);
        }
        let origin_of = |f: &Bound<'_, PyAny>| -> PyResult<Origin> {
            let filename: String = f.getattr("f_code")?.getattr("co_filename")?.extract()?;
            Ok(self.origin_of(&filename))
        };
        if origin_of(&frame)? != Origin::User || origin_of(&caller)? != Origin::Library {
            return Ok(Answer::Keep);
        }
        if !LAST_LEFT_USER_CODE.first_sight(exception)
            || !filters.stops_when_leaving_user_code(&self.exception_type_names(exception)?)
        {
            return Ok(Answer::Keep);
        }
        let text = exception_text(py, exception);
        let interrupt = self.park_with(
            py,
            &frame,
            StopReason::Exception { mode: BreakMode::UserUnhandled, text },
            ParkedIn::OtherEvent,
            Some(exception),
            None,
        );
        Ok(Answer::after_stop(interrupt))
    }

    fn on_instruction(&self, py: Python<'_>, code: &Bound<'_, PyAny>, offset: i64) -> PyResult<Answer> {
        let Some(frame) = current_frame(py) else { return Ok(Answer::Keep) };
        let address = code.as_ptr() as usize;
        // Just after a store to a watched local (local_watches.rs).
        let (after_store, only_data) = {
            let state = self.state.lock();
            let after_store = Engine::watches_offset(&state, address, offset);
            let others =
                state.instruction_breakpoints.contains_key(&address) || state.column_code.contains_key(&address);
            (after_store, after_store && !others)
        };
        if after_store {
            if let Some(change) = self.stopping_local_change(py, &frame, address, offset) {
                if let Some(interrupt) = self.stop_after_store(py, change, self.on_store_line(address, offset)) {
                    return Ok(Answer::after_stop(interrupt));
                }
            }
            if only_data && self.plans.is_empty() {
                return Ok(Answer::Keep);
            }
        }
        let filename = filename(py, code)?;
        let (origin, just_my_code, breakpoint) = {
            let mut state = self.state.lock();
            let at = |bps: Option<&BTreeMap<i64, Arc<Breakpoint>>>| bps.and_then(|b| b.get(&offset)).cloned();
            let breakpoint = match at(state.instruction_breakpoints.get(&address).map(|c| &c.by_offset)) {
                Some(bp) => Some((StopReason::InstructionBreakpoint(bp.id), bp)),
                None => at(state.column_code.get(&address).map(|c| &c.by_offset))
                    .map(|bp| (StopReason::Breakpoint(bp.id), bp)),
            };
            (state.files.info(filename.to_str()?).origin, state.just_my_code, breakpoint)
        };
        if let Some((reason, bp)) = breakpoint.as_ref() {
            if self.breakpoint_stops(py, bp, &frame) {
                return Ok(Answer::after_stop(self.park(py, &frame, reason.clone(), ParkedIn::OtherEvent)));
            }
        }
        let stoppable = origin == Origin::User || (origin == Origin::Library && !just_my_code);
        let stop = self
            .plans
            .get_mut(&current_ident())
            .is_some_and(|mut plan| plan.stops_at_instruction(frame.as_ptr() as usize, offset, stoppable));
        if stop {
            if let Some(reason) = self.step_end_reason(py, &frame, StopReason::Step) {
                return Ok(Answer::after_stop(self.park(py, &frame, reason, ParkedIn::OtherEvent)));
            }
        }
        // Only a breakpoint's own instruction needs to call back again, until the next restart.
        Ok(if breakpoint.is_none() && !after_store && self.quiet() { Answer::Disable } else { Answer::Keep })
    }

    fn on_line(&self, py: Python<'_>, code: &Bound<'_, PyAny>, line: i64) -> PyResult<Answer> {
        let at_line = |state: &State, info: Arc<FileInfo>| {
            let file = state.line_breakpoints.get(&info.key);
            let bp = file.and_then(|f| f.lines.get(&line)).cloned();
            let columns = file.and_then(|f| f.columns.get(&line)).cloned();
            (info, bp, columns, state.just_my_code)
        };
        // Code armed for breakpoints knows its file; other code (a step's) reads `co_filename`.
        let armed = {
            let state = self.state.lock();
            let file = state.breakpoint_code.get(&(code.as_ptr() as usize)).map(|armed| armed.file.clone());
            file.map(|file| at_line(&state, file))
        };
        let (info, breakpoint, columns, just_my_code) = match armed {
            Some(found) => found,
            None => {
                let filename = filename(py, code)?;
                let mut state = self.state.lock();
                let info = state.files.info(filename.to_str()?);
                at_line(&state, info)
            }
        };
        let origin = info.origin;
        if let Some(columns) = &columns {
            self.arm_column_breakpoints(py, code, &info.key, line, columns)?;
        }
        if origin == Origin::Internal {
            return Ok(Answer::Disable);
        }
        let Some(frame) = current_frame(py) else { return Ok(Answer::Keep) };
        if let Some(bp) = &breakpoint {
            if self.breakpoint_stops(py, bp, &frame) {
                return Ok(Answer::after_stop(self.park(py, &frame, StopReason::Breakpoint(bp.id), ParkedIn::Line)));
            }
        }
        let ident = current_ident();
        let step_stop = self.plans.get(&ident).and_then(|plan| {
            // The program's entry is its own first line, never the library code before it.
            let stoppable = origin == Origin::User || (!just_my_code && plan.kind != StepKind::ProgramEntry);
            let function = match plan.kind {
                StepKind::IntoTarget(_) => {
                    code.getattr("co_name").and_then(|n| n.extract::<String>()).unwrap_or_default()
                }
                _ => String::new(),
            };
            plan.stops_at_line(frame.as_ptr() as usize, stoppable, &function).then(|| plan.kind.clone())
        });
        if let Some(kind) = step_stop {
            let reason = match kind {
                StepKind::FunctionEntry(id) => StopReason::FunctionBreakpoint(id),
                StepKind::ProgramEntry => StopReason::Entry,
                _ => StopReason::Step,
            };
            if let Some(reason) = self.step_end_reason(py, &frame, reason) {
                return Ok(Answer::after_stop(self.park(py, &frame, reason, ParkedIn::Line)));
            }
        }
        if self.must_stop_for_all_stop() {
            return Ok(Answer::after_stop(self.park(py, &frame, StopReason::Pause, ParkedIn::Line)));
        }
        let disable = breakpoint.is_none() && columns.is_none() && self.quiet();
        Ok(if disable { Answer::Disable } else { Answer::Keep })
    }
}
