//! A message body from a client, parsed as the core and the adapter parse it: the envelope, then
//! the request's arguments as every typed request reads them (`Request::args`), the adapter's
//! attach endpoint and launch strings, and the redacting log view. Errors are fine; panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pydbg_adapter::parsers;
use pydbg_protocol::message::parse_incoming;
use pydbg_protocol::secrets::Redacted;
use pydbg_protocol::types::*;
use pydbg_protocol::{Incoming, Outgoing};

fuzz_target!(|data: &[u8]| {
    let request = match parse_incoming(data) {
        Incoming::Request(request) => request,
        Incoming::Malformed { request_seq: Some(seq), command, message } => {
            let _ = Outgoing::error(seq, &command, message).to_json(1);
            return;
        }
        _ => return,
    };
    let _ = Redacted(&request.arguments).to_string();
    // Any command may arrive with any arguments: try every typed view.
    let _ = request.args::<InitializeArguments>();
    let _ = request.args::<AttachArguments>();
    let _ = request.args::<CancelArguments>();
    let _ = request.args::<DisconnectArguments>();
    let _ = request.args::<GotoTargetsArguments>();
    let _ = request.args::<GotoArguments>();
    let _ = request.args::<SetBreakpointsArguments>();
    let _ = request.args::<SetFunctionBreakpointsArguments>();
    let _ = request.args::<ThreadArguments>();
    let _ = request.args::<ModulesArguments>();
    let _ = request.args::<StepInTargetsArguments>();
    let _ = request.args::<StackTraceArguments>();
    let _ = request.args::<ScopesArguments>();
    let _ = request.args::<VariablesArguments>();
    let _ = request.args::<EvaluateArguments>();
    let _ = request.args::<SetExceptionBreakpointsArguments>();
    let _ = request.args::<SetVariableArguments>();
    let _ = request.args::<SetExpressionArguments>();
    let _ = request.args::<CompletionsArguments>();
    let _ = parsers::attach_endpoint(&request.arguments);
    if let Some(text) = request.arguments.get("args").and_then(|a| a.as_str()) {
        let _ = parsers::split_shell_words(text);
    }
    if let Some(text) = request.arguments.get("envFile").and_then(|a| a.as_str()) {
        let _ = parsers::parse_env_file(text, &|name| (name == "HOME").then(|| "/home/me".to_owned()));
    }
});
