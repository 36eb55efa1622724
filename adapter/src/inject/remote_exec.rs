//! Injection on CPython 3.14 and later, through PEP 768: the target's own interpreter binary runs
//! `sys.remote_exec(pid, script)`, which writes the script's path into the target and asks its
//! eval loop to run it at the next safe point. No gdb; the target's `PYTHON_DISABLE_REMOTE_DEBUG`
//! (or `-X disable_remote_debug`) is honoured.
//!
//! Not run on this project's machines, which cannot install 3.14: the version detection and the
//! explanations are unit-tested, the rest is written to the PEP and the 3.14 documentation.

use std::path::Path;
use std::process::Command;

/// (major, minor) from the name of the interpreter or of its shared library: `python3.14`,
/// `libpython3.14.so.1.0`, `libpython3.14d.so`. None when neither names a version.
pub fn version_in_name(name: &str) -> Option<(u32, u32)> {
    let file = Path::new(name).file_name()?.to_str()?;
    let rest = file.strip_prefix("lib").unwrap_or(file).strip_prefix("python")?;
    let (major, rest) = rest.split_once('.')?;
    let minor: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// The version the process's executable or mapped libpython names, if any.
pub fn version_of_process(exe: Option<&Path>, maps: &str) -> Option<(u32, u32)> {
    exe.and_then(|exe| version_in_name(&exe.to_string_lossy())).or_else(|| {
        maps.lines()
            .filter_map(|line| line.split_whitespace().nth(5))
            .filter(|path| path.contains("libpython"))
            .find_map(version_in_name)
    })
}

pub fn is_remote_exec_version((major, minor): (u32, u32)) -> bool {
    (major, minor) >= (3, 14)
}

/// Has `interpreter` (the target's own binary, so that the two versions match) call
/// `sys.remote_exec(pid, script)`.
pub fn schedule(interpreter: &Path, pid: u32, script: &Path, process: &str) -> Result<(), String> {
    let output = Command::new(interpreter)
        .args(["-I", "-c", "import sys; sys.remote_exec(int(sys.argv[1]), sys.argv[2])"])
        .arg(pid.to_string())
        .arg(script)
        .output()
        .map_err(|e| format!("cannot run {} to call sys.remote_exec: {e}", interpreter.display()))?;
    if output.status.success() {
        return Ok(());
    }
    let errors = String::from_utf8_lossy(&output.stderr);
    Err(explain(process, errors.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("")))
}

/// sys.remote_exec's exception (the last line of its traceback), in the user's terms.
fn explain(process: &str, last_line: &str) -> String {
    let lower = last_line.to_lowercase();
    if lower.contains("remote debug") && (lower.contains("disabled") || lower.contains("not enabled")) {
        return format!(
            "{process} does not allow remote debugging: it was started with PYTHON_DISABLE_REMOTE_DEBUG set or \
             with -X disable_remote_debug (or built without it). Restart it without that, or under pydbg"
        );
    }
    if last_line.starts_with("PermissionError") {
        return format!(
            "cannot attach to {process}: this user may not read and write its memory ({last_line}). Run pydbg as \
             root, or give it CAP_SYS_PTRACE, or allow tracing with `sysctl kernel.yama.ptrace_scope=0`"
        );
    }
    format!("sys.remote_exec could not reach {process}: {last_line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_interpreters_or_librarys_name() {
        assert_eq!(version_in_name("/usr/bin/python3.14"), Some((3, 14)));
        assert_eq!(version_in_name("/opt/lib/libpython3.14.so.1.0"), Some((3, 14)));
        assert_eq!(version_in_name("libpython3.15d.so"), Some((3, 15)));
        assert_eq!(version_in_name("/usr/bin/python3"), None);
        assert_eq!(version_in_name("/usr/bin/sleep"), None);
        let maps = "7f00-7f01 r-xp 00000000 08:01 12 /opt/py/lib/libpython3.14.so.1.0\n";
        assert_eq!(version_of_process(Some(Path::new("/opt/app/uwsgi")), maps), Some((3, 14)));
        assert_eq!(version_of_process(Some(Path::new("/usr/bin/python3.13")), maps), Some((3, 13)));
        assert!(is_remote_exec_version((3, 14)) && !is_remote_exec_version((3, 13)));
    }

    #[test]
    fn its_errors_are_explained() {
        let disabled = explain("process 9", "RuntimeError: Remote debugging is not enabled in the remote process");
        assert!(disabled.contains("PYTHON_DISABLE_REMOTE_DEBUG"));
        assert!(explain("process 9", "PermissionError: [Errno 1] Operation not permitted").contains("CAP_SYS_PTRACE"));
        assert!(explain("process 9", "OSError: something else").ends_with("OSError: something else"));
    }
}
