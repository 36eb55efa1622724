//! exceptionInfo: the exception a thread stopped on, its traceback, its causes and, for an
//! ExceptionGroup, its members.

use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::engine::exceptions::BreakMode;
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
    let lines = py.import("traceback")?.call_method1("format_exception", (exception,))?;
    let stack_trace: String =
        lines.cast::<PyList>()?.iter().map(|l| l.extract::<String>().unwrap_or_default()).collect();
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
