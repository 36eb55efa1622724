//! pydbg's core, built as the extension module `pydbg._core`.
//!
//! - `protocol`: DAP framing and message types.
//! - `session`: the connected client, its requests and the engine's events (tokio).
//! - `engine`: the `sys.monitoring` tool: breakpoints, steps and stops.
//! - `inspect`: frames, scopes, variables and evaluate on a stopped thread.
//! - `path_mappings`: the client's paths and the program's, when they differ (remote debugging).
//!
//! `python_api.rs` is the Python-facing surface that `python/pydbg` calls. Without the default
//! `python` feature only `protocol` is built, for the stdio adapter.

pub mod protocol;

#[cfg(feature = "python")]
pub mod engine;
#[cfg(feature = "python")]
pub mod inspect;
#[cfg(feature = "python")]
mod logging;
#[cfg(feature = "python")]
pub mod path_mappings;
#[cfg(feature = "python")]
mod python_api;
#[cfg(feature = "python")]
pub mod session;
