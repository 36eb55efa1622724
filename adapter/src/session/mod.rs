//! The adapter's session: one client on stdio, at most one link to a debuggee, and the program's
//! life. All state changes happen on one task ([`run`]) that takes events one at a time (client
//! messages, debuggee messages, process output and exit, timers). Slow work (checking the
//! interpreter, starting the program, waiting for it to connect) runs in tasks that report back
//! as events. So no lock guards the state, and messages go out in the order events came in.
//!
//! The adapter answers `initialize` itself and sends `initialized` at once. Requests that come
//! before the debuggee is connected (breakpoints, configurationDone) wait in order and are
//! replayed to it, so clients that configure before or after the launch response both work. When
//! the debuggee connects, the adapter replays the client's `initialize` to it and sends `attach`
//! for the launch; from then on it forwards everything, but for `disconnect` and `terminate`,
//! which also end the process it started.

mod child_sessions;
mod debuggee;
mod program;
mod program_life;
mod starting;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pydbg_protocol::message::parse_incoming;
use pydbg_protocol::secrets::Redacted;
use pydbg_protocol::Incoming;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::children::Child;
use crate::client::Client;
use crate::client_configuration::ClientConfiguration;
use crate::process::ProcessEvent;
use crate::wire::{self, Inbound};
use crate::{capabilities, ended, Installation};
use program::Program;

/// How long an ended program gets (after a KeyboardInterrupt) before its process group is killed.
const KILL_GRACE: Duration = Duration::from_secs(5);
/// How long, after the program's exit, its output pipes and connection get to drain.
const DRAIN_GRACE: Duration = Duration::from_secs(2);
/// After the client left or asked to disconnect, the adapter ends within this, whatever happens.
const GIVE_UP: Duration = Duration::from_secs(10);

pub struct Options {
    pub log_dir: Option<PathBuf>,
    pub installation: Installation,
}

pub enum Event {
    Client(Inbound),
    /// News of a program the session launched or attached to. A restart starts a new
    /// `generation`, so nothing of the ended program can reach the next one.
    Program {
        generation: u32,
        news: ProgramNews,
    },
    /// A child process of the program announced itself (subProcess).
    Child(Child),
}

pub enum ProgramNews {
    Debuggee(Inbound),
    Process(ProcessEvent),
    /// The adapter started the program as its child, in a process group of its own.
    Started(u32),
    /// The debuggee connected, or the launch or attach failed.
    Linked(Result<TcpStream, String>),
    Timer(Timer),
}

#[derive(Debug, Clone, Copy)]
pub enum Timer {
    Kill,
    Drain,
    GiveUp,
}

/// nvim-dap sends SIGINT to the adapter as it closes a session, right after closing its stdin.
/// The adapter must live on to end or detach the program as it was asked, so SIGINT is only
/// logged. (Ignoring it with SIG_IGN would be inherited by the program, and break Ctrl-C there.)
async fn ignore_interrupts() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::interrupt()) {
        Ok(mut interrupts) => {
            while interrupts.recv().await.is_some() {
                tracing::info!("SIGINT: ignored; the session ends when the client closes it");
            }
        }
        Err(e) => tracing::warn!("cannot handle SIGINT: {e}"),
    }
}

/// Serves the client on stdin/stdout until the session is over.
pub async fn run(options: Options) {
    let (events, mut queue) = mpsc::unbounded_channel();
    let (client, writer) = Client::new(tokio::io::stdout());
    let client = Arc::new(client);
    let to_session = events.clone();
    let reader = wire::spawn_reader(tokio::io::stdin(), move |inbound| to_session.send(Event::Client(inbound)).is_ok());
    let interrupts = tokio::spawn(ignore_interrupts());
    let mut session = Session::new(client.clone(), events, options);
    while let Some(event) = queue.recv().await {
        session.handle(event);
        if session.done {
            break;
        }
    }
    tracing::info!("session over");
    reader.abort();
    interrupts.abort();
    session.leave_nothing_behind();
    drop(session);
    client.close();
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
}

enum Mode {
    /// No launch or attach yet.
    Idle,
    Launch(LaunchMode),
    Attach,
}

struct LaunchMode {
    /// The adapter started the program and pipes its output (internalConsole).
    own_process: bool,
    name: String,
}

struct Session {
    client: Arc<Client>,
    events: mpsc::UnboundedSender<Event>,
    options: Options,
    /// The client's initialize arguments, replayed to the debuggee.
    initialize: Option<Value>,
    run_in_terminal: bool,
    start_debugging: bool,
    /// The launch arguments of the program that runs, for a restart that brings none.
    launch_arguments: Value,
    /// A restart waits for the program to end: the restart request, and what to launch.
    restart: Option<(Value, Value)>,
    /// Counts the programs this session has run (restarts).
    generation: u32,
    configuration: ClientConfiguration,
    /// Everything about the program that runs now; a restart replaces it whole.
    program: Program,
    /// An attach to a child process of a launched program (`subProcessId`).
    child_pid: Option<u32>,
    /// That child process ended before or while its session was opened: the session ends
    /// quietly, answering what the client sends without errors (see `ended`).
    child_gone: bool,
    /// The client's disconnect, answered once the program has ended.
    disconnect: Option<Value>,
    /// The adapter ends once the client's request with this seq is answered.
    finish_after: Option<i64>,
    /// The client disconnected and left the program running.
    detached: bool,
    client_gone: bool,
    done: bool,
}

impl Session {
    fn new(client: Arc<Client>, events: mpsc::UnboundedSender<Event>, options: Options) -> Session {
        Session {
            client,
            events,
            options,
            initialize: None,
            run_in_terminal: false,
            start_debugging: false,
            launch_arguments: json!({}),
            restart: None,
            generation: 0,
            configuration: ClientConfiguration::default(),
            program: Program::default(),
            child_pid: None,
            child_gone: false,
            disconnect: None,
            finish_after: None,
            detached: false,
            client_gone: false,
            done: false,
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Client(Inbound::Body(body)) => self.on_client_body(&body),
            Event::Client(Inbound::BadHeader(message)) => self.unreadable(&message),
            Event::Client(Inbound::Closed) => self.on_client_gone(),
            Event::Program { generation, news } if generation == self.generation => self.on_program(news),
            Event::Program { .. } => tracing::debug!("news of a program that a restart replaced"),
            Event::Child(child) => self.on_child(child),
        }
    }

    fn on_program(&mut self, news: ProgramNews) {
        match news {
            ProgramNews::Debuggee(Inbound::Body(body)) => match serde_json::from_slice::<Value>(&body) {
                Ok(message) if message.is_object() => self.on_debuggee(message),
                _ => tracing::warn!("unreadable message from the debuggee: {}", String::from_utf8_lossy(&body)),
            },
            ProgramNews::Debuggee(Inbound::BadHeader(message)) => {
                tracing::warn!("bad header from the debuggee: {message}")
            }
            ProgramNews::Debuggee(Inbound::Closed) => self.on_link_closed(),
            ProgramNews::Process(event) => self.on_process(event),
            ProgramNews::Started(pid) => self.on_started(pid),
            ProgramNews::Linked(Ok(stream)) => self.on_linked(stream),
            ProgramNews::Linked(Err(message)) => {
                self.program.connecting = None;
                if self.is_child_gone() {
                    self.end_child_session();
                } else {
                    self.fail(message);
                }
            }
            ProgramNews::Timer(timer) => self.on_timer(timer),
        }
    }

    /// Sends news of the current program to the session (from tasks and callbacks).
    fn program_news(&self) -> impl Fn(ProgramNews) -> bool + Send + Sync + Clone + 'static {
        let events = self.events.clone();
        let generation = self.generation;
        move |news| events.send(Event::Program { generation, news }).is_ok()
    }

    // ------------------------------------------------------------ the client

    fn on_client_body(&mut self, body: &[u8]) {
        match parse_incoming(body) {
            Incoming::Request(_) => self.on_client_request(serde_json::from_slice(body).expect("parsed once")),
            Incoming::Response => {
                let response: Value = serde_json::from_slice(body).expect("parsed once");
                let Some(response) = self.client.resolve(response) else { return };
                let unclaimed = match &mut self.program.link {
                    Some(link) => link.reverse_response(response),
                    None => Some(response),
                };
                if let Some(response) = unclaimed {
                    tracing::warn!("a response to no request of ours: {response}");
                }
            }
            Incoming::Malformed { request_seq: Some(seq), command, message } => {
                self.client.send(wire::response_to(&json!({"seq": seq, "command": command}), Err(message)).to_json(0));
            }
            Incoming::Malformed { request_seq: None, message, .. } => self.unreadable(&message),
        }
    }

    fn unreadable(&self, message: &str) {
        tracing::warn!("unreadable message from the client: {message}");
        self.client.output("console", format!("pydbg: ignored an unreadable message: {message}\n"));
    }

    fn on_client_request(&mut self, request: Value) {
        tracing::debug!(target: "pydbg_adapter::wire", "<- client {}", Redacted(&request));
        match wire::command_of(&request) {
            "initialize" => self.initialize(request),
            "launch" => self.launch(request),
            "attach" => self.attach(request),
            "disconnect" => self.disconnect(request),
            "terminate" => self.terminate(request),
            "restart" => self.restart(request),
            _ => {
                self.configuration.record(&request);
                self.forward(request);
            }
        }
    }

    fn respond(&self, request: &Value, result: Result<Value, String>) {
        self.client.respond(request, result);
    }

    /// The client does not want events any more: it left, or is disconnecting.
    fn quiet(&self) -> bool {
        self.client_gone || self.disconnect.is_some() || self.detached
    }

    fn initialize(&mut self, request: Value) {
        if self.initialize.is_some() {
            return self.respond(&request, Err("initialize was already sent in this session".into()));
        }
        let arguments = wire::arguments_of(&request);
        self.run_in_terminal = arguments.get("supportsRunInTerminalRequest") == Some(&Value::Bool(true));
        self.start_debugging = arguments.get("supportsStartDebuggingRequest") == Some(&Value::Bool(true));
        self.initialize = Some(arguments);
        self.respond(&request, Ok(capabilities::announced()));
        self.client.event("initialized", Value::Null);
    }

    fn disconnect(&mut self, request: Value) {
        let terminate = wire::arguments_of(&request).get("terminateDebuggee").and_then(Value::as_bool);
        match &self.program.mode {
            Mode::Idle => {
                self.respond(&request, Ok(Value::Null));
                self.done = true;
            }
            Mode::Attach => match &mut self.program.link {
                // The core detaches (or ends the program, if asked), and answers.
                Some(link) => {
                    self.finish_after = Some(wire::seq_of(&request));
                    link.forward(request);
                }
                None => {
                    self.respond(&request, Ok(Value::Null));
                    self.done = true;
                }
            },
            Mode::Launch(_) if self.program.ended => {
                self.respond(&request, Ok(Value::Null));
                self.done = true;
            }
            Mode::Launch(_) if terminate == Some(false) && self.program.link.is_some() => {
                // The core detaches and the program runs on; with pipes, the adapter keeps
                // draining them until it ends.
                self.detached = true;
                self.finish_after = Some(wire::seq_of(&request));
                self.forward(request);
            }
            Mode::Launch(_) => {
                self.disconnect = Some(request);
                self.end_program();
                self.after(GIVE_UP, Timer::GiveUp);
                self.check_end();
            }
        }
    }

    fn terminate(&mut self, request: Value) {
        match &self.program.mode {
            Mode::Idle => self.respond(&request, Ok(Value::Null)),
            Mode::Attach => self.forward(request),
            Mode::Launch(_) if self.program.ended => self.respond(&request, Ok(Value::Null)),
            Mode::Launch(_) if self.program.link.is_some() => {
                // The core raises KeyboardInterrupt in the program and answers; the adapter makes
                // sure the process group is gone after a grace period.
                if !self.program.terminating {
                    self.program.terminating = true;
                    self.after(KILL_GRACE, Timer::Kill);
                }
                self.forward(request);
            }
            Mode::Launch(_) => {
                self.end_program();
                self.respond(&request, Ok(Value::Null));
            }
        }
    }

    /// Sends a client request on to the debuggee, or keeps it until the debuggee is there.
    fn forward(&mut self, request: Value) {
        if let Some(link) = &mut self.program.link {
            link.forward(request);
        } else if self.child_gone {
            self.respond(&request, ended::answer(&request));
        } else if !self.program.linked && !self.program.failed {
            self.program.waiting.push(request);
        } else {
            let message = format!("the program is not running, so '{}' cannot be done", wire::command_of(&request));
            self.respond(&request, Err(message));
        }
    }

    fn on_client_gone(&mut self) {
        tracing::info!("the client went away");
        self.client_gone = true;
        match &self.program.mode {
            // Dropping the link lets an attached program run on: the core resumes it.
            Mode::Idle | Mode::Attach => self.done = true,
            Mode::Launch(launch) => {
                if self.program.ended || (self.detached && !launch.own_process) {
                    self.done = true;
                } else if !self.detached {
                    self.end_program();
                    self.after(GIVE_UP, Timer::GiveUp);
                }
            }
        }
    }
}
