//! Starting the program for `launch`: check the interpreter, listen on a loopback port, start
//! `python -m pydbg --connect 127.0.0.1:PORT --wait-for-client ...` (as a child with pipes, or in
//! the client's terminal), and wait, bounded, for its engine to dial back.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::client::Client;
use crate::launch_plan::{Console, EnvChanges, LaunchPlan};
use crate::process::{self, ProcessEvent, Sink};
use crate::{interpreter, terminal};

/// How long the program gets to start and connect back.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the program's children announce themselves (see `children`).
pub const CHILD_ANNOUNCE_VARIABLE: &str = "PYDBG_SUBPROCESS";

pub struct Context {
    pub client: Arc<Client>,
    /// Where the program's output and exit go (internalConsole).
    pub sink: Sink,
    /// Told the program's process id as soon as the adapter has started it.
    pub started: Box<dyn Fn(u32) + Send>,
    pub log_dir: Option<PathBuf>,
    /// Directories put first on the program's PYTHONPATH: the one that makes pydbg importable
    /// (see `interpreter::import_root`), and with subProcess the one that starts child sessions.
    pub python_path: Vec<PathBuf>,
}

/// Starts the program and returns the debuggee's connection, or an error for the launch response.
pub async fn launch(plan: LaunchPlan, console: Console, context: Context) -> Result<TcpStream, String> {
    let env = program_environment(&plan.env, &context.python_path, console == Console::Internal);
    // The check is not one of the program's children.
    let check_env: Vec<_> = env
        .iter()
        .filter(|(name, _)| name != CHILD_ANNOUNCE_VARIABLE && name != crate::children::TOKEN_VARIABLE)
        .cloned()
        .collect();
    interpreter::check(&plan.python, &check_env, &plan.cwd).await?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let command = plan.debuggee_command(port, context.log_dir.as_deref());
    if console == Console::Internal {
        let spawned = process::spawn(&command, &plan.cwd, &env, context.sink)?;
        (context.started)(spawned.pid);
        let mut exit = spawned.exit.clone();
        tokio::select! {
            biased;
            accepted = listener.accept() => accepted.map(|(stream, _)| stream).map_err(|e| format!("accepting the program's connection: {e}")),
            code = exit.wait_for(Option::is_some) => {
                let code = code.map(|c| c.unwrap_or(1)).unwrap_or(1);
                let tail = spawned.stderr_tail.lock().expect("tail lock").trim().to_owned();
                let last = tail.lines().last().unwrap_or("");
                Err(format!(
                    "the program ended (exit code {code}) before pydbg could attach to it{}{last}",
                    if last.is_empty() { "" } else { ": " }
                ))
            }
            _ = tokio::time::sleep(CONNECT_TIMEOUT) => {
                Err(format!("the program did not connect to the adapter within {CONNECT_TIMEOUT:?}"))
            }
        }
    } else {
        let changes = terminal_environment(&plan.env, &context.python_path);
        let reports =
            TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| format!("cannot listen on loopback: {e}"))?;
        let report_port = reports.local_addr().map_err(|e| e.to_string())?.port();
        let command = in_launcher(&plan.python, report_port, command);
        tokio::time::timeout(CONNECT_TIMEOUT, terminal::run(&context.client, &plan, console, command, changes))
            .await
            .map_err(|_| format!("the client did not answer runInTerminal within {CONNECT_TIMEOUT:?}"))??;
        tokio::spawn(read_exit_report(reports, context.sink.clone()));
        match tokio::time::timeout(CONNECT_TIMEOUT, listener.accept()).await {
            Ok(accepted) => {
                accepted.map(|(stream, _)| stream).map_err(|e| format!("accepting the program's connection: {e}"))
            }
            Err(_) => Err(format!(
                "the program started in the terminal did not connect to the adapter within {CONNECT_TIMEOUT:?}; \
                 the terminal shows why"
            )),
        }
    }
}

/// `command` run by pydbg's launcher (`pydbg/_launcher.py`), which waits for the program in the
/// terminal and reports its exit code to `report_port`, however it ended.
fn in_launcher(python: &[String], report_port: u16, command: Vec<String>) -> Vec<String> {
    let mut launcher = python.to_vec();
    launcher.extend(["-m".into(), "pydbg._launcher".into(), format!("127.0.0.1:{report_port}")]);
    launcher.extend(command);
    launcher
}

/// Waits for the launcher's one line, `exit CODE`, and passes the code on; or says that none
/// will come (the launcher never connected, or went away first).
async fn read_exit_report(reports: TcpListener, sink: Sink) {
    use tokio::io::AsyncBufReadExt;
    let code = async {
        let (stream, _) = tokio::time::timeout(CONNECT_TIMEOUT, reports.accept()).await.ok()?.ok()?;
        let mut line = String::new();
        tokio::io::BufReader::new(stream).read_line(&mut line).await.ok()?;
        line.trim().strip_prefix("exit ")?.parse::<i64>().ok()
    }
    .await;
    tracing::info!(?code, "the launcher's report");
    sink(code.map_or(ProcessEvent::ExitUnreported, ProcessEvent::Exited));
}

/// The program's whole environment when the adapter starts it: the adapter's own, changed by
/// envFile and env, with pydbg importable. With pipes (`unbuffered`), Python would buffer its
/// output in blocks; `PYTHONUNBUFFERED=1` keeps it in step, unless the configuration sets it.
pub fn program_environment(
    changes: &EnvChanges,
    python_path: &[PathBuf],
    unbuffered: bool,
) -> Vec<(OsString, OsString)> {
    let mut env: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
    for (name, value) in changes {
        match value {
            Some(value) => env.insert(name.into(), value.into()),
            None => env.remove(&OsString::from(name)),
        };
    }
    if !python_path.is_empty() {
        let path = with_first(python_path, env.get(&OsString::from("PYTHONPATH")).cloned());
        env.insert("PYTHONPATH".into(), path);
    }
    if unbuffered && !changes.contains_key("PYTHONUNBUFFERED") {
        env.insert("PYTHONUNBUFFERED".into(), "1".into());
    }
    env.into_iter().collect()
}

/// The changes a terminal's environment needs (runInTerminal applies them to its own).
pub fn terminal_environment(changes: &EnvChanges, python_path: &[PathBuf]) -> EnvChanges {
    let mut out = changes.clone();
    if !python_path.is_empty() {
        let existing = match changes.get("PYTHONPATH") {
            Some(value) => value.clone().map(OsString::from),
            None => std::env::var_os("PYTHONPATH"),
        };
        out.insert("PYTHONPATH".into(), Some(with_first(python_path, existing).to_string_lossy().into_owned()));
    }
    out
}

/// `first` before what the path held, so the adapter's own pydbg wins over any other.
fn with_first(first: &[PathBuf], existing: Option<OsString>) -> OsString {
    let mut paths = first.to_vec();
    if let Some(existing) = existing.filter(|e| !e.is_empty()) {
        paths.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(&paths).unwrap_or_else(|_| first[0].as_os_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_changes_apply_in_order() {
        let roots = [PathBuf::from("/child-site"), PathBuf::from("/pydbg-root")];
        let changes: EnvChanges = [
            ("PATH".to_owned(), None),
            ("PYTHONPATH".to_owned(), Some("/mine".to_owned())),
            ("EXTRA".to_owned(), Some("1".to_owned())),
        ]
        .into();
        let env: BTreeMap<_, _> = program_environment(&changes, &roots, true).into_iter().collect();
        let get = |name: &str| env.get(&OsString::from(name)).map(|v| v.to_string_lossy().into_owned());
        assert_eq!(get("PATH"), None);
        assert_eq!(get("EXTRA").as_deref(), Some("1"));
        assert_eq!(get("PYTHONPATH").as_deref(), Some("/child-site:/pydbg-root:/mine"));
        assert_eq!(get("PYTHONUNBUFFERED").as_deref(), Some("1"));

        let terminal = terminal_environment(&changes, &roots);
        assert_eq!(terminal["PATH"], None, "removals are passed on as null");
        assert_eq!(terminal["PYTHONPATH"].as_deref(), Some("/child-site:/pydbg-root:/mine"));
    }
}
