//! What a child session answers once its process is gone. A short-lived child (a pool worker)
//! can end while the client is still opening its session: the work the client sends then raced
//! the child's exit, and gets a plain answer rather than an error for the user to see.

use serde_json::{json, Value};

use crate::wire;

/// The answer to `request` in a session whose program has ended.
pub fn answer(request: &Value) -> Result<Value, String> {
    let arguments = wire::arguments_of(request);
    let unverified = |key: &str| {
        let count = arguments.get(key).and_then(Value::as_array).map_or(0, Vec::len);
        let breakpoints = vec![json!({"verified": false, "message": "the process has ended"}); count];
        Ok(json!({ "breakpoints": breakpoints }))
    };
    match wire::command_of(request) {
        "attach" | "configurationDone" | "setExceptionBreakpoints" | "disconnect" | "terminate" => Ok(Value::Null),
        "setBreakpoints" | "setFunctionBreakpoints" | "setInstructionBreakpoints" | "setDataBreakpoints" => {
            unverified("breakpoints")
        }
        "threads" => Ok(json!({"threads": []})),
        command => Err(format!("the process has ended, so '{command}' cannot be done")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_a_client_sends_is_answered_without_errors() {
        let request = |command: &str, arguments: Value| json!({"seq": 1, "command": command, "arguments": arguments});
        let breakpoints = answer(&request("setBreakpoints", json!({"breakpoints": [{"line": 1}, {"line": 2}]})));
        assert_eq!(breakpoints.unwrap()["breakpoints"].as_array().unwrap().len(), 2);
        assert_eq!(answer(&request("configurationDone", Value::Null)), Ok(Value::Null));
        assert_eq!(answer(&request("threads", Value::Null)).unwrap()["threads"], json!([]));
        assert!(answer(&request("evaluate", json!({"expression": "x"}))).unwrap_err().contains("ended"));
    }
}
