//! pydbg's own logs, through `tracing`, for the adapter and the in-process core alike (the core
//! links this crate). Off unless asked for: `--log-dir DIR` writes `DIR/<name>-<pid>.log`;
//! `PYDBG_LOG` sets the filter (`debug`, or `pydbg::wire=debug` / `pydbg_adapter::wire=debug`
//! for every message in and out) and, without a log directory, sends the log to stderr. Never to
//! stdout: the adapter's stdout is the DAP channel.

use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// `name` is the log file's prefix: `pydbg` or `pydbg-adapter`.
pub fn init(log_dir: Option<&Path>, name: &str) -> std::io::Result<()> {
    let filter = std::env::var("PYDBG_LOG").ok();
    if log_dir.is_none() && filter.is_none() {
        return Ok(());
    }
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter.as_deref().unwrap_or("debug")))
        .with_thread_names(true)
        .with_ansi(false);
    // A second init (pydbg started twice in one process) keeps the first subscriber.
    let Some(dir) = log_dir else {
        let _ = subscriber.with_writer(std::io::stderr).try_init();
        return Ok(());
    };
    std::fs::create_dir_all(dir)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}-{}.log", std::process::id())))?;
    let _ = subscriber.with_writer(Mutex::new(file)).try_init();
    Ok(())
}
