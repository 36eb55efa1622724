//! setVariable and setExpression: the new value is an expression evaluated in the frame, and the
//! running program sees it at once.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::frame_locals;
use super::handles::Target;

/// Evaluates `source` in `frame`.
pub fn eval_in<'py>(py: Python<'py>, frame: &Bound<'py, PyAny>, source: &str) -> PyResult<Bound<'py, PyAny>> {
    let builtins = py.import("builtins")?;
    let code = builtins.getattr("compile")?.call1((source, "<value>", "eval"))?;
    builtins.getattr("eval")?.call1((code, frame.getattr("f_globals")?, frame_locals::locals(frame)?))
}

/// Sets the member `name` of a variables reference to the value of `source`, evaluated in `frame`.
pub fn set_variable<'py>(
    py: Python<'py>,
    frame: &Bound<'py, PyAny>,
    target: &Target,
    name: &str,
    source: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let value = eval_in(py, frame, source)?;
    match target {
        Target::Locals(owner) => {
            let owner = owner.bind(py);
            frame_locals::locals(owner)?.set_item(name, &value)?;
            frame_locals::commit(py, owner);
        }
        Target::Globals(owner) => owner.bind(py).getattr("f_globals")?.set_item(name, &value)?,
        Target::Past(_) => {
            return Err(pyo3::exceptions::PyValueError::new_err("a recorded value of the past cannot be changed"))
        }
        Target::Value { object, .. } | Target::Group { object, .. } => {
            let object = object.bind(py);
            if object.is_instance_of::<PyDict>() {
                object.set_item(dict_key_named(py, name)?, &value)?;
            } else if object.is_instance_of::<PyList>() {
                object.set_item(
                    name.parse::<usize>()
                        .map_err(|_| pyo3::exceptions::PyIndexError::new_err(format!("{name:?} is not an index")))?,
                    &value,
                )?;
            } else {
                object.setattr(name, &value)?;
            }
        }
    }
    Ok(value)
}

/// The key of the dict entry that Variables shows as `name`: entries are named by their key's
/// repr, which for the keys that have a literal (str, int, tuple, ...) reads back.
pub fn dict_key_named<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    py.import("ast")?.call_method1("literal_eval", (name,))
}

/// Assigns the value of `source` to `expression`, which must be a name, attribute or subscript.
pub fn set_expression<'py>(
    py: Python<'py>,
    frame: &Bound<'py, PyAny>,
    expression: &str,
    source: &str,
) -> PyResult<Bound<'py, PyAny>> {
    let ast = py.import("ast")?;
    let target = ast.call_method1("parse", (expression.trim(), "<expression>", "eval"))?.getattr("body")?;
    let is = |kind: &str| -> PyResult<bool> { target.is_instance(&ast.getattr(kind)?) };
    let part = |name: &str| -> PyResult<Bound<'py, PyAny>> {
        let text: String = ast.call_method1("unparse", (target.getattr(name)?,))?.extract()?;
        eval_in(py, frame, &text)
    };
    if is("Name")? {
        let value = eval_in(py, frame, source)?;
        let name: String = target.getattr("id")?.extract()?;
        let locals = frame_locals::locals(frame)?;
        let globals = frame.getattr("f_globals")?;
        if !locals.contains(&name)? && globals.contains(&name)? {
            globals.set_item(&name, &value)?;
        } else {
            locals.set_item(&name, &value)?;
            frame_locals::commit(py, frame);
        }
        Ok(value)
    } else if is("Attribute")? {
        let owner = part("value")?;
        let value = eval_in(py, frame, source)?;
        owner.setattr(target.getattr("attr")?.extract::<String>()?, &value)?;
        Ok(value)
    } else if is("Subscript")? {
        let (owner, key) = (part("value")?, part("slice")?);
        let value = eval_in(py, frame, source)?;
        owner.set_item(key, &value)?;
        Ok(value)
    } else {
        Err(pyo3::exceptions::PyValueError::new_err(format!(
            "cannot assign to {expression:?}: only names, attributes and subscripts can be set"
        )))
    }
}
