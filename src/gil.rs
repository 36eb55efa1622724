//! Taking the GIL from pydbg's own threads: the session's tokio threads and the watchdog, which
//! Python did not start. Once the program has exited (its last atexit handler, pydbg's own, has
//! run) none of them may take it: the interpreter is being finalized, and `PyGILState_Ensure` on
//! a deleted interpreter crashes the process. A client's `disconnect` right after `exited` did,
//! in about 1 run in 200 (docs/reliability.md).

use parking_lot::Mutex;
use pyo3::prelude::*;

/// Held while one of pydbg's threads works with the GIL; `true` once the program has exited.
/// GIL work is serial anyway, so this costs nothing.
static EXITED: Mutex<bool> = Mutex::new(false);

/// Runs `work` with the GIL, unless the program has exited.
pub fn attach<R>(work: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    let exited = EXITED.lock();
    if *exited {
        return None;
    }
    Some(Python::attach(work))
}

/// Called with the GIL when the program has exited: waits for GIL work in progress (which needs
/// the GIL this thread gives up meanwhile), then lets no more start.
pub fn close_for_exit(py: Python<'_>) {
    py.detach(|| *EXITED.lock() = true);
}

/// In a forked child the threads that held the lock are gone.
pub fn forget_after_fork() {
    if EXITED.is_locked() {
        // SAFETY: in a forked child the calling thread is the only one; the holder is gone.
        unsafe { EXITED.force_unlock() };
    }
}
