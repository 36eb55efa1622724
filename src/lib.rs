//! pydbg's core, built as the extension module `pydbg._core`.
//!
//! - `protocol`: DAP framing and message types (the `pydbg-protocol` crate, shared with the
//!   adapter).
//! - `session`: the connected client, its requests and the engine's events (tokio).
//! - `engine`: the `sys.monitoring` tool: breakpoints, steps and stops.
//! - `inspect`: frames, scopes, variables and evaluate on a stopped thread.
//! - `path_mappings`: the client's paths and the program's, when they differ (remote debugging).
//!
//! `python_api.rs` is the Python-facing surface that `python/pydbg` calls. It also runs the stdio
//! adapter (the `pydbg-adapter` crate, linked in), so one built artifact serves both.

pub use pydbg_protocol as protocol;

pub mod embedded_python;
pub mod engine;
mod frames;
mod gil;
pub mod inspect;
pub mod path_mappings;
mod python_api;
mod python_errors;
pub mod session;
pub mod unfiled_sources;
