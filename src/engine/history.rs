//! One thread's recorded history, for step back: a ring buffer of the lines its recorded code ran
//! and the values its functions returned, the activations (function calls) they belong to, and
//! the shadow stack of the activations running now.
//!
//! It lives in a thread-local. The thread records into it from its own callbacks, and the past is
//! read on the same thread while it is parked (inspection runs there), so its lock is never
//! contended; the lock is for `forget_all`, which empties every thread's history when recording
//! ends. No Python code runs while it is held: what it releases is dropped after it is unlocked.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PySet, PyString, PyTuple};

use rustc_hash::FxHashMap;

use crate::frames;

/// A value as recorded.
pub enum Recorded {
    /// An immutable value (a number, a short string, a tuple of such), kept by reference: exact.
    Exact(Py<PyAny>),
    /// Any other value: a bounded text made without running user code, and the object's address,
    /// to find it again where it is still bound at the stop.
    Text(Box<TextSnapshot>),
}

pub struct TextSnapshot {
    pub type_name: String,
    pub text: String,
    pub address: usize,
}

pub struct Change {
    slot: u32,
    /// None: the name was deleted (or became unbound).
    value: Option<Recorded>,
}

pub enum Event {
    Line { activation: u64, line: u32, depth: u32, changes: Box<[Change]> },
    Return { activation: u64, value: Recorded },
}

/// One run of a function (or module, or class body) on this thread.
pub struct Activation {
    code: Py<PyAny>,
    globals: Py<PyAny>,
    parent: Option<u64>,
    /// Each local's name, by slot.
    names: Vec<Py<PyString>>,
    /// Each local's value as of the oldest event kept: the changes of dropped events, folded.
    base: Vec<Option<Recorded>>,
    /// How many events in the buffer are its own; with `running`, what keeps it.
    events: u32,
    /// Whether it is on the shadow stack.
    running: bool,
}

/// An activation running now: its frame, and its locals as last recorded.
pub struct Running {
    activation: u64,
    frame: Py<PyAny>,
    values: Vec<Option<Py<PyAny>>>,
    /// The line event that last saw each slot bound, to find the names that went unbound.
    seen: Vec<u64>,
    /// The line of its latest event: the line whose instructions ran since.
    last_line: Option<i64>,
    /// `LOCALS_MAY_HAVE_CHANGED` when its locals were last read.
    read_whole_at: u64,
}

/// Which locals each line of a code object can store to, so that a line reads only those.
pub struct LineStores {
    /// Every local at every line: a module or class body (its locals are a dict others write to),
    /// or code whose instructions could not be read.
    pub every_line: bool,
    /// Read at every line: cells and free variables (other functions write them), and locals
    /// stored by instructions that belong to no line.
    pub always: Vec<Py<PyString>>,
    pub by_line: FxHashMap<i64, Vec<Py<PyString>>>,
    /// How many fast locals the code has, to size a call's tables once.
    pub locals: usize,
    /// A function's arguments: at the first line of a fresh call, the only locals bound (with
    /// `always`).
    pub arguments: Vec<Py<PyString>>,
    /// Calls of this code start afresh: not a generator or coroutine, which a resumption re-enters
    /// with its locals bound.
    pub fresh_calls: bool,
}

/// Which locals a line reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    Whole,
    /// A fresh call's first line: its arguments.
    Arguments,
    /// What the instructions of this earlier line of the call store to.
    StoredBy(i64),
}

#[derive(Default)]
pub struct History {
    /// The recording this history belongs to (`Recorder::generation`).
    generation: u64,
    events: VecDeque<Event>,
    /// The serial of the next event; serials count from 0 and are never reused.
    next_serial: u64,
    activations: Activations,
    next_activation: u64,
    stack: Vec<Running>,
    /// How many events were dropped because the buffer was full.
    dropped: u64,
    /// `LOCALS_MAY_HAVE_CHANGED` at its latest line.
    changes_seen: u64,
}

/// Bumped whenever locals may have changed in a way no line's stores show: a thread stopped (the
/// debugger may have written to its frames), the debugger wrote to a frame, or a line went
/// unrecorded. Every call then reads its locals whole at its next line.
static LOCALS_MAY_HAVE_CHANGED: AtomicU64 = AtomicU64::new(0);

/// See `LOCALS_MAY_HAVE_CHANGED`.
pub fn locals_may_have_changed() {
    LOCALS_MAY_HAVE_CHANGED.fetch_add(1, Ordering::AcqRel);
}

impl Drop for History {
    /// The main thread's history is dropped after the interpreter has ended: its objects are
    /// gone with it, and freeing a million events would only delay the exit.
    fn drop(&mut self) {
        // SAFETY: Py_IsInitialized may be called at any time.
        if unsafe { ffi::Py_IsInitialized() } == 0 {
            std::mem::forget(std::mem::take(&mut self.events));
            std::mem::forget(std::mem::take(&mut self.activations));
            std::mem::forget(std::mem::take(&mut self.stack));
        }
    }
}

/// Activations by id. Ids are given in order and most activations end in order, so they sit in a
/// deque from the oldest kept: no hashing, and one place to grow.
#[derive(Default)]
struct Activations {
    first: u64,
    slots: VecDeque<Option<Activation>>,
}

impl Activations {
    fn index(&self, id: u64) -> Option<usize> {
        usize::try_from(id.checked_sub(self.first)?).ok().filter(|&i| i < self.slots.len())
    }

    fn get(&self, id: &u64) -> Option<&Activation> {
        self.slots.get(self.index(*id)?)?.as_ref()
    }

    fn get_mut(&mut self, id: &u64) -> Option<&mut Activation> {
        let index = self.index(*id)?;
        self.slots.get_mut(index)?.as_mut()
    }

    fn contains_key(&self, id: &u64) -> bool {
        self.get(id).is_some()
    }

    /// Adds the activation with the next id.
    fn push(&mut self, id: u64, activation: Activation) {
        if self.slots.is_empty() {
            self.first = id;
        }
        debug_assert_eq!(id, self.first + self.slots.len() as u64);
        self.slots.push_back(Some(activation));
    }

    fn remove(&mut self, id: &u64) -> Option<Activation> {
        let index = self.index(*id)?;
        let removed = self.slots[index].take();
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.first += 1;
        }
        removed
    }
}

/// Every thread's history, so that `forget_all` can empty them when recording ends.
static HISTORIES: Mutex<Vec<Weak<Mutex<History>>>> = Mutex::new(Vec::new());

thread_local! {
    static HISTORY: Arc<Mutex<History>> = {
        let history = Arc::new(Mutex::new(History::default()));
        let mut all = HISTORIES.lock();
        all.retain(|h| h.strong_count() > 0);
        all.push(Arc::downgrade(&history));
        history
    };
}

/// Empties every thread's history, for a recording that ended; the caller drops what is
/// returned with the GIL and no lock held. A history in use is left to its generation check.
pub(super) fn forget_all() -> Vec<History> {
    let all: Vec<Arc<Mutex<History>>> = HISTORIES.lock().iter().filter_map(Weak::upgrade).collect();
    all.iter().filter_map(|h| h.try_lock().map(|mut h| std::mem::take(&mut *h))).collect()
}

/// Runs `f` on this thread's history of recording `generation`, emptied first if it belongs to an
/// earlier one. Whatever `f` returns to release is dropped after the borrow ends. None if the
/// history is in use (a finalizer run while it was borrowed).
pub(super) fn with_history<R>(generation: u64, f: impl FnOnce(&mut History, &mut Vec<Released>) -> R) -> Option<R> {
    let mut released = Vec::new();
    let result = HISTORY.with(|cell| {
        let mut history = cell.try_lock()?;
        if history.generation != generation {
            let old = std::mem::take(&mut *history);
            history.generation = generation;
            released.push(Released::History(Box::new(old)));
        }
        Some(f(&mut history, &mut released))
    });
    drop(released);
    result
}

/// Python objects a history let go of, dropped once it is no longer borrowed: releasing one can
/// run its finalizer.
#[allow(dead_code, reason = "each is held only to be dropped once the history is not borrowed")]
pub enum Released {
    History(Box<History>),
    Event(Event),
    Activation(Activation),
    Running(Running),
    Value(Recorded),
    Object(Py<PyAny>),
}

/// An event's place in the history and what the past looks like there.
pub struct PastFrame {
    pub activation: u64,
    pub code: Py<PyAny>,
    pub line: i64,
}

/// A local as it was at a point in the past.
pub enum PastValue {
    Exact(Py<PyAny>),
    /// The same object is still bound to a local of the running activation: shown as it is now.
    AsOfTheStop(Py<PyAny>),
    Text {
        type_name: String,
        text: String,
    },
}

impl History {
    /// Records the line `line` of `frame`, the current event's frame, with what changed in its
    /// locals since its previous line. `capacity` is the most events kept.
    /// `read` is what `read_for` said before the history was locked, and `snapshot` the frame's
    /// locals (`frames::locals_snapshot`) when it said `Whole`: on 3.12 reading them refreshes the
    /// frame's dict, which can release objects and run their finalizers.
    #[allow(clippy::too_many_arguments)]
    pub fn record_line(
        &mut self,
        frame: &Bound<'_, PyAny>,
        line: i64,
        stores: &LineStores,
        read: Read,
        snapshot: Option<PyResult<Bound<'_, PyAny>>>,
        capacity: usize,
        released: &mut Vec<Released>,
    ) -> PyResult<()> {
        let index = self.running_index(frame, stores.locals, released)?;
        let serial = self.next_serial;
        let changed = LOCALS_MAY_HAVE_CHANGED.load(Ordering::Acquire);
        self.changes_seen = changed;
        let running = &mut self.stack[index];
        running.last_line = Some(line);
        running.read_whole_at = changed;
        let changes = match read {
            // Only what the previous line's instructions store to, and what others may write.
            Read::StoredBy(previous) => {
                let names = stores.by_line.get(&previous).into_iter().flatten().chain(&stores.always);
                self.changes_of(index, frame, names, released)
            }
            Read::Arguments => self.changes_of(index, frame, stores.arguments.iter().chain(&stores.always), released),
            Read::Whole => match snapshot {
                Some(snapshot) => self.changes_whole(index, snapshot, serial, released),
                None => {
                    locals_may_have_changed();
                    Vec::new()
                }
            },
        };
        let activation = self.stack[index].activation;
        let depth = index as u32;
        let line = u32::try_from(line).unwrap_or(0);
        self.push(Event::Line { activation, line, depth, changes: changes.into_boxed_slice() }, capacity, released);
        Ok(())
    }

    /// Which locals `frame`'s next line reads: all of them in a module or class body, at the first
    /// line of a call that did not start afresh (`started_before` recording, or resumed), and at
    /// the first line after a stop; the arguments at a fresh call's first line; otherwise what
    /// the previous line stores to.
    pub fn read_for(&self, frame: &Bound<'_, PyAny>, stores: &LineStores, started_before: bool) -> Read {
        let address = frame.as_ptr() as usize;
        let running = self.stack.iter().rev().find(|r| r.frame.as_ptr() as usize == address);
        let changed = LOCALS_MAY_HAVE_CHANGED.load(Ordering::Acquire);
        match running {
            _ if stores.every_line => Read::Whole,
            Some(r) if r.read_whole_at != changed => Read::Whole,
            Some(r) => r.last_line.map_or(Read::Whole, Read::StoredBy),
            // (A stop between a call's start and its first line may have written to it.)
            None if stores.fresh_calls && !started_before && self.changes_seen == changed => Read::Arguments,
            None => Read::Whole,
        }
    }

    /// Every local of the running call, compared with what it last recorded.
    fn changes_whole(
        &mut self,
        index: usize,
        snapshot: PyResult<Bound<'_, PyAny>>,
        serial: u64,
        released: &mut Vec<Released>,
    ) -> Vec<Change> {
        match snapshot {
            Ok(locals) => match (locals.cast::<PyDict>(), locals.cast::<PyList>()) {
                // A copy: a module's dict can change while it is read (a finalizer).
                (Ok(dict), _) => match dict.copy() {
                    Ok(copy) => self.changes(index, copy.iter(), serial, released),
                    Err(_) => Vec::new(),
                },
                (_, Ok(pairs)) => {
                    let pairs = pairs.iter().filter_map(|pair| {
                        let pair = pair.cast_into::<PyTuple>().ok()?;
                        Some((pair.get_item(0).ok()?, pair.get_item(1).ok()?))
                    });
                    self.changes(index, pairs, serial, released)
                }
                _ => Vec::new(),
            },
            Err(_) => Vec::new(),
        }
    }

    /// The named locals of the running call, compared with what it last recorded.
    fn changes_of<'a>(
        &mut self,
        index: usize,
        frame: &Bound<'_, PyAny>,
        names: impl Iterator<Item = &'a Py<PyString>>,
        released: &mut Vec<Released>,
    ) -> Vec<Change> {
        let py = frame.py();
        let running = &mut self.stack[index];
        let Some(activation) = self.activations.get_mut(&running.activation) else { return Vec::new() };
        let mut changes = Vec::new();
        for name in names {
            let name = name.bind(py);
            let Ok(value) = frames::local(frame, name) else { continue };
            let slot = slot_of(activation, running, name, None);
            let unchanged = match (&running.values[slot], &value) {
                (Some(old), Some(new)) => old.is(new),
                (None, None) => true,
                _ => false,
            };
            if !unchanged {
                changes.push(Change { slot: slot as u32, value: value.as_ref().map(Recorded::of) });
                let old = std::mem::replace(&mut running.values[slot], value.map(Bound::unbind));
                released.extend(old.map(Released::Object));
            }
        }
        changes
    }

    /// Records that `frame` returned (or yielded) `value`, and leaves its activation.
    pub fn record_return(
        &mut self,
        frame: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
        capacity: usize,
        released: &mut Vec<Released>,
    ) {
        let address = frame.as_ptr() as usize;
        let Some(index) = self.stack.iter().rposition(|r| r.frame.as_ptr() as usize == address) else { return };
        let activation = self.stack[index].activation;
        if let Some(value) = value {
            self.push(Event::Return { activation, value: Recorded::of(value) }, capacity, released);
        }
        self.leave(index, released);
    }

    /// The index in `stack` of `frame`'s activation; a frame not on it starts a new activation,
    /// under the nearest running one that is its caller. Activations above it have ended unseen
    /// (an exception unwound them) and leave the stack.
    fn running_index(
        &mut self,
        frame: &Bound<'_, PyAny>,
        locals: usize,
        released: &mut Vec<Released>,
    ) -> PyResult<usize> {
        let address = frame.as_ptr() as usize;
        let position =
            |stack: &[Running], address: usize| stack.iter().rposition(|r| r.frame.as_ptr() as usize == address);
        if let Some(index) = position(&self.stack, address) {
            self.leave(index + 1, released);
            return Ok(index);
        }
        let mut caller = frames::back(frame)?;
        let mut parent_index = None;
        while let Some(f) = caller {
            if let Some(index) = position(&self.stack, f.as_ptr() as usize) {
                parent_index = Some(index);
                break;
            }
            caller = frames::back(&f)?;
        }
        self.leave(parent_index.map_or(0, |i| i + 1), released);
        let parent = parent_index.map(|i| self.stack[i].activation);
        let (code, globals) = (frames::code(frame)?.unbind(), frames::globals(frame)?.unbind());
        let id = self.next_activation;
        self.next_activation += 1;
        let activation = Activation {
            code,
            globals,
            parent,
            names: Vec::with_capacity(locals),
            base: Vec::new(),
            events: 0,
            running: true,
        };
        self.activations.push(id, activation);
        self.stack.push(Running {
            activation: id,
            frame: frame.clone().unbind(),
            values: Vec::with_capacity(locals),
            seen: Vec::with_capacity(locals),
            last_line: None,
            read_whole_at: LOCALS_MAY_HAVE_CHANGED.load(Ordering::Acquire),
        });
        Ok(self.stack.len() - 1)
    }

    /// The changes between the running activation's recorded locals and `locals` now.
    fn changes<'py>(
        &mut self,
        index: usize,
        locals: impl Iterator<Item = (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
        serial: u64,
        released: &mut Vec<Released>,
    ) -> Vec<Change> {
        let running = &mut self.stack[index];
        let Some(activation) = self.activations.get_mut(&running.activation) else { return Vec::new() };
        let mut changes = Vec::new();
        for (position, (key, value)) in locals.enumerate() {
            let Ok(name) = key.cast::<PyString>() else { continue };
            if is_dunder(name) {
                continue;
            }
            // Locals come in the same order each time: the slot is usually the position.
            let slot = slot_of(activation, running, name, Some(position));
            running.seen[slot] = serial;
            let unchanged = running.values[slot].as_ref().is_some_and(|old| old.is(&value));
            if !unchanged {
                changes.push(Change { slot: slot as u32, value: Some(Recorded::of(&value)) });
                released.extend(running.values[slot].replace(value.unbind()).map(Released::Object));
            }
        }
        for slot in 0..running.values.len() {
            if running.seen[slot] != serial {
                if let Some(old) = running.values[slot].take() {
                    changes.push(Change { slot: slot as u32, value: None });
                    released.push(Released::Object(old));
                }
            }
        }
        changes
    }

    fn push(&mut self, event: Event, capacity: usize, released: &mut Vec<Released>) {
        let (Event::Line { activation, .. } | Event::Return { activation, .. }) = &event;
        if let Some(a) = self.activations.get_mut(activation) {
            a.events += 1;
        }
        self.events.push_back(event);
        self.next_serial += 1;
        while self.events.len() > capacity.max(1) {
            let oldest = self.events.pop_front().expect("not empty");
            let (Event::Line { activation, .. } | Event::Return { activation, .. }) = &oldest;
            let activation = *activation;
            self.fold_into_base(oldest, released);
            if let Some(a) = self.activations.get_mut(&activation) {
                a.events -= 1;
            }
            self.forget_if_unused(activation, released);
            self.dropped += 1;
        }
    }

    /// The activations from `index` up leave the shadow stack: they returned, or ended unseen.
    fn leave(&mut self, index: usize, released: &mut Vec<Released>) {
        let left: Vec<Running> = self.stack.drain(index..).collect();
        for running in left {
            if let Some(a) = self.activations.get_mut(&running.activation) {
                a.running = false;
            }
            self.forget_if_unused(running.activation, released);
            released.push(Released::Running(running));
        }
    }

    /// An activation that no longer runs and has no event left is forgotten.
    fn forget_if_unused(&mut self, activation: u64, released: &mut Vec<Released>) {
        if self.activations.get(&activation).is_some_and(|a| a.events == 0 && !a.running) {
            released.extend(self.activations.remove(&activation).map(Released::Activation));
        }
    }

    /// A dropped line event's changes become its activation's base values.
    fn fold_into_base(&mut self, event: Event, released: &mut Vec<Released>) {
        match event {
            Event::Line { activation, changes, .. } if self.activations.contains_key(&activation) => {
                let a = self.activations.get_mut(&activation).expect("checked by the guard");
                for change in changes.into_vec() {
                    let slot = change.slot as usize;
                    if a.base.len() <= slot {
                        a.base.resize_with(slot + 1, || None);
                    }
                    if let Some(old) = std::mem::replace(&mut a.base[slot], change.value) {
                        released.push(Released::Value(old));
                    }
                }
            }
            other => released.push(Released::Event(other)),
        }
    }

    fn first_serial(&self) -> u64 {
        self.next_serial - self.events.len() as u64
    }

    fn event(&self, serial: u64) -> Option<&Event> {
        let index = serial.checked_sub(self.first_serial())?;
        self.events.get(usize::try_from(index).ok()?)
    }

    /// How many events were dropped because the buffer was full, and how many it holds.
    pub fn extent(&self) -> (u64, usize) {
        (self.dropped, self.events.len())
    }

    /// The line event `serial`: its activation, line and depth.
    pub fn line_event(&self, serial: u64) -> Option<(u64, i64, u32)> {
        match self.event(serial)? {
            Event::Line { activation, line, depth, .. } => Some((*activation, i64::from(*line), *depth)),
            Event::Return { .. } => None,
        }
    }

    /// The serial of the latest line event.
    pub fn latest_line(&self) -> Option<u64> {
        (self.first_serial()..self.next_serial).rev().find(|&s| self.line_event(s).is_some())
    }

    /// The oldest line event kept.
    pub fn oldest_line(&self) -> Option<u64> {
        (self.first_serial()..self.next_serial).find(|&s| self.line_event(s).is_some())
    }

    /// The first line event before `serial` for which `wanted` holds.
    pub fn line_before(&self, serial: u64, mut wanted: impl FnMut(u64, i64, u32) -> bool) -> Option<u64> {
        (self.first_serial()..serial.min(self.next_serial))
            .rev()
            .find(|&s| self.line_event(s).is_some_and(|(a, line, depth)| wanted(a, line, depth)))
    }

    /// The first line event after `serial` for which `wanted` holds.
    pub fn line_after(&self, serial: u64, mut wanted: impl FnMut(u64, i64, u32) -> bool) -> Option<u64> {
        (serial.saturating_add(1).max(self.first_serial())..self.next_serial)
            .find(|&s| self.line_event(s).is_some_and(|(a, line, depth)| wanted(a, line, depth)))
    }

    /// The code an activation ran.
    pub fn code(&self, py: Python<'_>, activation: u64) -> Option<Py<PyAny>> {
        self.activations.get(&activation).map(|a| a.code.clone_ref(py))
    }

    /// Whether the line event at the end of the history is `frame` at `line`: the stop itself.
    pub fn is_present(&self, serial: u64, frame: &Bound<'_, PyAny>, line: Option<i64>) -> bool {
        let Some((activation, recorded_line, _)) = self.line_event(serial) else { return false };
        let running = self.stack.last().is_some_and(|r| r.activation == activation && r.frame.is(frame));
        running && line == Some(recorded_line) && self.latest_line() == Some(serial)
    }

    /// The recorded stack at `serial`, innermost first: each activation with the line it was at.
    pub fn frames_at(&self, py: Python<'_>, serial: u64) -> Vec<PastFrame> {
        let Some((activation, line, _)) = self.line_event(serial) else { return Vec::new() };
        let mut out = Vec::new();
        let mut next = Some((activation, line));
        let mut at = serial;
        while let Some((activation, line)) = next {
            let Some(a) = self.activations.get(&activation) else { break };
            out.push(PastFrame { activation, code: a.code.clone_ref(py), line });
            next = a.parent.and_then(|parent| {
                let found = self.line_before(at, |a, _, _| a == parent)?;
                at = found;
                self.line_event(found).map(|(_, line, _)| (parent, line))
            });
        }
        out
    }

    /// The running frame of the outermost activation in `frames`, if it still runs: its callers
    /// are the same now as then.
    pub fn running_frame(&self, py: Python<'_>, activation: u64) -> Option<Py<PyAny>> {
        self.stack.iter().find(|r| r.activation == activation).map(|r| r.frame.clone_ref(py))
    }

    pub fn globals(&self, py: Python<'_>, activation: u64) -> Option<Py<PyAny>> {
        self.activations.get(&activation).map(|a| a.globals.clone_ref(py))
    }

    /// An activation's locals as they were at `serial`, and the values the calls it made
    /// returned just before.
    pub fn locals_at(&self, py: Python<'_>, serial: u64, activation: u64) -> Vec<(String, PastValue)> {
        let Some(a) = self.activations.get(&activation) else { return Vec::new() };
        let mut values: Vec<Option<&Recorded>> = vec![None; a.names.len()];
        for (slot, value) in a.base.iter().enumerate() {
            values[slot] = value.as_ref();
        }
        for s in self.first_serial()..=serial.min(self.next_serial.saturating_sub(1)) {
            if let Some(Event::Line { activation: of, changes, .. }) = self.event(s) {
                if *of == activation {
                    for change in changes.iter() {
                        values[change.slot as usize] = change.value.as_ref();
                    }
                }
            }
        }
        // A value kept as text is shown live when the call still runs and never rebound that local
        // since: then it is the same object (the shadow stack has held it all along).
        let running = self.stack.iter().find(|r| r.activation == activation);
        let mut rebound_since = vec![false; a.names.len()];
        for s in serial.saturating_add(1)..self.next_serial {
            if let Some(Event::Line { activation: of, changes, .. }) = self.event(s) {
                if *of == activation {
                    for change in changes.iter() {
                        rebound_since[change.slot as usize] = true;
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (slot, value) in values.into_iter().enumerate() {
            let Some(value) = value else { continue };
            let name = a.names[slot].bind(py).to_string();
            let shown = match value {
                Recorded::Exact(v) => PastValue::Exact(v.clone_ref(py)),
                Recorded::Text(snapshot) => {
                    let live = running
                        .filter(|_| !rebound_since[slot])
                        .and_then(|r| r.values.get(slot)?.as_ref().map(|v| v.clone_ref(py)));
                    match live {
                        Some(v) if v.as_ptr() as usize == snapshot.address => PastValue::AsOfTheStop(v),
                        _ => PastValue::Text { type_name: snapshot.type_name.clone(), text: snapshot.text.clone() },
                    }
                }
            };
            out.push((name, shown));
        }
        out
    }

    /// What the calls made by `activation` returned between its line before `serial` and
    /// `serial`, by function name.
    pub fn returns_before(&self, py: Python<'_>, serial: u64, activation: u64) -> Vec<(String, PastValue)> {
        let since = self.line_before(serial, |a, _, _| a == activation).unwrap_or(self.first_serial());
        let mut out = Vec::new();
        for s in since..serial {
            let Some(Event::Return { activation: callee, value }) = self.event(s) else { continue };
            let Some(callee) = self.activations.get(callee) else { continue };
            if callee.parent != Some(activation) {
                continue;
            }
            let name = callee.code.bind(py).getattr("co_name").map(|n| n.to_string()).unwrap_or_default();
            let shown = match value {
                Recorded::Exact(v) => PastValue::Exact(v.clone_ref(py)),
                Recorded::Text(t) => PastValue::Text { type_name: t.type_name.clone(), text: t.text.clone() },
            };
            out.push((name, shown));
        }
        out
    }
}

/// A value's type's name, read from the type itself (no user code runs).
fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().qualname().map(|n| n.to_string()).unwrap_or_else(|_| "object".into())
}

/// The slot of `name` in a call's locals, given on first sight; `hint` is where it usually is.
fn slot_of(
    activation: &mut Activation,
    running: &mut Running,
    name: &Bound<'_, PyString>,
    hint: Option<usize>,
) -> usize {
    if let Some(slot) = hint.filter(|&h| activation.names.get(h).is_some_and(|n| n.is(name))) {
        return slot;
    }
    // By identity (names are interned), else by text: never a `str` subclass's own `__eq__`.
    let text = name.to_str().ok();
    let found =
        activation.names.iter().position(|n| n.is(name) || (text.is_some() && n.bind(name.py()).to_str().ok() == text));
    found.unwrap_or_else(|| {
        activation.names.push(name.clone().unbind());
        running.values.push(None);
        running.seen.push(0);
        activation.names.len() - 1
    })
}

fn is_dunder(name: &Bound<'_, PyString>) -> bool {
    name.to_str().is_ok_and(|n| n.len() > 4 && n.starts_with("__") && n.ends_with("__"))
}

/// The longest string or bytes kept by reference; longer ones are kept as text.
const EXACT_LENGTH_LIMIT: isize = 1024;
/// Most characters of a text snapshot.
const TEXT_LIMIT: usize = 120;

impl Recorded {
    pub fn of(value: &Bound<'_, PyAny>) -> Recorded {
        if is_exact(value, 0) {
            Recorded::Exact(value.clone().unbind())
        } else {
            let mut text = String::new();
            snapshot_text(value, &mut text, 0);
            Recorded::Text(Box::new(TextSnapshot {
                type_name: type_name(value),
                text,
                address: value.as_ptr() as usize,
            }))
        }
    }
}

/// Whether `value` cannot change: None, a bool, a number, a string or bytes up to a length, or a
/// small tuple or frozenset of such. Decided by exact type, with no Python code run.
fn is_exact(value: &Bound<'_, PyAny>, depth: usize) -> bool {
    let object = value.as_ptr();
    // SAFETY: a live object, with the GIL held; these type objects are static.
    unsafe {
        let ty = ffi::Py_TYPE(object);
        let is = |t: *mut ffi::PyTypeObject| std::ptr::eq(ty, t);
        if object == ffi::Py_None()
            || is(&raw mut ffi::PyBool_Type)
            || is(&raw mut ffi::PyLong_Type)
            || is(&raw mut ffi::PyFloat_Type)
            || is(&raw mut ffi::PyComplex_Type)
        {
            return true;
        }
        if is(&raw mut ffi::PyUnicode_Type) {
            return ffi::PyUnicode_GetLength(object) <= EXACT_LENGTH_LIMIT;
        }
        if is(&raw mut ffi::PyBytes_Type) {
            return ffi::PyBytes_Size(object) <= EXACT_LENGTH_LIMIT;
        }
        if (is(&raw mut ffi::PyTuple_Type) || is(&raw mut ffi::PyFrozenSet_Type)) && depth < 2 {
            let Ok(items) = value.try_iter() else { return false };
            if value.len().map_or(true, |n| n > 16) {
                return false;
            }
            return items.flatten().all(|item| is_exact(&item, depth + 1));
        }
    }
    false
}

/// A bounded text of `value` that runs no user code: builtin containers item by item, exact
/// values by their repr, other objects as `<Type object at 0x...>`.
fn snapshot_text(value: &Bound<'_, PyAny>, out: &mut String, depth: usize) {
    if out.len() >= TEXT_LIMIT {
        return;
    }
    if is_exact(value, 0) {
        let repr = value.repr().map(|r| r.to_string()).unwrap_or_default();
        out.extend(repr.chars().take(TEXT_LIMIT.saturating_sub(out.len()) + 1));
        return;
    }
    if depth < 2 {
        let brackets = if value.is_exact_instance_of::<PyList>() {
            Some(("[", "]"))
        } else if value.is_exact_instance_of::<PyTuple>() {
            Some(("(", ")"))
        } else if value.is_exact_instance_of::<PySet>() {
            Some(("{", "}"))
        } else {
            None
        };
        if let Some(brackets) = brackets {
            let items = value.try_iter().into_iter().flatten().flatten().map(|item| (item, None));
            return container_text(out, brackets, items, depth);
        }
        if let Ok(dict) = value.cast_exact::<PyDict>() {
            return container_text(out, ("{", "}"), dict.iter().map(|(k, v)| (k, Some(v))), depth);
        }
    }
    out.push_str(&format!("<{} object at {:#x}>", type_name(value), value.as_ptr() as usize));
}

/// A container's items (with their values, for a dict) between `brackets`, until the text is long
/// enough.
fn container_text<'py>(
    out: &mut String,
    (open, close): (&str, &str),
    items: impl Iterator<Item = (Bound<'py, PyAny>, Option<Bound<'py, PyAny>>)>,
    depth: usize,
) {
    out.push_str(open);
    for (i, (item, value)) in items.enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if out.len() >= TEXT_LIMIT {
            out.push('…');
            break;
        }
        snapshot_text(&item, out, depth + 1);
        if let Some(value) = value {
            out.push_str(": ");
            snapshot_text(&value, out, depth + 1);
        }
    }
    out.push_str(close);
}
