//! Numbers handed to the client for frames, for things with children (`frameId`,
//! `variablesReference`), and for the targets of stepIn and goto. Each is valid until its
//! thread resumes (goto targets, which belong to no thread, until any thread does), or the client
//! leaves.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;

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
}

pub struct Handle<T> {
    /// The Python thread whose stop the handle belongs to; its inspection runs there.
    pub thread: u64,
    pub item: T,
}

/// Goto targets belong to no thread until a goto names one.
const NO_THREAD: u64 = 0;

#[derive(Default)]
pub struct Handles {
    next: i64,
    frames: HashMap<i64, Handle<Py<PyAny>>>,
    variables: HashMap<i64, Handle<Target>>,
    /// stepInTargets: the name of the function to step into.
    step_in_targets: HashMap<i64, Handle<Arc<str>>>,
    /// gotoTargets: a file (canonical path) and a line.
    goto_targets: HashMap<i64, Handle<(String, i64)>>,
}

static HANDLES: Mutex<Option<Handles>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Handles) -> R) -> R {
    f(HANDLES.lock().get_or_insert_with(Handles::default))
}

impl Handles {
    fn next_id(&mut self) -> i64 {
        self.next += 1;
        self.next
    }
}

pub fn add_frame(thread: u64, frame: Py<PyAny>) -> i64 {
    with(|h| {
        let id = h.next_id();
        h.frames.insert(id, Handle { thread, item: frame });
        id
    })
}

pub fn add_variables(thread: u64, target: Target) -> i64 {
    with(|h| {
        let id = h.next_id();
        h.variables.insert(id, Handle { thread, item: target });
        id
    })
}

pub fn add_step_in_target(thread: u64, function: Arc<str>) -> i64 {
    with(|h| {
        let id = h.next_id();
        h.step_in_targets.insert(id, Handle { thread, item: function });
        id
    })
}

/// The thread a step-in target was made for, and its function's name.
pub fn step_in_target(id: i64) -> Option<(u64, Arc<str>)> {
    with(|h| h.step_in_targets.get(&id).map(|t| (t.thread, t.item.clone())))
}

pub fn add_goto_target(path: String, line: i64) -> i64 {
    with(|h| {
        let id = h.next_id();
        h.goto_targets.insert(id, Handle { thread: NO_THREAD, item: (path, line) });
        id
    })
}

pub fn goto_target(id: i64) -> Option<(String, i64)> {
    with(|h| h.goto_targets.get(&id).map(|t| t.item.clone()))
}

pub fn frame(py: Python<'_>, id: i64) -> Option<(u64, Py<PyAny>)> {
    with(|h| h.frames.get(&id).map(|f| (f.thread, f.item.clone_ref(py))))
}

pub fn frame_thread(id: i64) -> Option<u64> {
    with(|h| h.frames.get(&id).map(|f| f.thread))
}

pub fn variables_thread(id: i64) -> Option<u64> {
    with(|h| h.variables.get(&id).map(|v| v.thread))
}

pub fn variables(py: Python<'_>, id: i64) -> Option<Target> {
    with(|h| {
        h.variables.get(&id).map(|v| match &v.item {
            Target::Locals(f) => Target::Locals(f.clone_ref(py)),
            Target::Globals(f) => Target::Globals(f.clone_ref(py)),
            Target::Value { object, evaluate_name } => {
                Target::Value { object: object.clone_ref(py), evaluate_name: evaluate_name.clone() }
            }
            Target::Group { object, evaluate_name, kind } => {
                Target::Group { object: object.clone_ref(py), evaluate_name: evaluate_name.clone(), kind: *kind }
            }
        })
    })
}

/// Forgets every handle; called when the program resumes.
pub fn clear() {
    let old = HANDLES.lock().take();
    drop(old);
}

/// Forgets the handles of one thread; called when it resumes alone.
pub fn clear_thread(thread: u64) {
    with(|h| {
        h.frames.retain(|_, f| f.thread != thread);
        h.variables.retain(|_, v| v.thread != thread);
        h.step_in_targets.retain(|_, t| t.thread != thread);
    });
}
