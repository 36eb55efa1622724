//! threads, continue, next, stepIn (with or without a target), stepOut and pause.

use super::{with_gil, Session};
use crate::engine::engine;
use crate::engine::exceptions::BreakMode;
use crate::engine::stepping::{Step, StepKind};
use crate::engine::threads::{Stop, StopReason};
use crate::protocol::types::{ContinueBody, StoppedEventBody, Thread, ThreadArguments, ThreadsBody};
use crate::protocol::Request;

pub fn threads(session: &Session, request: &Request) {
    let threads = engine().threads().into_iter().map(|t| Thread { id: t.id, name: t.name }).collect();
    session.respond(request, Ok(ThreadsBody { threads }));
}

/// The `stopped` event for a stop the engine reports, in the words the client shows.
pub fn stopped_event(stop: Stop) -> StoppedEventBody {
    let (reason, hit_breakpoint_ids) = match &stop.reason {
        StopReason::Breakpoint(id) => ("breakpoint", vec![*id]),
        StopReason::FunctionBreakpoint(id) => ("function breakpoint", vec![*id]),
        StopReason::InstructionBreakpoint(id) => ("instruction breakpoint", vec![*id]),
        StopReason::DataBreakpoint { id, .. } => ("data breakpoint", vec![*id]),
        StopReason::BreakpointCall => ("breakpoint", Vec::new()),
        StopReason::Step => ("step", Vec::new()),
        StopReason::Entry => ("entry", Vec::new()),
        StopReason::Pause => ("pause", Vec::new()),
        StopReason::Exception { .. } => ("exception", Vec::new()),
    };
    let (description, text) = match stop.reason {
        StopReason::Exception { mode, text } => (
            Some(
                match mode {
                    BreakMode::Always => "Paused on a raised exception",
                    BreakMode::Unhandled => "Paused on an uncaught exception",
                    BreakMode::UserUnhandled => "Paused on an exception that leaves user code",
                }
                .to_owned(),
            ),
            Some(text),
        ),
        StopReason::BreakpointCall => (Some("Paused on breakpoint()".to_owned()), None),
        StopReason::DataBreakpoint { description, .. } => (Some(description), None),
        _ => (None, None),
    };
    StoppedEventBody {
        reason,
        thread_id: stop.thread_id,
        all_threads_stopped: true,
        hit_breakpoint_ids,
        description,
        text,
    }
}

pub fn resume(session: &Session, request: &Request, step: Option<StepKind>) {
    let stepping = step.is_some();
    let result = (|| {
        let args: ThreadArguments = request.args()?;
        let ident = engine().ident_of(args.thread_id).ok_or(format!("there is no thread {}", args.thread_id))?;
        let single_thread = args.single_thread == Some(true);
        let by_instruction = match args.granularity.as_deref() {
            None | Some("statement" | "line") => false,
            Some("instruction") => true,
            Some(other) => return Err(format!("unknown granularity {other:?}: pydbg steps by line or instruction")),
        };
        let step = step.map(|kind| Step { kind, by_instruction });
        if single_thread {
            session.handles.clear_thread(ident);
        } else {
            session.handles.clear();
        }
        session.cursors.resumed(single_thread.then_some(ident));
        let all = engine()
            .resume(ident, step, single_thread)
            .map_err(|e| format!("cannot {} thread {}: {e}", request.command, args.thread_id))?;
        Ok(all)
    })();
    match (stepping, result) {
        (false, Ok(all)) => session.respond(request, Ok(ContinueBody { all_threads_continued: all })),
        (true, Ok(_)) => session.respond(request, Ok(())),
        (_, Err(e)) => session.respond::<()>(request, Err(e)),
    }
}

/// stepIn, or with a `targetId` from stepInTargets, a step into that call only.
pub fn step_in(session: &Session, request: &Request) {
    let Some((thread_id, Some(id))) =
        request.args::<ThreadArguments>().ok().map(|args| (args.thread_id, args.target_id))
    else {
        return resume(session, request, Some(StepKind::In));
    };
    let thread = engine().ident_of(thread_id);
    match session.handles.step_in_target(id) {
        Some((target_thread, function)) if Some(target_thread) == thread => {
            resume(session, request, Some(StepKind::IntoTarget(function)))
        }
        _ => session.respond::<()>(request, Err(format!("there is no step-in target {id} for thread {thread_id}"))),
    }
}

pub async fn pause(session: &Session, request: &Request) {
    match request.args::<ThreadArguments>() {
        Ok(_) => {
            with_gil(|py| engine().pause(py)).await;
            session.respond(request, Ok(()));
        }
        Err(e) => session.respond::<()>(request, Err(e)),
    }
}
