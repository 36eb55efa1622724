//! Child processes, from both sides. In a launch's session, the program's children announce
//! themselves (`crate::children`), and each becomes a `startDebugging` request to the client. In
//! a child's own session (an attach with `subProcessId`), the child may end before or while the
//! session opens, and the session then ends quietly (`crate::ended`).

use std::time::Duration;

use serde_json::{json, Value};

use super::{Event, Session};
use crate::children::{self, Child};
use crate::{ended, process};

/// How long a child process whose connection closed gets to be gone, before its session takes
/// the close for something else.
const CHILD_EXIT_GRACE: Duration = Duration::from_millis(500);

/// What a child session's `attach` carries: the launch's debugger settings, without what only
/// makes sense for the program the client launched. `type` stays: nvim-dap needs it to start the
/// child's session. The output of a child reaches the client through the parent's pipes or
/// terminal, which it shares.
pub(super) fn child_configuration(launch_attach_arguments: &Value, token: &str) -> Value {
    let mut configuration = launch_attach_arguments.clone();
    if let Some(map) = configuration.as_object_mut() {
        map.retain(|key, _| !key.starts_with("__") && !matches!(key.as_str(), "request" | "stopOnEntry"));
        map.insert("request".into(), json!("attach"));
        map.insert("redirectOutput".into(), json!(false));
        map.insert(pydbg_protocol::secrets::ACCESS_TOKEN_KEY.into(), json!(token));
    }
    configuration
}

impl Session {
    /// Returns the address children announce themselves on, and the launch's secret.
    pub(super) fn listen_for_children(&mut self) -> std::io::Result<(String, String)> {
        let events = self.events.clone();
        let listener = children::listen(move |child| events.send(Event::Child(child)).is_ok())?;
        let found = (listener.address.clone(), listener.token.clone());
        self.program.children = Some(listener);
        Ok(found)
    }

    /// Asks the client to attach to a child (startDebugging); the child waits for it only if
    /// the client agreed.
    pub(super) fn on_child(&mut self, child: Child) {
        let Child { announcement, wait } = child;
        if self.quiet() || self.program.ended {
            let _ = wait.send(false);
            return;
        }
        if !self.start_debugging {
            self.client.output(
                "console",
                format!(
                    "pydbg: child process {} ({}) runs without the debugger: this client does not support \
                     startDebugging\n",
                    announcement.pid, announcement.name
                ),
            );
            let _ = wait.send(false);
            return;
        }
        let mut configuration = self.program.child_configuration.clone();
        configuration["name"] = json!(format!("{} (pid {})", announcement.name, announcement.pid));
        configuration["connect"] = json!({"host": "127.0.0.1", "port": announcement.port});
        configuration["subProcessId"] = json!(announcement.pid);
        let client = self.client.clone();
        tokio::spawn(async move {
            let arguments = json!({"request": "attach", "configuration": configuration});
            let agreed = match client.reverse_request("startDebugging", arguments).await {
                Ok(response) => response.get("success") == Some(&Value::Bool(true)),
                Err(e) => {
                    tracing::warn!("startDebugging: {e}");
                    false
                }
            };
            let _ = wait.send(agreed);
        });
    }

    /// Whether this is a child session whose process has ended (waiting, bounded, for the
    /// process to be gone when its connection has only just closed).
    pub(super) fn is_child_gone(&self) -> bool {
        let Some(pid) = self.child_pid else { return false };
        let deadline = std::time::Instant::now() + CHILD_EXIT_GRACE;
        while !process::is_gone(pid) {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// The child process ended before or while its session was opened: what the client asked
    /// is answered without errors, and the session ends with `terminated` (the exit code is not
    /// known here).
    pub(super) fn end_child_session(&mut self) {
        tracing::info!(pid = self.child_pid, "the child process is gone; its session ends");
        self.child_gone = true;
        if let Some(request) = self.program.request.take() {
            self.respond(&request, ended::answer(&request));
        }
        for request in std::mem::take(&mut self.program.waiting) {
            self.respond(&request, ended::answer(&request));
        }
        self.check_end();
    }
}
