//! launch, attach and restart: how a session gets its program. Each answers its request once
//! pydbg is attached to the program, or says why it could not be.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use pydbg_protocol::debugpy_attributes;
use serde_json::Value;

use super::child_sessions::child_configuration;
use super::program::Program;
use super::{LaunchMode, Mode, ProgramNews, Session};
use crate::children;
use crate::launch_plan::{self, Console};
use crate::{attach, capabilities, interpreter, launch, wire};

impl Session {
    pub(super) fn launch(&mut self, request: Value) {
        if !matches!(self.program.mode, Mode::Idle) {
            return self.respond(&request, Err("this session is already debugging a program".into()));
        }
        let arguments = wire::arguments_of(&request);
        self.start_program(request, arguments);
    }

    /// Starts the program `arguments` describe; `request` (a launch or a restart) is answered
    /// once pydbg is attached to it, or on failure.
    fn start_program(&mut self, request: Value, arguments: Value) {
        let context = launch_plan::Context {
            cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            default_python: self.options.installation.python.clone(),
            lookup: Box::new(|name| std::env::var(name).ok()),
        };
        // The core warns about the debugpy attributes it ignores when it gets the attach; those
        // that are refused must stop the launch before anything starts.
        let refused = arguments.as_object().and_then(|a| debugpy_attributes::check(a).err());
        let parsed = match refused {
            Some(message) => Err(message),
            None => launch_plan::parse(&arguments, &context),
        };
        let mut plan = match parsed {
            Ok(plan) => plan,
            Err(message) => return self.respond(&request, Err(message)),
        };
        self.launch_arguments = arguments;
        let mut console = plan.console;
        if console != Console::Internal && !self.run_in_terminal {
            self.client.output(
                "console",
                "pydbg: this client cannot run the program in a terminal (it does not support runInTerminal), \
                 so it runs here and its output appears in this console.\n",
            );
            console = Console::Internal;
        }
        let own_process = console == Console::Internal;
        self.program.exit_report_pending = !own_process;
        let output_elsewhere = own_process || plan.redirect_output != Some(true);
        self.program.mode = Mode::Launch(LaunchMode { own_process, name: plan.name.clone() });
        self.program.attach_arguments = plan.attach_arguments.clone();
        if output_elsewhere {
            // The adapter shows the program's output itself; the core's copy would show it twice.
            self.program.attach_arguments["redirectOutput"] = Value::Bool(false);
        }
        self.program.request = Some(request);
        let package = self.options.installation.package_dir.clone();
        let mut python_path = vec![interpreter::import_root(&package)];
        if plan.sub_process {
            match self.listen_for_children() {
                Ok((address, token)) => {
                    plan.env.insert(launch::CHILD_ANNOUNCE_VARIABLE.into(), Some(address));
                    plan.env.insert(children::TOKEN_VARIABLE.into(), Some(token.clone()));
                    if let Some(dir) = &self.options.log_dir {
                        plan.env.insert("PYDBG_LOG_DIR".into(), Some(dir.to_string_lossy().into_owned()));
                    }
                    python_path.insert(0, package.join("_child_site"));
                    self.program.child_configuration = child_configuration(&plan.attach_arguments, &token);
                }
                Err(e) => self.client.output(
                    "console",
                    format!("pydbg: child processes will not be debugged: cannot listen for them: {e}\n"),
                ),
            }
        }
        let news = self.program_news();
        let started = self.program_news();
        let spawned = self.program.spawned.clone();
        let context = launch::Context {
            client: self.client.clone(),
            sink: Arc::new(move |event| {
                news(ProgramNews::Process(event));
            }),
            started: Box::new(move |pid| {
                spawned.store(pid, Ordering::SeqCst);
                started(ProgramNews::Started(pid));
            }),
            log_dir: self.options.log_dir.clone(),
            python_path,
        };
        let news = self.program_news();
        self.program.connecting = Some(tokio::spawn(async move {
            news(ProgramNews::Linked(launch::launch(plan, console, context).await));
        }));
    }

    pub(super) fn attach(&mut self, request: Value) {
        if !matches!(self.program.mode, Mode::Idle) {
            return self.respond(&request, Err("this session is already debugging a program".into()));
        }
        let endpoint = match attach::endpoint(&wire::arguments_of(&request)) {
            Ok(endpoint) => endpoint,
            Err(message) => return self.respond(&request, Err(message)),
        };
        self.program.mode = Mode::Attach;
        self.client.event("capabilities", capabilities::attach_changes());
        self.child_pid = wire::arguments_of(&request)
            .get("subProcessId")
            .and_then(Value::as_u64)
            .and_then(|pid| u32::try_from(pid).ok());
        self.program.request = Some(request);
        let news = self.program_news();
        let child_pid = self.child_pid;
        let injector = attach::Injector {
            package_dir: self.options.installation.package_dir.clone(),
            log_dir: self.options.log_dir.clone(),
        };
        self.program.connecting = Some(tokio::spawn(async move {
            news(ProgramNews::Linked(attach::open(endpoint, child_pid, injector).await));
        }));
    }

    /// `restart`: ends the program as terminate does, then launches it again (with the
    /// arguments the request brings, or the same ones) in this session, with the same
    /// configuration; answered once pydbg is attached to the new program.
    pub(super) fn restart(&mut self, request: Value) {
        if !matches!(self.program.mode, Mode::Launch(_)) || self.restart.is_some() || self.disconnect.is_some() {
            let message = "pydbg restarts a program it launched; to restart an attach, disconnect and attach again";
            return self.respond(&request, Err(message.into()));
        }
        let arguments = match wire::arguments_of(&request).get("arguments") {
            Some(arguments) if arguments.is_object() => arguments.clone(),
            _ => self.launch_arguments.clone(),
        };
        tracing::info!("restart");
        self.restart = Some((request, arguments));
        if self.program.ended {
            let (request, arguments) = self.restart.take().expect("just set");
            return self.relaunch(request, arguments);
        }
        self.end_program();
        self.check_end();
    }

    /// The old program has ended: forget it, and start the new one.
    pub(super) fn relaunch(&mut self, request: Value, arguments: Value) {
        self.generation += 1;
        self.program = Program::default();
        self.start_program(request, arguments);
    }
}
