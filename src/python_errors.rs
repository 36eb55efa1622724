//! How a Python error reads in pydbg's answers and console messages: `TypeName: message`, as the
//! last line of a traceback says it.

use pyo3::prelude::*;

pub fn describe_error(py: Python<'_>, err: &PyErr) -> String {
    let type_name = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
    let message = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    if message.is_empty() {
        type_name
    } else {
        format!("{type_name}: {message}")
    }
}

/// The same, for an exception object.
pub fn exception_text(py: Python<'_>, exception: &Bound<'_, PyAny>) -> String {
    describe_error(py, &PyErr::from_value(exception.clone()))
}
