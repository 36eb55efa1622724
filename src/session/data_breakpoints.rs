//! dataBreakpointInfo and setDataBreakpoints. Info offers what can be watched under a `dataId`:
//! a local variable of a stopped function's frame, a global, a module attribute, a dict item, a
//! list item, an attribute of an object. The offer is kept (the frame or object with it), because
//! a client sends the whole set again on every change, with ids it was given stops ago.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyModule, PyString};

use super::breakpoints::answer;
use super::inspection::{flatten, on_thread};
use super::{with_gil, Session};
use crate::engine::breakpoints::Behaviour;
use crate::engine::data_breakpoints::{is_builtin_key, DataRequest, WatchTarget};
use crate::engine::engine;
use crate::frames;
use crate::inspect::handles::Target;
use crate::inspect::{dict_key_named, evaluate_read_only};
use crate::protocol::types::{
    Breakpoint, BreakpointEventBody, BreakpointsBody, DataBreakpointInfoArguments, DataBreakpointInfoBody,
    SetDataBreakpointsArguments,
};
use crate::protocol::Request;
use crate::python_errors::describe_error;

/// Offers beyond this many are forgotten, oldest first, unless a data breakpoint uses them.
const MAX_OFFERS: usize = 256;

/// What dataBreakpointInfo offered this client, by `dataId`.
#[derive(Default)]
pub struct DataTargets {
    next: AtomicU64,
    offers: Mutex<Offers>,
}

#[derive(Default)]
struct Offers {
    by_id: Vec<(String, WatchTarget)>,
    in_use: HashSet<String>,
}

impl DataTargets {
    fn offer(&self, target: WatchTarget) -> String {
        let kind = match &target {
            WatchTarget::Local { .. } => "local",
            WatchTarget::DictEntry { .. } => "entry",
            WatchTarget::Attribute { .. } => "attribute",
            WatchTarget::Item { .. } => "item",
        };
        let id = format!("{kind}:{}", self.next.fetch_add(1, Ordering::Relaxed) + 1);
        let forgotten = {
            let mut offers = self.offers.lock();
            offers.by_id.push((id.clone(), target));
            let unused = offers.by_id.iter().position(|(id, _)| !offers.in_use.contains(id));
            match unused {
                Some(index) if offers.by_id.len() > MAX_OFFERS => Some(offers.by_id.remove(index)),
                _ => None,
            }
        };
        // Released outside the lock: a frame's locals or a dict's values may have finalizers.
        drop(forgotten);
        id
    }

    fn target(&self, py: Python<'_>, data_id: &str) -> Option<WatchTarget> {
        let offers = self.offers.lock();
        offers.by_id.iter().find(|(id, _)| id == data_id).map(|(_, target)| target.clone_ref(py))
    }

    fn set_in_use(&self, ids: HashSet<String>) {
        self.offers.lock().in_use = ids;
    }
}

pub async fn data_breakpoint_info(session: &Session, request: &Request) {
    let args = match request.args::<DataBreakpointInfoArguments>() {
        Ok(args) => args,
        Err(e) => return session.respond::<()>(request, Err(e)),
    };
    let cx = session.inspection_context();
    let name = args.name;
    let target = match (args.variables_reference, args.frame_id) {
        (Some(reference), _) => {
            let name = name.clone();
            with_gil(move |py| match cx.handles.variables(py, reference) {
                Some(target) => Ok(watchable_member(py, &target, &name)),
                None => Err(format!("there is no variablesReference {reference}")),
            })
            .await
        }
        // An expression may run a property's code: on the stopped thread, as other inspection.
        (None, Some(frame_id)) => match cx.handles.frame_thread(frame_id) {
            Some(thread) => {
                let name = name.clone();
                flatten(
                    on_thread(thread, move |py| match cx.handles.frame(py, frame_id) {
                        Some((_, frame)) => Ok(watchable_expression(py, frame.bind(py), &name)),
                        None => Err(format!("there is no frame {frame_id}")),
                    })
                    .await,
                )
            }
            None => Err(format!("there is no frame {frame_id}")),
        },
        (None, None) => Err("dataBreakpointInfo needs a variablesReference or a frameId".to_owned()),
    };
    let answer = target.map(|target| match target {
        Ok(target) => {
            let description = match &target {
                WatchTarget::Local { name, .. } => format!("`{name}` changes"),
                WatchTarget::DictEntry { label, .. }
                | WatchTarget::Attribute { label, .. }
                | WatchTarget::Item { label, .. } => {
                    format!("`{label}` changes")
                }
            };
            DataBreakpointInfoBody {
                data_id: Some(session.data_targets.offer(target)),
                description,
                access_types: Some(vec!["write"]),
                can_persist: false,
            }
        }
        Err(reason) => {
            DataBreakpointInfoBody { data_id: None, description: reason, access_types: None, can_persist: false }
        }
    });
    session.respond(request, answer);
}

fn not_watchable(name: &str) -> String {
    format!(
        "pydbg cannot watch `{name}` yet: it watches local variables, globals, module attributes, dict items, \
         list items and attributes of objects of Python classes"
    )
}

/// The member `name` of what a `variablesReference` shows, as something to watch.
fn watchable_member(py: Python<'_>, target: &Target, name: &str) -> Result<WatchTarget, String> {
    let result: PyResult<Option<WatchTarget>> = (|| match target {
        Target::Locals(frame) => Ok(watchable_name(py, frame.bind(py), name).ok()),
        Target::Globals(frame) => Ok(Some(variable_in(frames::globals(frame.bind(py))?, name))),
        // The past does not change: there is nothing to watch.
        Target::Past(_) => Ok(None),
        Target::Value { object, evaluate_name } | Target::Group { object, evaluate_name, .. } => {
            let object = object.bind(py);
            if let Ok(module) = object.cast::<PyModule>() {
                let label = format!("{}.{name}", module.name()?);
                return Ok(Some(entry_of(
                    module.dict().into_any(),
                    PyString::new(py, name).into_any(),
                    label,
                    "(unbound)",
                )));
            }
            if object.is_instance_of::<PyDict>() {
                let Ok(key) = dict_key_named(py, name) else { return Ok(None) };
                if !is_builtin_key(&key) {
                    return Ok(None);
                }
                let label = format!("{}[{name}]", evaluate_name.as_deref().unwrap_or(""));
                return Ok(Some(entry_of(object.clone(), key, label, "(missing)")));
            }
            if let (Ok(list), Ok(index)) = (object.cast::<PyList>(), name.parse::<isize>()) {
                let label = format!("{}[{index}]", evaluate_name.as_deref().unwrap_or(""));
                return Ok(Some(WatchTarget::Item { list: list.clone().into_any().unbind(), index, label }));
            }
            if is_instance_of_python_class(object)? && is_identifier(name) {
                let label = match evaluate_name {
                    Some(owner) => format!("{owner}.{name}"),
                    None => name.to_owned(),
                };
                return Ok(Some(WatchTarget::Attribute {
                    object: object.clone().unbind(),
                    name: name.to_owned(),
                    label,
                }));
            }
            Ok(None)
        }
    })();
    match result {
        Ok(Some(target)) => Ok(target),
        Ok(None) => Err(not_watchable(name)),
        Err(e) => Err(describe_error(py, &e)),
    }
}

/// A variable named `name` as code in `frame` sees it: a local of a function, or else a name in
/// the frame's namespace (a module or class body's dict).
fn watchable_name(py: Python<'_>, frame: &Bound<'_, PyAny>, name: &str) -> Result<WatchTarget, String> {
    let found: PyResult<Option<WatchTarget>> = (|| {
        if let Some(local_names) = frames::fast_local_names(&frames::code(frame)?)? {
            if local_names.iter().any(|local| local == name) {
                return Ok(Some(WatchTarget::Local { frame: frame.clone().unbind(), name: name.to_owned() }));
            }
        } else {
            let namespace = frame.getattr("f_locals")?;
            if namespace.is_exact_instance_of::<PyDict>() && namespace.contains(name)? {
                return Ok(Some(variable_in(namespace, name)));
            }
        }
        let globals = frames::globals(frame)?;
        Ok(globals.contains(name)?.then(|| variable_in(globals, name)))
    })();
    match found {
        Ok(Some(target)) => Ok(target),
        Ok(None) => Err(not_watchable(name)),
        Err(e) => Err(describe_error(py, &e)),
    }
}

/// What an expression in `frame` names, to watch: a variable (`total`), an attribute (`self.count`,
/// `helpers.level`), a dict item (`config["port"]`, `self.table[key]`) or a list item
/// (`data[3]`, `obj.items[-1]`). The owner and the key
/// are evaluated read-only (names, attributes, subscripts: no calls).
fn watchable_expression(py: Python<'_>, frame: &Bound<'_, PyAny>, expression: &str) -> Result<WatchTarget, String> {
    let text = expression.trim();
    if is_identifier(text) {
        return watchable_name(py, frame, text);
    }
    let found: PyResult<Option<WatchTarget>> = (|| {
        let ast = py.import("ast")?;
        let node = ast.call_method1("parse", (text, "<data breakpoint>", "eval"))?.getattr("body")?;
        let (globals, locals) = (frames::globals(frame)?, frame.getattr("f_locals")?);
        let read = |part: Bound<'_, PyAny>| -> PyResult<Bound<'_, PyAny>> {
            let source: String = ast.call_method1("get_source_segment", (text, part))?.extract()?;
            evaluate_read_only(py, &source, &globals, &locals)
        };
        let label = text.to_owned();
        if node.is_instance(&ast.getattr("Attribute")?)? {
            let owner = read(node.getattr("value")?)?;
            let name: String = node.getattr("attr")?.extract()?;
            if let Ok(module) = owner.cast::<PyModule>() {
                let key = PyString::new(py, &name).into_any();
                return Ok(Some(entry_of(module.dict().into_any(), key, label, "(unbound)")));
            }
            if is_instance_of_python_class(&owner)? {
                return Ok(Some(WatchTarget::Attribute { object: owner.unbind(), name, label }));
            }
        } else if node.is_instance(&ast.getattr("Subscript")?)? {
            let owner = read(node.getattr("value")?)?;
            let key = read(node.getattr("slice")?)?;
            if owner.is_instance_of::<PyDict>() && is_builtin_key(&key) {
                return Ok(Some(entry_of(owner, key, label, "(missing)")));
            }
            if owner.is_instance_of::<PyList>() && key.is_exact_instance_of::<PyInt>() {
                return Ok(Some(WatchTarget::Item { list: owner.unbind(), index: key.extract()?, label }));
            }
        }
        Ok(None)
    })();
    match found {
        Ok(Some(target)) => Ok(target),
        Ok(None) => Err(not_watchable(text)),
        Err(e) => Err(describe_error(py, &e)),
    }
}

/// Whether `object` is an instance of a class defined in Python (not a builtin, not a class).
fn is_instance_of_python_class(object: &Bound<'_, PyAny>) -> PyResult<bool> {
    const HEAP_TYPE: u64 = 1 << 9;
    let flags: u64 = object.get_type().getattr("__flags__")?.extract()?;
    Ok(flags & HEAP_TYPE != 0 && !object.is_instance_of::<pyo3::types::PyType>())
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic()) && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// The variable `name` of a namespace dict (a module's globals, a class body's names).
fn variable_in(namespace: Bound<'_, PyAny>, name: &str) -> WatchTarget {
    let key = PyString::new(namespace.py(), name).into_any();
    entry_of(namespace, key, name.to_owned(), "(unbound)")
}

fn entry_of(dict: Bound<'_, PyAny>, key: Bound<'_, PyAny>, label: String, absent: &'static str) -> WatchTarget {
    WatchTarget::DictEntry { dict: dict.unbind(), key: key.unbind(), label, absent }
}

pub async fn set_data_breakpoints(session: &Session, request: &Request) {
    let args = match request.args::<SetDataBreakpointsArguments>() {
        Ok(args) => args,
        Err(e) => return session.respond::<()>(request, Err(e)),
    };
    let targets = session.data_targets.clone();
    targets.set_in_use(args.breakpoints.iter().map(|b| b.data_id.clone()).collect());
    let placements = with_gil(move |py| {
        let requests = args
            .breakpoints
            .into_iter()
            .map(|b| {
                let target: Result<WatchTarget, String> = match b.access_type.as_deref() {
                    None | Some("write") => targets
                        .target(py, &b.data_id)
                        .ok_or(format!("unknown dataId {:?}: ask dataBreakpointInfo for one", b.data_id)),
                    Some(other) => Err(format!("pydbg stops on writes only, not on {other:?}")),
                };
                let behaviour = Behaviour { condition: b.condition, hit_condition: b.hit_condition, log_message: None };
                DataRequest { target, behaviour }
            })
            .collect();
        engine().set_data_breakpoints(py, requests)
    })
    .await;
    let breakpoints = placements.into_iter().map(|p| answer(p, None)).collect();
    session.respond(request, Ok(BreakpointsBody { breakpoints }));
}

/// The `breakpoint` event for a data breakpoint that can no longer stop.
pub fn ended_event(id: i64, reason: String) -> BreakpointEventBody {
    BreakpointEventBody {
        reason: "changed",
        breakpoint: Breakpoint { id: Some(id), verified: false, message: Some(reason), ..Default::default() },
    }
}
