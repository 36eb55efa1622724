//! Taking the GIL from pydbg's own threads: the session's tokio threads and the watchdog, which
//! Python did not start. Once the program has exited (its last atexit handler, pydbg's own, has
//! run) none of them may take it: the interpreter is being finalized, and `PyGILState_Ensure` on
//! a deleted interpreter crashes the process. A client's `disconnect` right after `exited` did,
//! in about 1 run in 200 (docs/reliability.md).

use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use pyo3::prelude::*;

/// How long the program's exit waits for GIL work already under way (an evaluate may run long).
const EXIT_WAIT: Duration = Duration::from_secs(3);

#[derive(Default)]
struct Gate {
    exited: bool,
    /// GIL work under way. It is not serialised here: work interleaves under the GIL as usual, so
    /// a long evaluate never holds up a `cancel` or a `pause`.
    active: usize,
}

static GATE: Mutex<Gate> = Mutex::new(Gate { exited: false, active: 0 });
static IDLE: Condvar = Condvar::new();

/// Runs `work` with the GIL, unless the program has exited.
pub fn attach<R>(work: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    {
        let mut gate = GATE.lock();
        if gate.exited {
            return None;
        }
        gate.active += 1;
    }
    let result = Python::attach(work);
    let mut gate = GATE.lock();
    gate.active -= 1;
    if gate.active == 0 {
        IDLE.notify_all();
    }
    Some(result)
}

/// Called with the GIL when the program has exited: lets no more GIL work start, and waits
/// (bounded) for the work in progress, which needs the GIL this thread gives up meanwhile.
pub fn close_for_exit(py: Python<'_>) {
    py.detach(|| {
        let mut gate = GATE.lock();
        gate.exited = true;
        let deadline = std::time::Instant::now() + EXIT_WAIT;
        while gate.active > 0 {
            if IDLE.wait_until(&mut gate, deadline).timed_out() {
                tracing::warn!("the program ends while pydbg still works with the GIL");
                break;
            }
        }
    });
}

/// In a forked child the threads that held the lock are gone, and so is their work.
pub fn forget_after_fork() {
    if GATE.is_locked() {
        // SAFETY: in a forked child the calling thread is the only one; the holder is gone.
        unsafe { GATE.force_unlock() };
    }
    GATE.lock().active = 0;
}
