//! Data breakpoints on a local variable of one live frame. Its code object gets INSTRUCTION (and
//! PY_RETURN) as local events; every instruction answers DISABLE but those just after a store to
//! (or a delete of) that variable, where its value is compared with the last one seen. So a watch
//! costs one callback per write, and a stop comes right after the write. The watch ends when its
//! frame returns or unwinds. Other frames of the same code pass through one pointer comparison. A
//! cell variable's nested writers (`nonlocal`) get the same events after their stores, which
//! compare the watched frame's value, whichever frame and thread wrote it.

use std::sync::Arc;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::conditions::Breakpoint;
use super::data_breakpoints::{describe, equal_without_python, is_builtin_scalar, same_value, DataChange};
use super::threads::{ParkedIn, StopReason};
use super::{current_ident, Engine, EngineEvent};
use crate::frames;

pub(super) struct LocalWatch {
    id: i64,
    /// Held, so that its address, which LINE events are matched by, stays its own.
    frame: Py<PyAny>,
    name: Py<PyString>,
    /// The value after the last write seen; None while unbound.
    last: Option<Py<PyAny>>,
    /// The code that can write the variable: the frame's own first, then, for a cell variable,
    /// the nested functions' that write it as `nonlocal`.
    writers: Vec<WriterCode>,
    breakpoint: Arc<Breakpoint>,
}

/// A code object that stores to a watched variable, and where.
struct WriterCode {
    code: Py<PyAny>,
    /// The frame's own code: its stores count in the watched frame only (another call of the
    /// function has its own variable). A nested function's write the cell, in any frame.
    own: bool,
    /// The offsets of the instructions just after a store or delete of the variable.
    after_stores: Vec<i64>,
    /// Those of them still on the store's line (a loop's jump back): a stop waits for the next
    /// line. The others start the next line: a stop is made there.
    on_store_line: Vec<i64>,
}

impl LocalWatch {
    pub(super) fn codes(&self) -> impl Iterator<Item = &Py<PyAny>> {
        self.writers.iter().map(|writer| &writer.code)
    }

    fn writer(&self, address: usize) -> Option<&WriterCode> {
        self.writers.iter().find(|writer| writer.code.as_ptr() as usize == address)
    }

    /// Whether the instruction at `offset` of the code at `address`, running in `frame`, comes
    /// just after a store to this variable.
    fn is_after_store(&self, address: usize, offset: i64, frame: usize) -> bool {
        self.writer(address).is_some_and(|writer| {
            writer.after_stores.contains(&offset) && (!writer.own || self.frame.as_ptr() as usize == frame)
        })
    }

    fn change(&self, py: Python<'_>, old: Option<Py<PyAny>>, new: Option<Py<PyAny>>) -> DataChange {
        DataChange {
            id: self.id,
            label: self.name.bind(py).to_string(),
            old,
            new,
            breakpoint: self.breakpoint.clone(),
            absent: "(unbound)",
            judged: false,
        }
    }
}

/// What an INSTRUCTION event just after a store decides (`Engine::after_store`).
pub(super) enum AfterStore {
    Nothing,
    /// A change found to stop (its breakpoint has agreed), and whether the instruction is still
    /// on the store's line.
    Stop(DataChange, bool),
    FullPath,
}
impl Engine {
    /// Whether a local watch is on `address`'s code (called with the state lock held).
    pub(super) fn watches_code(state: &super::State, address: usize) -> bool {
        state.data_watches.iter().any(|w| w.writer(address).is_some())
    }

    /// Whether `offset` of `address`'s code comes just after a store to a watched local, in any
    /// frame: such an instruction must never answer DISABLE, which would turn it off for every
    /// frame of the code.
    pub(super) fn watches_offset(state: &super::State, address: usize, offset: i64) -> bool {
        state.data_watches.iter().any(|w| w.writer(address).is_some_and(|writer| writer.after_stores.contains(&offset)))
    }

    /// An INSTRUCTION event at `offset` of the code at `code`, decided under one lock and without
    /// Python when it can be: not after a store to a watched local (or other things need the
    /// event: a step, an instruction or column breakpoint): the full path; the frame is another
    /// than the watched one, or its value is the same builtin scalar, or a change whose
    /// breakpoint (with no condition) does not stop on this hit: nothing; a change that stops:
    /// its reason. Values are compared under the lock only when no Python can run.
    pub(super) fn after_store(&self, py: Python<'_>, code: usize, offset: i64) -> AfterStore {
        // A step or a stop of this thread may need this instruction.
        if self.plans.contains_key(&current_ident()) || self.all_stop.is_active() {
            return AfterStore::FullPath;
        }
        // SAFETY: the GIL is held; a borrowed reference, or NULL.
        let frame = unsafe { ffi::PyEval_GetFrame() } as usize;
        let mut released = Vec::new();
        let mut stopping = None;
        let watched = {
            let mut state = self.state.lock();
            // (Empty tables are asked first: they need no hashing.)
            let instruction_breakpoints =
                !state.instruction_breakpoints.is_empty() && state.instruction_breakpoints.contains_key(&code);
            let column_breakpoints = !state.column_code.is_empty() && state.column_code.contains_key(&code);
            if instruction_breakpoints || column_breakpoints {
                return AfterStore::FullPath;
            }
            let mut watched = false;
            for watch in state.data_watches.iter_mut() {
                let Some(writer) = watch.writer(code).filter(|w| w.after_stores.contains(&offset)) else { continue };
                watched = true;
                if writer.own && watch.frame.as_ptr() as usize != frame {
                    continue;
                }
                let on_store_line = writer.on_store_line.contains(&offset);
                // `new` may be released under the lock: the frame holds it too, so no finalizer
                // runs. Values are released as Bounds, right away (the caller is not pyo3's,
                // which would defer releasing a `Py`).
                let new = frames::local(watch.frame.bind(py), watch.name.bind(py)).ok().flatten();
                match equal_without_python(watch.last.as_ref().map(|v| v.bind(py)), new.as_ref()) {
                    Some(true) => {}
                    Some(false) => match watch.breakpoint.decide_without_python() {
                        Some(stops) => {
                            let old = std::mem::replace(&mut watch.last, new.as_ref().map(|v| v.clone().unbind()));
                            if stops {
                                stopping = Some((watch.change(py, old, new.map(Bound::unbind)), on_store_line));
                                break;
                            }
                            // A builtin scalar's release runs no Python: not worth a list (the
                            // hot loop's every write).
                            match old.map(|v| v.into_bound(py)) {
                                Some(old) if !is_builtin_scalar(&old) => released.push(old),
                                _ => {}
                            }
                        }
                        None => return AfterStore::FullPath,
                    },
                    None => return AfterStore::FullPath,
                }
            }
            watched
        };
        drop(released);
        match stopping {
            Some((change, on_store_line)) => AfterStore::Stop(change, on_store_line),
            None if watched => AfterStore::Nothing,
            None => AfterStore::FullPath,
        }
    }

    /// A change found to stop just after a store: the thread stops on the next line. The
    /// instruction at hand starts it, or else (still on the store's line: a loop's jump back) the
    /// stop waits for it, as after any other watched write. Some when it stopped here, with
    /// what the stop left to raise (`park`).
    pub(super) fn stop_after_store(
        &self,
        py: Python<'_>,
        change: DataChange,
        on_store_line: bool,
    ) -> Option<Option<PyErr>> {
        let frame = super::callbacks::current_frame(py)?;
        if on_store_line {
            self.stop_after_writes(py, &frame, vec![DataChange { judged: true, ..change }]);
            return None;
        }
        let reason = StopReason::DataBreakpoint { id: change.id, description: describe(py, &change) };
        Some(self.park(py, &frame, reason, ParkedIn::OtherEvent))
    }

    /// Whether `offset` of `address`'s code, just after a store to a watched local, is still on
    /// the store's line.
    pub(super) fn on_store_line(&self, address: usize, offset: i64) -> bool {
        let state = self.state.lock();
        state
            .data_watches
            .iter()
            .any(|w| w.writer(address).is_some_and(|writer| writer.on_store_line.contains(&offset)))
    }

    /// Just after a store at `offset` of the code at `address`, running in `frame`: the first
    /// watch it wrote whose value changed and whose condition and hit condition agree, if any.
    pub(super) fn stopping_local_change(
        &self,
        py: Python<'_>,
        frame: &Bound<'_, PyAny>,
        address: usize,
        offset: i64,
    ) -> Option<DataChange> {
        let written = |w: &LocalWatch| w.is_after_store(address, offset, frame.as_ptr() as usize);
        self.changes_in(py, written).into_iter().find(|change| self.stop_for_change(py, change, frame).is_some())
    }

    /// The stop for a local's change at its frame's exit, where there is no next line.
    fn data_change_stop(&self, py: Python<'_>, frame: &Bound<'_, PyAny>) -> Option<StopReason> {
        let of_frame = |w: &LocalWatch| w.frame.as_ptr() == frame.as_ptr();
        self.changes_in(py, of_frame).iter().find_map(|change| self.stop_for_change(py, change, frame))
    }
    /// The frame is leaving for good: its last write is judged, then its watches end.
    pub(super) fn data_frame_exit(&self, py: Python<'_>, frame: &Bound<'_, PyAny>) -> Option<PyErr> {
        let interrupt =
            self.data_change_stop(py, frame).and_then(|reason| self.park(py, frame, reason, ParkedIn::OtherEvent));
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
            self.rearm_watched_code(py, ended.iter().flat_map(|w| w.codes()).map(|c| c.clone_ref(py)).collect());
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
            // The value replaced is released after the lock: its finalizer may run Python.
            let replaced = self
                .state
                .lock()
                .data_watches
                .iter_mut()
                .find(|w| w.id == id)
                .map(|w| std::mem::replace(&mut w.last, value));
            drop(replaced);
        }
    }

    /// The changed watches among those `chosen` picks, their last values brought up to date.
    /// Values are read by the frame API and builtin scalars compared under the state lock (no
    /// Python runs); other values are compared by `==` after it, and values replaced are released
    /// after it too.
    fn changes_in(&self, py: Python<'_>, chosen: impl Fn(&LocalWatch) -> bool) -> Vec<DataChange> {
        let mut changes = Vec::new();
        let mut undecided: Vec<(i64, Option<Py<PyAny>>)> = Vec::new();
        let mut released = Vec::new();
        {
            let mut state = self.state.lock();
            for watch in state.data_watches.iter_mut().filter(|w| chosen(w)) {
                let new = frames::local(watch.frame.bind(py), watch.name.bind(py)).ok().flatten().map(Bound::unbind);
                match equal_without_python(watch.last.as_ref().map(|v| v.bind(py)), new.as_ref().map(|v| v.bind(py))) {
                    Some(true) => released.push(new),
                    Some(false) => {
                        let old = std::mem::replace(&mut watch.last, new.as_ref().map(|v| v.clone_ref(py)));
                        changes.push(watch.change(py, old, new));
                    }
                    None => undecided.push((watch.id, new)),
                }
            }
        }
        drop(released);
        for (id, new) in undecided {
            let (old, template) = {
                let mut state = self.state.lock();
                let Some(watch) = state.data_watches.iter_mut().find(|w| w.id == id) else { continue };
                let old = std::mem::replace(&mut watch.last, new.as_ref().map(|v| v.clone_ref(py)));
                (old, watch.change(py, None, None))
            };
            if !same_value(py, old.as_ref().map(|v| v.bind(py)), new.as_ref().map(|v| v.bind(py))) {
                changes.push(DataChange { old, new, ..template });
            }
        }
        changes
    }

    /// Sets the local events of code that gained or lost watches, and the global ones.
    pub(super) fn rearm_watched_code(&self, py: Python<'_>, mut touched: Vec<Py<PyAny>>) {
        let rearm: Vec<(Py<PyAny>, i64)> = {
            let state = self.state.lock();
            touched.extend(state.data_watches.iter().flat_map(|w| w.codes()).map(|c| c.clone_ref(py)));
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

/// Whether `frame` is on a thread's stack now: one that returned (or a suspended generator's)
/// can never be written again, and its watch would never end.
fn is_running(py: Python<'_>, frame: &Bound<'_, PyAny>) -> PyResult<bool> {
    let stacks = py.import("sys")?.call_method0("_current_frames")?.cast_into::<pyo3::types::PyDict>()?;
    for top in stacks.values() {
        let mut next = Some(top);
        while let Some(candidate) = next {
            if candidate.is(frame) {
                return Ok(true);
            }
            next = frames::back(&candidate)?;
        }
    }
    Ok(false)
}

pub(super) fn new_watch(
    py: Python<'_>,
    id: i64,
    frame: Py<PyAny>,
    name: &str,
    breakpoint: Arc<Breakpoint>,
) -> PyResult<LocalWatch> {
    if !is_running(py, frame.bind(py))? {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "`{name}` belongs to a call that has returned (or a generator that is not running): nothing can write it"
        )));
    }
    // Interned, as the code's own names are: the frame API finds it by identity, with no compare.
    let name = PyString::intern(py, name);
    let last = frames::local(frame.bind(py), &name)?.map(Bound::unbind);
    let code = frames::code(frame.bind(py))?;
    let (after_stores, on_store_line) = offsets_after_stores(&code, &name)?;
    let mut writers = vec![WriterCode { code: code.clone().unbind(), own: true, after_stores, on_store_line }];
    let cells = code.getattr("co_cellvars")?;
    if cells.contains(&name)? {
        nested_writers(&code, &name, &mut writers)?;
    }
    Ok(LocalWatch { id, frame, name: name.unbind(), last, writers, breakpoint })
}

/// The functions nested in `code` (at any depth) that write the cell variable `name` as
/// `nonlocal`. A nested function sees the variable only when it is one of its free variables;
/// one that binds the name itself has its own variable, and so do the functions inside it.
fn nested_writers(code: &Bound<'_, PyAny>, name: &Bound<'_, PyString>, writers: &mut Vec<WriterCode>) -> PyResult<()> {
    let code_type = code.get_type();
    for constant in code.getattr("co_consts")?.try_iter()? {
        let nested = constant?;
        if !nested.get_type().is(&code_type) || !nested.getattr("co_freevars")?.contains(name)? {
            continue;
        }
        let (after_stores, on_store_line) = offsets_after_stores(&nested, name)?;
        if !after_stores.is_empty() {
            writers.push(WriterCode { code: nested.clone().unbind(), own: false, after_stores, on_store_line });
        }
        nested_writers(&nested, name, writers)?;
    }
    Ok(())
}

/// Instructions that bind or unbind a local (or cell) variable. The `*_FAST_*` pairs are 3.13's
/// superinstructions; LOAD_FAST_AND_CLEAR saves and unbinds a name an inlined comprehension
/// reuses, which a STORE_FAST puts back.
const STORES: [&str; 8] = [
    "STORE_FAST",
    "DELETE_FAST",
    "STORE_DEREF",
    "DELETE_DEREF",
    "STORE_FAST_STORE_FAST",
    "STORE_FAST_LOAD_FAST",
    "STORE_FAST_MAYBE_NULL",
    "LOAD_FAST_AND_CLEAR",
];

/// The offsets of the instructions just after each store or delete of `name` in `code`, and
/// those of them on the store's own line.
fn offsets_after_stores(code: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> PyResult<(Vec<i64>, Vec<i64>)> {
    let instructions: Vec<Bound<'_, PyAny>> =
        code.py().import("dis")?.call_method1("get_instructions", (code,))?.try_iter()?.collect::<PyResult<_>>()?;
    let line = |instruction: &Bound<'_, PyAny>| -> PyResult<Option<i64>> {
        instruction.getattr("positions")?.getattr("lineno")?.extract()
    };
    let (mut after, mut on_store_line) = (Vec::new(), Vec::new());
    for (index, instruction) in instructions.iter().enumerate() {
        let opname: String = instruction.getattr("opname")?.extract()?;
        if !STORES.contains(&opname.as_str()) {
            continue;
        }
        let argval = instruction.getattr("argval")?;
        let stores_name = match argval.cast::<pyo3::types::PyTuple>() {
            Ok(pair) => pair.iter().any(|n| n.eq(name).unwrap_or(false)),
            Err(_) => argval.eq(name)?,
        };
        if let Some(next) = instructions.get(index + 1).filter(|_| stores_name) {
            let offset: i64 = next.getattr("offset")?.extract()?;
            after.push(offset);
            if line(next)?.is_none_or(|next_line| Some(next_line) == line(instruction).ok().flatten()) {
                on_store_line.push(offset);
            }
        }
    }
    Ok((after, on_store_line))
}
