//! `pydbg-adapter`: the stdio debug adapter that editors start for `"request": "launch"` (and for
//! `attach` from clients that only start stdio adapters). It speaks DAP on stdin/stdout, starts
//! the program under `python -m pydbg --connect`, and proxies between the client and the
//! program's in-process engine. docs/launch.md lists the launch attributes.
//!
//! It is a library linked into the extension module `pydbg._core`, whose `run_adapter` calls
//! [`run`]; the `pydbg-adapter` command and `python -m pydbg.adapter` are that call. So every
//! install of pydbg that can import its core has the adapter too (docs/decisions.md).
//!
//! - `session`: the state machine (one task, events in order): initialize, launch, attach,
//!   disconnect, terminate, and the program's end; `session::program` is what one program
//!   started, and `session::child_sessions` the child processes.
//! - `client_configuration`: the client's breakpoints and filters, replayed to a restarted program.
//! - `launch_plan`: launch arguments → a plan. `interpreter`: the interpreter check and PYTHONPATH.
//! - `launch`: starting the program and waiting for it to connect; `process` (pipes, exit,
//!   signals) and `terminal` (runInTerminal) are its two ways.
//! - `attach`: reaching a `pydbg --listen` server, or waiting for `pydbg --connect`.
//! - `inject`: attaching to a process that runs without pydbg, by its id (also `pydbg --pid`).
//! - `children`: the program's child processes announce themselves, for `startDebugging`;
//!   `ended`: what a child session answers once its process is gone.
//! - `proxy`: the debuggee link and its sequence numbers; `client` and `wire`: stdio and framing.
//!
//! stdout is the DAP channel: nothing else is ever printed there.

mod attach;
mod capabilities;
mod children;
mod client;
mod client_configuration;
mod ended;
pub mod inject;
mod interpreter;
mod launch;
mod launch_plan;
pub mod logging;
mod process;
mod proxy;
mod session;
mod shell_syntax;
mod terminal;
mod wire;

/// The parsers of what clients send, for the fuzz targets in fuzz/: the functions the session
/// itself calls.
#[doc(hidden)]
pub mod parsers {
    pub use crate::attach::endpoint as attach_endpoint;
    pub use crate::shell_syntax::{parse_env_file, split_shell_words};
}

use std::io::IsTerminal;
use std::path::PathBuf;

const USAGE: &str = "usage: pydbg-adapter [--log-dir DIR]

Speaks the Debug Adapter Protocol on stdin/stdout. Editors start it for \"request\": \"launch\"
(VS Code, nvim-dap); see docs/launch.md. PYDBG_LOG=debug (or any tracing filter) sets the log
level; the log goes to DIR/pydbg-adapter-<pid>.log, or to stderr without --log-dir.";

/// What the installed Python package tells the adapter about itself.
pub struct Installation {
    /// The directory of the `pydbg` package, made importable into the programs the adapter
    /// launches (see `interpreter::import_root`).
    pub package_dir: PathBuf,
    /// The interpreter that runs the adapter: the default for launches that name none.
    pub python: String,
}

/// Runs the adapter with the command line `args` (without the program name) until the session is
/// over; returns the process's exit code.
pub fn run(args: &[String], installation: Installation) -> i32 {
    let mut log_dir = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--log-dir" => match args.next() {
                Some(dir) => log_dir = Some(PathBuf::from(dir)),
                None => return usage_error("--log-dir needs a directory"),
            },
            "-h" | "--help" => {
                eprintln!("{USAGE}");
                return 0;
            }
            other => return usage_error(&format!("unknown argument {other:?}")),
        }
    }
    if let Err(e) = logging::init(log_dir.as_deref(), "pydbg-adapter") {
        eprintln!("pydbg-adapter: cannot write logs to {}: {e}", log_dir.unwrap_or_default().display());
        return 2;
    }
    if std::io::stdin().is_terminal() {
        eprintln!("pydbg-adapter: speaking DAP on stdin/stdout; an editor starts this (see docs/launch.md)");
    }
    tracing::info!(version = env!("CARGO_PKG_VERSION"), pid = std::process::id(), "pydbg-adapter starts");
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("pydbg-adapter: cannot start: {e}");
            return 1;
        }
    };
    runtime.block_on(session::run(session::Options { log_dir, installation }));
    // A read of stdin may still block a runtime thread; it must not hold the process.
    runtime.shutdown_background();
    0
}

fn usage_error(message: &str) -> i32 {
    eprintln!("pydbg-adapter: {message}\n{USAGE}");
    2
}
