//! The text of code that has no file, whose `co_filename` is a name like `<string>`: the program
//! of `pydbg -c CODE`, code typed in the debug REPL, and code whose text the program put in
//! `linecache` (notebook cells, templates). The client sees such code through `sourceReference`s
//! and the `source` request.
//!
//! The texts belong to the process, as its code objects do, not to a session. pydbg keeps the
//! most recent `MOST_TEXTS` it registered itself; linecache's own entries are read where they are.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use pyo3::prelude::*;

const MOST_TEXTS: usize = 500;

#[derive(Default)]
struct Texts {
    by_name: HashMap<String, Arc<str>>,
    order: VecDeque<String>,
}

static TEXTS: Mutex<Option<Texts>> = Mutex::new(None);

/// Remembers the text of the code named `name`.
pub fn register(name: &str, text: &str) {
    let mut guard = TEXTS.lock();
    let texts = guard.get_or_insert_with(Texts::default);
    if texts.by_name.insert(name.to_owned(), text.into()).is_none() {
        texts.order.push_back(name.to_owned());
    }
    while texts.order.len() > MOST_TEXTS {
        if let Some(oldest) = texts.order.pop_front() {
            texts.by_name.remove(&oldest);
        }
    }
}

/// Remembers statements typed in the debug REPL under a name of their own, `<repl N>`.
pub fn register_repl_input(text: &str) -> String {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!("<repl {}>", COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
    register(&name, text);
    name
}

/// Whether `co_filename` names code without a file.
pub fn is_unfiled(co_filename: &str) -> bool {
    co_filename.starts_with('<') && co_filename.ends_with('>')
}

/// The text of the code named `name`, if pydbg or `linecache` has it.
pub fn text_of(py: Python<'_>, name: &str) -> Option<Arc<str>> {
    if let Some(text) = TEXTS.lock().as_ref().and_then(|t| t.by_name.get(name).cloned()) {
        return Some(text);
    }
    let lines: Vec<String> = py.import("linecache").ok()?.call_method1("getlines", (name,)).ok()?.extract().ok()?;
    (!lines.is_empty()).then(|| lines.concat().into())
}

/// The names of every unfiled code with a text: pydbg's, then linecache's.
pub fn names(py: Python<'_>) -> Vec<String> {
    let mut names: Vec<String> = TEXTS.lock().as_ref().map(|t| t.order.iter().cloned().collect()).unwrap_or_default();
    let cached: Vec<String> = py
        .import("linecache")
        .and_then(|l| l.getattr("cache")?.call_method0("copy"))
        .and_then(|c| c.try_iter().map(|keys| keys.filter_map(|k| k.ok()?.extract().ok()).collect()))
        .unwrap_or_default();
    for name in cached {
        if is_unfiled(&name) && !names.contains(&name) && text_of(py, &name).is_some() {
            names.push(name);
        }
    }
    names
}
