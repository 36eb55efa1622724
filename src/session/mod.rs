//! The DAP session: one connected client, its requests, and the engine's events.
//!
//! Requests that only touch pydbg's state are handled in order. Requests that run Python on a
//! stopped thread (stackTrace, scopes, variables, evaluate) each get their own task, so a slow
//! `repr` never holds up `threads`, `pause` or `disconnect`.

mod admission;
mod breakpoints;
mod cancel;
mod data_breakpoints;
mod goto;
mod inspection;
mod lifecycle;
mod modules;
mod run_control;
mod sources;
mod time_travel;
pub mod transport;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use pyo3::prelude::*;
use serde::Serialize;
use tokio::io::BufReader;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Duration, Instant};

use crate::engine::{engine, EngineEvent};
use crate::inspect::handles::Handles;
use crate::inspect::{self, Settings};
use crate::protocol::codec::Frame;
use crate::protocol::message::parse_incoming;
use crate::protocol::secrets::Redacted;
use crate::protocol::types::{ExitedEventBody, OutputEventBody, ThreadEventBody};
use crate::protocol::{Incoming, Outgoing, Request};
use admission::Admission;
use transport::Outbound;

pub use transport::{connect, listen};

/// With an access token, a client has this long from connecting to give it: one that never does
/// would otherwise hold the one client slot for good.
const ADMISSION_DEADLINE: Duration = Duration::from_secs(10);

pub struct Session {
    out: mpsc::UnboundedSender<Outbound>,
    /// Set by disconnect: stop reading and leave the program as the client asked.
    closing: AtomicBool,
    cancellable: Arc<cancel::Cancellable>,
    /// The numbers handed to this client (`frameId`, `variablesReference`, targets).
    handles: Arc<Handles>,
    /// What this client's attach chose; the defaults until then.
    settings: RwLock<Arc<Settings>>,
    /// Where each stopped thread's time cursor is, for step back.
    cursors: time_travel::TimeCursors,
    /// What dataBreakpointInfo offered this client to watch, by `dataId`.
    data_targets: Arc<data_breakpoints::DataTargets>,
    /// Announces newly loaded sources, once the client has asked for loadedSources.
    source_watch: parking_lot::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Session {
    fn settings(&self) -> Arc<Settings> {
        self.settings.read().clone()
    }

    /// What an inspection for this client needs: its handles and its settings.
    fn inspection_context(&self) -> inspect::Context {
        inspect::Context { handles: self.handles.clone(), settings: self.settings() }
    }

    fn send(&self, message: Outgoing) {
        let _ = self.out.send(Outbound::Message(message));
    }

    fn respond<T: Serialize>(&self, request: &Request, result: Result<T, String>) {
        self.send(match result {
            Ok(body) => Outgoing::response(request, body),
            Err(message) => Outgoing::error(request.seq, &request.command, message),
        });
    }

    /// Waits until everything sent so far has been written to the socket.
    async fn flush(&self) {
        let (done, written) = oneshot::channel();
        if self.out.send(Outbound::Flush(done)).is_ok() {
            let _ = written.await;
        }
    }

    async fn on_engine_event(&self, event: EngineEvent) {
        match event {
            EngineEvent::Stopped(stop) => self.send(Outgoing::event("stopped", run_control::stopped_event(stop))),
            EngineEvent::ThreadStarted(thread_id) => {
                self.send(Outgoing::event("thread", ThreadEventBody { reason: "started", thread_id }))
            }
            EngineEvent::ThreadExited(thread_id) => {
                self.send(Outgoing::event("thread", ThreadEventBody { reason: "exited", thread_id }))
            }
            EngineEvent::Output { category, text } => {
                self.send(Outgoing::event("output", OutputEventBody { category, output: text }))
            }
            EngineEvent::DataWatchEnded { id, reason } => {
                self.send(Outgoing::event("breakpoint", data_breakpoints::ended_event(id, reason)))
            }
            EngineEvent::Exited { code, written } => {
                self.send(Outgoing::event("exited", ExitedEventBody { exit_code: code }));
                self.send(Outgoing::bare_event("terminated"));
                self.flush().await;
                let _ = written.send(());
            }
        }
    }
}

/// Runs `work` with the GIL on a blocking thread, off the async workers.
pub async fn with_gil<R: Send + 'static>(work: impl FnOnce(Python<'_>) -> R + Send + 'static) -> R {
    match tokio::task::spawn_blocking(move || crate::gil::attach(work)).await.expect("GIL work does not panic") {
        Some(result) => result,
        // The program has exited and the process is ending (gil.rs): there is nothing left to do.
        None => std::future::pending().await,
    }
}

/// Serves one client until it disconnects or goes away. With `access_token`, the client must
/// give it before anything but `initialize` is served (admission.rs).
pub async fn serve(stream: TcpStream, access_token: Option<String>) {
    let _ = stream.set_nodelay(true);
    transport::CLIENT_FD.store(std::os::fd::AsRawFd::as_raw_fd(&stream), Ordering::Release);
    let (read_half, write_half) = stream.into_split();
    let (out, out_queue) = mpsc::unbounded_channel();
    let writer = tokio::spawn(transport::write_messages(write_half, out_queue));
    let session = Arc::new(Session {
        out,
        closing: AtomicBool::new(false),
        cancellable: Arc::new(cancel::Cancellable::default()),
        handles: Arc::default(),
        settings: RwLock::default(),
        cursors: time_travel::TimeCursors::default(),
        data_targets: Arc::default(),
        source_watch: parking_lot::Mutex::default(),
    });

    // The program's events reach the client once it has been admitted and has sent a request:
    // nothing is sent before the client's `initialize`.
    let (events, mut event_queue) = mpsc::unbounded_channel();
    let mut events = Some(events);
    let mut admission = Admission::new(access_token);
    let forwarder = tokio::spawn({
        let session = session.clone();
        async move {
            while let Some(event) = event_queue.recv().await {
                session.on_engine_event(event).await;
            }
        }
    });

    let mut reader = BufReader::new(read_half);
    let admission_deadline = Instant::now() + ADMISSION_DEADLINE;
    while !session.closing.load(Ordering::Acquire) {
        let begun_by = (!admission.is_admitted()).then_some(admission_deadline);
        let frame = match transport::read_client_frame(&mut reader, begun_by).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(reason) => {
                tracing::info!("closing the client's connection: {reason}");
                break;
            }
        };
        let incoming = match frame {
            Frame::Body(body) => parse_incoming(&body),
            Frame::BadHeader(message) => Incoming::Malformed { request_seq: None, command: String::new(), message },
        };
        if !admission.is_admitted() && !matches!(incoming, Incoming::Request(_)) {
            tracing::warn!("closed the connection of a client that sent an unreadable message before its access token");
            break;
        }
        match incoming {
            Incoming::Request(request) => {
                if let Err(message) = admission.check(&request) {
                    tracing::warn!(command = %request.command, "refused a client: {message}");
                    session.respond::<()>(&request, Err(message));
                    break;
                }
                // The program's events follow the answer to initialize, and come before the
                // answer to anything else (a first request may also be a disconnect).
                let after_answer = request.command == "initialize";
                if !after_answer {
                    attach_events(&admission, &mut events);
                }
                dispatch(&session, request).await;
                if after_answer {
                    attach_events(&admission, &mut events);
                }
            }
            Incoming::Response => {}
            Incoming::Malformed { request_seq: Some(seq), command, message } => {
                session.send(Outgoing::error(seq, &command, message))
            }
            Incoming::Malformed { request_seq: None, message, .. } => report_unreadable(&session, &message),
        }
    }
    let was_attached = events.is_none();
    if was_attached && !session.closing.load(Ordering::Acquire) {
        // The client vanished without a disconnect: never leave the program stopped.
        with_gil(|py| engine().detach_client(py)).await;
    }
    session.flush().await;
    transport::CLIENT_FD.store(-1, Ordering::Release);
    forwarder.abort();
    if let Some(watch) = session.source_watch.lock().take() {
        watch.abort();
    }
    drop(session);
    let _ = writer.await;
}

fn attach_events(admission: &Admission, events: &mut Option<mpsc::UnboundedSender<EngineEvent>>) {
    if admission.is_admitted() {
        if let Some(events) = events.take() {
            engine().attach_client(events);
        }
    }
}

/// Input with no `seq` cannot be answered; say so in the client's console instead.
fn report_unreadable(session: &Session, message: &str) {
    tracing::warn!("unreadable message: {message}");
    session.send(Outgoing::event(
        "output",
        OutputEventBody { category: "console", output: format!("pydbg: ignored an unreadable message: {message}\n") },
    ));
}

async fn dispatch(session: &Arc<Session>, request: Request) {
    tracing::debug!(target: "pydbg::wire", "<- {} {}", request.command, Redacted(&request.arguments));
    let s = session.as_ref();
    let sets_breakpoints = matches!(
        request.command.as_str(),
        "setBreakpoints"
            | "setFunctionBreakpoints"
            | "setExceptionBreakpoints"
            | "setInstructionBreakpoints"
            | "setDataBreakpoints"
    );
    if sets_breakpoints && s.settings().no_debug {
        return breakpoints::answer_without_debugging(s, &request);
    }
    if let Some(step) = time_travel::move_in_past(s, &request) {
        return time_travel::spawn_travel(session, request, step);
    }
    match request.command.as_str() {
        "initialize" => lifecycle::initialize(s, &request),
        "attach" => lifecycle::attach(s, &request).await,
        "launch" => lifecycle::launch(s, &request),
        "configurationDone" => lifecycle::configuration_done(s, &request).await,
        "disconnect" => lifecycle::disconnect(session, &request).await,
        "terminate" => lifecycle::terminate(session, &request).await,
        "setBreakpoints" => breakpoints::set_breakpoints(s, &request).await,
        "setFunctionBreakpoints" => breakpoints::set_function_breakpoints(s, &request).await,
        "setExceptionBreakpoints" => breakpoints::set_exception_breakpoints(s, &request).await,
        "setInstructionBreakpoints" => breakpoints::set_instruction_breakpoints(s, &request).await,
        "dataBreakpointInfo" => data_breakpoints::data_breakpoint_info(s, &request).await,
        "setDataBreakpoints" => data_breakpoints::set_data_breakpoints(s, &request).await,
        "breakpointLocations" => breakpoints::breakpoint_locations(s, &request).await,
        "threads" => run_control::threads(s, &request),
        "continue" => run_control::resume(s, &request, None),
        "next" => run_control::resume(s, &request, Some(crate::engine::stepping::StepKind::Over)),
        "stepIn" => run_control::step_in(s, &request),
        "stepOut" => run_control::resume(s, &request, Some(crate::engine::stepping::StepKind::Out)),
        "pause" => run_control::pause(s, &request).await,
        "record" => time_travel::record_request(s, &request).await,
        "evaluate" if time_travel::is_record_command(&request) => time_travel::record_command(s, &request).await,
        "gotoTargets" => goto::goto_targets(s, &request).await,
        "goto" | "restartFrame" => {
            // Waits for the parked thread, which may be busy with an inspection.
            let session = session.clone();
            tokio::spawn(async move {
                match request.command.as_str() {
                    "goto" => goto::goto(&session, &request).await,
                    _ => goto::restart_frame(&session, &request).await,
                }
            });
        }
        "modules" => modules::modules(s, &request).await,
        "loadedSources" => sources::loaded_sources(session, &request).await,
        "source" => sources::source(s, &request).await,
        "cancel" => inspection::cancel(s, &request).await,
        "stackTrace" | "scopes" | "variables" | "evaluate" | "exceptionInfo" | "setVariable" | "setExpression"
        | "completions" | "stepInTargets" | "disassemble" => {
            if request.command == "evaluate" {
                s.cancellable.begin(request.seq);
            }
            let session = session.clone();
            tokio::spawn(async move { inspection::handle(&session, &request).await });
        }
        other => {
            let message = format!("pydbg does not support the '{other}' request");
            s.respond::<()>(&request, Err(message));
        }
    }
}
