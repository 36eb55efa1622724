//! The Debug Adapter Protocol on the wire: framing, the message envelope and typed messages.
//!
//! pydbg owns these types instead of using the `dap` crate; docs/decisions.md says why.

pub mod capabilities;
pub mod codec;
pub mod debugpy_attributes;
pub mod message;
pub mod secrets;
pub mod types;

pub use message::{Incoming, Outgoing, Request};
