//! The interpreter a launch runs: checked before anything starts, and given pydbg to import.
//!
//! pydbg need not be installed in the interpreter being debugged. The adapter puts its own package
//! on `PYTHONPATH`, as debugpy does, through a directory that holds nothing but a link named
//! `pydbg`. So only pydbg becomes importable, not the rest of the site-packages the adapter was
//! installed in (which may belong to another Python version).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// How long the interpreter gets to report its version.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// Marks the check's answer among anything else the interpreter prints at start-up.
const MARKER: &str = "PYDBG-CHECK ";

/// Runs on any Python, old ones included, so no f-strings.
const CHECK_SCRIPT: &str = r#"
import json, sys
info = {"version": "%d.%d.%d" % tuple(sys.version_info[:3]), "executable": sys.executable}
if sys.version_info >= (3, 12):
    try:
        import pydbg._core
        info["pydbg"] = pydbg.__file__
    except BaseException as e:
        info["error"] = "%s: %s" % (type(e).__name__, e)
print("PYDBG-CHECK " + json.dumps(info))
"#;

#[derive(Debug, Deserialize)]
struct Report {
    version: String,
    #[serde(default)]
    executable: String,
    #[serde(default)]
    pydbg: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Checks that `python` (the interpreter and its arguments) is 3.12+ and imports pydbg with the
/// environment the program will get. The error says what to do.
pub async fn check(python: &[String], env: &[(OsString, OsString)], cwd: &Path) -> Result<(), String> {
    let shown = python.join(" ");
    let argv: Vec<String> = python.iter().cloned().chain(["-c".into(), CHECK_SCRIPT.into()]).collect();
    let child = crate::process::piped_command(&argv, cwd, env).kill_on_drop(true).spawn().map_err(|e| {
        format!(
            "cannot start the Python interpreter \"{shown}\": {e}. \
             Set \"python\" in the launch configuration to a Python 3.12 or newer."
        )
    })?;
    let output = match tokio::time::timeout(CHECK_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => return Err(format!("cannot run the Python interpreter \"{shown}\": {e}")),
        Err(_) => return Err(format!("the Python interpreter \"{shown}\" did not answer within {CHECK_TIMEOUT:?}")),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = stdout
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(MARKER))
        .and_then(|json| serde_json::from_str::<Report>(json).ok());
    let Some(report) = report else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let detail = stderr.trim().lines().last().unwrap_or("");
        return Err(format!(
            "\"{shown}\" did not run as a Python interpreter ({}){}{detail}. \
             Set \"python\" in the launch configuration to a Python 3.12 or newer.",
            output.status,
            if detail.is_empty() { "" } else { ": " },
        ));
    };
    tracing::info!(?report, "interpreter");
    if !version_supported(&report.version) {
        return Err(format!(
            "pydbg needs Python 3.12 or newer, but \"{shown}\" is Python {} ({}). \
             Set \"python\" in the launch configuration to a Python 3.12+ interpreter.",
            report.version, report.executable
        ));
    }
    match (report.pydbg, report.error) {
        (Some(_), _) => Ok(()),
        (None, error) => Err(format!(
            "pydbg cannot be imported into \"{shown}\" (Python {}): {}. Install pydbg into that interpreter \
             (pip install pydbg), or check that \"pythonArgs\" has no -I or -E (they make Python ignore PYTHONPATH, \
             through which the adapter provides pydbg).",
            report.version,
            error.unwrap_or_else(|| "no error was reported".into())
        )),
    }
}

fn version_supported(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (3, 12)
}

/// A directory to put on `PYTHONPATH` so that `import pydbg` finds `package`, and nothing else.
/// It lives in the user's runtime or cache directory and is reused across sessions. When no such
/// directory can be written, the package's parent is used instead.
pub fn import_root(package: &Path) -> PathBuf {
    match linked_root(package) {
        Ok(root) => root,
        Err(e) => {
            tracing::warn!("cannot make a directory that holds only pydbg ({e}); using the package's parent");
            package.parent().map(Path::to_path_buf).unwrap_or_else(|| package.to_path_buf())
        }
    }
}

fn linked_root(package: &Path) -> std::io::Result<PathBuf> {
    let var = |name| std::env::var_os(name).map(PathBuf::from).filter(|p| p.is_absolute());
    let base = var("XDG_RUNTIME_DIR")
        .or_else(|| var("XDG_CACHE_HOME"))
        .or_else(|| var("HOME").map(|home| home.join(".cache")))
        .ok_or_else(|| std::io::Error::other("no XDG_RUNTIME_DIR, XDG_CACHE_HOME or HOME"))?;
    let root = base.join("pydbg").join(format!("path-{:016x}", fnv1a(package.as_os_str().as_encoded_bytes())));
    let link = root.join("pydbg");
    if std::fs::read_link(&link).is_ok_and(|target| target == package) {
        return Ok(root);
    }
    std::fs::create_dir_all(&root)?;
    // Made under another name and renamed over, so that concurrent adapters never see a half-made link.
    let temporary = root.join(format!(".pydbg-{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    symlink(package, &temporary)?;
    std::fs::rename(&temporary, &link)?;
    Ok(root)
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(windows)]
fn symlink(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::windows::fs::symlink_dir(target, link)
}

/// A stable hash (std's hashers may change between Rust releases; these names persist on disk).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |hash, byte| (hash ^ *byte as u64).wrapping_mul(0x100000001b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(version_supported("3.12.1"));
        assert!(version_supported("3.13.0"));
        assert!(version_supported("4.0.0"));
        assert!(!version_supported("3.11.7"));
        assert!(!version_supported("2.7.18"));
        assert!(!version_supported("garbage"));
    }

    #[test]
    fn import_root_holds_only_a_link_to_the_package() {
        let package = std::env::temp_dir().join(format!("pydbg-adapter-test-{}-pkg/pydbg", std::process::id()));
        std::fs::create_dir_all(&package).unwrap();
        std::fs::write(package.join("__init__.py"), "").unwrap();
        let root = import_root(&package);
        assert_eq!(std::fs::read_link(root.join("pydbg")).unwrap(), package);
        let names: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["pydbg"]);
        assert_eq!(import_root(&package), root, "reused");
    }
}
