//! Inspection of a stopped program: stack frames, scopes, variables and evaluate.
//!
//! Everything here runs with the GIL on the thread that owns the frame (see
//! `Engine::run_on_parked`), so user code called by a `repr` sees its own thread's state.

mod assign;
pub mod bytecode;
mod completions;
mod exception_info;
mod frame_locals;
pub mod handles;
pub mod jumps;
pub mod past;
pub mod presentation;
mod read_only;
mod settings;
pub mod step_targets;
mod values;
pub mod watchdog;

pub use assign::{dict_key_named, set_expression, set_variable};
pub use completions::complete;
pub use exception_info::exception_info;
pub use read_only::evaluate_read_only;
pub use settings::Settings;

use std::collections::hash_map::Entry;
use std::sync::Arc;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyString, PyTuple};
use rustc_hash::FxHashMap;

use crate::engine::engine;
use crate::engine::files::Origin;
use crate::frames;
use crate::protocol::types::{
    EvaluateBody, Scope, ScopesBody, Source, StackFrame, StackTraceBody, Variable, VariablePresentationHint,
    VariablesBody,
};
use crate::python_errors::describe_error;
use crate::unfiled_sources;
use handles::{Handles, Target};
use values::{Child, ChildValue, Shape};
pub use values::{Format, VALUE_LIMIT};

/// What an inspection needs besides Python: its client's handle table and settings. Both belong
/// to the client's session.
#[derive(Clone, Default)]
pub struct Context {
    pub handles: Arc<Handles>,
    pub settings: Arc<Settings>,
}

impl Context {
    /// How values are shown: at most `limit` characters, integers in hex if asked.
    pub fn format(&self, limit: usize, hex: bool) -> Format {
        Format::new(limit, hex, self.settings.repr_timeout)
    }
}

/// `top` and its callers, down to (not including) pydbg's own bootstrap frames.
pub fn frames_from<'py>(top: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut stack = Vec::new();
    let mut next = Some(top.clone()).filter(|f| !f.is_none());
    let py = top.py();
    let mut internal: FxHashMap<usize, bool> = FxHashMap::default();
    while let Some(frame) = next {
        let code = frames::code(&frame)?;
        let is_internal = match internal.entry(code.as_ptr() as usize) {
            Entry::Occupied(entry) => *entry.get(),
            Entry::Vacant(entry) => {
                let filename: String = code.getattr(intern!(py, "co_filename"))?.extract()?;
                *entry.insert(engine().origin_of(&filename) == Origin::Internal)
            }
        };
        if is_internal {
            break;
        }
        next = frames::back(&frame)?;
        stack.push(frame);
    }
    Ok(stack)
}

/// A page of `frames` (innermost first) as DAP stack frames. `top_can_move` says whether the
/// innermost frame is stopped where CPython lets it move (restartFrame).
pub fn stack_trace(
    cx: &Context,
    thread: u64,
    frames: &[Bound<'_, PyAny>],
    top_can_move: bool,
    start: usize,
    levels: Option<usize>,
) -> PyResult<StackTraceBody> {
    let total = frames.len();
    let end = levels.filter(|&l| l > 0).map_or(total, |l| (start + l).min(total));
    let just_my_code = engine().just_my_code();
    // Deep stacks repeat their code objects (recursion): each is looked at once a request.
    let mut views: FxHashMap<usize, CodeView> = FxHashMap::default();
    let mut stack_frames = Vec::with_capacity(end.saturating_sub(start));
    for (index, frame) in frames.iter().enumerate().take(end).skip(start) {
        let code = frames::code(frame)?;
        let view = match views.entry(code.as_ptr() as usize) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(CodeView::of(cx, &code, just_my_code)?),
        };
        let line = frames::line(frame)?;
        let offset = frames::last_instruction(frame)?;
        stack_frames.push(StackFrame {
            id: cx.handles.add_frame(thread, frame),
            name: view.name.clone(),
            source: Some(view.source.clone()),
            line: line.unwrap_or(0),
            column: 1,
            // The instruction about to run in a stopped frame; the call in progress in its callers.
            instruction_pointer_reference: (offset >= 0).then(|| bytecode::address(view.number, offset)),
            can_restart: Some(index == 0 && top_can_move && jumps::restart_refusal(frame)?.is_none()),
            presentation_hint: view.not_mine.then_some("subtle"),
        });
    }
    Ok(StackTraceBody { stack_frames, total_frames: total as i64 })
}

/// What a stack frame shows of its code object.
struct CodeView {
    name: Arc<str>,
    source: Arc<Source>,
    /// With justMyCode, other code is shown for context but set back, as a step skips it.
    not_mine: bool,
    /// The code object's number in instruction addresses.
    number: u32,
}

impl CodeView {
    fn of(cx: &Context, code: &Bound<'_, PyAny>, just_my_code: bool) -> PyResult<CodeView> {
        let py = code.py();
        let filename: String = code.getattr(intern!(py, "co_filename"))?.extract()?;
        let not_mine = just_my_code && engine().origin_of(&filename) != Origin::User;
        let mut source = source_for(cx, code, &filename);
        if not_mine {
            source.presentation_hint = Some("deemphasize".into());
        }
        Ok(CodeView {
            name: code.getattr(intern!(py, "co_qualname"))?.extract::<String>()?.into(),
            source: Arc::new(source),
            not_mine,
            number: cx.handles.code_number(code),
        })
    }
}

/// The `Source` of `code`, from `filename`: a path, or for code without a file whose text pydbg
/// knows, a `sourceReference`.
fn source_for(cx: &Context, code: &Bound<'_, PyAny>, filename: &str) -> Source {
    if filename.starts_with('<') {
        let reference =
            unfiled_sources::text_for_code(code.py(), code).map(|text| cx.handles.source_reference(filename, text));
        return Source { name: Some(filename.to_owned()), source_reference: reference, ..Default::default() };
    }
    let name = std::path::Path::new(filename).file_name().map(|n| n.to_string_lossy().into_owned());
    Source { name, path: Some(cx.settings.path_mappings.to_client(filename)), ..Default::default() }
}

pub fn scopes(py: Python<'_>, cx: &Context, thread: u64, frame: Py<PyAny>) -> ScopesBody {
    let locals = cx.handles.add_variables(thread, Target::Locals(frame.clone_ref(py)));
    let globals = cx.handles.add_variables(thread, Target::Globals(frame));
    ScopesBody {
        scopes: vec![
            Scope { name: "Locals".into(), presentation_hint: "locals", variables_reference: locals, expensive: false },
            Scope {
                name: "Globals".into(),
                presentation_hint: "globals",
                variables_reference: globals,
                expensive: false,
            },
        ],
    }
}

/// Which children a `variables` request asks for.
pub struct Page<'a> {
    /// "indexed" or "named" picks one kind (as clients do for large containers); without it,
    /// named children come first, then indexed ones.
    pub filter: Option<&'a str>,
    pub start: usize,
    /// None or 0: all from `start`.
    pub count: Option<usize>,
}

/// A page of the children of a variables reference.
pub fn variables(
    py: Python<'_>,
    cx: &Context,
    thread: u64,
    target: Target,
    page: Page<'_>,
    format: Format,
) -> PyResult<VariablesBody> {
    let Page { filter, start, count } = page;
    let count = count.filter(|&c| c > 0).unwrap_or(usize::MAX);
    if let Target::Past(frame) = target {
        let variables = past::variables(py, cx, thread, frame, format).into_iter().skip(start).take(count).collect();
        return Ok(VariablesBody { variables });
    }
    let children: Vec<Child<'_>> = match &target {
        Target::Locals(frame) => {
            let frame = frame.bind(py);
            let mut entries = Vec::new();
            for (name, value) in engine().parked_return_values(py, thread, frame) {
                let value = ChildValue::Value(value.into_bound(py));
                entries.push(Child { name: format!("(return) {name}"), value, evaluate_name: None });
            }
            entries.extend(named_entries(&frame_locals::locals(frame)?, false)?);
            entries
        }
        Target::Globals(frame) => named_entries(&frame.bind(py).getattr("f_globals")?, true)?,
        Target::Past(_) => unreachable!("answered above"),
        Target::Group { object, evaluate_name, kind } => {
            values::named_children(py, object.bind(py), evaluate_name.as_deref(), &cx.settings, Some(*kind))?
        }
        Target::Value { object, evaluate_name } => {
            let object = object.bind(py);
            let parent = evaluate_name.as_deref();
            match filter {
                Some("indexed") => values::indexed_children(py, object, parent, start, count, format.repr_timeout)?,
                Some("named") => values::named_children(py, object, parent, &cx.settings, None)?,
                _ => {
                    let mut all = values::named_children(py, object, parent, &cx.settings, None)?;
                    all.extend(values::indexed_children(py, object, parent, 0, usize::MAX, format.repr_timeout)?);
                    all
                }
            }
        }
    };
    // Indexed pages were cut above; other lists are cut here.
    let paged_already = matches!((&target, filter), (Target::Value { .. }, Some("indexed")));
    let page: Vec<Child<'_>> =
        if paged_already { children } else { children.into_iter().skip(start).take(count).collect() };
    let variables = page.into_iter().map(|child| variable(py, cx, thread, child, &target, format)).collect();
    Ok(VariablesBody { variables })
}

/// A frame's locals or globals.
fn named_entries<'py>(mapping: &Bound<'py, PyAny>, skip_builtins: bool) -> PyResult<Vec<Child<'py>>> {
    let mut out = Vec::new();
    for item in mapping.call_method0("items")?.try_iter()? {
        let (key, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item?.extract()?;
        let Ok(name) = key.cast::<PyString>().map(|k| k.to_string()) else { continue };
        if skip_builtins && name == "__builtins__" {
            continue;
        }
        out.push(Child { evaluate_name: Some(name.clone()), name, value: ChildValue::Value(value) });
    }
    Ok(out)
}

fn variable(py: Python<'_>, cx: &Context, thread: u64, child: Child<'_>, parent: &Target, format: Format) -> Variable {
    let Child { name, value, evaluate_name } = child;
    let value = match value {
        ChildValue::Value(v) => v,
        ChildValue::Error(text) => {
            return Variable {
                name,
                value: format!("<error: {text}>"),
                type_name: String::new(),
                variables_reference: 0,
                evaluate_name,
                indexed_variables: None,
                presentation_hint: None,
            }
        }
        ChildValue::Group(kind) => {
            let (object, parent_name) = match parent {
                Target::Value { object, evaluate_name } => (object.clone_ref(py), evaluate_name.clone()),
                _ => unreachable!("groups are children of values"),
            };
            let reference =
                cx.handles.add_variables(thread, Target::Group { object, evaluate_name: parent_name, kind });
            return Variable {
                name,
                value: String::new(),
                type_name: String::new(),
                variables_reference: reference,
                evaluate_name: None,
                indexed_variables: None,
                presentation_hint: Some(VariablePresentationHint { kind: Some("virtual"), attributes: vec![] }),
            };
        }
    };
    let described = describe(py, cx, thread, &value, evaluate_name.clone(), format);
    let read_only = name == "len()";
    Variable {
        name,
        value: described.text,
        type_name: described.type_name,
        variables_reference: described.reference,
        evaluate_name,
        indexed_variables: described.indexed,
        presentation_hint: read_only
            .then(|| VariablePresentationHint { kind: Some("property"), attributes: vec!["readOnly"] }),
    }
}

pub struct Described {
    pub text: String,
    pub type_name: String,
    pub reference: i64,
    pub indexed: Option<i64>,
}

/// The text, type and (for values with children) the reference and child counts of a value.
pub fn describe(
    py: Python<'_>,
    cx: &Context,
    thread: u64,
    value: &Bound<'_, PyAny>,
    evaluate_name: Option<String>,
    format: Format,
) -> Described {
    let text = values::render(py, value, format);
    let type_name = values::type_name(value);
    let shape = values::shape(py, value);
    let (reference, indexed) = match shape {
        Shape::Leaf => (0, None),
        Shape::Object => (add_value(cx, thread, value, evaluate_name), None),
        Shape::Indexed(len) | Shape::Mapping(len) => (add_value(cx, thread, value, evaluate_name), Some(len as i64)),
    };
    Described { text, type_name, reference, indexed }
}

fn add_value(cx: &Context, thread: u64, value: &Bound<'_, PyAny>, evaluate_name: Option<String>) -> i64 {
    cx.handles.add_variables(thread, Target::Value { object: value.clone().unbind(), evaluate_name })
}

/// Evaluates `expression` in `frame` (or in `__main__` without one). In the REPL, statements are
/// executed when the text is not an expression, unless `statements_refused` says why not.
/// Hovers and watches run without the user asking each time, so they get the time limit of user
/// code run for inspection; a hover writes nothing back to the frame.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    py: Python<'_>,
    cx: &Context,
    thread: u64,
    expression: &str,
    frame: Option<&Bound<'_, PyAny>>,
    context: &str,
    hex: bool,
    statements_refused: Option<&str>,
) -> Result<EvaluateBody, String> {
    let run = || -> PyResult<Bound<'_, PyAny>> {
        let (globals, mut locals) = match frame {
            Some(f) => (f.getattr("f_globals")?, frame_locals::locals(f)?),
            None => {
                let globals = py.import("__main__")?.getattr("__dict__")?;
                (globals.clone(), globals)
            }
        };
        let builtins = py.import("builtins")?;
        if context == "hover" {
            // A copy: on 3.13 the frame's locals write through.
            locals = builtins.getattr("dict")?.call1((&locals,))?;
        }
        let compile = builtins.getattr("compile")?;
        // `await` is allowed at the top level; such code evaluates to a coroutine, run below.
        let flags = TOP_LEVEL_AWAIT;
        let result = match compile.call1((expression, "<evaluate>", "eval", flags)) {
            Ok(code) => builtins.getattr("eval")?.call1((&code, globals, &locals)).and_then(|v| awaited(py, &code, v)),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PySyntaxError>(py) && statements_refused.is_some() => {
                Err(pyo3::exceptions::PyValueError::new_err(statements_refused.unwrap_or_default().to_owned()))
            }
            Err(e) if context == "repl" && e.is_instance_of::<pyo3::exceptions::PySyntaxError>(py) => {
                // Its own name and text, so that functions it defines show their source.
                let name = unfiled_sources::register_repl_input(expression);
                let code = compile.call1((expression, name.as_str(), "exec", flags))?;
                let value = builtins.getattr("eval")?.call1((&code, globals, &locals))?;
                awaited(py, &code, value).map(|_| py.None().into_bound(py))
            }
            Err(e) => Err(e),
        };
        // Assignments (statements, `:=`) reach the running frame.
        if let Some(f) = frame {
            frame_locals::commit(py, f);
        }
        result
    };
    answer(py, cx, thread, expression, context, hex, run)
}

/// The evaluate answer for what `run` evaluates: within the time limit for hovers and watches.
fn answer<'py>(
    py: Python<'py>,
    cx: &Context,
    thread: u64,
    expression: &str,
    context: &str,
    hex: bool,
    run: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
) -> Result<EvaluateBody, String> {
    let value = if matches!(context, "hover" | "watch") {
        watchdog::limited(py, cx.settings.repr_timeout, run).map_err(|error| match error {
            Some(e) => describe_error(py, &e),
            None => format!("timed out after {:.1}s", cx.settings.repr_timeout.as_secs_f64()),
        })?
    } else {
        run().map_err(|e| describe_error(py, &e))?
    };
    let limit = if context == "clipboard" { usize::MAX / 2 } else { values::VALUE_LIMIT };
    let described = describe(py, cx, thread, &value, Some(expression.to_owned()), cx.format(limit, hex));
    let result = if value.is_none() && context == "repl" { String::new() } else { described.text };
    Ok(EvaluateBody {
        result,
        type_name: described.type_name,
        variables_reference: described.reference,
        indexed_variables: described.indexed,
    })
}

/// `ast.PyCF_ALLOW_TOP_LEVEL_AWAIT`.
const TOP_LEVEL_AWAIT: i32 = 0x2000;
/// `inspect.CO_COROUTINE`.
const CO_COROUTINE: i64 = 0x80;

/// The value of code compiled with top-level `await`: a coroutine, run to completion.
///
/// The stopped thread's own event loop cannot run while the thread is stopped, so the coroutine
/// runs in a fresh event loop on a helper thread that monitoring ignores. Awaiting objects bound
/// to the stopped loop (its futures and tasks) therefore fails with asyncio's own error.
fn awaited<'py>(py: Python<'py>, code: &Bound<'py, PyAny>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let flags: i64 = code.getattr("co_flags")?.extract()?;
    if flags & CO_COROUTINE == 0 {
        return Ok(value);
    }
    let outcome = PyDict::new(py);
    let (coroutine, shared) = (value.unbind(), outcome.clone().unbind());
    let (finished, wait) = std::sync::mpsc::channel::<()>();
    // The helper's first code is this closure, so it is pydbg's before any Python runs on it
    // (threading.Thread would run its bootstrap first, and the all-threads stop would take it).
    let runner = PyCFunction::new_closure(py, None, None, move |_args, _kwargs| -> PyResult<()> {
        crate::engine::mark_pydbg_thread();
        let result = Python::attach(|py| {
            let shared = shared.bind(py);
            match py.import("asyncio")?.call_method1("run", (coroutine.bind(py),)) {
                Ok(v) => shared.set_item("value", v),
                Err(e) => shared.set_item("error", e.value(py)),
            }
        });
        crate::engine::unmark_pydbg_thread();
        let _ = finished.send(());
        result
    })?;
    py.import("_thread")?.call_method1("start_new_thread", (runner, PyTuple::empty(py)))?;
    let wait = std::sync::Mutex::new(wait);
    py.detach(|| wait.lock().map(|w| w.recv()).ok());
    if let Some(error) = outcome.get_item("error")? {
        return Err(PyErr::from_value(error));
    }
    Ok(outcome.get_item("value")?.unwrap_or_else(|| py.None().into_bound(py)))
}

/// `sys._current_frames()[thread]`, for inspecting a thread that is not parked.
pub fn running_frame(py: Python<'_>, thread: u64) -> PyResult<Option<Bound<'_, PyAny>>> {
    let frames = py.import("sys")?.call_method0("_current_frames")?;
    frames.cast::<PyDict>()?.get_item(thread)
}
