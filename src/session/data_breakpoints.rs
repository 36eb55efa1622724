//! dataBreakpointInfo and setDataBreakpoints. Info offers a local variable of a stopped
//! function's frame under a `dataId`. The offer is kept (the frame with it), because a client
//! sends the whole set again on every change, with ids it was given stops ago.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::breakpoints::answer;
use super::{with_gil, Session};
use crate::engine::breakpoints::Behaviour;
use crate::engine::data_breakpoints::{DataRequest, LocalTarget};
use crate::engine::engine;
use crate::inspect::handles::Target;
use crate::protocol::types::{
    Breakpoint, BreakpointEventBody, BreakpointsBody, DataBreakpointInfoArguments, DataBreakpointInfoBody,
    SetDataBreakpointsArguments,
};
use crate::protocol::Request;
use crate::python_errors::describe_error;

/// Offers beyond this many are forgotten, oldest first, unless a data breakpoint uses them.
const MAX_OFFERS: usize = 256;
/// `co_flags` bit: the code keeps its locals in fast slots (a function, not a module or class body).
const CO_OPTIMIZED: i64 = 0x0001;

/// What dataBreakpointInfo offered this client: `dataId` -> (frame, variable name).
#[derive(Default)]
pub struct DataTargets {
    next: AtomicU64,
    offers: Mutex<Offers>,
}

#[derive(Default)]
struct Offers {
    by_id: Vec<(String, Py<PyAny>, String)>,
    in_use: HashSet<String>,
}

impl DataTargets {
    fn offer(&self, frame: Py<PyAny>, name: &str) -> String {
        let id = format!("local:{}:{name}", self.next.fetch_add(1, Ordering::Relaxed) + 1);
        let forgotten = {
            let mut offers = self.offers.lock();
            offers.by_id.push((id.clone(), frame, name.to_owned()));
            let unused = offers.by_id.iter().position(|(id, _, _)| !offers.in_use.contains(id));
            match unused {
                Some(index) if offers.by_id.len() > MAX_OFFERS => Some(offers.by_id.remove(index)),
                _ => None,
            }
        };
        // A frame is released outside the lock: its locals' finalizers may run.
        drop(forgotten);
        id
    }

    fn target(&self, py: Python<'_>, data_id: &str) -> Option<LocalTarget> {
        let offers = self.offers.lock();
        let (_, frame, name) = offers.by_id.iter().find(|(id, _, _)| id == data_id)?;
        Some(LocalTarget { frame: frame.clone_ref(py), name: name.clone() })
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
    let targets = session.data_targets.clone();
    let answer = with_gil(move |py| {
        let name = args.name;
        let frame = match (args.variables_reference, args.frame_id) {
            (Some(reference), _) => match cx.handles.variables(py, reference) {
                Some(Target::Locals(frame)) => Some(frame),
                Some(_) => None,
                None => return Err(format!("there is no variablesReference {reference}")),
            },
            (None, Some(frame_id)) => match cx.handles.frame(py, frame_id) {
                Some((_, frame)) => Some(frame),
                None => return Err(format!("there is no frame {frame_id}")),
            },
            (None, None) => return Err("dataBreakpointInfo needs a variablesReference or a frameId".to_owned()),
        };
        let offered = match frame {
            Some(frame) => watchable_local(py, frame.bind(py), &name).map(|()| targets.offer(frame, &name)),
            None => Err(not_watchable(&name)),
        };
        Ok(match offered {
            Ok(data_id) => DataBreakpointInfoBody {
                data_id: Some(data_id),
                description: format!("`{name}` changes"),
                access_types: Some(vec!["write"]),
                can_persist: false,
            },
            Err(reason) => {
                DataBreakpointInfoBody { data_id: None, description: reason, access_types: None, can_persist: false }
            }
        })
    })
    .await;
    session.respond(request, answer);
}

fn not_watchable(name: &str) -> String {
    format!("pydbg watches local variables of functions only, for now: `{name}` is not one")
}

/// Ok if `name` is a local variable of `frame`'s function.
fn watchable_local(py: Python<'_>, frame: &Bound<'_, PyAny>, name: &str) -> Result<(), String> {
    let found: PyResult<bool> = (|| {
        let code = frame.getattr("f_code")?;
        let flags: i64 = code.getattr("co_flags")?.extract()?;
        if flags & CO_OPTIMIZED == 0 {
            return Ok(false);
        }
        for names in ["co_varnames", "co_cellvars", "co_freevars"] {
            if code.getattr(names)?.cast_into::<PyTuple>()?.iter().any(|n| n.eq(name).unwrap_or(false)) {
                return Ok(true);
            }
        }
        Ok(false)
    })();
    match found {
        Ok(true) => Ok(()),
        Ok(false) => Err(not_watchable(name)),
        Err(e) => Err(describe_error(py, &e)),
    }
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
                let target = match b.access_type.as_deref() {
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
