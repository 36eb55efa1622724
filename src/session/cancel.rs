//! `cancel`: ends an `evaluate` whose code runs too long (an endless loop typed in the REPL). The
//! code gets a KeyboardInterrupt, the evaluate answers "cancelled", and the thread stays stopped
//! and usable. A request cancelled before it began never runs.
//!
//! Whether the call still runs is decided with the GIL, by `cancel` and by the call's own end,
//! so the interrupt never lands after the call has finished; the interrupt itself is the
//! watchdog's.

use std::collections::{HashMap, HashSet};

use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::engine::current_ident;
use crate::inspect::watchdog::{clear_pending_interrupt, interrupt};

#[derive(Default)]
pub struct Cancellable {
    /// Requests that can be cancelled and have not been answered, by seq.
    pending: Mutex<HashSet<i64>>,
    /// Those of them running now, with the thread they run on.
    running: Mutex<HashMap<i64, u64>>,
    cancelled: Mutex<HashSet<i64>>,
}

impl Cancellable {
    /// `seq` may be cancelled from now until `answered`.
    pub fn begin(&self, seq: i64) {
        self.pending.lock().insert(seq);
    }

    pub fn answered(&self, seq: i64) {
        self.pending.lock().remove(&seq);
        self.cancelled.lock().remove(&seq);
    }

    /// Runs `call` for request `seq`, with the GIL; `None` if the request was cancelled.
    pub fn run<R>(&self, py: Python<'_>, seq: i64, call: impl FnOnce() -> R) -> Option<R> {
        if self.cancelled.lock().contains(&seq) {
            return None;
        }
        self.running.lock().insert(seq, current_ident());
        let result = call();
        self.running.lock().remove(&seq);
        if self.cancelled.lock().contains(&seq) {
            clear_pending_interrupt(py);
            return None;
        }
        Some(result)
    }

    /// Cancels request `seq` if it has not been answered. Needs the GIL.
    pub fn cancel(&self, py: Python<'_>, seq: i64) {
        if !self.pending.lock().contains(&seq) {
            return;
        }
        self.cancelled.lock().insert(seq);
        if let Some(&thread) = self.running.lock().get(&seq) {
            // SAFETY: PyExc_KeyboardInterrupt is a valid exception type.
            unsafe { interrupt(py, thread, ffi::PyExc_KeyboardInterrupt) };
        }
    }
}
