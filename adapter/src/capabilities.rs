//! What the adapter answers to `initialize`, before any debuggee exists: the core's own list
//! (`pydbg_protocol::capabilities`), so the two cannot drift. Whatever the debuggee later
//! reports differently still reaches the client, as a `capabilities` event (see
//! `proxy::changed_capabilities`). `restart` is the adapter's own: it starts the program, so it
//! can start it again. An attach has nothing to restart, and turns it off.

use serde_json::Value;

pub fn announced() -> Value {
    let mut capabilities =
        serde_json::to_value(pydbg_protocol::capabilities::capabilities()).expect("capabilities serialize");
    capabilities["supportsRestartRequest"] = Value::Bool(true);
    capabilities
}

/// Sent as a `capabilities` event when the session turns out to be an attach.
pub fn attach_changes() -> Value {
    serde_json::json!({"capabilities": {"supportsRestartRequest": false}})
}
