//! exceptionInfo: the exception a thread stopped on, its traceback, its causes and, for an
//! ExceptionGroup, its members.

use pyo3::prelude::*;

use crate::engine::engine;
use crate::engine::exceptions::BreakMode;
use crate::engine::files::Origin;
use crate::protocol::types::{ExceptionDetails, ExceptionInfoBody};

/// How deep `__cause__`/`__context__` chains and groups are followed.
const MAX_DEPTH: usize = 8;

pub fn exception_info(py: Python<'_>, exception: &Bound<'_, PyAny>, mode: BreakMode) -> PyResult<ExceptionInfoBody> {
    let details = details(py, exception, MAX_DEPTH)?;
    Ok(ExceptionInfoBody {
        exception_id: details.full_type_name.clone(),
        description: Some(details.message.clone()),
        break_mode: mode.dap_name(),
        details,
    })
}

fn details(py: Python<'_>, exception: &Bound<'_, PyAny>, depth: usize) -> PyResult<ExceptionDetails> {
    let class = exception.get_type();
    let type_name: String = class.getattr("__qualname__")?.extract()?;
    let module: String = class.getattr("__module__")?.extract().unwrap_or_default();
    let full_type_name =
        if module == "builtins" || module.is_empty() { type_name.clone() } else { format!("{module}.{type_name}") };
    let message = exception.str().map(|s| s.to_string()).unwrap_or_else(|_| "<str() failed>".into());
    let stack_trace = traceback_text(py, exception)?;
    let mut inner = Vec::new();
    if depth > 0 {
        // An ExceptionGroup's members, then the exception that caused or preceded this one
        // (unless that is one of the members).
        let mut members = Vec::new();
        if exception.is_instance(&py.import("builtins")?.getattr("BaseExceptionGroup")?)? {
            for member in exception.getattr("exceptions")?.try_iter()? {
                members.push(member?);
            }
        }
        for member in &members {
            inner.push(details(py, member, depth - 1)?);
        }
        for link in ["__cause__", "__context__"] {
            let linked = exception.getattr(link)?;
            if !linked.is_none() {
                if !members.iter().any(|m| m.is(&linked)) {
                    inner.push(details(py, &linked, depth - 1)?);
                }
                break;
            }
        }
    }
    Ok(ExceptionDetails { message, type_name, full_type_name, stack_trace, inner_exception: inner })
}

/// The traceback as Python prints it, causes included, without pydbg's own frames (its runner
/// and runpy, which the program never sees).
fn traceback_text(py: Python<'_>, exception: &Bound<'_, PyAny>) -> PyResult<String> {
    let traceback = py.import("traceback")?;
    let summary = traceback.getattr("TracebackException")?.call_method1("from_exception", (exception,))?;
    drop_internal_frames(&traceback, &summary, MAX_DEPTH)?;
    let lines = summary.call_method0("format")?;
    lines.try_iter()?.map(|line| line?.extract::<String>()).collect()
}

fn drop_internal_frames(traceback: &Bound<'_, PyModule>, summary: &Bound<'_, PyAny>, depth: usize) -> PyResult<()> {
    let mut kept = Vec::new();
    for frame in summary.getattr("stack")?.try_iter()? {
        let frame = frame?;
        let filename: String = frame.getattr("filename")?.extract()?;
        if engine().origin_of(&filename) != Origin::Internal {
            kept.push(frame);
        }
    }
    summary.setattr("stack", traceback.getattr("StackSummary")?.call_method1("from_list", (kept,))?)?;
    if depth == 0 {
        return Ok(());
    }
    let mut linked: Vec<Bound<'_, PyAny>> = Vec::new();
    for link in ["__cause__", "__context__"] {
        linked.push(summary.getattr(link)?);
    }
    if let Ok(members) = summary.getattr("exceptions") {
        if !members.is_none() {
            for member in members.try_iter()? {
                linked.push(member?);
            }
        }
    }
    for next in linked.iter().filter(|s| !s.is_none()) {
        drop_internal_frames(traceback, next, depth - 1)?;
    }
    Ok(())
}
