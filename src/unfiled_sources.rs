//! The text of code that has no file, whose `co_filename` is a name like `<string>`: the program
//! of `pydbg -c CODE`, code typed in the debug REPL, text compiled at run time
//! (`exec(compile(text, "<string>", "exec"))`, `eval`, namedtuple and dataclass methods), and
//! code whose text the program put in `linecache` (notebook cells, templates). The client sees
//! such code through `sourceReference`s and the `source` request.
//!
//! Texts compiled at run time are caught by an audit hook on CPython's `compile` event, written in
//! C terms so that it costs a string comparison per audit event and nothing else. Many texts can
//! share one name (every `exec` of a string is `<string>`): a frame's text is the one whose
//! compiled code holds a code object like the frame's (`text_for_code`).
//!
//! The texts belong to the process, as its code objects do, not to a session.

use std::collections::{HashMap, VecDeque};
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};

use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::embedded_python::INTERNAL_FILE_PREFIX;

/// The most names kept, and the most texts kept under one name (the most recent ones).
const MOST_NAMES: usize = 500;
const MOST_TEXTS_PER_NAME: usize = 64;
/// Longer texts are not kept.
const LONGEST_TEXT: usize = 1 << 20;

#[derive(Default)]
struct Texts {
    /// What pydbg registered itself (`-c`, the REPL), which loadedSources lists.
    registered: HashMap<String, Arc<str>>,
    /// What the program compiled, by name, most recent last.
    compiled: HashMap<String, VecDeque<Arc<str>>>,
    /// The compiled names, oldest first, for forgetting.
    order: VecDeque<String>,
    /// Code objects already matched to one of several texts of their name, by address; each is
    /// held, so that its address stays its own. A stack shown again compiles nothing.
    matched: HashMap<usize, (Py<PyAny>, Arc<str>)>,
}

/// The most matches remembered; past it, they are forgotten all at once.
const MOST_MATCHES: usize = 256;

static TEXTS: Mutex<Option<Texts>> = Mutex::new(None);

fn keep_compiled(name: &str, text: &str) {
    let mut guard = TEXTS.lock();
    let texts = guard.get_or_insert_with(Texts::default);
    let kept = texts.compiled.entry(name.to_owned()).or_default();
    if kept.is_empty() {
        texts.order.push_back(name.to_owned());
    }
    if kept.back().is_none_or(|last| **last != *text) {
        kept.push_back(text.into());
    }
    if kept.len() > MOST_TEXTS_PER_NAME {
        kept.pop_front();
    }
    while texts.order.len() > MOST_NAMES {
        if let Some(oldest) = texts.order.pop_front() {
            texts.compiled.remove(&oldest);
        }
    }
}

/// Remembers the text of the code named `name` (`-c CODE`, REPL input).
pub fn register(name: &str, text: &str) {
    let mut guard = TEXTS.lock();
    guard.get_or_insert_with(Texts::default).registered.insert(name.to_owned(), text.into());
}

/// Remembers statements typed in the debug REPL under a name of their own, `<repl N>`.
pub fn register_repl_input(text: &str) -> String {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let name = format!("<repl {}>", COUNT.fetch_add(1, Ordering::Relaxed) + 1);
    register(&name, text);
    name
}

/// Whether `co_filename` names code without a file (and not pydbg's own).
pub fn is_unfiled(co_filename: &str) -> bool {
    co_filename.starts_with('<') && co_filename.ends_with('>') && !co_filename.starts_with(INTERNAL_FILE_PREFIX)
}

/// The audit hook: on `compile` of a text with an unfiled name, keeps the text.
unsafe extern "C" fn on_audit_event(event: *const c_char, args: *mut ffi::PyObject, _: *mut c_void) -> c_int {
    // SAFETY: CPython passes a NUL-terminated event name and, for `compile`, a (source, filename)
    // tuple, with the GIL held.
    unsafe {
        if CStr::from_ptr(event).to_bytes() != b"compile" {
            return 0;
        }
        let py = Python::assume_attached();
        let Ok(args) = Bound::from_borrowed_ptr(py, args).cast_into::<pyo3::types::PyTuple>() else { return 0 };
        let (Ok(source), Ok(filename)) = (args.get_item(0), args.get_item(1)) else { return 0 };
        let Ok(filename) = filename.extract::<String>() else { return 0 };
        if !is_unfiled(&filename) {
            return 0;
        }
        let text = if let Ok(bytes) = source.cast::<pyo3::types::PyBytes>() {
            String::from_utf8_lossy(bytes.as_bytes()).into_owned()
        } else if let Ok(text) = source.extract::<String>() {
            text
        } else {
            return 0; // an AST: no text
        };
        if text.len() <= LONGEST_TEXT {
            keep_compiled(&filename, &text);
        }
        0
    }
}

extern "C" {
    fn PySys_AddAuditHook(
        hook: unsafe extern "C" fn(*const c_char, *mut ffi::PyObject, *mut c_void) -> c_int,
        user_data: *mut c_void,
    ) -> c_int;
}

/// Starts keeping the texts the program compiles. Once per process; audit hooks stay for good.
pub fn keep_compiled_texts(py: Python<'_>) {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let _ = py; // the GIL is held
                    // SAFETY: the hook is a plain function that lives as long as the process.
        if unsafe { PySys_AddAuditHook(on_audit_event, std::ptr::null_mut()) } != 0 {
            tracing::warn!("could not add the audit hook that keeps compiled texts");
        }
    });
}

fn linecache_text(py: Python<'_>, name: &str) -> Option<Arc<str>> {
    let lines: Vec<String> = py.import("linecache").ok()?.call_method1("getlines", (name,)).ok()?.extract().ok()?;
    (!lines.is_empty()).then(|| lines.concat().into())
}

/// The text of the code named `name`: the one pydbg registered, the one most recently compiled,
/// or linecache's.
pub fn text_of(py: Python<'_>, name: &str) -> Option<Arc<str>> {
    let kept = TEXTS
        .lock()
        .as_ref()
        .and_then(|t| t.registered.get(name).cloned().or_else(|| t.compiled.get(name)?.back().cloned()));
    kept.or_else(|| linecache_text(py, name))
}

/// The text `code` was compiled from, if it is known: when several texts share its name, the one
/// whose compiled code holds a code object with `code`'s name, first line and bytecode.
pub fn text_for_code(py: Python<'_>, code: &Bound<'_, PyAny>) -> Option<Arc<str>> {
    let name: String = code.getattr("co_filename").ok()?.extract().ok()?;
    if !is_unfiled(&name) {
        return None;
    }
    let mut candidates: Vec<Arc<str>> = TEXTS
        .lock()
        .as_ref()
        .map(|t| {
            let compiled = t.compiled.get(&name).into_iter().flat_map(|k| k.iter().rev().cloned());
            t.registered.get(&name).cloned().into_iter().chain(compiled).collect()
        })
        .unwrap_or_default();
    candidates.extend(linecache_text(py, &name));
    if candidates.len() <= 1 {
        return candidates.pop();
    }
    let address = code.as_ptr() as usize;
    if let Some(text) = TEXTS.lock().as_ref().and_then(|t| t.matched.get(&address)).map(|(_, text)| text.clone()) {
        return Some(text);
    }
    let text = candidates.into_iter().find(|text| compiles_to(py, text, &name, code).unwrap_or(false))?;
    // What is forgotten is dropped after the lock: freeing a code object can run Python code
    // (a weakref callback), which may compile, which takes the lock.
    let forgotten = {
        let mut guard = TEXTS.lock();
        let texts = guard.get_or_insert_with(Texts::default);
        let forgotten =
            if texts.matched.len() >= MOST_MATCHES { std::mem::take(&mut texts.matched) } else { HashMap::new() };
        let replaced = texts.matched.insert(address, (code.clone().unbind(), text.clone()));
        (forgotten, replaced)
    };
    drop(forgotten);
    Some(text)
}

fn compiles_to(py: Python<'_>, text: &str, name: &str, code: &Bound<'_, PyAny>) -> PyResult<bool> {
    let compiled = py.import("builtins")?.getattr("compile")?.call1((text, name, "exec", 0, true))?;
    let wanted = (code.getattr("co_qualname")?, code.getattr("co_firstlineno")?, code.getattr("co_code")?);
    let mut pending = vec![compiled];
    while let Some(candidate) = pending.pop() {
        if candidate.getattr("co_qualname")?.eq(&wanted.0)?
            && candidate.getattr("co_firstlineno")?.eq(&wanted.1)?
            && candidate.getattr("co_code")?.eq(&wanted.2)?
        {
            return Ok(true);
        }
        for constant in candidate.getattr("co_consts")?.try_iter()? {
            let constant = constant?;
            if constant.hasattr("co_code")? {
                pending.push(constant);
            }
        }
    }
    Ok(false)
}

/// The names loadedSources lists: those pydbg registered (`-c`, the REPL), then linecache's.
pub fn listed_names(py: Python<'_>) -> Vec<String> {
    let mut names: Vec<String> =
        TEXTS.lock().as_ref().map(|t| t.registered.keys().cloned().collect()).unwrap_or_default();
    names.sort();
    let cached: Vec<String> = py
        .import("linecache")
        .and_then(|l| l.getattr("cache")?.call_method0("copy"))
        .and_then(|c| c.try_iter().map(|keys| keys.filter_map(|k| k.ok()?.extract().ok()).collect()))
        .unwrap_or_default();
    for name in cached {
        if is_unfiled(&name) && !names.contains(&name) && linecache_text(py, &name).is_some() {
            names.push(name);
        }
    }
    names
}
