//! Injection through gdb, for CPython 3.12 and 3.13. gdb attaches, reads `Py_Version`, maps one
//! anonymous page, copies the bootstrap's text into it, and schedules
//! `PyRun_SimpleString(page)` with `Py_AddPendingCall`; then it detaches. The interpreter's main
//! thread runs pending calls between bytecodes, holding the GIL, as it runs signal handlers: a
//! safe point, unlike a call made at whatever instruction gdb stopped the process on.
//! Nothing but `mmap` and `Py_AddPendingCall` runs under gdb; neither takes a lock the stopped
//! thread could hold, except the pending-calls lock for an instant.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The most gdb gets to attach, inject and detach, whatever is left of the attach's budget.
const GDB_TIMEOUT: Duration = Duration::from_secs(30);

/// The versions injected through gdb, as `Py_Version >> 16` (major, minor).
const VERSIONS: [u64; 2] = [0x030C, 0x030D];

/// What gdb found and did.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    /// The target's `Py_Version` (0x030D00F0 for 3.13.0), if gdb could read it.
    pub version: Option<u64>,
    /// `Py_AddPendingCall`'s result, if gdb called it (only for [`VERSIONS`]): 0 on success.
    pub pending_call: Option<i64>,
    /// gdb's error output, for the cases [`explain_failure`] knows.
    pub errors: String,
}

pub fn is_injectable(version: u64) -> bool {
    VERSIONS.contains(&(version >> 16))
}

/// The gdb commands; `bootstrap` holds the NUL-terminated text to run (a path without spaces).
pub fn script(bootstrap: &Path, size: usize) -> String {
    let [first, second] = VERSIONS;
    format!(
        r#"set pagination off
set confirm off
printf "pydbg-version %lx\n", *(unsigned long *)&Py_Version
set $pydbg_major_minor = *(unsigned long *)&Py_Version >> 16
if $pydbg_major_minor == {first:#x} || $pydbg_major_minor == {second:#x}
  set $pydbg_page = (char *)(long)mmap(0, (unsigned long){size}, 3, 0x22, -1, (long)0)
  if $pydbg_page == (char *)-1
    printf "pydbg-pending -2\n"
  else
    restore {file} binary $pydbg_page
    printf "pydbg-pending %d\n", (int)Py_AddPendingCall((void *)PyRun_SimpleString, $pydbg_page)
  end
end
detach
"#,
        file = bootstrap.display(),
    )
}

/// Runs gdb's `commands` on `pid`, for at most `budget` (and never more than [`GDB_TIMEOUT`]).
/// Err: gdb could not be started or did not finish.
pub fn inject(pid: u32, commands: &Path, budget: Duration) -> Result<Outcome, String> {
    let mut child = Command::new("gdb")
        .args(["-nx", "-batch", "-iex", "set auto-load off", "-p", &pid.to_string(), "-x"])
        .arg(commands)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "gdb is needed to attach to Python 3.12 and 3.13 processes, and it is not \
                                             installed (on Debian or Ubuntu: apt-get install gdb)"
                .to_owned(),
            _ => format!("cannot start gdb: {e}"),
        })?;
    // Read while gdb runs: a target with many threads fills a pipe with gdb's notes about them.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + budget.min(GDB_TIMEOUT);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("gdb did not finish attaching to process {pid} in time"));
            }
            Err(e) => return Err(format!("waiting for gdb: {e}")),
        }
    }
    let stdout = stdout.join().unwrap_or_default();
    let errors = stderr.join().unwrap_or_default();
    tracing::debug!(%stdout, %errors, "gdb's output");
    Ok(parse(&stdout, errors))
}

fn parse(stdout: &str, errors: String) -> Outcome {
    let field = |name: &str| stdout.lines().find_map(|line| line.strip_prefix(name)).map(str::trim);
    Outcome {
        version: field("pydbg-version ").and_then(|hex| u64::from_str_radix(hex, 16).ok()),
        pending_call: field("pydbg-pending ").and_then(|n| n.parse().ok()),
        errors,
    }
}

/// Why gdb could not read the version or schedule the call, in the user's terms.
pub fn explain_failure(pid: u32, process: &str, outcome: &Outcome) -> String {
    let errors = &outcome.errors;
    if errors.contains("ptrace: Operation not permitted") {
        return format!(
            "cannot attach to {process}: this user may not ptrace it. {} Run pydbg as root, give it \
             CAP_SYS_PTRACE (in a container: --cap-add=SYS_PTRACE), or allow tracing with \
             `sysctl kernel.yama.ptrace_scope=0`",
            ptrace_scope_note()
        );
    }
    if errors.contains("ptrace: No such process") {
        return format!("no process has id {pid} (it may have just ended)");
    }
    if errors.contains("\"Py_Version\"") {
        return format!("{process} is not a CPython 3.12 or newer: it has no Py_Version symbol");
    }
    match outcome.pending_call {
        Some(-2) => format!("could not map memory in {process} for pydbg's bootstrap"),
        Some(n) if n != 0 => format!("{process} refused to schedule pydbg's bootstrap (Py_AddPendingCall gave {n})"),
        _ => {
            let last: Vec<&str> = errors.lines().filter(|l| !l.trim().is_empty()).collect();
            format!("gdb could not inject pydbg into {process}: {}", last[last.len().saturating_sub(3)..].join(" / "))
        }
    }
}

fn ptrace_scope_note() -> String {
    match std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").map(|s| s.trim().to_owned()) {
        Ok(scope) if scope == "0" => "kernel.yama.ptrace_scope is 0, so the process belongs to another user, or \
                                      this one lacks CAP_SYS_PTRACE."
            .to_owned(),
        Ok(scope) => format!(
            "kernel.yama.ptrace_scope is {scope}: {}.",
            match scope.as_str() {
                "1" => "only a process's ancestors may trace it",
                "2" => "only processes with CAP_SYS_PTRACE may trace",
                _ => "no process may trace another",
            }
        ),
        Err(_) => "The process may belong to another user.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_gdb_printed() {
        let outcome = parse("noise\npydbg-version 30d00f0\npydbg-pending 0\n", String::new());
        assert_eq!(outcome.version, Some(0x030D00F0));
        assert_eq!(outcome.pending_call, Some(0));
        assert!(is_injectable(0x030D00F0) && is_injectable(0x030C01F0));
        assert!(!is_injectable(0x030B04F0) && !is_injectable(0x030E00F0));
    }

    #[test]
    fn explains_what_went_wrong() {
        let outcome = |errors: &str| Outcome { version: None, pending_call: None, errors: errors.into() };
        let process = "process 7 (/usr/bin/sleep)";
        assert!(explain_failure(7, process, &outcome("ptrace: Operation not permitted.")).contains("ptrace_scope"));
        assert!(explain_failure(7, process, &outcome("No symbol \"Py_Version\" in current context."))
            .contains("not a CPython"));
        let mapped = Outcome { version: Some(0x030D00F0), pending_call: Some(-2), errors: String::new() };
        assert!(explain_failure(7, process, &mapped).contains("map memory"));
    }

    #[test]
    fn the_script_only_injects_into_known_versions() {
        let text = script(Path::new("/tmp/boot"), 100);
        assert!(text.contains("== 0x30c || $pydbg_major_minor == 0x30d"));
        assert!(text.contains("restore /tmp/boot binary $pydbg_page"));
        assert!(text.trim_end().ends_with("detach"));
    }
}
