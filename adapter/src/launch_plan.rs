//! The launch configuration: the client's `launch` arguments, checked and turned into a plan
//! (interpreter, target, arguments, working directory, environment changes, console).
//!
//! Everything here is pure: it reads the file system (does the program exist? the envFile) but
//! starts nothing, so every rule is unit-tested. The attributes are debugpy's, so an existing
//! launch.json or nvim-dap-python configuration moves over by changing its `type`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::shell_syntax::{parse_env_file, split_shell_words};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Console {
    Internal,
    Integrated,
    External,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An absolute path to a script, a directory or a zip file.
    Program(PathBuf),
    Module(String),
    Code(String),
}

/// Changes to an environment, in order: `Some` sets a variable, `None` removes it.
pub type EnvChanges = BTreeMap<String, Option<String>>;

#[derive(Debug)]
pub struct LaunchPlan {
    pub target: Target,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// The interpreter, then the arguments that come before `-m pydbg`: the rest of a `python`
    /// list, then `pythonArgs`.
    pub python: Vec<String>,
    /// `envFile` then `env`, applied to the adapter's own environment.
    pub env: EnvChanges,
    pub console: Console,
    pub redirect_output: Option<bool>,
    /// Debug the program's Python child processes too (`subProcess`, default true).
    pub sub_process: bool,
    /// What the in-process core reads from `attach` (justMyCode, rules, showReturnValue, ...): the
    /// launch arguments without the ones that only say how to start the process.
    pub attach_arguments: Value,
    /// How the program is named to the user: the script's file name, `-m module` or `-c`.
    pub name: String,
}

/// Looks a variable up in the adapter's environment.
pub type Lookup = Box<dyn Fn(&str) -> Option<String>>;

/// What parsing needs from outside the arguments.
pub struct Context {
    /// The adapter's working directory, for relative paths when no `cwd` is given.
    pub cwd: PathBuf,
    /// The interpreter used when the configuration names none.
    pub default_python: String,
    /// Looks a variable up in the adapter's environment (for `${NAME}` in an envFile).
    pub lookup: Lookup,
}

/// The launch arguments that only say how to start the process; the rest goes to the core.
const PROCESS_KEYS: &[&str] = &[
    "program",
    "module",
    "code",
    "args",
    "cwd",
    "env",
    "envFile",
    "python",
    "pythonPath",
    "pythonArgs",
    "console",
    "subProcess",
];

pub fn parse(arguments: &Value, context: &Context) -> Result<LaunchPlan, String> {
    let empty = Map::new();
    let args = arguments.as_object().unwrap_or(&empty);
    let given_cwd = optional_string(args, "cwd")?.map(|c| absolute(&context.cwd, Path::new(&c)));

    let targets: Vec<&str> =
        ["program", "module", "code"].into_iter().filter(|k| args.get(*k).is_some_and(|v| !v.is_null())).collect();
    let target = match targets.as_slice() {
        ["program"] => {
            let program = required_string(args, "program")?;
            let path = absolute(given_cwd.as_deref().unwrap_or(&context.cwd), Path::new(&program));
            if !path.exists() {
                return Err(format!("the program {} does not exist", path.display()));
            }
            Target::Program(path)
        }
        ["module"] => Target::Module(required_string(args, "module")?),
        ["code"] => Target::Code(match &args["code"] {
            Value::String(code) => code.clone(),
            Value::Array(_) => string_list(args, "code")?.join("\n"),
            _ => return Err("\"code\" must be a string or a list of lines".into()),
        }),
        [] => return Err("say what to run: \"program\" (a file), \"module\" or \"code\"".into()),
        several => {
            return Err(format!("give only one of \"program\", \"module\" and \"code\", not {}", several.join(", ")))
        }
    };

    let cwd = match (given_cwd, &target) {
        (Some(cwd), _) => cwd,
        (None, Target::Program(path)) => {
            if path.is_dir() {
                path.clone()
            } else {
                path.parent().map(Path::to_path_buf).unwrap_or_else(|| context.cwd.clone())
            }
        }
        (None, _) => context.cwd.clone(),
    };
    if !cwd.is_dir() {
        return Err(format!("the working directory \"cwd\" {} is not a directory", cwd.display()));
    }

    let args_list = match args.get("args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(line)) => split_shell_words(line).map_err(|e| format!("\"args\": {e}"))?,
        Some(Value::Array(_)) => string_list(args, "args")?,
        Some(_) => return Err("\"args\" must be a list of strings, or one string to split like a shell".into()),
    };

    let mut python = match (args.get("python"), args.get("pythonPath")) {
        (Some(v), _) if !v.is_null() => interpreter(v, "python")?,
        (_, Some(v)) if !v.is_null() => interpreter(v, "pythonPath")?,
        _ => vec![context.default_python.clone()],
    };
    python.extend(match args.get("pythonArgs") {
        None | Some(Value::Null) => Vec::new(),
        Some(_) => string_list(args, "pythonArgs")?,
    });

    let mut env = EnvChanges::new();
    if let Some(file) = optional_string(args, "envFile")? {
        let path = absolute(&cwd, Path::new(&file));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read the envFile {}: {e}", path.display()))?;
        let entries =
            parse_env_file(&text, &*context.lookup).map_err(|e| format!("envFile {}: {e}", path.display()))?;
        env.extend(entries.into_iter().map(|(name, value)| (name, Some(value))));
    }
    match args.get("env") {
        None | Some(Value::Null) => {}
        Some(Value::Object(vars)) => {
            for (name, value) in vars {
                let value = match value {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    Value::Bool(b) => Some(b.to_string()),
                    _ => return Err(format!("\"env\": the value of {name} must be a string, or null to remove it")),
                };
                env.insert(name.clone(), value);
            }
        }
        Some(_) => return Err("\"env\" must be an object of NAME: value (null removes a variable)".into()),
    }

    let console = match optional_string(args, "console")?.as_deref() {
        None | Some("internalConsole") => Console::Internal,
        Some("integratedTerminal") => Console::Integrated,
        Some("externalTerminal") => Console::External,
        Some(other) => {
            return Err(format!(
                "unknown \"console\" {other:?}: use \"internalConsole\", \"integratedTerminal\" or \"externalTerminal\""
            ))
        }
    };

    let name = match &target {
        Target::Program(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        Target::Module(module) => format!("-m {module}"),
        Target::Code(_) => "-c".into(),
    };
    optional_bool(args, "stopOnEntry")?; // passed on to the core in the attach
    let mut attach_arguments = args.clone();
    for key in PROCESS_KEYS {
        attach_arguments.remove(*key);
    }
    Ok(LaunchPlan {
        target,
        args: args_list,
        cwd,
        python,
        env,
        console,
        redirect_output: optional_bool(args, "redirectOutput")?,
        sub_process: optional_bool(args, "subProcess")?.unwrap_or(true),
        attach_arguments: Value::Object(attach_arguments),
        name,
    })
}

impl LaunchPlan {
    /// `python [args] -m pydbg --connect 127.0.0.1:PORT --wait-for-client [--log-dir D] TARGET ARGS`.
    pub fn debuggee_command(&self, port: u16, log_dir: Option<&Path>) -> Vec<String> {
        let mut command = self.python.clone();
        command.extend(["-m", "pydbg", "--connect"].map(String::from));
        command.push(format!("127.0.0.1:{port}"));
        command.push("--wait-for-client".into());
        if let Some(dir) = log_dir {
            command.push("--log-dir".into());
            command.push(dir.to_string_lossy().into_owned());
        }
        match &self.target {
            Target::Program(path) => command.push(path.to_string_lossy().into_owned()),
            Target::Module(module) => command.extend(["-m".to_owned(), module.clone()]),
            Target::Code(code) => command.extend(["-c".to_owned(), code.clone()]),
        }
        command.extend(self.args.iter().cloned());
        command
    }
}

fn absolute(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

fn interpreter(value: &Value, key: &str) -> Result<Vec<String>, String> {
    let list = match value {
        Value::String(path) => vec![path.clone()],
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(format!("\"{key}\" must be a path, or a list of strings: the interpreter and its arguments"))?,
        _ => return Err(format!("\"{key}\" must be a path, or a list: the interpreter and its arguments")),
    };
    match list.first() {
        Some(first) if !first.is_empty() => Ok(list),
        _ => Err(format!("\"{key}\" is empty: name a Python 3.12+ interpreter")),
    }
}

fn optional_string(args: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("\"{key}\" must be a string")),
    }
}

fn required_string(args: &Map<String, Value>, key: &str) -> Result<String, String> {
    match optional_string(args, key)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(format!("\"{key}\" is empty")),
    }
}

fn optional_bool(args: &Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    match args.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(format!("\"{key}\" must be true or false")),
    }
}

/// A list of strings; numbers are accepted and written out, as a shell would pass them.
fn string_list(args: &Map<String, Value>, key: &str) -> Result<Vec<String>, String> {
    let items = args[key].as_array().ok_or(format!("\"{key}\" must be a list of strings"))?;
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(format!("\"{key}\" must be a list of strings; found {other}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// adapter/attributes.json is what editors offer (the VS Code extension's schema is made
    /// from it): exactly what the adapter and the program's pydbg read, no more, no less.
    #[test]
    fn attributes_json_lists_exactly_what_is_read() {
        use std::collections::BTreeSet;
        let attributes: Value = serde_json::from_str(include_str!("../attributes.json")).unwrap();
        let listed = |request: &str| -> BTreeSet<&str> {
            attributes[request]["properties"].as_object().unwrap().keys().map(String::as_str).collect()
        };
        let core = pydbg_protocol::types::ATTACH_ARGUMENT_NAMES.iter().copied();
        let launch: BTreeSet<&str> = PROCESS_KEYS.iter().copied().chain(core.clone()).collect();
        assert_eq!(listed("launch"), launch);
        // stopOnEntry only works while a program waits at its start, which an attach never sees;
        // the access token only matters to a program that listens.
        let attach: BTreeSet<&str> = crate::attach::ENDPOINT_KEYS
            .iter()
            .copied()
            .chain(core)
            .chain([pydbg_protocol::secrets::ACCESS_TOKEN_KEY])
            .filter(|name| *name != "stopOnEntry")
            .collect();
        assert_eq!(listed("attach"), attach);
    }
    use serde_json::json;

    fn context(dir: &Path) -> Context {
        Context {
            cwd: dir.to_path_buf(),
            default_python: "python3".into(),
            lookup: Box::new(|name| (name == "HOME").then(|| "/home/me".to_owned())),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("pydbg-adapter-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn program_defaults_and_command() {
        let dir = scratch("program");
        std::fs::write(dir.join("app.py"), "pass\n").unwrap();
        let plan = parse(&json!({"program": "app.py", "args": "one 'two three'", "justMyCode": false}), &context(&dir))
            .unwrap();
        assert_eq!(plan.target, Target::Program(dir.join("app.py")));
        assert_eq!(plan.cwd, dir, "cwd defaults to the program's folder");
        assert_eq!(plan.args, ["one", "two three"]);
        assert_eq!(plan.console, Console::Internal);
        assert_eq!(plan.attach_arguments, json!({"justMyCode": false}));
        let command = plan.debuggee_command(4711, None);
        let app = dir.join("app.py").to_string_lossy().into_owned();
        assert_eq!(
            command,
            ["python3", "-m", "pydbg", "--connect", "127.0.0.1:4711", "--wait-for-client", &app, "one", "two three"]
        );
    }

    #[test]
    fn interpreter_forms() {
        let dir = scratch("python");
        let c = context(&dir);
        let plan =
            parse(&json!({"code": ["a = 1", "print(a)"], "python": ["/py", "-X", "dev"], "pythonArgs": ["-B"]}), &c)
                .unwrap();
        assert_eq!(plan.python, ["/py", "-X", "dev", "-B"]);
        assert_eq!(plan.target, Target::Code("a = 1\nprint(a)".into()));
        assert_eq!(plan.cwd, dir, "cwd defaults to the adapter's for code and modules");
        let plan = parse(&json!({"module": "pkg.main", "pythonPath": "/alias"}), &c).unwrap();
        assert_eq!(plan.python, ["/alias"]);
        assert!(parse(&json!({"module": "m", "python": []}), &c).unwrap_err().contains("empty"));
    }

    #[test]
    fn env_and_env_file_merge() {
        let dir = scratch("env");
        std::fs::write(dir.join(".env"), "A=from-file\nB=${HOME}/b\n").unwrap();
        let plan = parse(
            &json!({"module": "m", "envFile": ".env", "env": {"A": "from-env", "GONE": null, "N": 3}}),
            &context(&dir),
        )
        .unwrap();
        let want: EnvChanges = [
            ("A".to_owned(), Some("from-env".to_owned())),
            ("B".to_owned(), Some("/home/me/b".to_owned())),
            ("GONE".to_owned(), None),
            ("N".to_owned(), Some("3".to_owned())),
        ]
        .into();
        assert_eq!(plan.env, want);
        assert!(parse(&json!({"module": "m", "envFile": "missing.env"}), &context(&dir))
            .unwrap_err()
            .contains("envFile"));
    }

    #[test]
    fn bad_configurations_say_what_is_wrong() {
        let dir = scratch("bad");
        let c = context(&dir);
        let error = |args: Value| parse(&args, &c).unwrap_err();
        assert!(error(json!({})).contains("what to run"));
        assert!(error(json!({"module": "a", "code": "b"})).contains("only one"));
        assert!(error(json!({"program": "nope.py"})).contains("does not exist"));
        assert!(error(json!({"module": "m", "console": "tty"})).contains("console"));
        assert!(error(json!({"module": "m", "args": {"a": 1}})).contains("args"));
        assert!(error(json!({"module": "m", "env": {"A": [1]}})).contains("A"));
        assert!(error(json!({"module": "m", "cwd": "no/such/dir"})).contains("cwd"));
        assert!(error(json!({"module": "m", "stopOnEntry": "yes"})).contains("stopOnEntry"));
    }
}
