//! Moving a stopped frame to another line of its code (goto, restartFrame): an `f_lineno` write,
//! which CPython allows only from the LINE event the thread is stopped in.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::embedded_python::embedded_function;
use crate::engine::stepping::RESUMABLE_FLAGS;
use crate::python_errors::describe_error;

const JUMPS: &str = r#"
import dis
import warnings


def jump(frame, line):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame.f_lineno = line
    return [str(w.message) for w in caught]


def first_line(code):
    resumed = False
    for instruction in dis.get_instructions(code):
        if resumed and instruction.positions.lineno is not None:
            return instruction.positions.lineno
        resumed = resumed or instruction.opname == "RESUME"
    return None
"#;

static JUMP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static FIRST_LINE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Moves `frame` to `line`. CPython's warnings about it (a local it sets to None) are returned,
/// for the client's console, instead of reaching the program's stderr.
pub fn jump_to_line(py: Python<'_>, frame: &Bound<'_, PyAny>, line: i64) -> Result<Vec<String>, String> {
    let jump = embedded_function(py, &JUMP, JUMPS, c"pydbg_jumps", "jump").map_err(|e| describe_error(py, &e))?;
    jump.call1((frame, line)).and_then(|w| w.extract()).map_err(|e| describe_error(py, &e))
}

/// Why `frame` cannot restart, if it cannot: generators and coroutines have handed out what
/// they yielded, and a restart would not take it back.
pub fn restart_refusal(frame: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let code = frame.getattr("f_code")?;
    let flags: i64 = code.getattr("co_flags")?.extract()?;
    if flags & RESUMABLE_FLAGS == 0 {
        return Ok(None);
    }
    let name: String = code.getattr("co_qualname")?.extract()?;
    Ok(Some(format!(
        "{name} is a generator or coroutine: what it yielded or awaited cannot be taken back, so it cannot restart"
    )))
}

/// The first line of `code`'s body: where a restart begins.
pub fn first_line(py: Python<'_>, code: &Bound<'_, PyAny>) -> Result<i64, String> {
    let first = embedded_function(py, &FIRST_LINE, JUMPS, c"pydbg_jumps", "first_line")
        .and_then(|f| f.call1((code,)))
        .and_then(|line| line.extract::<Option<i64>>())
        .map_err(|e| describe_error(py, &e))?;
    first.ok_or_else(|| "this code has no line to restart at".to_owned())
}
