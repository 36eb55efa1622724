//! The program as a child process (internalConsole): started in its own process group with stdin
//! closed and stdout/stderr piped, its output read as it comes, its exit code collected, and the
//! whole group signalled when it has to end.

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::watch;

pub enum ProcessEvent {
    Output {
        category: &'static str,
        text: String,
    },
    /// One of the two pipes reached its end.
    OutputClosed,
    Exited(i64),
    /// The launcher of a program in a terminal went away without saying how the program ended.
    ExitUnreported,
}

pub type Sink = Arc<dyn Fn(ProcessEvent) + Send + Sync>;

/// How much of the program's stderr is kept, to explain a launch that fails.
const STDERR_TAIL: usize = 2000;

pub struct Spawned {
    /// The process id, which is also its process group's id.
    pub pid: u32,
    /// `Some(exit code)` once the process has ended.
    pub exit: watch::Receiver<Option<i64>>,
    /// The end of what the program wrote to stderr.
    pub stderr_tail: Arc<Mutex<String>>,
}

/// `argv` to run in `cwd` with exactly `env`, stdin closed, stdout and stderr piped.
pub fn piped_command(argv: &[String], cwd: &Path, env: &[(OsString, OsString)]) -> Command {
    let mut command = Command::new(&argv[0]);
    command
        .args(&argv[1..])
        .current_dir(cwd)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

pub fn spawn(command: &[String], cwd: &Path, env: &[(OsString, OsString)], sink: Sink) -> Result<Spawned, String> {
    let mut child = piped_command(command, cwd, env)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", command[0]))?;
    let pid = child.id().expect("a process that was just spawned has an id");
    tracing::info!(pid, ?command, "started the program");
    let stderr_tail = Arc::new(Mutex::new(String::new()));
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    tokio::spawn(pump(stdout, "stdout", sink.clone(), None));
    tokio::spawn(pump(stderr, "stderr", sink.clone(), Some(stderr_tail.clone())));
    let (exit_tx, exit) = watch::channel(None);
    tokio::spawn(async move {
        let code = match child.wait().await {
            Ok(status) => exit_code(status),
            Err(e) => {
                tracing::warn!("waiting for the program failed: {e}");
                1
            }
        };
        tracing::info!(pid, code, "the program exited");
        let _ = exit_tx.send(Some(code));
        sink(ProcessEvent::Exited(code));
    });
    Ok(Spawned { pid, exit, stderr_tail })
}

#[cfg(unix)]
fn exit_code(status: std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    // A signal death reads as a shell shows it: 128 + the signal's number.
    status.code().map(i64::from).or_else(|| status.signal().map(|s| 128 + s as i64)).unwrap_or(1)
}

#[cfg(not(unix))]
fn exit_code(status: std::process::ExitStatus) -> i64 {
    status.code().map(i64::from).unwrap_or(1)
}

async fn pump(mut pipe: impl AsyncRead + Unpin, category: &'static str, sink: Sink, tail: Option<Arc<Mutex<String>>>) {
    let mut buffer = vec![0; 64 * 1024];
    let mut carry = Vec::new();
    loop {
        let n = match pipe.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let text = decode(&mut carry, &buffer[..n]);
        if text.is_empty() {
            continue;
        }
        if let Some(tail) = &tail {
            keep_tail(&mut tail.lock().expect("tail lock"), &text);
        }
        sink(ProcessEvent::Output { category, text });
    }
    if !carry.is_empty() {
        sink(ProcessEvent::Output { category, text: String::from_utf8_lossy(&carry).into_owned() });
    }
    sink(ProcessEvent::OutputClosed);
}

fn keep_tail(tail: &mut String, text: &str) {
    tail.push_str(text);
    if tail.len() > STDERR_TAIL {
        let mut cut = tail.len() - STDERR_TAIL;
        while !tail.is_char_boundary(cut) {
            cut += 1;
        }
        tail.drain(..cut);
    }
}

/// Decodes UTF-8 that arrives in chunks: a character split across two reads is kept in `carry`
/// until the rest of it comes, and invalid bytes become U+FFFD.
fn decode(carry: &mut Vec<u8>, chunk: &[u8]) -> String {
    carry.extend_from_slice(chunk);
    let keep = incomplete_tail(carry);
    let rest = carry.split_off(carry.len() - keep);
    let text = String::from_utf8_lossy(carry).into_owned();
    *carry = rest;
    text
}

/// How many bytes at the end of `bytes` begin a character that is not complete yet.
fn incomplete_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let byte = bytes[bytes.len() - back];
        if byte & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for the lead byte
        }
        let needed = match byte {
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        return if needed > back { back } else { 0 };
    }
    0
}

/// Sends `signal` to a whole process group; false if nothing was there to receive it.
pub fn signal_group(group: u32, signal: i32) -> bool {
    tracing::info!(group, signal, "signalling the program's process group");
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(-(group as libc::pid_t), signal) == 0 }
}

/// Sends `signal` to one process; false if it is not there.
pub fn signal_process(pid: u32, signal: i32) -> bool {
    tracing::info!(pid, signal, "signalling the program");
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid as libc::pid_t, signal) == 0 }
}

/// Whether process `pid` has ended: it is not there, or only its exit status is (a zombie).
pub fn is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses and may hold anything.
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) == Some("Z"),
        // SAFETY: kill(2) with signal 0 only checks that the process exists.
        Err(_) => unsafe { libc::kill(pid as libc::pid_t, 0) != 0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_characters_wait_for_their_rest() {
        let text = "aé€😀z".as_bytes();
        for split in 0..=text.len() {
            let mut carry = Vec::new();
            let mut out = decode(&mut carry, &text[..split]);
            out += &decode(&mut carry, &text[split..]);
            assert_eq!(out, "aé€😀z", "split at {split}");
            assert!(carry.is_empty());
        }
    }

    #[test]
    fn invalid_bytes_are_replaced_not_held() {
        let mut carry = Vec::new();
        assert_eq!(decode(&mut carry, b"a\xffb"), "a\u{fffd}b");
        assert!(carry.is_empty());
    }

    #[test]
    fn tail_keeps_the_end() {
        let mut tail = String::new();
        keep_tail(&mut tail, &"x".repeat(STDERR_TAIL));
        keep_tail(&mut tail, "end");
        assert_eq!(tail.len(), STDERR_TAIL);
        assert!(tail.ends_with("xend"));
    }
}
