//! stepInTargets: the calls on the line a frame is stopped at, in the order they run (a call's
//! arguments before the call), named as the functions they call. A stepIn to one of them steps
//! over the line but stops in the function of that name (see `engine::stepping`).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::embedded_python::embedded_function;

const CALL_NAMES: &str = r#"
import ast
import linecache


def call_names(filename, line):
    text = linecache.getline(filename, line).strip()
    if text.endswith(":"):
        text += " pass"
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    names = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            visit(child)
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                names.append(node.func.attr)
            elif isinstance(node.func, ast.Name):
                names.append(node.func.id)

    visit(tree)
    return names
"#;

static CALL_NAMES_FUNCTION: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The names of the functions the frame's current line calls, in the order it calls them.
pub fn call_names(py: Python<'_>, frame: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let function = embedded_function(py, &CALL_NAMES_FUNCTION, CALL_NAMES, c"pydbg_step_targets", "call_names")?;
    let filename = frame.getattr("f_code")?.getattr("co_filename")?;
    let line = frame.getattr("f_lineno")?;
    if line.is_none() {
        return Ok(Vec::new());
    }
    function.call1((filename, line))?.extract()
}
