//! debugpy's launch and attach attributes that pydbg does not honour. A configuration moved over
//! from debugpy may carry them: each is refused when running without it would mislead, and
//! otherwise ignored with a warning in the debug console. None is ignored silently.

use serde_json::{Map, Value};

/// Attributes that are ignored, with why, when they ask for something (`true`, a non-empty list,
/// an object that enables it).
const IGNORED: &[(&str, &str)] = &[
    ("autoReload", "pydbg does not reload changed modules; restart the session (Ctrl+Shift+F5) instead"),
    ("django", "Django templates cannot be debugged; breakpoints in Python code work as usual"),
    ("jinja", "Jinja templates cannot be debugged; breakpoints in Python code work as usual"),
    ("pyramid", "Pyramid templates cannot be debugged; breakpoints in Python code work as usual"),
    ("gevent", "pydbg does not follow gevent's greenlets: a step may stop in gevent's own code"),
    ("breakOnSystemExit", "pydbg stops on a SystemExit with a non-zero code, as uncaught, and never on exit code 0"),
    (
        "breakOnSystemExitZero",
        "pydbg stops on a SystemExit with a non-zero code, as uncaught, and never on exit code 0",
    ),
    ("purpose", "pydbg runs every configuration the same way, whatever its purpose"),
    ("logToFile", "pydbg writes its log with --log-dir or PYDBG_LOG (docs/headless.md)"),
    ("debugOptions", "debugpy's old option list; use the attributes of the same meaning (docs/vscode.md)"),
];

/// Attributes refused when they ask for something, with why.
const REFUSED: &[(&str, &str)] = &[(
    "sudo",
    "pydbg does not start programs with sudo; run the editor's debug adapter as that user, or \
     start `sudo pydbg --listen 5678 app.py` and attach",
)];

fn asks_for_something(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::String(text) => !text.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(fields) => fields.get("enable") != Some(&Value::Bool(false)),
        _ => true,
    }
}

/// The warnings for the ignored attributes `arguments` asks for, or why it is refused.
pub fn check(arguments: &Map<String, Value>) -> Result<Vec<String>, String> {
    for (name, why) in REFUSED {
        if arguments.get(*name).is_some_and(asks_for_something) {
            return Err(format!("\"{name}\" is not supported: {why}"));
        }
    }
    Ok(IGNORED
        .iter()
        .filter(|(name, _)| arguments.get(*name).is_some_and(asks_for_something))
        .map(|(name, why)| format!("pydbg: ignoring \"{name}\": {why}\n"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_json(value: Value) -> Result<Vec<String>, String> {
        check(value.as_object().expect("an object"))
    }

    #[test]
    fn asked_for_attributes_warn_and_sudo_is_refused() {
        let warnings = check_json(json!({"django": true, "autoReload": {"enable": true}, "purpose": ["debug-test"]}))
            .expect("not refused");
        assert_eq!(warnings.len(), 3);
        assert!(warnings[0].contains("\"autoReload\""));
        assert!(check_json(json!({"sudo": true})).unwrap_err().contains("\"sudo\" is not supported"));
    }

    #[test]
    fn attributes_that_ask_for_nothing_are_quiet() {
        let quiet = json!({"django": false, "autoReload": {"enable": false}, "purpose": [], "sudo": false});
        assert_eq!(check_json(quiet), Ok(Vec::new()));
    }
}
