//! stackTrace, scopes, variables and evaluate. Each runs on the stopped thread that owns what it
//! looks at.

use pyo3::prelude::*;
use tokio::sync::oneshot;

use super::{with_gil, Session};
use crate::engine::threads::{ParkedIn, ParkedWork};
use crate::engine::{engine, ParkedFrames};
use crate::inspect::{self, handles::Target};
use crate::protocol::types::{
    CancelArguments, CompletionsArguments, CompletionsBody, DisassembleArguments, DisassembleBody, EvaluateArguments,
    ScopesArguments, SetExpressionArguments, SetValueBody, SetVariableArguments, StackTraceArguments, StepInTarget,
    StepInTargetsArguments, StepInTargetsBody, VariablesArguments,
};
use crate::protocol::Request;
use crate::python_errors::describe_error;

pub async fn handle(session: &Session, request: &Request) {
    match request.command.as_str() {
        "stackTrace" => session.respond(request, stack_trace(session, request).await),
        "scopes" => session.respond(request, scopes(session, request).await),
        "variables" => session.respond(request, variables(session, request).await),
        "evaluate" => {
            let result = evaluate(session, request).await;
            session.cancellable.answered(request.seq);
            session.respond(request, result)
        }
        "exceptionInfo" => session.respond(request, exception_info(request).await),
        "setVariable" => session.respond(request, set_variable(session, request).await),
        "setExpression" => session.respond(request, set_expression(session, request).await),
        "completions" => session.respond(request, completions(session, request).await),
        "stepInTargets" => session.respond(request, step_in_targets(session, request).await),
        "disassemble" => session.respond(request, disassemble(session, request).await),
        _ => unreachable!("dispatch sends only inspection requests here"),
    }
}

/// `work` as a job for a parked thread, and where its answer arrives.
pub(super) fn answerable<R: Send + 'static>(
    work: impl FnOnce(Python<'_>) -> R + Send + 'static,
) -> (ParkedWork, oneshot::Receiver<R>) {
    let (answer, answered) = oneshot::channel();
    let job: ParkedWork = Box::new(move |py| {
        let _ = answer.send(work(py));
    });
    (job, answered)
}

/// Runs `work` on `thread` if it is parked there, or else with the GIL on a blocking thread.
pub(super) async fn on_thread<R: Send + 'static>(
    thread: u64,
    work: impl FnOnce(Python<'_>) -> R + Send + 'static,
) -> Result<R, String> {
    let (job, answered) = answerable(work);
    if let Err(job) = engine().run_on_parked(thread, job) {
        with_gil(job).await;
    }
    answered.await.map_err(|_| "the thread resumed before it could answer".to_owned())
}

/// Runs `work` on `thread`, which must be parked: what it reads (its recorded past) is the
/// thread's own.
pub(super) async fn on_parked<R: Send + 'static>(
    thread: u64,
    work: impl FnOnce(Python<'_>) -> R + Send + 'static,
) -> Result<R, String> {
    let (job, answered) = answerable(work);
    engine().run_on_parked(thread, job).map_err(|_| "that thread is not stopped".to_owned())?;
    answered.await.map_err(|_| "the thread resumed before it could answer".to_owned())
}

pub(super) fn flatten<T>(result: Result<Result<T, String>, String>) -> Result<T, String> {
    result.and_then(|r| r)
}

async fn stack_trace(session: &Session, request: &Request) -> Result<crate::protocol::types::StackTraceBody, String> {
    let args: StackTraceArguments = request.args()?;
    let cx = session.inspection_context();
    let thread = engine().ident_of(args.thread_id).ok_or(format!("there is no thread {}", args.thread_id))?;
    let start = args.start_frame.unwrap_or(0).max(0) as usize;
    let levels = args.levels.map(|l| l.max(0) as usize);
    if let Some(cursor) = session.cursors.of(thread) {
        return flatten(
            on_parked(thread, move |py| {
                inspect::past::stack_trace(py, &cx, thread, cursor.serial, cursor.lines_back, start, levels)
                    .map_err(|e| describe_error(py, &e))
            })
            .await,
        );
    }
    flatten(
        on_thread(thread, move |py| {
            let (frames, top_can_move) = match engine().parked_frames(py, thread) {
                Some(ParkedFrames { shown: Some(frames), .. }) => {
                    (frames.into_iter().map(|f| f.into_bound(py)).collect(), false)
                }
                Some(ParkedFrames { top, shown: None, parked_in }) => (
                    inspect::frames_from(top.bind(py)).map_err(|e| describe_error(py, &e))?,
                    parked_in == ParkedIn::Line,
                ),
                None => match inspect::running_frame(py, thread).map_err(|e| describe_error(py, &e))? {
                    Some(top) => (inspect::frames_from(&top).map_err(|e| describe_error(py, &e))?, false),
                    None => (Vec::new(), false),
                },
            };
            inspect::stack_trace(&cx, thread, &frames, top_can_move, start, levels).map_err(|e| describe_error(py, &e))
        })
        .await,
    )
}

async fn scopes(session: &Session, request: &Request) -> Result<crate::protocol::types::ScopesBody, String> {
    let args: ScopesArguments = request.args()?;
    let cx = session.inspection_context();
    if let Some((thread, frame)) = cx.handles.past_frame(args.frame_id) {
        return Ok(inspect::past::scopes(&cx, thread, frame));
    }
    let thread = cx.handles.frame_thread(args.frame_id).ok_or(format!("there is no frame {}", args.frame_id))?;
    flatten(
        on_thread(thread, move |py| {
            let (thread, frame) = cx.handles.frame(py, args.frame_id).ok_or("that frame is gone")?;
            Ok(inspect::scopes(py, &cx, thread, frame))
        })
        .await,
    )
}

async fn variables(session: &Session, request: &Request) -> Result<crate::protocol::types::VariablesBody, String> {
    let args: VariablesArguments = request.args()?;
    let reference = args.variables_reference;
    let cx = session.inspection_context();
    let thread = cx.handles.variables_thread(reference).ok_or(format!("there is no variablesReference {reference}"))?;
    let start = args.start.unwrap_or(0).max(0) as usize;
    let count = args.count.map(|c| c.max(0) as usize);
    let hex = args.format.and_then(|f| f.hex).unwrap_or(false);
    let filter = args.filter;
    let work = move |py: Python<'_>| {
        let target = cx.handles.variables(py, reference).ok_or("those variables are gone")?;
        let page = inspect::Page { filter: filter.as_deref(), start, count };
        inspect::variables(py, &cx, thread, target, page, cx.format(inspect::VALUE_LIMIT, hex))
            .map_err(|e| describe_error(py, &e))
    };
    // The past is read from the thread's own history: only on that thread.
    if session.cursors.of(thread).is_some() {
        return flatten(on_parked(thread, work).await);
    }
    flatten(on_thread(thread, work).await)
}

async fn step_in_targets(session: &Session, request: &Request) -> Result<StepInTargetsBody, String> {
    let args: StepInTargetsArguments = request.args()?;
    let handles = session.handles.clone();
    in_frame(session, Some(args.frame_id), move |py, thread, frame| {
        let frame = frame.ok_or("stepInTargets needs a frame")?;
        let names = inspect::step_targets::call_names(py, &frame).map_err(|e| describe_error(py, &e))?;
        let targets = names
            .into_iter()
            .map(|name| StepInTarget { id: handles.add_step_in_target(thread, name.as_str().into()), label: name })
            .collect();
        Ok(StepInTargetsBody { targets })
    })
    .await
}

async fn evaluate(session: &Session, request: &Request) -> Result<crate::protocol::types::EvaluateBody, String> {
    let args: EvaluateArguments = request.args()?;
    let context = args.context.unwrap_or_else(|| "repl".into());
    let hex = args.format.and_then(|f| f.hex).unwrap_or(false);
    let (cancellable, seq) = (session.cancellable.clone(), request.seq);
    let cx = session.inspection_context();
    // Without a frame, statements run in `__main__`: refused too while any thread is in the past.
    let refusal = match args.frame_id {
        Some(id) => cx.handles.frame_thread(id).and_then(|thread| super::time_travel::refusal(session, thread)),
        None => session.cursors.any().and_then(|thread| super::time_travel::refusal(session, thread)),
    };
    if let Some((thread, frame)) = args.frame_id.and_then(|id| cx.handles.past_frame(id)) {
        let refusal = refusal.unwrap_or_default();
        return flatten(
            on_parked(thread, move |py| {
                cancellable
                    .run(py, seq, || {
                        inspect::past::evaluate(py, &cx, thread, frame, &args.expression, &context, hex, &refusal)
                    })
                    .unwrap_or_else(|| Err("cancelled".into()))
            })
            .await,
        );
    }
    in_frame(session, args.frame_id, move |py, thread, frame| {
        cancellable
            .run(py, seq, || {
                let expression = &args.expression;
                inspect::evaluate(py, &cx, thread, expression, frame.as_ref(), &context, hex, refusal.as_deref())
            })
            .unwrap_or_else(|| Err("cancelled".into()))
    })
    .await
}

/// Runs no user code, so it needs no stopped thread.
async fn disassemble(session: &Session, request: &Request) -> Result<DisassembleBody, String> {
    let args: DisassembleArguments = request.args()?;
    let cx = session.inspection_context();
    with_gil(move |py| inspect::bytecode::disassemble(py, &cx, &args)).await
}

/// Cancels an evaluate in progress (cancel.rs); other requests finish on their own.
pub async fn cancel(session: &Session, request: &Request) {
    let args = match request.args::<CancelArguments>() {
        Ok(args) => args,
        Err(e) => return session.respond::<()>(request, Err(e)),
    };
    if let Some(seq) = args.request_id {
        let cancellable = session.cancellable.clone();
        with_gil(move |py| cancellable.cancel(py, seq)).await;
    }
    session.respond(request, Ok(()));
}

/// Runs `work` with the frame `frame_id` (if given) on the thread that owns it; without a frame,
/// with the GIL on a blocking thread (and thread 0).
async fn in_frame<R: Send + 'static>(
    session: &Session,
    frame_id: Option<i64>,
    work: impl for<'py> FnOnce(Python<'py>, u64, Option<Bound<'py, PyAny>>) -> Result<R, String> + Send + 'static,
) -> Result<R, String> {
    let Some(id) = frame_id else { return with_gil(move |py| work(py, 0, None)).await };
    let handles = session.handles.clone();
    let thread = handles.frame_thread(id).ok_or(format!("there is no frame {id}"))?;
    flatten(
        on_thread(thread, move |py| {
            let frame = handles.frame(py, id).ok_or("that frame is gone")?.1.into_bound(py);
            work(py, thread, Some(frame))
        })
        .await,
    )
}

async fn exception_info(request: &Request) -> Result<crate::protocol::types::ExceptionInfoBody, String> {
    let args: crate::protocol::types::ThreadArguments = request.args()?;
    let thread = engine().ident_of(args.thread_id).ok_or(format!("there is no thread {}", args.thread_id))?;
    flatten(
        on_thread(thread, move |py| {
            let (exception, mode) =
                engine().parked_exception(py, thread).ok_or("that thread is not stopped on an exception")?;
            inspect::exception_info(py, exception.bind(py), mode).map_err(|e| describe_error(py, &e))
        })
        .await,
    )
}

fn set_value_body(
    py: Python<'_>,
    cx: &inspect::Context,
    thread: u64,
    value: &Bound<'_, PyAny>,
    evaluate_name: Option<String>,
    hex: bool,
) -> SetValueBody {
    let described = inspect::describe(py, cx, thread, value, evaluate_name, cx.format(inspect::VALUE_LIMIT, hex));
    SetValueBody {
        value: described.text,
        type_name: described.type_name,
        variables_reference: described.reference,
        indexed_variables: described.indexed,
    }
}

async fn set_variable(session: &Session, request: &Request) -> Result<SetValueBody, String> {
    let args: SetVariableArguments = request.args()?;
    let reference = args.variables_reference;
    let cx = session.inspection_context();
    let thread = cx.handles.variables_thread(reference).ok_or(format!("there is no variablesReference {reference}"))?;
    if let Some(refusal) = super::time_travel::refusal(session, thread) {
        return Err(refusal);
    }
    flatten(
        on_thread(thread, move |py| {
            let target = cx.handles.variables(py, reference).ok_or("those variables are gone")?;
            let frame = match &target {
                Target::Locals(f) | Target::Globals(f) => f.clone_ref(py),
                _ => engine().parked_frames(py, thread).ok_or("the thread is not stopped")?.top,
            };
            let value = inspect::set_variable(py, frame.bind(py), &target, &args.name, &args.value)
                .map_err(|e| describe_error(py, &e))?;
            let hex = args.format.and_then(|f| f.hex).unwrap_or(false);
            Ok(set_value_body(py, &cx, thread, &value, None, hex))
        })
        .await,
    )
}

async fn set_expression(session: &Session, request: &Request) -> Result<SetValueBody, String> {
    let args: SetExpressionArguments = request.args()?;
    let frame_id = args.frame_id.ok_or("setExpression needs a frameId")?;
    let cx = session.inspection_context();
    let thread = cx.handles.frame_thread(frame_id).ok_or(format!("there is no frame {frame_id}"))?;
    if let Some(refusal) = super::time_travel::refusal(session, thread) {
        return Err(refusal);
    }
    flatten(
        on_thread(thread, move |py| {
            let frame = cx.handles.frame(py, frame_id).ok_or("that frame is gone")?.1.into_bound(py);
            let value = inspect::set_expression(py, &frame, &args.expression, &args.value)
                .map_err(|e| describe_error(py, &e))?;
            let hex = args.format.and_then(|f| f.hex).unwrap_or(false);
            Ok(set_value_body(py, &cx, thread, &value, Some(args.expression.clone()), hex))
        })
        .await,
    )
}

async fn completions(session: &Session, request: &Request) -> Result<CompletionsBody, String> {
    let args: CompletionsArguments = request.args()?;
    let column = args.column.max(1) as usize;
    in_frame(session, args.frame_id, move |py, _, frame| {
        let targets = inspect::complete(py, frame.as_ref(), &args.text, column).map_err(|e| describe_error(py, &e))?;
        Ok(CompletionsBody { targets })
    })
    .await
}
