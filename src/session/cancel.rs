//! `cancel`: ends an `evaluate` whose code runs too long (an endless loop typed in the REPL). The
//! code gets a KeyboardInterrupt, the evaluate answers "cancelled", and the thread stays stopped
//! and usable. A request cancelled before it began never runs.
//!
//! Whether the call still runs is decided with the GIL, by `cancel` and by the call's own end,
//! so the interrupt never lands after the call has finished.

use std::collections::{HashMap, HashSet};

use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::engine::current_ident;

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
            // The interrupt may still be pending if the call ended just before it was delivered.
            // SAFETY: the GIL is held; NULL clears this thread's pending asynchronous exception.
            unsafe { ffi::PyThreadState_SetAsyncExc(current_ident() as _, std::ptr::null_mut()) };
            let _ = py;
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
            // SAFETY: the GIL is held; the exception type is a valid object.
            unsafe { ffi::PyThreadState_SetAsyncExc(thread as _, ffi::PyExc_KeyboardInterrupt) };
        }
        let _ = py;
    }
}
