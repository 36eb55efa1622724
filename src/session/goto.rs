//! gotoTargets and goto: VS Code's "Jump to Cursor" / "Set Next Statement". A target is a line
//! with code in a file; goto moves the stopped thread's top frame to it, which CPython allows
//! from the LINE event the thread is stopped in, and then reports a stop there (reason `goto`).

use pyo3::prelude::*;
use tokio::sync::oneshot;

use super::{with_gil, Session};
use crate::engine::breakpoints::{code_lines, resolve_line};
use crate::engine::engine;
use crate::engine::files::canonical_key;
use crate::engine::threads::ParkedWork;
use crate::protocol::types::{GotoArguments, GotoTarget, GotoTargetsArguments, GotoTargetsBody, StoppedEventBody};
use crate::protocol::{Outgoing, Request};
use crate::python_errors::describe_error;

pub async fn goto_targets(session: &Session, request: &Request) {
    let result = async {
        let args: GotoTargetsArguments = request.args()?;
        let path = args.source.path.as_deref().ok_or("gotoTargets needs source.path")?;
        let path = canonical_key(&session.settings().path_mappings.to_program(path)).to_string();
        let lines = {
            let path = path.clone();
            with_gil(move |py| code_lines(py, &path)).await?
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
        let (answer, answered) = oneshot::channel();
        let jump: ParkedWork = Box::new(move |py| {
            let _ = answer.send(jump_top_frame(py, ident, &path, line));
        });
        engine().run_on_parked(ident, jump).map_err(|_| "goto needs the thread to be stopped".to_owned())?;
        answered.await.map_err(|_| "the thread resumed before it could jump".to_owned())??;
        session.handles.clear_thread(ident);
        Ok(args.thread_id)
    }
    .await;
    match result {
        Ok(thread_id) => {
            session.respond(request, Ok(()));
            session.send(Outgoing::event(
                "stopped",
                StoppedEventBody {
                    reason: "goto",
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

/// Runs on the parked thread, inside the monitoring callback it stopped in.
fn jump_top_frame(py: Python<'_>, ident: u64, path: &str, line: i64) -> Result<(), String> {
    let top = engine().parked_frames(py, ident).ok_or("the thread is not stopped")?.top;
    let frame = top.bind(py);
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
    frame.setattr("f_lineno", line).map_err(|e| format!("cannot go to line {line}: {}", describe_error(py, &e)))
}
