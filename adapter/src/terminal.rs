//! `integratedTerminal` / `externalTerminal`: the client starts the program through the
//! `runInTerminal` reverse request, so it gets a real terminal (stdin, colours, a tty).

use serde_json::{json, Value};

use crate::client::Client;
use crate::launch_plan::{Console, EnvChanges, LaunchPlan};

/// Asks the client to run `command` in a terminal. `env` holds changes to the terminal's own
/// environment (null removes a variable), as the request defines it.
pub async fn run(
    client: &Client,
    plan: &LaunchPlan,
    console: Console,
    command: Vec<String>,
    env: EnvChanges,
) -> Result<(), String> {
    let arguments = json!({
        "kind": if console == Console::External { "external" } else { "integrated" },
        "title": format!("pydbg: {}", plan.name),
        "cwd": plan.cwd,
        "args": command,
        "env": env,
    });
    let response = client.reverse_request("runInTerminal", arguments).await?;
    if response.get("success") == Some(&Value::Bool(true)) {
        tracing::info!(body = ?response.get("body"), "runInTerminal started the program");
        Ok(())
    } else {
        let message = response.get("message").and_then(Value::as_str).unwrap_or("no reason given");
        Err(format!("the client could not start the program in a terminal (runInTerminal): {message}"))
    }
}
