//! How a value is shown: a bounded repr, its type name, and its children.

use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyComplex, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple,
};

use crate::engine::breakpoints::describe_error;

/// The longest `value` shown in the variables view and in hovers, in characters.
pub const VALUE_LIMIT: usize = 512;

pub struct Rendered {
    pub text: String,
    pub type_name: String,
}

/// `repr(value)`, cut to `limit` characters. A repr that raises is shown as such.
pub fn render(py: Python<'_>, value: &Bound<'_, PyAny>, limit: usize) -> Rendered {
    let type_name = value.get_type().qualname().map(|n| n.to_string()).unwrap_or_else(|_| "object".into());
    let text = match value.repr() {
        Ok(r) => truncate(r.to_string(), limit),
        Err(e) => format!("<repr raised {}>", describe_error(py, &e)),
    };
    Rendered { text, type_name }
}

fn truncate(text: String, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}... ({} characters)", &text[..cut], text.chars().count()),
        None => text,
    }
}

fn is_scalar(value: &Bound<'_, PyAny>) -> bool {
    value.is_none()
        || value.is_instance_of::<PyBool>()
        || value.is_instance_of::<PyInt>()
        || value.is_instance_of::<PyFloat>()
        || value.is_instance_of::<PyComplex>()
        || value.is_instance_of::<PyString>()
        || value.is_instance_of::<PyBytes>()
        || value.is_instance_of::<PyByteArray>()
}

pub fn has_children(value: &Bound<'_, PyAny>) -> bool {
    if is_scalar(value) {
        return false;
    }
    if let Ok(len) = value.len() {
        if value.is_instance_of::<PyDict>()
            || value.is_instance_of::<PyList>()
            || value.is_instance_of::<PyTuple>()
            || value.is_instance_of::<PySet>()
            || value.is_instance_of::<PyFrozenSet>()
        {
            return len > 0;
        }
    }
    value.getattr("__dict__").ok().and_then(|d| d.len().ok()).is_some_and(|n| n > 0)
}

type Child<'py> = (String, Bound<'py, PyAny>, Option<String>);

/// The members of a container or the attributes of an object, with evaluate names built from
/// `parent` where it is known.
pub fn children<'py>(value: &Bound<'py, PyAny>, parent: Option<&str>) -> PyResult<Vec<Child<'py>>> {
    let mut out = Vec::new();
    if let Ok(dict) = value.cast::<PyDict>() {
        for (key, item) in dict.iter() {
            let key_repr = key.repr().map(|r| r.to_string()).unwrap_or_else(|_| "<key>".into());
            let evaluate_name = parent.map(|p| format!("{p}[{key_repr}]"));
            out.push((key_repr, item, evaluate_name));
        }
    } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        for (index, item) in value.try_iter()?.enumerate() {
            out.push((index.to_string(), item?, parent.map(|p| format!("{p}[{index}]"))));
        }
    } else if value.is_instance_of::<PySet>() || value.is_instance_of::<PyFrozenSet>() {
        for (index, item) in value.try_iter()?.enumerate() {
            out.push((index.to_string(), item?, None));
        }
    } else if let Ok(attributes) = value.getattr("__dict__") {
        if let Ok(attributes) = attributes.cast::<PyDict>() {
            for (key, item) in attributes.iter() {
                let Ok(name) = key.cast::<PyString>().map(|k| k.to_string()) else { continue };
                let evaluate_name = parent.map(|p| format!("{p}.{name}"));
                out.push((name, item, evaluate_name));
            }
        }
    }
    Ok(out)
}
