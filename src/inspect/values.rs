//! How a value is shown: bounded text, its type name, and its children, a page at a time.
//!
//! Nothing here builds a full `repr` of a container: builtin containers are rendered item by item
//! until the text is long enough, and children are read by index. User code (`repr` of other
//! types, properties) runs under the watchdog's time limit.

use std::collections::HashSet;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyComplex, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PyRange, PySet, PyString,
    PyTuple, PyType,
};

use super::presentation::{Kind, Mode};
use super::settings::Settings;
use super::watchdog;
use crate::python_errors::describe_error;

/// The longest `value` shown in the variables view and in hovers, in characters.
pub const VALUE_LIMIT: usize = 512;
/// How deep builtin containers are rendered inside each other.
const RENDER_DEPTH: usize = 3;

#[derive(Clone, Copy)]
pub struct Format {
    pub limit: usize,
    pub hex: bool,
    /// How long a user-defined `repr` may take.
    pub repr_timeout: Duration,
}

impl Format {
    pub fn new(limit: usize, hex: bool, repr_timeout: Duration) -> Self {
        Format { limit, hex, repr_timeout }
    }
}

pub fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().qualname().map(|n| n.to_string()).unwrap_or_else(|_| "object".into())
}

/// The text shown for `value`, at most about `format.limit` characters.
pub fn render(py: Python<'_>, value: &Bound<'_, PyAny>, format: Format) -> String {
    let mut out = String::new();
    let mut seen = HashSet::new();
    render_into(py, value, format, &mut out, 0, &mut seen);
    out
}

fn is_exactly(value: &Bound<'_, PyAny>, ty: &Bound<'_, PyType>) -> bool {
    value.get_type().is(ty)
}

/// An item of a container being rendered, with its value when the container is a dict.
type Entry<'py> = (Bound<'py, PyAny>, Option<Bound<'py, PyAny>>);

fn render_into(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    format: Format,
    out: &mut String,
    depth: usize,
    seen: &mut HashSet<usize>,
) {
    let budget = format.limit.saturating_sub(out.len());
    if format.hex && value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() {
        if let Ok(text) = value.call_method0("__index__").and_then(|i| py.import("builtins")?.call_method1("hex", (i,)))
        {
            out.push_str(&text.to_string());
            return;
        }
    }
    if let Ok(s) = value.cast::<PyString>() {
        return render_sized(py, value, s.len().unwrap_or(0), budget, "characters", out);
    }
    if value.is_instance_of::<PyBytes>() || value.is_instance_of::<PyByteArray>() {
        return render_sized(py, value, value.len().unwrap_or(0), budget, "bytes", out);
    }
    let builtin_container = [
        py.get_type::<PyList>(),
        py.get_type::<PyTuple>(),
        py.get_type::<PyDict>(),
        py.get_type::<PySet>(),
        py.get_type::<PyFrozenSet>(),
    ]
    .iter()
    .any(|t| is_exactly(value, t));
    if !builtin_container {
        return out.push_str(&truncate(user_repr(py, value, format.repr_timeout), budget));
    }
    let address = value.as_ptr() as usize;
    let is_dict = value.is_instance_of::<PyDict>();
    let is_tuple = value.is_instance_of::<PyTuple>();
    let (open, close) = if is_dict || value.is_instance_of::<PySet>() || value.is_instance_of::<PyFrozenSet>() {
        ("{", "}")
    } else if is_tuple {
        ("(", ")")
    } else {
        ("[", "]")
    };
    let len = value.len().unwrap_or(0);
    if len == 0 {
        let empty = if value.is_instance_of::<PyFrozenSet>() {
            "frozenset()"
        } else if value.is_instance_of::<PySet>() {
            "set()"
        } else {
            if is_dict {
                "{}"
            } else if is_tuple {
                "()"
            } else {
                "[]"
            }
        };
        return out.push_str(empty);
    }
    if depth >= RENDER_DEPTH || !seen.insert(address) {
        return out.push_str(&format!("{open}...{close}"));
    }
    let prefix = if value.is_instance_of::<PyFrozenSet>() { "frozenset(" } else { "" };
    out.push_str(prefix);
    out.push_str(open);
    let mut first = true;
    let items: Box<dyn Iterator<Item = PyResult<Entry<'_>>>> = if is_dict {
        let dict = value.cast::<PyDict>().expect("checked above").clone();
        Box::new(dict.iter().map(|(k, v)| Ok((k, Some(v)))).collect::<Vec<_>>().into_iter())
    } else {
        match value.try_iter() {
            Ok(iter) => Box::new(iter.map(|i| i.map(|i| (i, None)))),
            Err(_) => Box::new(std::iter::empty()),
        }
    };
    for item in items {
        if out.len() >= format.limit {
            out.push_str(", ...");
            break;
        }
        let Ok((item, dict_value)) = item else { break };
        if !first {
            out.push_str(", ");
        }
        first = false;
        render_into(py, &item, format, out, depth + 1, seen);
        if let Some(v) = dict_value {
            out.push_str(": ");
            render_into(py, &v, format, out, depth + 1, seen);
        }
    }
    if is_tuple && len == 1 {
        out.push(',');
    }
    out.push_str(close);
    if !prefix.is_empty() {
        out.push(')');
    }
    seen.remove(&address);
}

/// A string or bytes value: the repr of its start, and its full length when cut.
fn render_sized(py: Python<'_>, value: &Bound<'_, PyAny>, len: usize, budget: usize, unit: &str, out: &mut String) {
    if len <= budget {
        return out.push_str(&value.repr().map(|r| r.to_string()).unwrap_or_default());
    }
    let head = value
        .get_item(pyo3::types::PySlice::new(py, 0, budget as isize, 1))
        .and_then(|h| h.repr())
        .map(|r| r.to_string())
        .unwrap_or_default();
    out.push_str(&format!("{head}... ({len} {unit})"));
}

/// `repr()` of a value whose type may define it, under the time limit.
fn user_repr(py: Python<'_>, value: &Bound<'_, PyAny>, timeout: Duration) -> String {
    match watchdog::limited(py, timeout, || value.repr().map(|r| r.to_string())) {
        Ok(text) => text,
        Err(Some(e)) => format!("<repr raised {}>", describe_error(py, &e)),
        Err(None) => format!("<repr timed out after {:.1}s>", timeout.as_secs_f64()),
    }
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

/// How a value's children are laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// No children.
    Leaf,
    /// Children by position (list, tuple, range, deque, array, set, numpy array's first axis).
    Indexed(usize),
    /// Children by key (dict and other mappings).
    Mapping(usize),
    /// Attributes only.
    Object,
}

static DEQUE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static ARRAY: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static MAPPING: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn type_from<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    module: &str,
    name: &str,
) -> Option<Bound<'py, PyType>> {
    cell.get_or_try_init(py, || -> PyResult<Py<PyType>> {
        Ok(py.import(module)?.getattr(name)?.cast_into::<PyType>()?.unbind())
    })
    .ok()
    .map(|t| t.bind(py).clone())
}

fn is_instance_of_named(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    cell: &'static PyOnceLock<Py<PyType>>,
    module: &str,
    name: &str,
) -> bool {
    type_from(py, cell, module, name).is_some_and(|t| value.is_instance(&t).unwrap_or(false))
}

/// A numpy array, recognized without importing numpy.
fn is_numpy_array(value: &Bound<'_, PyAny>) -> bool {
    let ty = value.get_type();
    ty.module().is_ok_and(|m| m == "numpy") && ty.name().is_ok_and(|n| n == "ndarray")
}

fn is_namedtuple(value: &Bound<'_, PyAny>) -> bool {
    value.is_instance_of::<PyTuple>() && value.get_type().hasattr("_fields").unwrap_or(false)
}

pub fn shape(py: Python<'_>, value: &Bound<'_, PyAny>) -> Shape {
    if is_scalar(value) {
        return Shape::Leaf;
    }
    let len = || value.len().unwrap_or(0);
    if is_numpy_array(value) {
        let ndim: usize = value.getattr("ndim").and_then(|n| n.extract()).unwrap_or(0);
        return if ndim == 0 { Shape::Object } else { Shape::Indexed(len()) };
    }
    if is_namedtuple(value) {
        return Shape::Object;
    }
    if value.is_instance_of::<PyList>()
        || value.is_instance_of::<PyTuple>()
        || value.is_instance_of::<PyRange>()
        || value.is_instance_of::<PySet>()
        || value.is_instance_of::<PyFrozenSet>()
        || is_instance_of_named(py, value, &DEQUE, "collections", "deque")
        || is_instance_of_named(py, value, &ARRAY, "array", "array")
    {
        return Shape::Indexed(len());
    }
    if value.is_instance_of::<PyDict>() || is_instance_of_named(py, value, &MAPPING, "collections.abc", "Mapping") {
        return Shape::Mapping(len());
    }
    Shape::Object
}

/// One child of a value, as the variables view lists it.
pub struct Child<'py> {
    pub name: String,
    pub value: ChildValue<'py>,
    pub evaluate_name: Option<String>,
}

pub enum ChildValue<'py> {
    Value(Bound<'py, PyAny>),
    /// Reading the attribute failed; the text says how.
    Error(String),
    /// A group of members of one kind ("special variables").
    Group(Kind),
}

fn member<'py>(name: String, parent: Option<&str>, value: PyResult<Bound<'py, PyAny>>, py: Python<'py>) -> Child<'py> {
    Child {
        evaluate_name: parent.map(|p| format!("{p}[{name}]")),
        value: match value {
            Ok(v) => ChildValue::Value(v),
            Err(e) => ChildValue::Error(describe_error(py, &e)),
        },
        name,
    }
}

/// The indexed children `start..start+count` of a value with `Shape::Indexed` or `Shape::Mapping`.
pub fn indexed_children<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
    parent: Option<&str>,
    start: usize,
    count: usize,
    repr_timeout: Duration,
) -> PyResult<Vec<Child<'py>>> {
    let mut out = Vec::new();
    match shape(py, value) {
        Shape::Mapping(len) => {
            let end = start.saturating_add(count).min(len);
            let keys: Vec<Bound<'py, PyAny>> = if let Ok(dict) = value.cast::<PyDict>() {
                dict.keys().iter().skip(start).take(end.saturating_sub(start)).collect()
            } else {
                let mut keys = Vec::new();
                for key in value.try_iter()?.skip(start).take(end.saturating_sub(start)) {
                    keys.push(key?);
                }
                keys
            };
            for key in keys {
                let key_text = render(py, &key, Format::new(VALUE_LIMIT, false, repr_timeout));
                let mut child = member(key_text.clone(), None, value.get_item(&key), py);
                child.evaluate_name = parent.map(|p| format!("{p}[{key_text}]"));
                out.push(child);
            }
        }
        Shape::Indexed(len) => {
            let end = start.saturating_add(count).min(len);
            let by_position = value.is_instance_of::<PySet>() || value.is_instance_of::<PyFrozenSet>();
            if by_position || is_instance_of_named(py, value, &DEQUE, "collections", "deque") {
                // Sets have no index, and a deque's index walks from an end: iterate once.
                for (offset, item) in value.try_iter()?.skip(start).take(end.saturating_sub(start)).enumerate() {
                    let index = start + offset;
                    let mut child = member(index.to_string(), None, item, py);
                    if !by_position {
                        child.evaluate_name = parent.map(|p| format!("{p}[{index}]"));
                    }
                    out.push(child);
                }
            } else {
                for index in start..end {
                    out.push(member(index.to_string(), parent, value.get_item(index), py));
                }
            }
        }
        Shape::Leaf | Shape::Object => {}
    }
    Ok(out)
}

/// The named children of a value: its attributes, grouped as the client's `variablePresentation`
/// says, plus `len()` for sized containers.
pub fn named_children<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
    parent: Option<&str>,
    settings: &Settings,
    only: Option<Kind>,
) -> PyResult<Vec<Child<'py>>> {
    let shape = shape(py, value);
    let mut out = Vec::new();
    if only.is_none() {
        if let Shape::Indexed(len) | Shape::Mapping(len) = shape {
            out.push(Child {
                name: "len()".into(),
                value: ChildValue::Value(len.into_pyobject(py)?.into_any()),
                evaluate_name: parent.map(|p| format!("len({p})")),
            });
        }
        for (name, v) in special_members(py, value)? {
            out.push(Child { evaluate_name: parent.map(|p| format!("{p}.{name}")), name, value: ChildValue::Value(v) });
        }
    }
    let mut groups: Vec<Kind> = Vec::new();
    for name in attribute_names(value, shape) {
        let attribute = watchdog::limited(py, settings.repr_timeout, || value.getattr(name.as_str()));
        let kind = match &attribute {
            Ok(v) => Kind::of(&name, v),
            Err(_) => Kind::of_name(&name),
        };
        if only.is_some_and(|o| o != kind) {
            continue;
        }
        let mode = if only.is_some() { Mode::Inline } else { settings.presentation.mode(kind) };
        match mode {
            Mode::Hide => continue,
            Mode::Group => {
                if !groups.contains(&kind) {
                    groups.push(kind);
                }
                continue;
            }
            Mode::Inline => {}
        }
        let evaluate_name = parent.map(|p| format!("{p}.{name}"));
        let value = match attribute {
            Ok(v) => ChildValue::Value(v),
            Err(Some(e)) => ChildValue::Error(describe_error(py, &e)),
            Err(None) => ChildValue::Error(format!("timed out after {:.1}s", settings.repr_timeout.as_secs_f64())),
        };
        out.push(Child { name, value, evaluate_name });
    }
    let mut group_children: Vec<Child<'py>> = groups
        .into_iter()
        .map(|kind| Child { name: kind.group_label().into(), value: ChildValue::Group(kind), evaluate_name: None })
        .collect();
    group_children.extend(out);
    Ok(group_children)
}

/// Attribute names worth listing: `dir()` for objects, none but the group members for containers
/// (their methods are still reachable through the groups).
fn attribute_names(value: &Bound<'_, PyAny>, shape: Shape) -> Vec<String> {
    let mut names: Vec<String> = match value.dir() {
        Ok(list) => list.iter().filter_map(|n| n.extract::<String>().ok()).collect(),
        Err(_) => Vec::new(),
    };
    if matches!(shape, Shape::Indexed(_) | Shape::Mapping(_)) {
        names.retain(|n| n.starts_with('_'));
    }
    names
}

/// Members that deserve a place of their own: a generator's state, a numpy array's shape.
fn special_members<'py>(py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let mut out = Vec::new();
    if is_numpy_array(value) {
        for name in ["shape", "dtype", "size"] {
            if let Ok(v) = value.getattr(name) {
                out.push((name.to_owned(), v));
            }
        }
    }
    let inspect = py.import("inspect")?;
    if inspect.call_method1("isgenerator", (value,))?.is_truthy()? {
        out.push(("(state)".into(), inspect.call_method1("getgeneratorstate", (value,))?));
    } else if inspect.call_method1("iscoroutine", (value,))?.is_truthy()? {
        out.push(("(state)".into(), inspect.call_method1("getcoroutinestate", (value,))?));
    }
    Ok(out)
}
