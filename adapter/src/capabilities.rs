//! What the adapter answers to `initialize`, before any debuggee exists.
//!
//! Clients read capabilities from that answer (nvim-dap only sets exception breakpoints when it
//! saw `exceptionBreakpointFilters` there), so the adapter announces the in-process core's
//! capabilities up front. They must match what the core itself answers (tests/test_adapter.py
//! compares the two); whatever the debuggee later reports differently still reaches the client,
//! as a `capabilities` event (see `proxy::changed_capabilities`).

use serde_json::{json, Value};

const CONDITION_HELP: &str =
    "Exception types to stop on, e.g. \"ValueError, KeyError\", or to skip, e.g. \"not StopIteration\"";

pub fn announced() -> Value {
    let filter = |id: &str, label: &str, description: &str, default: bool| {
        json!({"filter": id, "label": label, "description": description, "default": default,
               "supportsCondition": true, "conditionDescription": CONDITION_HELP})
    };
    json!({
        "supportsConfigurationDoneRequest": true,
        "supportsFunctionBreakpoints": true,
        "supportsConditionalBreakpoints": true,
        "supportsHitConditionalBreakpoints": true,
        "supportsLogPoints": true,
        "supportsEvaluateForHovers": true,
        "supportsTerminateRequest": true,
        "supportTerminateDebuggee": true,
        "supportsDelayedStackTraceLoading": true,
        "supportsSingleThreadExecutionRequests": true,
        "supportsExceptionInfoRequest": true,
        "supportsExceptionFilterOptions": true,
        "supportsExceptionOptions": true,
        "supportsSetVariable": true,
        "supportsSetExpression": true,
        "supportsCompletionsRequest": true,
        "completionTriggerCharacters": [".", "["],
        "exceptionBreakpointFilters": [
            filter("raised", "Raised Exceptions", "Stop where an exception is raised, even if it is handled.", false),
            filter("uncaught", "Uncaught Exceptions", "Stop before an exception ends the program or a thread.", true),
            filter(
                "userUnhandled",
                "User Uncaught Exceptions",
                "Stop when an exception leaves your code into library code, or leaves your code unhandled.",
                false
            ),
        ],
    })
}
