//! The program's signal handlers while its main thread is stopped. Python runs them on the main
//! thread at its next instruction, and while stopped that instruction would be pydbg's
//! inspection code: the program's SystemExit or KeyboardInterrupt would end an evaluate instead
//! of the program. So before inspection runs there, the handlers are deferred
//! (`_hooks.defer_signal_handlers`), and at resume they are put back and the signals that came
//! are raised again: their handlers then act where the program stopped.

use pyo3::prelude::*;

#[derive(Default)]
pub struct DeferredSignals {
    /// What puts the handlers back, once they were deferred in this stop.
    restore: Option<Py<PyAny>>,
}

impl DeferredSignals {
    /// Call on the stopped main thread before running inspection code there.
    pub fn defer(&mut self, py: Python<'_>) {
        if self.restore.is_some() {
            return;
        }
        match py.import("pydbg._hooks").and_then(|hooks| hooks.call_method0("defer_signal_handlers")) {
            Ok(restore) => self.restore = Some(restore.unbind()),
            Err(e) => tracing::warn!("cannot defer the program's signal handlers: {e}"),
        }
    }

    /// At resume: the exception that a handler raised, to be raised where the program stopped.
    pub fn restore(self, py: Python<'_>) -> Option<PyErr> {
        self.restore?.call0(py).err()
    }
}
