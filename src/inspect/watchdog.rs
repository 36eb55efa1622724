//! Time limits for user code run by inspection (`repr`, properties). A call that runs past its
//! limit gets a `TimeoutError` raised inside it, so the stopped thread stays usable.
//!
//! The watchdog thread and the guarded call decide under the GIL whether the call is still
//! running, so the exception can never land after the call has finished.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::engine::{current_ident, mark_pydbg_thread};

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);
/// The guarded call running on each thread: thread ident -> token.
static RUNNING: OnceLock<DashMap<u64, u64>> = OnceLock::new();
/// Tokens whose call was interrupted.
static FIRED: OnceLock<DashMap<u64, ()>> = OnceLock::new();
static DEADLINES: Mutex<Option<Sender<(u64, u64, Instant)>>> = Mutex::new(None);

fn running() -> &'static DashMap<u64, u64> {
    RUNNING.get_or_init(DashMap::new)
}

fn fired() -> &'static DashMap<u64, ()> {
    FIRED.get_or_init(DashMap::new)
}

/// Hands a deadline to the watchdog thread, starting it when there is none (at first use, and
/// again in a forked child, which does not have its parent's).
fn watch(thread: u64, token: u64, deadline: Instant) {
    let _ = DEADLINES.lock().get_or_insert_with(start_watchdog).send((thread, token, deadline));
}

/// In a forked child the watchdog thread does not exist; the next deadline starts a new one.
pub fn forget_after_fork() {
    if DEADLINES.is_locked() {
        // SAFETY: in a forked child the calling thread is the only one; the holder is gone.
        unsafe { DEADLINES.force_unlock() };
    }
    // Dropping the sender could try to wake the parent's receiving thread.
    std::mem::forget(DEADLINES.lock().take());
}

fn start_watchdog() -> Sender<(u64, u64, Instant)> {
    let (sender, queue) = channel::<(u64, u64, Instant)>();
    std::thread::Builder::new()
        .name("pydbg-watchdog".into())
        .spawn(move || {
            mark_pydbg_thread();
            // Deadlines arrive in order, so waiting for each in turn never misses one.
            while let Ok((thread, token, deadline)) = queue.recv() {
                std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                if running().get(&thread).is_some_and(|t| *t == token) {
                    crate::gil::attach(|py| {
                        if running().get(&thread).is_some_and(|t| *t == token) {
                            fired().insert(token, ());
                            // SAFETY: PyExc_TimeoutError is a valid exception type.
                            unsafe { interrupt(py, thread, ffi::PyExc_TimeoutError) };
                        }
                    });
                }
            }
        })
        .expect("the watchdog thread starts");
    sender
}

/// Raises `exception` asynchronously in Python thread `thread`, at its next instruction. Callers
/// decide under the same GIL that the call they mean to interrupt is still running there.
///
/// # Safety
/// `exception` must be a valid exception type object.
pub unsafe fn interrupt(py: Python<'_>, thread: u64, exception: *mut ffi::PyObject) {
    let _ = py; // the GIL is held
    ffi::PyThreadState_SetAsyncExc(thread as _, exception);
}

/// Clears an interrupt meant for the call this thread just finished: it may still be pending if
/// the call ended just before it was delivered.
pub fn clear_pending_interrupt(py: Python<'_>) {
    let _ = py; // the GIL is held
                // SAFETY: NULL clears this thread's pending asynchronous exception.
    unsafe { ffi::PyThreadState_SetAsyncExc(current_ident() as _, std::ptr::null_mut()) };
}

/// Runs `call` (user code) with a time limit. A call cut off by the limit answers
/// `Err(None)`; one that raised answers `Err(Some(error))`.
pub fn limited<'py, R>(
    py: Python<'py>,
    limit: Duration,
    call: impl FnOnce() -> PyResult<R>,
) -> Result<R, Option<PyErr>> {
    let thread = current_ident();
    let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
    running().insert(thread, token);
    watch(thread, token, Instant::now() + limit);
    let result = call();
    running().remove(&thread);
    if fired().remove(&token).is_some() {
        clear_pending_interrupt(py);
        return match result {
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py) => Err(None),
            other => other.map_err(Some),
        };
    }
    result.map_err(Some)
}
