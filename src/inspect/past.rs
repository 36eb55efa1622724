//! A stopped thread's recorded past as the client sees it: the stack, the locals and evaluate at
//! its time cursor (`session::time_travel`). Runs on that thread, which owns its history.
//!
//! A value recorded exactly (a number, a short string, a tuple of such) is shown as it was. Any
//! other value is shown as the text recorded when it was bound, or, when the same object is still
//! bound at the stop, as it is now, marked "as of the stop": changes inside objects are not
//! recorded.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::handles::{PastFrame, Target};
use super::{answer, describe, frames_from, CodeView, Context, Format};
use crate::engine::engine;
use crate::engine::history::PastValue;
use crate::frames;
use crate::protocol::types::{
    EvaluateBody, Scope, ScopesBody, StackFrame, StackTraceBody, Variable, VariablePresentationHint,
};

/// How far back the cursor is, as frame names show it.
fn lines_back_text(lines_back: u64) -> String {
    match lines_back {
        1 => "1 line back".to_owned(),
        n => format!("{n} lines back"),
    }
}

/// The recorded stack at `serial`, then the frames below it that still run (their callers have
/// not moved since). Frames of the past are named with the time: `total [3 lines back]`. They get
/// no `subtle` hint, which VS Code folds away behind "Show More Stack Frames" (docs/decisions.md).
pub fn stack_trace(
    py: Python<'_>,
    cx: &Context,
    thread: u64,
    serial: u64,
    lines_back: u64,
    start: usize,
    levels: Option<usize>,
) -> PyResult<StackTraceBody> {
    let (past, running) = engine().past_frames(py, serial);
    let just_my_code = engine().just_my_code();
    let when = lines_back_text(lines_back);
    let mut stack_frames = Vec::new();
    for frame in &past {
        let view = CodeView::of(cx, frame.code.bind(py), just_my_code)?;
        stack_frames.push(StackFrame {
            id: cx.handles.add_past_frame(thread, PastFrame { serial, activation: frame.activation }),
            name: format!("{} [{when}]", view.name).into(),
            source: Some(view.source.clone()),
            line: frame.line,
            column: 1,
            instruction_pointer_reference: None,
            can_restart: Some(false),
            presentation_hint: None,
        });
    }
    if let Some(caller) = running.map(|f| frames::back(f.bind(py))).transpose()?.flatten() {
        let below = frames_from(&caller)?;
        stack_frames.extend(super::stack_trace(cx, thread, &below, false, 0, None)?.stack_frames);
    }
    let total = stack_frames.len();
    let end = levels.filter(|&l| l > 0).map_or(total, |l| (start + l).min(total));
    let stack_frames = stack_frames.into_iter().take(end).skip(start).collect();
    Ok(StackTraceBody { stack_frames, total_frames: total as i64 })
}

pub fn scopes(cx: &Context, thread: u64, frame: PastFrame) -> ScopesBody {
    let locals = cx.handles.add_variables(thread, Target::Past(frame));
    ScopesBody {
        scopes: vec![Scope {
            name: "Locals".into(),
            presentation_hint: "locals",
            variables_reference: locals,
            expensive: false,
        }],
    }
}

/// The recorded locals of a frame of the past; none can be set.
pub fn variables(py: Python<'_>, cx: &Context, thread: u64, frame: PastFrame, format: Format) -> Vec<Variable> {
    let read_only = || Some(VariablePresentationHint { kind: None, attributes: vec!["readOnly"] });
    let mut out = Vec::new();
    for (name, value) in engine().past_locals(py, frame.serial, frame.activation) {
        let evaluate_name = (!name.starts_with('(')).then(|| name.clone());
        let (value, suffix) = match value {
            PastValue::Exact(value) => (value, ""),
            PastValue::AsOfTheStop(value) => (value, " (as of the stop)"),
            PastValue::Text { type_name, text } => {
                out.push(Variable {
                    name,
                    value: text,
                    type_name,
                    variables_reference: 0,
                    evaluate_name,
                    indexed_variables: None,
                    presentation_hint: read_only(),
                });
                continue;
            }
        };
        let described = describe(py, cx, thread, value.bind(py), evaluate_name.clone(), format);
        out.push(Variable {
            name,
            value: described.text + suffix,
            type_name: described.type_name,
            variables_reference: described.reference,
            evaluate_name,
            indexed_variables: described.indexed,
            presentation_hint: read_only(),
        });
    }
    out
}

/// Evaluates an expression (never a statement: the past is not changed) with the recorded locals
/// of `frame` and its globals as they are now.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    py: Python<'_>,
    cx: &Context,
    thread: u64,
    frame: PastFrame,
    expression: &str,
    context: &str,
    hex: bool,
    refusal: &str,
) -> Result<EvaluateBody, String> {
    let mut texts = Vec::new();
    let run = || -> PyResult<Bound<'_, PyAny>> {
        let locals = PyDict::new(py);
        for (name, value) in engine().past_locals(py, frame.serial, frame.activation) {
            match value {
                PastValue::Exact(v) | PastValue::AsOfTheStop(v) => locals.set_item(name, v)?,
                PastValue::Text { type_name, text } => texts.push((name, type_name, text)),
            }
        }
        let globals = match engine().past_globals(py, frame.activation) {
            Some(globals) => globals.into_bound(py),
            None => py.import("__main__")?.getattr("__dict__")?,
        };
        let builtins = py.import("builtins")?;
        let code = match builtins.getattr("compile")?.call1((expression, "<evaluate>", "eval")) {
            Ok(code) => code,
            Err(e) if e.is_instance_of::<pyo3::exceptions::PySyntaxError>(py) && context == "repl" => {
                return Err(pyo3::exceptions::PyValueError::new_err(refusal.to_owned()));
            }
            Err(e) => return Err(e),
        };
        builtins.getattr("eval")?.call1((code, globals, locals))
    };
    answer(py, cx, thread, expression, context, hex, run).map_err(|error| {
        // A name whose value was kept only as text.
        match texts.iter().find(|(name, _, _)| error.contains(&format!("'{name}'"))) {
            Some((name, type_name, text)) => {
                format!("{name} was a {type_name} when recorded; only its text is kept: {text}")
            }
            None => error,
        }
    })
}
