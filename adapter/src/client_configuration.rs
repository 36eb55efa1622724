//! The client's configuration of the program it debugs (breakpoints, function breakpoints,
//! exception filters), kept as the latest request of each kind so that a restarted program
//! gets it again: clients send it once per session, and a `restart` keeps the session.

use serde_json::Value;

use crate::wire;

const RECORDED: &[&str] = &["setBreakpoints", "setFunctionBreakpoints", "setExceptionBreakpoints"];

#[derive(Default)]
pub struct ClientConfiguration {
    /// (command, what it applies to, arguments), in the order first sent.
    latest: Vec<(String, String, Value)>,
}

impl ClientConfiguration {
    /// Remembers `request` if it configures the program; a later request of the same kind (for
    /// setBreakpoints: for the same source) replaces it.
    pub fn record(&mut self, request: &Value) {
        let command = wire::command_of(request);
        if !RECORDED.contains(&command) {
            return;
        }
        let arguments = wire::arguments_of(request);
        let scope = match command {
            "setBreakpoints" => arguments.pointer("/source/path").and_then(Value::as_str).unwrap_or("").to_owned(),
            _ => String::new(),
        };
        match self.latest.iter_mut().find(|(c, s, _)| c == command && *s == scope) {
            Some(entry) => entry.2 = arguments,
            None => self.latest.push((command.to_owned(), scope, arguments)),
        }
    }

    /// The requests to send a new program, in order: each command with its arguments.
    pub fn replay(&self) -> impl Iterator<Item = (&str, Value)> + '_ {
        self.latest.iter().map(|(command, _, arguments)| (command.as_str(), arguments.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keeps_the_latest_request_of_each_kind_in_first_sent_order() {
        let mut configuration = ClientConfiguration::default();
        let request = |command: &str, arguments: Value| json!({"command": command, "arguments": arguments});
        configuration.record(&request("setBreakpoints", json!({"source": {"path": "/a.py"}, "lines": [1]})));
        configuration.record(&request("setExceptionBreakpoints", json!({"filters": ["raised"]})));
        configuration.record(&request("setBreakpoints", json!({"source": {"path": "/b.py"}, "lines": [2]})));
        configuration.record(&request("setBreakpoints", json!({"source": {"path": "/a.py"}, "lines": [3]})));
        configuration.record(&request("threads", json!({})));
        let replayed: Vec<(&str, Value)> = configuration.replay().collect();
        assert_eq!(
            replayed,
            [
                ("setBreakpoints", json!({"source": {"path": "/a.py"}, "lines": [3]})),
                ("setExceptionBreakpoints", json!({"filters": ["raised"]})),
                ("setBreakpoints", json!({"source": {"path": "/b.py"}, "lines": [2]})),
            ]
        );
    }
}
