//! `pydbg-adapter`: the stdio debug adapter that editors start for `"request": "launch"`.
//!
//! Not built out yet: until it is, launch is done by running `pydbg --listen PORT app.py` and
//! attaching to it. The adapter says so instead of pretending to work.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!(
        "pydbg-adapter: launching through the stdio adapter is not available yet; \
         run `pydbg --listen 5678 app.py` and attach your client to port 5678"
    );
    ExitCode::from(2)
}
