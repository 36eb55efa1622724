//! Step plans: what one thread is waiting for after next, stepIn, stepOut or a function
//! breakpoint. A plan only decides; the engine enables the events that let it decide.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dashmap::mapref::one::{Ref, RefMut};
use dashmap::DashMap;
use pyo3::prelude::*;
use rustc_hash::FxBuildHasher;

use super::data_breakpoints::DataChange;
use crate::frames;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    Over,
    In,
    /// stepIn with a target from stepInTargets: step over the line, but stop in the function
    /// of that name if the line calls it.
    IntoTarget(Arc<str>),
    Out,
    /// A function breakpoint matched at PY_START: stop at the function's first line.
    FunctionEntry(i64),
    /// stopOnEntry: stop at the first line of the user's program.
    ProgramEntry,
    /// A watched dict entry was written (`dict_watches.rs`): the writing frame's next line, as a
    /// step over, judges the write.
    AfterWrite,
}

/// A step the client asked for: its kind, and whether it moves by line or by bytecode
/// instruction (next, stepIn and stepOut with `granularity: "instruction"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    pub by_instruction: bool,
}

impl Step {
    pub fn by_line(kind: StepKind) -> Step {
        Step { kind, by_instruction: false }
    }
}

pub struct StepPlan {
    pub kind: StepKind,
    /// An instruction step: the origin's next instruction ends it (INSTRUCTION events on the
    /// origin's code, for this step only).
    by_instruction: bool,
    /// The offset the origin stopped at. A stop made at a LINE event sees that same instruction
    /// again as the first INSTRUCTION event; it is not a step.
    skip_offset: Option<i64>,
    origin: Option<Py<PyAny>>,
    /// The origin's callers, kept alive so that their addresses stay unique while the plan lives.
    ancestors: Vec<Py<PyAny>>,
    origin_is_generator: bool,
    /// The origin frame returned or unwound: the next user line anywhere on the thread ends the step.
    origin_done: bool,
    /// The frame the origin returned to: its next instruction ends the step, so the step shows
    /// the calling line again, as it does in debugpy.
    return_to: Option<Py<PyAny>>,
    /// What the origin returned, or what the calls a step over made returned to it, by function
    /// name, for `(return) name` in Locals. A name that returns again keeps its last value.
    pub return_values: Vec<(String, Py<PyAny>)>,
    /// IntoTarget: the name of the function to stop in.
    target: Option<Arc<str>>,
    /// Writes to watched dict entries since the plan began, which the line that ends it judges.
    pub(super) data_changes: Vec<DataChange>,
}

// CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR | CO_ITERABLE_COROUTINE
pub const RESUMABLE_FLAGS: i64 = 0x20 | 0x80 | 0x200 | 0x100;

impl StepPlan {
    /// A plan that starts in `origin`, the frame the thread is stopped in.
    pub fn new(step: Step, origin: &Bound<'_, PyAny>) -> PyResult<Self> {
        let Step { kind, by_instruction } = step;
        let by_instruction = by_instruction && matches!(kind, StepKind::Over | StepKind::In | StepKind::Out);
        // The frame API throughout: `f_code` raises an audit event (audit hooks are Python), and a
        // plan is also made inside a dict watcher, and read under its table's lock.
        let mut ancestors = Vec::new();
        let mut next = frames::back(origin)?;
        while let Some(frame) = next {
            next = frames::back(&frame)?;
            ancestors.push(frame.unbind());
        }
        let flags: i64 = frames::code(origin)?.getattr("co_flags")?.extract()?;
        let target = match &kind {
            StepKind::IntoTarget(function) => Some(function.clone()),
            _ => None,
        };
        let skip_offset = if by_instruction { Some(frames::last_instruction(origin)?) } else { None };
        Ok(StepPlan {
            kind,
            by_instruction,
            skip_offset,
            origin: Some(origin.clone().unbind()),
            ancestors,
            origin_is_generator: flags & RESUMABLE_FLAGS != 0,
            origin_done: false,
            return_to: None,
            return_values: Vec::new(),
            target,
            data_changes: Vec::new(),
        })
    }

    /// A plan with no origin frame: stop at the next line entered (`FunctionEntry`,
    /// `ProgramEntry`).
    pub fn entry(kind: StepKind) -> Self {
        StepPlan {
            kind,
            by_instruction: false,
            skip_offset: None,
            origin: None,
            ancestors: Vec::new(),
            origin_is_generator: false,
            origin_done: true,
            return_to: None,
            return_values: Vec::new(),
            target: None,
            data_changes: Vec::new(),
        }
    }

    /// Notes writes to watched entries; a second write to one keeps its first old value, and is
    /// judged to stop if either was. Returns the values it replaced, for the caller to release
    /// once it no longer holds the plan (a release can run a finalizer, which can write).
    #[must_use]
    pub(super) fn add_data_changes(&mut self, changes: Vec<DataChange>) -> Vec<Option<Py<PyAny>>> {
        let mut replaced = Vec::new();
        for change in changes {
            match self.data_changes.iter_mut().find(|known| known.id == change.id) {
                Some(known) => {
                    known.judged |= change.judged;
                    replaced.push(std::mem::replace(&mut known.new, change.new));
                }
                None => self.data_changes.push(change),
            }
        }
        replaced
    }

    /// The watches whose writes are noted, to be judged at the plan's end.
    pub(super) fn noted_data_changes(&self) -> impl Iterator<Item = i64> + '_ {
        self.data_changes.iter().map(|known| known.id)
    }

    fn is_origin(&self, frame: usize) -> bool {
        self.origin.as_ref().is_some_and(|o| o.as_ptr() as usize == frame)
    }

    fn is_ancestor(&self, frame: usize) -> bool {
        self.ancestors.iter().any(|a| a.as_ptr() as usize == frame)
    }

    /// The code objects that need LINE (and return events) for this plan to see its stop.
    pub fn frames(&self) -> impl Iterator<Item = &Py<PyAny>> {
        self.origin.iter().chain(self.ancestors.iter())
    }

    /// The frame whose code also needs INSTRUCTION events: the origin of an instruction step.
    pub fn instruction_frame(&self) -> Option<&Py<PyAny>> {
        self.origin.as_ref().filter(|_| self.by_instruction && self.kind != StepKind::Out)
    }

    /// Whether a LINE event in `frame` ends the step. `stoppable` says whether the line is in
    /// code a step may stop in (justMyCode); `function` is the name of the frame's code.
    pub fn stops_at_line(&self, frame: usize, stoppable: bool, function: &str) -> bool {
        if !stoppable {
            return false;
        }
        let over =
            || self.is_origin(frame) || self.origin_done || (!self.origin_is_generator && self.is_ancestor(frame));
        match self.kind {
            // The origin's own instructions end an instruction step (`stops_at_instruction`).
            StepKind::In if self.by_instruction => !self.is_origin(frame) || self.origin_done,
            StepKind::Over if self.by_instruction => {
                self.origin_done || (!self.origin_is_generator && self.is_ancestor(frame))
            }
            StepKind::In | StepKind::FunctionEntry(_) | StepKind::ProgramEntry => true,
            StepKind::IntoTarget(_) => {
                let entered = !self.is_origin(frame) && !self.is_ancestor(frame);
                (entered && self.target.as_deref() == Some(function)) || over()
            }
            StepKind::Over | StepKind::AfterWrite => over(),
            StepKind::Out => self.origin_done || (!self.origin_is_generator && self.is_ancestor(frame)),
        }
    }

    /// Whether new frames entered on this thread need LINE events.
    pub fn wants_new_frames(&self) -> bool {
        matches!(self.kind, StepKind::In | StepKind::IntoTarget(_)) || self.origin_done
    }

    /// Whether an INSTRUCTION event at `offset` in `frame` ends the step: the instruction after a
    /// return, or for an instruction step, the origin's next instruction.
    pub fn stops_at_instruction(&mut self, frame: usize, offset: i64, stoppable: bool) -> bool {
        if !stoppable {
            return false;
        }
        if self.return_to.as_ref().is_some_and(|r| r.as_ptr() as usize == frame) {
            return true;
        }
        if self.instruction_frame().is_some() && self.is_origin(frame) && !self.origin_done {
            return self.skip_offset.take() != Some(offset);
        }
        false
    }

    /// PY_RETURN (with the value returned) or PY_UNWIND (None) of `frame`. Returns the caller
    /// whose code needs INSTRUCTION events; an unwinding frame has none: the handler's own line
    /// ends the step. Return values it forgets go to `released`, for the caller to drop once it
    /// no longer holds the plan (a release can run a finalizer, whose events read the plan).
    pub fn on_frame_exit<'py>(
        &mut self,
        frame: &Bound<'py, PyAny>,
        returned: Option<&Bound<'py, PyAny>>,
        released: &mut Vec<Py<PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.origin_done || !self.is_origin(frame.as_ptr() as usize) {
            return Ok(None);
        }
        self.origin_done = true;
        let Some(value) = returned else { return Ok(None) };
        released.extend(self.return_values.drain(..).map(|(_, value)| value));
        self.record_return(frame, value, released)?;
        self.returned_to(frame)
    }

    /// Whether a function that starts in `caller` is one the step is over, whose return value
    /// the stop shows.
    pub fn steps_over_calls_from(&self, caller: usize) -> bool {
        matches!(self.kind, StepKind::Over | StepKind::IntoTarget(_)) && !self.origin_done && self.is_origin(caller)
    }

    /// PY_RETURN of `frame`, a function the origin's line called, with its value. A value it
    /// replaces goes to `released`, as in `on_frame_exit`.
    pub fn on_call_return(
        &mut self,
        frame: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        released: &mut Vec<Py<PyAny>>,
    ) -> PyResult<()> {
        let caller = frames::back(frame)?;
        if caller.is_some_and(|caller| self.steps_over_calls_from(caller.as_ptr() as usize)) {
            self.record_return(frame, value, released)?;
        }
        Ok(())
    }

    fn record_return(
        &mut self,
        frame: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        released: &mut Vec<Py<PyAny>>,
    ) -> PyResult<()> {
        let name: String = frames::code(frame)?.getattr("co_name")?.extract()?;
        if let Some(known) = self.return_values.iter().position(|(known, _)| *known == name) {
            released.push(self.return_values.remove(known).1);
        }
        self.return_values.push((name, value.clone().unbind()));
        Ok(())
    }

    /// PY_YIELD of `frame`: stepping out of a generator ends at its consumer.
    pub fn on_frame_yield<'py>(&mut self, frame: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.kind != StepKind::Out || self.origin_done || !self.is_origin(frame.as_ptr() as usize) {
            return Ok(None);
        }
        self.origin_done = true;
        self.returned_to(frame)
    }

    fn returned_to<'py>(&mut self, frame: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let next_line_anywhere = match self.kind {
            StepKind::In => !self.by_instruction,
            StepKind::FunctionEntry(_) | StepKind::ProgramEntry => true,
            _ => false,
        };
        let Some(caller) = frames::back(frame)?.filter(|_| !next_line_anywhere) else { return Ok(None) };
        self.return_to = Some(caller.clone().unbind());
        Ok(Some(caller))
    }
}

/// Each thread's step plan, by thread ident, with a count of plans that is never below the
/// number in the table (raised before an insert, lowered after a removal). Every look-up asks the
/// count first: no plan anywhere is one atomic load, where the table's own `is_empty` locks every
/// shard and a look-up takes one shard's lock.
#[derive(Default)]
pub struct StepPlans {
    by_thread: DashMap<u64, StepPlan, FxBuildHasher>,
    count: AtomicUsize,
}

impl StepPlans {
    pub fn get(&self, thread: &u64) -> Option<Ref<'_, u64, StepPlan>> {
        if self.is_empty() {
            return None;
        }
        self.by_thread.get(thread)
    }

    pub fn get_mut(&self, thread: &u64) -> Option<RefMut<'_, u64, StepPlan>> {
        if self.is_empty() {
            return None;
        }
        self.by_thread.get_mut(thread)
    }

    /// Sets `thread`'s plan; the one it replaces is returned, for the caller to release.
    pub fn insert(&self, thread: u64, plan: StepPlan) -> Option<StepPlan> {
        self.count.fetch_add(1, Ordering::SeqCst);
        let replaced = self.by_thread.insert(thread, plan);
        if replaced.is_some() {
            self.count.fetch_sub(1, Ordering::SeqCst);
        }
        replaced
    }

    /// Ends `thread`'s plan; it is returned, for the caller to release.
    pub fn remove(&self, thread: &u64) -> Option<StepPlan> {
        let removed = self.by_thread.remove(thread).map(|(_, plan)| plan);
        if removed.is_some() {
            self.count.fetch_sub(1, Ordering::SeqCst);
        }
        removed
    }

    pub fn contains_key(&self, thread: &u64) -> bool {
        !self.is_empty() && self.by_thread.contains_key(thread)
    }

    /// Whether no thread has a plan. (A plan being inserted or removed may count as one.)
    pub fn is_empty(&self) -> bool {
        self.count.load(Ordering::SeqCst) == 0
    }

    pub fn threads(&self) -> Vec<u64> {
        self.by_thread.iter().map(|plan| *plan.key()).collect()
    }
}
