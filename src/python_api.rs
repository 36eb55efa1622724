//! The Python-facing surface of `pydbg._core`, called by `python/pydbg`.

use std::path::PathBuf;

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;

use crate::{engine, session};

/// Registers pydbg with `sys.monitoring`; `internal` and `library` are path prefixes, `program`
/// names what runs (for the client's `process` event).
#[pyfunction]
fn install(py: Python<'_>, internal: Vec<String>, library: Vec<String>, program: String) -> PyResult<()> {
    crate::unfiled_sources::keep_compiled_texts(py);
    engine::install(py, internal, library, program)
}

/// Starts serving DAP on host:port; returns the port actually bound. With `access_token`, clients
/// must give it in their attach arguments.
#[pyfunction]
#[pyo3(signature = (host, port, access_token=None))]
fn listen(host: &str, port: u16, access_token: Option<String>) -> PyResult<u16> {
    session::listen(host, port, access_token).map(|a| a.port()).map_err(|e| PyOSError::new_err(e.to_string()))
}

/// Dials a DAP client that listens on host:port.
#[pyfunction]
fn connect(host: &str, port: u16) -> PyResult<()> {
    session::connect(host, port).map_err(|e| PyOSError::new_err(e.to_string()))
}

/// Blocks until a client has finished configuration (configurationDone), or for at most
/// `timeout` seconds; returns whether it has.
#[pyfunction]
#[pyo3(signature = (timeout=None))]
fn wait_for_client(py: Python<'_>, timeout: Option<f64>) -> bool {
    let limit = timeout.map(|seconds| std::time::Duration::from_secs_f64(seconds.max(0.0)));
    engine::engine().wait_for_configuration(py, limit)
}

/// Called in the child after `os.fork()`: forgets the parent's client, runtime and stops.
#[pyfunction]
fn forked_child(py: Python<'_>) {
    session::transport::forget_runtime_after_fork();
    crate::inspect::watchdog::forget_after_fork();
    crate::gil::forget_after_fork();
    if let Some(engine) = engine::try_engine() {
        engine.forget_parent_after_fork(py);
    }
}

/// Forwards program output to the client, if one is attached.
#[pyfunction]
fn output(category: &str, text: String) {
    let category = if category == "stderr" { "stderr" } else { "stdout" };
    engine::engine().program_output(category, text);
}

#[pyfunction]
fn thread_started(ident: u64, name: &str) {
    engine::engine().thread_started(ident, name);
}

#[pyfunction]
fn thread_exited(ident: u64) {
    engine::engine().thread_exited(ident);
}

/// An exception is about to end the program or a thread: stop if the exception filters say so.
#[pyfunction]
fn uncaught(py: Python<'_>, exception: &Bound<'_, PyAny>) -> PyResult<()> {
    engine::engine().on_uncaught(py, exception)
}

/// Reports the program's end to the client and waits until it has been told.
#[pyfunction]
fn program_exited(py: Python<'_>, code: i64) {
    engine::engine().program_exited(py, code);
}

/// Stops in `frame` (the caller of `breakpoint()`) if a client is attached.
#[pyfunction]
fn breakpoint(py: Python<'_>, frame: &Bound<'_, PyAny>) -> PyResult<()> {
    match engine::try_engine() {
        Some(engine) => engine.breakpoint_call(py, frame),
        None => Ok(()),
    }
}

#[pyfunction]
fn is_client_connected() -> bool {
    engine::try_engine().is_some_and(|e| e.is_client_attached())
}

/// True once a client asked to terminate the program.
#[pyfunction]
fn is_terminating() -> bool {
    engine::try_engine().is_some_and(|e| e.is_terminating())
}

/// The signal `terminate` sends when the program does not handle SIGINT in Python.
#[pyfunction]
fn set_interrupt_signal(signal: Option<i32>) {
    engine::engine().set_interrupt_signal(signal);
}

/// The text of code that has no file, named `name` as its `co_filename` (`-c CODE`).
#[pyfunction]
fn register_source(name: &str, text: &str) {
    crate::unfiled_sources::register(name, text);
}

/// A warning from pydbg's Python side, into pydbg's log.
#[pyfunction]
fn log_warning(message: &str) {
    tracing::warn!("{message}");
}

#[pyfunction]
#[pyo3(signature = (log_dir=None))]
fn init_logging(log_dir: Option<&str>) -> PyResult<()> {
    pydbg_adapter::logging::init(log_dir.map(std::path::Path::new), "pydbg")
        .map_err(|e| PyOSError::new_err(format!("cannot write logs to {log_dir:?}: {e}")))
}

/// Runs the stdio debug adapter until its session is over and returns its exit code. The GIL is
/// released meanwhile: the adapter runs no Python code.
#[pyfunction]
fn run_adapter(py: Python<'_>, args: Vec<String>, package_dir: PathBuf, python: String) -> i32 {
    py.detach(|| pydbg_adapter::run(&args, pydbg_adapter::Installation { package_dir, python }))
}

/// Injects pydbg into the running Python process `pid` (`pydbg --pid`); `mode` is "listen" or
/// "connect". Returns (mode, host, port, reused) of what the process then serves. Raises
/// RuntimeError with a message for the user.
#[pyfunction]
#[pyo3(signature = (pid, mode, host, port, package_dir, log_dir=None))]
fn attach_to_process(
    py: Python<'_>,
    pid: u32,
    mode: &str,
    host: String,
    port: u16,
    package_dir: PathBuf,
    log_dir: Option<PathBuf>,
) -> PyResult<(String, String, u16, bool)> {
    use pydbg_adapter::inject::{inject, Injection, Serve, DEFAULT_TIMEOUT};
    let serve = if mode == "connect" { Serve::Connect(host, port) } else { Serve::Listen(host, port) };
    let injection =
        Injection { pid, serve, log_dir: log_dir.as_deref(), package_dir: &package_dir, timeout: DEFAULT_TIMEOUT };
    py.detach(|| inject(&injection))
        .map(|served| (served.mode, served.host, served.port, served.reused))
        .map_err(pyo3::exceptions::PyRuntimeError::new_err)
}

#[pymodule]
#[pyo3(name = "_core")]
fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(install, m)?)?;
    m.add_function(wrap_pyfunction!(listen, m)?)?;
    m.add_function(wrap_pyfunction!(connect, m)?)?;
    m.add_function(wrap_pyfunction!(wait_for_client, m)?)?;
    m.add_function(wrap_pyfunction!(output, m)?)?;
    m.add_function(wrap_pyfunction!(thread_started, m)?)?;
    m.add_function(wrap_pyfunction!(thread_exited, m)?)?;
    m.add_function(wrap_pyfunction!(program_exited, m)?)?;
    m.add_function(wrap_pyfunction!(uncaught, m)?)?;
    m.add_function(wrap_pyfunction!(is_terminating, m)?)?;
    m.add_function(wrap_pyfunction!(breakpoint, m)?)?;
    m.add_function(wrap_pyfunction!(is_client_connected, m)?)?;
    m.add_function(wrap_pyfunction!(forked_child, m)?)?;
    m.add_function(wrap_pyfunction!(log_warning, m)?)?;
    m.add_function(wrap_pyfunction!(register_source, m)?)?;
    m.add_function(wrap_pyfunction!(init_logging, m)?)?;
    m.add_function(wrap_pyfunction!(run_adapter, m)?)?;
    m.add_function(wrap_pyfunction!(attach_to_process, m)?)?;
    m.add_function(wrap_pyfunction!(set_interrupt_signal, m)?)?;
    Ok(())
}
