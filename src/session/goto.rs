//! gotoTargets and goto: VS Code's "Jump to Cursor" / "Set Next Statement". A target is a line
//! with code in a file; goto moves the stopped thread's top frame to it, which CPython allows
//! from the LINE event the thread is stopped in, and then reports a stop there (reason `goto`).
//! restartFrame moves the frame to its first line the same way (reason `restart`).

use pyo3::prelude::*;

use super::inspection::answerable;
use super::{with_gil, Session};
use crate::engine::breakpoints::{code_lines, resolve_line};
use crate::engine::engine;
use crate::engine::files::canonical_key;
use crate::engine::threads::ParkedIn;
use crate::inspect::jumps;
use crate::protocol::types::{
    GotoArguments, GotoTarget, GotoTargetsArguments, GotoTargetsBody, OutputEventBody, RestartFrameArguments,
    StoppedEventBody,
};
use crate::protocol::{Outgoing, Request};
use crate::python_errors::describe_error;

pub async fn goto_targets(session: &Session, request: &Request) {
    let result = async {
        let args: GotoTargetsArguments = request.args()?;
        let path = args.source.path.as_deref().ok_or("gotoTargets needs source.path")?;
        let path = canonical_key(&session.settings().path_mappings.to_program(path)).to_string();
        let lines = {
            let path = path.clone();
            with_gil(move |py| code_lines(py, &path, None)).await?
        };
        let Some(line) = resolve_line(&lines, args.line) else { return Ok(GotoTargetsBody { targets: Vec::new() }) };
        let id = session.handles.add_goto_target(path, line);
        Ok(GotoTargetsBody { targets: vec![GotoTarget { id, label: format!("Line {line}"), line }] })
    }
    .await;
    session.respond(request, result.map_err(|e: String| e));
}

pub async fn goto(session: &Session, request: &Request) {
    let result = async {
        let args: GotoArguments = request.args()?;
        let ident = engine().ident_of(args.thread_id).ok_or(format!("there is no thread {}", args.thread_id))?;
        let (path, line) =
            session.handles.goto_target(args.target_id).ok_or(format!("there is no goto target {}", args.target_id))?;
        move_parked_frame(session, ident, move |py| jump_top_frame(py, ident, &path, line)).await
    }
    .await;
    answer_move(session, request, "goto", result);
}

/// restartFrame: the frame a thread is stopped in starts its body again. Only the program
/// counter moves: locals, globals and everything else keep their values (docs/bytecode.md).
pub async fn restart_frame(session: &Session, request: &Request) {
    let result = async {
        let args: RestartFrameArguments = request.args()?;
        let ident =
            session.handles.frame_thread(args.frame_id).ok_or(format!("there is no frame {}", args.frame_id))?;
        let handles = session.handles.clone();
        move_parked_frame(session, ident, move |py| {
            let (_, frame) = handles.frame(py, args.frame_id).ok_or("that frame is gone")?;
            restart_top_frame(py, ident, frame.bind(py))
        })
        .await
    }
    .await;
    answer_move(session, request, "restart", result);
}

/// Runs `jump` on the parked thread `ident`, inside the monitoring callback it stopped in, and
/// forgets the thread's handles: its frames have moved. Answers the thread's DAP id.
async fn move_parked_frame(
    session: &Session,
    ident: u64,
    jump: impl FnOnce(Python<'_>) -> Result<Vec<String>, String> + Send + 'static,
) -> Result<i64, String> {
    if let Some(refusal) = super::time_travel::refusal(session, ident) {
        return Err(refusal);
    }
    let (work, answered) = answerable(jump);
    engine().run_on_parked(ident, work).map_err(|_| "the thread must be stopped".to_owned())?;
    let warnings = answered.await.map_err(|_| "the thread resumed before it could move".to_owned())??;
    for warning in warnings {
        session.send(Outgoing::event(
            "output",
            OutputEventBody { category: "console", output: format!("pydbg: {warning}\n") },
        ));
    }
    session.handles.clear_thread(ident);
    Ok(engine().thread_id_of(ident))
}

/// The answer, then a stop where the frame now is, with `reason`.
fn answer_move(session: &Session, request: &Request, reason: &'static str, moved: Result<i64, String>) {
    match moved {
        Ok(thread_id) => {
            session.respond(request, Ok(()));
            session.send(Outgoing::event(
                "stopped",
                StoppedEventBody {
                    reason,
                    thread_id,
                    all_threads_stopped: true,
                    hit_breakpoint_ids: Vec::new(),
                    description: None,
                    text: None,
                },
            ));
        }
        Err(e) => session.respond::<()>(request, Err(e)),
    }
}

fn parked_top(py: Python<'_>, ident: u64) -> Result<Bound<'_, PyAny>, String> {
    let parked = engine().parked_frames(py, ident).ok_or("the thread is not stopped")?;
    if parked.parked_in != ParkedIn::Line {
        return Err(
            "the thread is stopped mid-line (after an instruction step, at an instruction breakpoint or at an \
                    exception); CPython moves a frame only from the start of a line"
                .into(),
        );
    }
    Ok(parked.top.into_bound(py))
}

fn restart_top_frame(py: Python<'_>, ident: u64, frame: &Bound<'_, PyAny>) -> Result<Vec<String>, String> {
    let top = parked_top(py, ident)?;
    if !top.is(frame) {
        return Err("pydbg restarts only the frame the thread is stopped in (the top of the stack)".into());
    }
    if let Some(refusal) = jumps::restart_refusal(frame).map_err(|e| describe_error(py, &e))? {
        return Err(refusal);
    }
    let code = frame.getattr("f_code").map_err(|e| describe_error(py, &e))?;
    let line = jumps::first_line(py, &code)?;
    jumps::jump_to_line(py, frame, line).map_err(|e| format!("cannot restart: {e}"))
}

/// Runs on the parked thread, inside the monitoring callback it stopped in.
fn jump_top_frame(py: Python<'_>, ident: u64, path: &str, line: i64) -> Result<Vec<String>, String> {
    let frame = &parked_top(py, ident)?;
    let filename: String = frame
        .getattr("f_code")
        .and_then(|c| c.getattr("co_filename")?.extract())
        .map_err(|e| describe_error(py, &e))?;
    if *canonical_key(&filename) != *path {
        return Err(format!("goto moves only within the stopped function's file ({filename})"));
    }
    let in_function = (|| -> PyResult<(bool, String)> {
        let code = frame.getattr("f_code")?;
        let mut has_line = false;
        for entry in code.call_method0("co_lines")?.try_iter()? {
            let (_, _, entry_line): (i64, i64, Option<i64>) = entry?.extract()?;
            has_line |= entry_line == Some(line);
        }
        Ok((has_line, code.getattr("co_qualname")?.extract()?))
    })();
    let (has_line, function) = in_function.map_err(|e| describe_error(py, &e))?;
    if !has_line {
        // CPython would move to the next line that is in it: somewhere the user did not point at.
        return Err(format!("cannot go to line {line}: it is not in {function}, where the thread is stopped"));
    }
    jumps::jump_to_line(py, frame, line).map_err(|e| format!("cannot go to line {line}: {e}"))
}
