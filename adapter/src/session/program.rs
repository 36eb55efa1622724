//! The per-program half of the adapter's session: what one launch or attach has started, and how
//! far its end has got. `restart` replaces it whole.

use std::sync::atomic::AtomicU32;
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::task::JoinHandle;

use super::Mode;
use crate::children;
use crate::proxy::Link;

/// The program a launch or attach debugs, and the link to it. A restart starts from a new one.
pub(super) struct Program {
    pub(super) mode: Mode,
    /// The client's launch, attach or restart request, until it is answered.
    pub(super) request: Option<Value>,
    /// What the launch's `attach` to the debuggee carries (justMyCode, rules, ...).
    pub(super) attach_arguments: Value,
    /// Where the program's children announce themselves, and what their sessions' attach
    /// carries (subProcess).
    pub(super) children: Option<children::Listener>,
    pub(super) child_configuration: Value,
    /// The task that starts the program or reaches the debuggee.
    pub(super) connecting: Option<JoinHandle<()>>,
    pub(super) link: Option<Link>,
    pub(super) linked: bool,
    /// Client requests that wait for the link.
    pub(super) waiting: Vec<Value>,
    /// The program's process id; when `own`, also its process group.
    pub(super) pid: Option<u32>,
    /// The id of the program the launch task started, set at once (the `Started` event may
    /// still be queued when the session ends).
    pub(super) spawned: Arc<AtomicU32>,
    pub(super) exit_code: Option<i64>,
    pub(super) core_exit_code: Option<i64>,
    /// A program in a terminal: its launcher has yet to report how it ended.
    pub(super) exit_report_pending: bool,
    pub(super) open_pipes: u8,
    pub(super) drained: bool,
    /// The launch or attach failed: the session ends without exited/terminated.
    pub(super) failed: bool,
    pub(super) terminating: bool,
    /// The end of the program has been handled.
    pub(super) ended: bool,
}

impl Default for Program {
    fn default() -> Self {
        Program {
            mode: Mode::Idle,
            request: None,
            attach_arguments: json!({}),
            children: None,
            child_configuration: json!({}),
            connecting: None,
            link: None,
            linked: false,
            waiting: Vec::new(),
            pid: None,
            spawned: Arc::new(AtomicU32::new(0)),
            exit_code: None,
            core_exit_code: None,
            exit_report_pending: false,
            open_pipes: 0,
            drained: false,
            failed: false,
            terminating: false,
            ended: false,
        }
    }
}
