//! Numbers handed to the client for frames, for things with children (`frameId`,
//! `variablesReference`), and for the targets of stepIn and goto. Each is valid until its
//! thread resumes (goto targets, which belong to no thread, until any thread does). Code objects
//! get numbers too, for instruction addresses (`bytecode.rs`); those last the whole session, since
//! an editor's disassembly view keeps addresses across stops. The table is its client's
//! session's, and goes with it.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;
use rustc_hash::FxHashMap;

use super::presentation::Kind;

pub enum Target {
    Locals(Py<PyAny>),
    Globals(Py<PyAny>),
    /// An object whose members are shown; `evaluate_name` reaches it from the frame, if known.
    Value {
        object: Py<PyAny>,
        evaluate_name: Option<String>,
    },
    /// One group of an object's members ("function variables").
    Group {
        object: Py<PyAny>,
        evaluate_name: Option<String>,
        kind: Kind,
    },
    /// The recorded locals of a frame in the past.
    Past(PastFrame),
}

/// A frame of the recorded past: an activation (`engine::history`) at a line event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastFrame {
    pub serial: u64,
    pub activation: u64,
}

pub struct Handle<T> {
    /// The Python thread whose stop the handle belongs to; its inspection runs there.
    pub thread: u64,
    pub item: T,
}

/// Goto targets belong to no thread until a goto names one.
const NO_THREAD: u64 = 0;

/// One client's handles.
#[derive(Default)]
pub struct Handles {
    table: Mutex<Table>,
    code: Mutex<CodeTable>,
    sources: Mutex<SourceTable>,
}

/// `sourceReference`s of code without a file, by name and text, from 1; they last the session.
#[derive(Default)]
struct SourceTable {
    numbers: HashMap<(String, Arc<str>), i64>,
    sources: Vec<(String, Arc<str>)>,
}

/// Code objects by number, from 1; each kept alive so that its address stays its own.
#[derive(Default)]
struct CodeTable {
    numbers: HashMap<usize, u32>,
    objects: Vec<Py<PyAny>>,
}

#[derive(Default)]
struct Table {
    next: i64,
    frames: FxHashMap<i64, Handle<Py<PyAny>>>,
    /// The number of each frame in `frames`, by address (held there, so the address is its own).
    frame_ids: FxHashMap<usize, i64>,
    /// Frames of the recorded past, shown while a thread's time cursor is back.
    past_frames: FxHashMap<i64, Handle<PastFrame>>,
    variables: HashMap<i64, Handle<Target>>,
    /// stepInTargets: the name of the function to step into.
    step_in_targets: HashMap<i64, Handle<Arc<str>>>,
    /// gotoTargets: a file (canonical path) and a line.
    goto_targets: HashMap<i64, Handle<(String, i64)>>,
}

impl Table {
    fn next_id(&mut self) -> i64 {
        self.next += 1;
        self.next
    }
}

impl Handles {
    /// A frame's number: the one it already has in this stop, or a new one.
    pub fn add_frame(&self, thread: u64, frame: &Bound<'_, PyAny>) -> i64 {
        let mut t = self.table.lock();
        let address = frame.as_ptr() as usize;
        if let Some(&id) = t.frame_ids.get(&address) {
            return id;
        }
        let id = t.next_id();
        t.frames.insert(id, Handle { thread, item: frame.clone().unbind() });
        t.frame_ids.insert(address, id);
        id
    }

    pub fn add_past_frame(&self, thread: u64, frame: PastFrame) -> i64 {
        let mut t = self.table.lock();
        let id = t.next_id();
        t.past_frames.insert(id, Handle { thread, item: frame });
        id
    }

    /// A frame of the past, with its thread.
    pub fn past_frame(&self, id: i64) -> Option<(u64, PastFrame)> {
        self.table.lock().past_frames.get(&id).map(|f| (f.thread, f.item))
    }

    pub fn add_variables(&self, thread: u64, target: Target) -> i64 {
        let mut t = self.table.lock();
        let id = t.next_id();
        t.variables.insert(id, Handle { thread, item: target });
        id
    }

    pub fn add_step_in_target(&self, thread: u64, function: Arc<str>) -> i64 {
        let mut t = self.table.lock();
        let id = t.next_id();
        t.step_in_targets.insert(id, Handle { thread, item: function });
        id
    }

    /// The thread a step-in target was made for, and its function's name.
    pub fn step_in_target(&self, id: i64) -> Option<(u64, Arc<str>)> {
        self.table.lock().step_in_targets.get(&id).map(|t| (t.thread, t.item.clone()))
    }

    pub fn add_goto_target(&self, path: String, line: i64) -> i64 {
        let mut t = self.table.lock();
        let id = t.next_id();
        t.goto_targets.insert(id, Handle { thread: NO_THREAD, item: (path, line) });
        id
    }

    pub fn goto_target(&self, id: i64) -> Option<(String, i64)> {
        self.table.lock().goto_targets.get(&id).map(|t| t.item.clone())
    }

    pub fn frame(&self, py: Python<'_>, id: i64) -> Option<(u64, Py<PyAny>)> {
        self.table.lock().frames.get(&id).map(|f| (f.thread, f.item.clone_ref(py)))
    }

    pub fn frame_thread(&self, id: i64) -> Option<u64> {
        let t = self.table.lock();
        t.frames.get(&id).map(|f| f.thread).or_else(|| t.past_frames.get(&id).map(|f| f.thread))
    }

    pub fn variables_thread(&self, id: i64) -> Option<u64> {
        self.table.lock().variables.get(&id).map(|v| v.thread)
    }

    pub fn variables(&self, py: Python<'_>, id: i64) -> Option<Target> {
        self.table.lock().variables.get(&id).map(|v| match &v.item {
            Target::Locals(f) => Target::Locals(f.clone_ref(py)),
            Target::Globals(f) => Target::Globals(f.clone_ref(py)),
            Target::Value { object, evaluate_name } => {
                Target::Value { object: object.clone_ref(py), evaluate_name: evaluate_name.clone() }
            }
            Target::Group { object, evaluate_name, kind } => {
                Target::Group { object: object.clone_ref(py), evaluate_name: evaluate_name.clone(), kind: *kind }
            }
            Target::Past(frame) => Target::Past(*frame),
        })
    }

    /// The number of a code object, given on first sight.
    pub fn code_number(&self, code: &Bound<'_, PyAny>) -> u32 {
        let mut table = self.code.lock();
        let address = code.as_ptr() as usize;
        if let Some(number) = table.numbers.get(&address) {
            return *number;
        }
        table.objects.push(code.clone().unbind());
        let number = table.objects.len() as u32;
        table.numbers.insert(address, number);
        number
    }

    pub fn code(&self, py: Python<'_>, number: u32) -> Option<Py<PyAny>> {
        let index = (number as usize).checked_sub(1)?;
        self.code.lock().objects.get(index).map(|c| c.clone_ref(py))
    }

    /// The `sourceReference` of unfiled code named `name` with `text`, given on first sight.
    pub fn source_reference(&self, name: &str, text: Arc<str>) -> i64 {
        let mut table = self.sources.lock();
        let key = (name.to_owned(), text);
        if let Some(number) = table.numbers.get(&key) {
            return *number;
        }
        table.sources.push(key.clone());
        let number = table.sources.len() as i64;
        table.numbers.insert(key, number);
        number
    }

    /// The name and text of a `sourceReference`.
    pub fn source(&self, reference: i64) -> Option<(String, Arc<str>)> {
        let index = usize::try_from(reference).ok()?.checked_sub(1)?;
        self.sources.lock().sources.get(index).cloned()
    }

    /// Forgets every handle but code and source numbers; called when the program resumes. Numbers are never reused, so a
    /// stale one is refused rather than naming something else.
    pub fn clear(&self) {
        let old = {
            let mut t = self.table.lock();
            let fresh = Table { next: t.next, ..Table::default() };
            std::mem::replace(&mut *t, fresh)
        };
        // Dropped outside the lock: releasing a Python object can run its finalizer.
        drop(old);
    }

    /// Forgets the handles of one thread; called when it resumes alone.
    pub fn clear_thread(&self, thread: u64) {
        let mut t = self.table.lock();
        t.frames.retain(|_, f| f.thread != thread);
        t.past_frames.retain(|_, f| f.thread != thread);
        let Table { frames, frame_ids, .. } = &mut *t;
        frame_ids.retain(|_, id| frames.contains_key(id));
        t.variables.retain(|_, v| v.thread != thread);
        t.step_in_targets.retain(|_, t| t.thread != thread);
    }
}
