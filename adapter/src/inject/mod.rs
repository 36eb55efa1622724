//! Attaching to a Python process that runs without pydbg, by its process id (`pydbg --pid`, and
//! `attach` with `processId`). pydbg is injected into the process, which then serves DAP as if it
//! had been started with `pydbg --listen` (or `--connect`).
//!
//! The injection (`gdb`) makes the target's main thread run `bootstrap.py` at its next safe point.
//! The bootstrap imports this pydbg, starts it, and reports on a one-shot TCP connection to
//! 127.0.0.1: the address it serves, or why it could not. A nonce in the report tells it from
//! any other connection. docs/attach.md is the user's side; docs/decisions.md says why gdb and
//! pending calls.

mod gdb;
mod remote_exec;

use std::cell::Cell;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

const BOOTSTRAP: &str = include_str!("bootstrap.py");

/// How long the target's main thread gets to reach a safe point and start pydbg.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// What the injected pydbg does: wait for clients on an address, or dial one.
#[derive(Debug, Clone, PartialEq)]
pub enum Serve {
    Listen(String, u16),
    Connect(String, u16),
}

pub struct Injection<'a> {
    pub pid: u32,
    pub serve: Serve,
    pub log_dir: Option<&'a Path>,
    /// The directory of the `pydbg` package to inject.
    pub package_dir: &'a Path,
    pub timeout: Duration,
}

/// What the target reported.
#[derive(Debug, Deserialize)]
pub struct Served {
    /// "listen" or "connect".
    pub mode: String,
    pub host: String,
    pub port: u16,
    /// The process already served DAP (an earlier attach): its engine and address were kept.
    pub reused: bool,
}

#[derive(Deserialize)]
struct Report {
    nonce: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(flatten)]
    served: Option<Served>,
}

/// Injects pydbg into process `pid` and returns once it serves, with where; or why it cannot.
pub fn inject(injection: &Injection) -> Result<Served, String> {
    let pid = injection.pid;
    let target = Target::find(pid)?;
    let process = &target.description;
    let reply =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot open a port for the target's reply: {e}"))?;
    let reply_port = reply.local_addr().map_err(|e| e.to_string())?.port();
    let nonce = nonce()?;
    // One budget for the whole attach, gdb included; the bootstrap gives up at the same moment.
    let deadline = Instant::now() + injection.timeout;
    let text = bootstrap_text(injection, reply_port, &nonce, wall_clock() + injection.timeout.as_secs_f64());
    let scratch = Scratch::new(&nonce)?;
    match target.named_version().filter(|&version| remote_exec::is_remote_exec_version(version)) {
        Some((major, minor)) => {
            if target.exe.as_deref().is_none_or(|exe| remote_exec::version_in_name(&exe.to_string_lossy()).is_none()) {
                return Err(format!(
                    "{process} embeds Python {major}.{minor}: pydbg attaches to 3.{minor} through the process's own \
                     python3.{minor} executable, which this process is not"
                ));
            }
            // Readable by the target, whatever user it runs as; kept until it reports, since its
            // main thread reads it whenever it gets to it.
            let script = scratch.write("bootstrap.py", &text[..text.len() - 1], 0o644)?;
            // /proc/PID/exe, not the path it names: the same binary even if that path is gone or
            // means another file in this mount namespace.
            remote_exec::schedule(Path::new(&format!("/proc/{pid}/exe")), pid, &script, process)?;
            scratch.keep_until_report();
        }
        None => {
            let bootstrap = scratch.write("bootstrap", &text, 0o600)?;
            let commands = scratch.write("commands.gdb", gdb::script(&bootstrap, text.len()).as_bytes(), 0o600)?;
            let outcome = gdb::inject(pid, &commands, deadline.saturating_duration_since(Instant::now()))?;
            match outcome.version {
                Some(version) if !gdb::is_injectable(version) => return Err(unsupported_version(process, version)),
                Some(_) if outcome.pending_call == Some(0) => {}
                _ => return Err(gdb::explain_failure(pid, process, &outcome)),
            }
        }
    }
    tracing::info!(pid, "bootstrap scheduled; waiting for the target's report");
    let report = await_report(&reply, deadline, &nonce).ok_or_else(|| {
        format!(
            "{process} ran no Python code within {:?} of the start of the attach: its main thread must run \
             Python code for pydbg to start (it may be blocked in a system call or in C code, or it may have ended)",
            injection.timeout
        )
    })?;
    scratch.reported();
    match (report.error, report.served) {
        (Some(error), _) => Err(format!("pydbg could not start in {process}: {error}")),
        (None, Some(served)) => Ok(served),
        (None, None) => Err(format!("{process} sent an unreadable report")),
    }
}

/// The process to attach to, as /proc shows it.
struct Target {
    pid: u32,
    /// "process 1234 (/usr/bin/python3.13)", for messages.
    description: String,
    exe: Option<PathBuf>,
}

impl Target {
    /// The process, or why there is none to attach to.
    fn find(pid: u32) -> Result<Target, String> {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        if pid == 0 || !proc_dir.exists() {
            return Err(format!("no process has id {pid}"));
        }
        if pid == std::process::id() {
            return Err("pydbg cannot attach to its own process".into());
        }
        let exe = std::fs::read_link(proc_dir.join("exe")).ok();
        let description = match &exe {
            Some(exe) => format!("process {pid} ({})", exe.display()),
            None => format!("process {pid}"),
        };
        // Only one tracer at a time: gdb would fail with a bare "Operation not permitted".
        if let Some(tracer) = tracer_of(pid) {
            let name = std::fs::read_to_string(format!("/proc/{tracer}/comm")).unwrap_or_default();
            return Err(format!(
                "{description} is already being debugged or traced by process {tracer} ({}): detach that first",
                name.trim()
            ));
        }
        Ok(Target { pid, description, exe })
    }

    /// The version its executable's or libpython's file name gives, if one does.
    fn named_version(&self) -> Option<(u32, u32)> {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", self.pid)).unwrap_or_default();
        remote_exec::version_of_process(self.exe.as_deref(), &maps)
    }
}

/// The `TracerPid` of /proc/PID/status, when it is not 0.
fn tracer_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let tracer: u32 = status.lines().find_map(|line| line.strip_prefix("TracerPid:"))?.trim().parse().ok()?;
    (tracer != 0).then_some(tracer)
}

fn unsupported_version(process: &str, version: u64) -> String {
    let (major, minor) = (version >> 24, (version >> 16) & 0xff);
    let why = if (major, minor) < (3, 12) {
        "pydbg needs Python 3.12 or newer"
    } else {
        "pydbg attaches by process id to Python 3.12 and 3.13 through gdb, and to 3.14 and later through \
         PEP 768 when the interpreter's file name gives its version"
    };
    format!("{process} runs Python {major}.{minor}: {why}")
}

/// The C string that `PyRun_SimpleString` runs: the bootstrap, compiled under a name the engine
/// treats as pydbg's own, in a namespace of its own so that the program's `__main__` is untouched.
fn bootstrap_text(injection: &Injection, reply_port: u16, nonce: &str, deadline: f64) -> Vec<u8> {
    let (mode, host, port) = match &injection.serve {
        Serve::Listen(host, port) => ("listen", host, port),
        Serve::Connect(host, port) => ("connect", host, port),
    };
    let import_root = injection.package_dir.parent().unwrap_or(injection.package_dir);
    let arguments = serde_json::json!({
        "mode": mode, "host": host, "port": port,
        "log_dir": injection.log_dir.map(|d| d.to_string_lossy().into_owned()),
        "import_root": import_root.to_string_lossy(),
        "reply_port": reply_port, "nonce": nonce, "deadline": deadline,
    });
    // A JSON string is also a Python string literal.
    let literal = |text: &str| serde_json::to_string(text).expect("a string serializes");
    let source = format!("{BOOTSTRAP}\nattach(__import__('json').loads({}))\n", literal(&arguments.to_string()));
    let mut text = format!(
        "__import__('builtins').exec(compile({}, '<pydbg attach>', 'exec'), {{'__name__': '<pydbg attach>'}})",
        literal(&source)
    )
    .into_bytes();
    text.push(0);
    text
}

/// Accepts connections until one carries a report with our nonce, or the deadline passes.
fn await_report(listener: &TcpListener, deadline: Instant, nonce: &str) -> Option<Report> {
    listener.set_nonblocking(true).ok()?;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Some(report) = read_report(stream, deadline).filter(|r| r.nonce == nonce) {
                    return Some(report);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                tracing::warn!("accepting the target's report: {e}");
                return None;
            }
        }
    }
    None
}

fn read_report(stream: TcpStream, deadline: Instant) -> Option<Report> {
    stream.set_nonblocking(false).ok()?;
    stream
        .set_read_timeout(Some(deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(100))))
        .ok()?;
    let mut text = String::new();
    stream.take(64 * 1024).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).map_err(|e| tracing::warn!("an unreadable report: {e}")).ok()
}

fn nonce() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn wall_clock() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// A directory of the injection's own, made new with a name no one can guess (the nonce), so
/// that no file in it can have been put there first: mode 0711, so that a target running as
/// another user can read a file in it by name but cannot list it. It goes when the injection is
/// over, unless the target may still read from it (sys.remote_exec's script, after a timeout).
struct Scratch {
    dir: PathBuf,
    keep: Cell<bool>,
}

impl Scratch {
    fn new(nonce: &str) -> Result<Scratch, String> {
        use std::os::unix::fs::DirBuilderExt;
        // gdb reads the path unquoted: a temporary directory with spaces falls back to /tmp.
        let base = std::env::temp_dir();
        let plain = base.to_str().is_some_and(|p| p.chars().all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c)));
        let dir = if plain { base } else { PathBuf::from("/tmp") }.join(format!("pydbg-inject-{nonce}"));
        std::fs::DirBuilder::new()
            .mode(0o711)
            .create(&dir)
            .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
        Ok(Scratch { dir, keep: Cell::new(false) })
    }

    fn write(&self, name: &str, bytes: &[u8], mode: u32) -> Result<PathBuf, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dir.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .and_then(|mut file| file.write_all(bytes))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    fn keep_until_report(&self) {
        self.keep.set(true);
    }

    fn reported(&self) {
        self.keep.set(false);
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep.get() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bootstrap_text_is_one_c_string_that_runs_in_its_own_namespace() {
        let injection = Injection {
            pid: 1,
            serve: Serve::Listen("127.0.0.1".into(), 0),
            log_dir: Some(Path::new("/tmp/it's \"logs\"")),
            package_dir: Path::new("/venv/lib/site-packages/pydbg"),
            timeout: DEFAULT_TIMEOUT,
        };
        let text = bootstrap_text(&injection, 4000, "abc", 12.5);
        assert_eq!(text.iter().filter(|&&b| b == 0).count(), 1);
        assert_eq!(text.last(), Some(&0));
        let text = String::from_utf8(text).unwrap();
        assert!(text.starts_with("__import__('builtins').exec(compile("));
        assert!(text.contains("'<pydbg attach>'"));
        assert!(!text.contains('\n'), "one line: the source is inside a string literal");
    }

    #[test]
    fn versions_are_explained() {
        assert!(unsupported_version("p", 0x030B04F0).contains("needs Python 3.12"));
        assert!(unsupported_version("p", 0x030E00F0).contains("PEP 768"));
        assert_eq!(Target::find(0).err(), Some("no process has id 0".into()));
    }
}
