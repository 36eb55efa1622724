//! What the adapter answers to `initialize`, before any debuggee exists: the core's own list
//! (`pydbg_core::protocol::capabilities`), so the two cannot drift. Whatever the debuggee later
//! reports differently still reaches the client, as a `capabilities` event (see
//! `proxy::changed_capabilities`).

use serde_json::Value;

pub fn announced() -> Value {
    serde_json::to_value(pydbg_core::protocol::capabilities::capabilities()).expect("capabilities serialize")
}
