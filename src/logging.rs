//! pydbg's own logs, through `tracing`. Off unless asked for: `--log-dir DIR` writes
//! `DIR/pydbg-<pid>.log`; `PYDBG_LOG` sets the filter (e.g. `debug`, `pydbg::wire=debug`) and,
//! without a log directory, sends logs to stderr.

use std::fs::OpenOptions;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

pub fn init(log_dir: Option<&str>) -> std::io::Result<()> {
    let filter = std::env::var("PYDBG_LOG").ok();
    if log_dir.is_none() && filter.is_none() {
        return Ok(());
    }
    let filter = EnvFilter::new(filter.as_deref().unwrap_or("debug"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_thread_names(true).with_ansi(false);
    let result = match log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let path = std::path::Path::new(dir).join(format!("pydbg-{}.log", std::process::id()));
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            builder.with_writer(Mutex::new(file)).try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    // A second init (pydbg imported twice) keeps the first subscriber.
    let _ = result;
    Ok(())
}
