//! pydbg's own small Python helpers (dis, ast and linecache work), compiled on first use.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

/// The start of the file name of pydbg's embedded code: internal, never shown or stopped in.
pub const INTERNAL_FILE_PREFIX: &str = "<pydbg ";

/// A function of a small Python module embedded in pydbg (`source`), compiled on first use.
pub fn embedded_function<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    source: &str,
    module: &std::ffi::CStr,
    function: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    let compiled = cell.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        let source = std::ffi::CString::new(source).expect("embedded Python has no NUL");
        let file =
            std::ffi::CString::new(format!("{INTERNAL_FILE_PREFIX}{}>", module.to_string_lossy())).expect("no NUL");
        Ok(PyModule::from_code(py, &source, &file, module)?.getattr(function)?.unbind())
    })?;
    Ok(compiled.bind(py))
}
