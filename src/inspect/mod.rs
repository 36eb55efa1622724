//! Inspection of a stopped program: stack frames, scopes, variables and evaluate.
//!
//! Everything here runs with the GIL on the thread that owns the frame (see
//! `Engine::run_on_parked`), so user code called by a `repr` sees its own thread's state.

mod exception_info;
pub mod handles;
mod values;

pub use exception_info::exception_info;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::engine::breakpoints::describe_error;
use crate::engine::engine;
use crate::engine::files::Origin;
use crate::protocol::types::{
    EvaluateBody, Scope, ScopesBody, Source, StackFrame, StackTraceBody, Variable, VariablesBody,
};
use handles::Target;

/// `top` and its callers, down to (not including) pydbg's own bootstrap frames.
pub fn frames_from<'py>(top: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut frames = Vec::new();
    let mut frame = top.clone();
    while !frame.is_none() {
        let filename: String = frame.getattr("f_code")?.getattr("co_filename")?.extract()?;
        if engine().origin_of(&filename) == Origin::Internal {
            break;
        }
        frames.push(frame.clone());
        frame = frame.getattr("f_back")?;
    }
    Ok(frames)
}

/// A page of `frames` (innermost first) as DAP stack frames.
pub fn stack_trace(
    thread: u64,
    frames: &[Bound<'_, PyAny>],
    start: usize,
    levels: Option<usize>,
) -> PyResult<StackTraceBody> {
    let total = frames.len();
    let end = levels.filter(|&l| l > 0).map_or(total, |l| (start + l).min(total));
    let mut stack_frames = Vec::new();
    for frame in frames.get(start.min(total)..end).unwrap_or_default() {
        let code = frame.getattr("f_code")?;
        let filename: String = code.getattr("co_filename")?.extract()?;
        let line: Option<i64> = frame.getattr("f_lineno")?.extract()?;
        stack_frames.push(StackFrame {
            id: handles::add_frame(thread, frame.clone().unbind()),
            name: code.getattr("co_qualname")?.extract()?,
            source: Some(source_for(&filename)),
            line: line.unwrap_or(0),
            column: 1,
        });
    }
    Ok(StackTraceBody { stack_frames, total_frames: total as i64 })
}

fn source_for(filename: &str) -> Source {
    if filename.starts_with('<') {
        return Source { name: Some(filename.to_owned()), ..Default::default() };
    }
    let name = std::path::Path::new(filename).file_name().map(|n| n.to_string_lossy().into_owned());
    Source { name, path: Some(filename.to_owned()), ..Default::default() }
}

pub fn scopes(thread: u64, frame: Py<PyAny>, py: Python<'_>) -> ScopesBody {
    let locals = handles::add_variables(thread, Target::Locals(frame.clone_ref(py)));
    let globals = handles::add_variables(thread, Target::Globals(frame));
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

pub fn variables(
    py: Python<'_>,
    thread: u64,
    target: Target,
    start: usize,
    count: Option<usize>,
) -> PyResult<VariablesBody> {
    let children: Vec<(String, Bound<'_, PyAny>, Option<String>)> = match &target {
        Target::Locals(frame) => named_entries(&frame.bind(py).getattr("f_locals")?, false)?,
        Target::Globals(frame) => named_entries(&frame.bind(py).getattr("f_globals")?, true)?,
        Target::Value { object, evaluate_name } => values::children(object.bind(py), evaluate_name.as_deref())?,
    };
    let end = count.filter(|&c| c > 0).map_or(children.len(), |c| (start + c).min(children.len()));
    let variables = children
        .get(start.min(children.len())..end)
        .unwrap_or_default()
        .iter()
        .map(|(name, value, evaluate_name)| variable(py, thread, name.clone(), value, evaluate_name.clone()))
        .collect();
    Ok(VariablesBody { variables })
}

/// A frame's locals or globals as `(name, value, evaluateName)`.
fn named_entries<'py>(
    mapping: &Bound<'py, PyAny>,
    skip_builtins: bool,
) -> PyResult<Vec<(String, Bound<'py, PyAny>, Option<String>)>> {
    let mut out = Vec::new();
    for item in mapping.call_method0("items")?.try_iter()? {
        let (key, value): (Bound<'py, PyAny>, Bound<'py, PyAny>) = item?.extract()?;
        let Ok(name) = key.cast::<PyString>().map(|k| k.to_string()) else { continue };
        if skip_builtins && name == "__builtins__" {
            continue;
        }
        out.push((name.clone(), value, Some(name)));
    }
    Ok(out)
}

fn variable(
    py: Python<'_>,
    thread: u64,
    name: String,
    value: &Bound<'_, PyAny>,
    evaluate_name: Option<String>,
) -> Variable {
    let rendered = values::render(py, value, values::VALUE_LIMIT);
    let variables_reference = if values::has_children(value) {
        handles::add_variables(
            thread,
            Target::Value { object: value.clone().unbind(), evaluate_name: evaluate_name.clone() },
        )
    } else {
        0
    };
    Variable { name, value: rendered.text, type_name: rendered.type_name, variables_reference, evaluate_name }
}

/// Evaluates `expression` in `frame` (or in `__main__` without one). In the REPL, statements are
/// executed when the text is not an expression.
pub fn evaluate(
    py: Python<'_>,
    thread: u64,
    expression: &str,
    frame: Option<&Bound<'_, PyAny>>,
    context: &str,
) -> Result<EvaluateBody, String> {
    let run = || -> PyResult<Bound<'_, PyAny>> {
        let (globals, locals) = match frame {
            Some(f) => (f.getattr("f_globals")?, f.getattr("f_locals")?),
            None => {
                let globals = py.import("__main__")?.getattr("__dict__")?;
                (globals.clone(), globals)
            }
        };
        let builtins = py.import("builtins")?;
        let compile = builtins.getattr("compile")?;
        match compile.call1((expression, "<evaluate>", "eval")) {
            Ok(code) => builtins.getattr("eval")?.call1((code, globals, locals)),
            Err(e) if context == "repl" && e.is_instance_of::<pyo3::exceptions::PySyntaxError>(py) => {
                let code = compile.call1((expression, "<repl>", "exec"))?;
                builtins.getattr("exec")?.call1((code, globals, locals))?;
                Ok(py.None().into_bound(py))
            }
            Err(e) => Err(e),
        }
    };
    let value = run().map_err(|e| describe_error(py, &e))?;
    let limit = if context == "clipboard" { usize::MAX } else { values::VALUE_LIMIT };
    let rendered = values::render(py, &value, limit);
    let variables_reference = if values::has_children(&value) {
        handles::add_variables(
            thread,
            Target::Value { object: value.clone().unbind(), evaluate_name: Some(expression.to_owned()) },
        )
    } else {
        0
    };
    let result = if value.is_none() && context == "repl" { String::new() } else { rendered.text };
    Ok(EvaluateBody { result, type_name: rendered.type_name, variables_reference })
}

/// `sys._current_frames()[thread]`, for inspecting a thread that is not parked.
pub fn running_frame(py: Python<'_>, thread: u64) -> PyResult<Option<Bound<'_, PyAny>>> {
    let frames = py.import("sys")?.call_method0("_current_frames")?;
    Ok(frames.cast::<PyDict>()?.get_item(thread)?)
}
