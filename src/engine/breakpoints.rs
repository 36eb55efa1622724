//! Breakpoint definitions: line resolution, conditions, hit conditions and logpoints.
//!
//! Parsing is pure Rust and unit-tested; compiling and evaluating expressions needs the GIL and
//! happens on the thread that hit the breakpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::files::canonical_key;
use super::{Engine, State};
use crate::python_errors::describe_error;

/// When a breakpoint that is hit for the n-th time counts, as in `5`, `==5`, `>=5`, `%5`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HitCondition {
    Eq(u64),
    Ge(u64),
    Gt(u64),
    Le(u64),
    Lt(u64),
    EveryNth(u64),
}

impl HitCondition {
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (ctor, rest): (fn(u64) -> HitCondition, &str) = if let Some(r) = t.strip_prefix("==") {
            (HitCondition::Eq, r)
        } else if let Some(r) = t.strip_prefix(">=") {
            (HitCondition::Ge, r)
        } else if let Some(r) = t.strip_prefix("<=") {
            (HitCondition::Le, r)
        } else if let Some(r) = t.strip_prefix('>') {
            (HitCondition::Gt, r)
        } else if let Some(r) = t.strip_prefix('<') {
            (HitCondition::Lt, r)
        } else if let Some(r) = t.strip_prefix('%') {
            (HitCondition::EveryNth, r)
        } else {
            (HitCondition::Eq, t)
        };
        let n: u64 = rest.trim().parse().map_err(|_| {
            format!("invalid hit condition {text:?}: use N, ==N, >N, >=N, <N, <=N or %N with a whole number N")
        })?;
        if matches!(ctor(n), HitCondition::EveryNth(0)) {
            return Err(format!("invalid hit condition {text:?}: %0 never matches"));
        }
        Ok(ctor(n))
    }

    pub fn matches(self, hits: u64) -> bool {
        match self {
            HitCondition::Eq(n) => hits == n,
            HitCondition::Ge(n) => hits >= n,
            HitCondition::Gt(n) => hits > n,
            HitCondition::Le(n) => hits <= n,
            HitCondition::Lt(n) => hits < n,
            HitCondition::EveryNth(n) => hits.is_multiple_of(n),
        }
    }
}

/// A piece of a logpoint message: literal text or an `{expression}`.
#[derive(Debug, PartialEq)]
pub enum LogPart<E> {
    Text(String),
    Expr(E),
}

/// Splits `"x is {x}, {{literal}}"` into text and expression parts.
pub fn parse_log_message(message: &str) -> Result<Vec<LogPart<String>>, String> {
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                text.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                text.push('}');
            }
            '{' => {
                let mut depth = 1;
                let mut expr = String::new();
                for c in chars.by_ref() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        break;
                    }
                    expr.push(c);
                }
                if depth != 0 {
                    return Err(format!("unclosed '{{' in log message {message:?}"));
                }
                if !text.is_empty() {
                    parts.push(LogPart::Text(std::mem::take(&mut text)));
                }
                parts.push(LogPart::Expr(expr));
            }
            _ => text.push(c),
        }
    }
    if !text.is_empty() {
        parts.push(LogPart::Text(text));
    }
    Ok(parts)
}

/// An expression compiled once, evaluated in a frame each time it is needed.
pub struct Expression {
    pub source: String,
    code: Py<PyAny>,
}

impl Expression {
    pub fn compile(py: Python<'_>, source: &str, filename: &str) -> Result<Self, String> {
        let builtins = py.import("builtins").map_err(|e| e.to_string())?;
        let code = builtins
            .getattr("compile")
            .and_then(|c| c.call1((source.trim(), filename, "eval")))
            .map_err(|e| format!("{}: {}", filename.trim_matches(['<', '>']), describe_error(py, &e)))?;
        Ok(Expression { source: source.to_owned(), code: code.unbind() })
    }

    pub fn eval<'py>(&self, py: Python<'py>, frame: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let globals = frame.getattr(pyo3::intern!(py, "f_globals"))?;
        let locals = frame.getattr(pyo3::intern!(py, "f_locals"))?;
        // SAFETY: the GIL is held, `code` is a code object and `globals` a dict (f_globals always
        // is); PyEval_EvalCode returns a new reference or NULL with an exception set.
        unsafe {
            let result = pyo3::ffi::PyEval_EvalCode(self.code.as_ptr(), globals.as_ptr(), locals.as_ptr());
            Bound::from_owned_ptr_or_err(py, result)
        }
    }
}

/// A line or function breakpoint with its per-hit logic.
pub struct Breakpoint {
    pub id: i64,
    pub line: i64,
    pub condition: Option<Expression>,
    pub hit_condition: Option<HitCondition>,
    pub log_message: Option<Vec<LogPart<Expression>>>,
    hits: AtomicU64,
    condition_error_reported: AtomicBool,
}

/// What a breakpoint decides when its line is reached.
pub enum Verdict {
    Ignore,
    Stop,
    Log(String),
}

impl Breakpoint {
    pub fn new(
        id: i64,
        line: i64,
        condition: Option<Expression>,
        hit_condition: Option<HitCondition>,
        log_message: Option<Vec<LogPart<Expression>>>,
    ) -> Self {
        Breakpoint {
            id,
            line,
            condition,
            hit_condition,
            log_message,
            hits: AtomicU64::new(0),
            condition_error_reported: AtomicBool::new(false),
        }
    }

    /// Runs the condition, the hit count and the log message in `frame`. A condition that raises
    /// counts as true; its error is returned once, for the caller to report.
    pub fn decide(&self, py: Python<'_>, frame: &Bound<'_, PyAny>) -> (Verdict, Option<String>) {
        let mut error = None;
        if let Some(condition) = &self.condition {
            match condition.eval(py, frame).and_then(|v| v.is_truthy()) {
                Ok(false) => return (Verdict::Ignore, None),
                Ok(true) => {}
                Err(e) => {
                    if !self.condition_error_reported.swap(true, Ordering::Relaxed) {
                        error = Some(format!(
                            "pydbg: breakpoint condition {:?} raised {}; treating it as true\n",
                            condition.source,
                            describe_error(py, &e)
                        ));
                    }
                }
            }
        }
        let hits = self.hits.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(hit_condition) = self.hit_condition {
            if !hit_condition.matches(hits) {
                return (Verdict::Ignore, error);
            }
        }
        match &self.log_message {
            None => (Verdict::Stop, error),
            Some(parts) => (Verdict::Log(render_log(py, frame, parts)), error),
        }
    }
}

fn render_log(py: Python<'_>, frame: &Bound<'_, PyAny>, parts: &[LogPart<Expression>]) -> String {
    let mut out = String::new();
    for part in parts {
        match part {
            LogPart::Text(t) => out.push_str(t),
            LogPart::Expr(e) => match e.eval(py, frame).and_then(|v| v.str().map(|s| s.to_string())) {
                Ok(s) => out.push_str(&s),
                Err(err) => out.push_str(&format!("<{} raised {}>", e.source, describe_error(py, &err))),
            },
        }
    }
    out.push('\n');
    out
}

/// Compiles each part of a parsed log message.
pub fn compile_log_message(py: Python<'_>, message: &str) -> Result<Vec<LogPart<Expression>>, String> {
    parse_log_message(message)?
        .into_iter()
        .map(|p| match p {
            LogPart::Text(t) => Ok(LogPart::Text(t)),
            LogPart::Expr(e) => Expression::compile(py, &e, "<log message>").map(LogPart::Expr),
        })
        .collect()
}

/// Every line of `path` that holds code, found by compiling the file and walking `co_lines()` of
/// each code object in the tree.
pub fn code_lines(py: Python<'_>, path: &str) -> Result<BTreeSet<i64>, String> {
    let source = std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let builtins = py.import("builtins").map_err(|e| e.to_string())?;
    let code = builtins
        .getattr("compile")
        .and_then(|c| c.call1((pyo3::types::PyBytes::new(py, &source), path, "exec", 0, true)))
        .map_err(|e| format!("cannot compile {path}: {}", describe_error(py, &e)))?;
    let mut lines = BTreeSet::new();
    collect_lines(&code, &mut lines).map_err(|e| describe_error(py, &e))?;
    Ok(lines)
}

fn collect_lines(code: &Bound<'_, PyAny>, lines: &mut BTreeSet<i64>) -> PyResult<()> {
    let first_line: i64 = code.getattr("co_firstlineno")?.extract()?;
    let is_function = code.getattr("co_name")?.extract::<String>()? != "<module>";
    for entry in code.call_method0("co_lines")?.try_iter()? {
        let entry = entry?;
        let entry = entry.cast::<PyTuple>()?;
        if let Ok(line) = entry.get_item(2)?.extract::<i64>() {
            // A function's own header line only holds its RESUME, which raises no LINE event.
            if !(is_function && line == first_line) {
                lines.insert(line);
            }
        }
    }
    let code_type = code.get_type();
    for constant in code.getattr("co_consts")?.try_iter()? {
        let constant = constant?;
        if constant.get_type().is(&code_type) {
            collect_lines(&constant, lines)?;
        }
    }
    Ok(())
}

/// The first line at or after `line` that holds code.
pub fn resolve_line(lines: &BTreeSet<i64>, line: i64) -> Option<i64> {
    lines.range(line..).next().copied()
}

// ------------------------------------------------------------ the breakpoint table

/// When a breakpoint stops, and what it logs instead of stopping, as the user wrote them.
#[derive(Debug, Default, Clone)]
pub struct Behaviour {
    pub condition: Option<String>,
    pub hit_condition: Option<String>,
    pub log_message: Option<String>,
}

/// A breakpoint asked for at a line.
#[derive(Debug, Clone)]
pub struct LineRequest {
    pub line: i64,
    pub behaviour: Behaviour,
}

/// A breakpoint asked for on a function, by qualified name.
#[derive(Debug, Clone)]
pub struct FunctionRequest {
    pub name: String,
    pub behaviour: Behaviour,
}

/// How one requested breakpoint was placed: the line it binds to (for line breakpoints: the
/// requested line when it could not be placed), or why it could not be.
pub struct Placement {
    pub id: i64,
    pub line: Option<i64>,
    pub refusal: Option<String>,
}

impl Engine {
    pub(super) fn next_breakpoint_id(&self) -> i64 {
        let mut state = self.state.lock();
        state.next_breakpoint_id += 1;
        state.next_breakpoint_id
    }

    /// Replaces the breakpoints of one file and reports how each one resolved.
    pub fn set_breakpoints(&self, py: Python<'_>, path: &str, requested: &[LineRequest]) -> Vec<Placement> {
        let key = canonical_key(path);
        let lines = if requested.is_empty() { Ok(Default::default()) } else { code_lines(py, &key) };
        let mut table = BTreeMap::new();
        let mut answers = Vec::new();
        for request in requested {
            let id = self.next_breakpoint_id();
            let resolved = match &lines {
                Err(message) => Err(message.clone()),
                Ok(lines) => resolve_line(lines, request.line)
                    .ok_or_else(|| format!("line {} is past the last line with code", request.line))
                    .and_then(|line| self.compile_breakpoint(py, id, line, &request.behaviour)),
            };
            answers.push(match resolved {
                Ok(bp) => {
                    let line = bp.line;
                    table.entry(line).or_insert_with(|| Arc::new(bp));
                    Placement { id, line: Some(line), refusal: None }
                }
                Err(message) => Placement { id, line: Some(request.line), refusal: Some(message) },
            });
        }
        let stale_code = {
            let mut state = self.state.lock();
            if table.is_empty() {
                state.line_breakpoints.remove(&key);
            } else {
                state.line_breakpoints.insert(key.clone(), table);
            }
            // Code of this file stops being watched; running frames are found again below.
            let State { breakpoint_code, files, .. } = &mut *state;
            let stale: Vec<usize> = breakpoint_code
                .iter()
                .filter(|(_, code)| {
                    code.bind(py)
                        .getattr("co_filename")
                        .and_then(|f| f.extract::<String>())
                        .is_ok_and(|f| files.info(&f).key == key)
                })
                .map(|(address, _)| *address)
                .collect();
            let removed: Vec<(usize, Py<PyAny>)> =
                stale.into_iter().filter_map(|a| breakpoint_code.remove(&a).map(|c| (a, c))).collect();
            removed
                .into_iter()
                .map(|(address, code)| {
                    let events = self.local_events_for(&state, address);
                    (code, events)
                })
                .collect::<Vec<_>>()
        };
        for (code, events) in &stale_code {
            self.set_local_events(py, code.bind(py), *events);
        }
        if !requested.is_empty() {
            self.watch_running_frames(py, &key);
        }
        self.refresh_events(py);
        answers
    }

    pub(super) fn compile_breakpoint(
        &self,
        py: Python<'_>,
        id: i64,
        line: i64,
        behaviour: &Behaviour,
    ) -> Result<Breakpoint, String> {
        fn non_empty(s: &Option<String>) -> Option<&str> {
            s.as_deref().filter(|s| !s.trim().is_empty())
        }
        let condition = non_empty(&behaviour.condition)
            .map(|c| Expression::compile(py, c, "<breakpoint condition>"))
            .transpose()?;
        let hit_condition = non_empty(&behaviour.hit_condition).map(HitCondition::parse).transpose()?;
        let log_message = non_empty(&behaviour.log_message).map(|m| compile_log_message(py, m)).transpose()?;
        Ok(Breakpoint::new(id, line, condition, hit_condition, log_message))
    }

    /// Turns LINE on for frames of `key` that are already running on any thread, such as a
    /// module body or a long loop that will never see PY_START again.
    pub(super) fn watch_running_frames(&self, py: Python<'_>, key: &Arc<str>) {
        let result: PyResult<()> = (|| {
            let frames = py.import("sys")?.call_method0("_current_frames")?;
            for frame in frames.cast::<PyDict>()?.values() {
                let mut frame = frame;
                while !frame.is_none() {
                    let code = frame.getattr("f_code")?;
                    let filename: String = code.getattr("co_filename")?.extract()?;
                    if self.state.lock().files.info(&filename).key == *key {
                        self.watch_code_for_breakpoints(py, &code);
                    }
                    frame = frame.getattr("f_back")?;
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            tracing::error!("watching running frames: {e}");
        }
    }

    /// Replaces the function breakpoints. They bind by qualified name when a function starts.
    pub fn set_function_breakpoints(&self, py: Python<'_>, requested: &[FunctionRequest]) -> Vec<Placement> {
        let mut table = Vec::new();
        let mut answers = Vec::new();
        for request in requested {
            let id = self.next_breakpoint_id();
            let name = request.name.trim().to_owned();
            let compiled = if name.is_empty() {
                Err("a function breakpoint needs a name".to_owned())
            } else {
                self.compile_breakpoint(py, id, 0, &request.behaviour)
            };
            answers.push(match compiled {
                Ok(bp) => {
                    table.push((name, Arc::new(bp)));
                    Placement { id, line: None, refusal: None }
                }
                Err(message) => Placement { id, line: None, refusal: Some(message) },
            });
        }
        self.state.lock().function_breakpoints = table;
        self.refresh_events(py);
        answers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_conditions_parse_and_match() {
        assert_eq!(HitCondition::parse("5"), Ok(HitCondition::Eq(5)));
        assert_eq!(HitCondition::parse(" == 5"), Ok(HitCondition::Eq(5)));
        assert_eq!(HitCondition::parse(">=3"), Ok(HitCondition::Ge(3)));
        assert_eq!(HitCondition::parse("%2"), Ok(HitCondition::EveryNth(2)));
        assert!(HitCondition::parse("%0").is_err());
        assert!(HitCondition::parse("five").is_err());
        assert!(HitCondition::parse(">= x").is_err());
        let hits: Vec<u64> = (1..=6).filter(|&n| HitCondition::EveryNth(3).matches(n)).collect();
        assert_eq!(hits, vec![3, 6]);
        assert!(HitCondition::Gt(2).matches(3) && !HitCondition::Gt(2).matches(2));
        assert!(HitCondition::Lt(2).matches(1) && !HitCondition::Lt(2).matches(2));
        assert!(HitCondition::Le(2).matches(2) && !HitCondition::Le(2).matches(3));
    }

    #[test]
    fn log_messages_split_into_parts() {
        assert_eq!(
            parse_log_message("x={x} {{y}} d={ {'a': 1}['a'] }").unwrap(),
            vec![
                LogPart::Text("x=".into()),
                LogPart::Expr("x".into()),
                LogPart::Text(" {y} d=".into()),
                LogPart::Expr(" {'a': 1}['a'] ".into()),
            ]
        );
        assert!(parse_log_message("oops {x").is_err());
    }

    #[test]
    fn lines_resolve_forward() {
        let lines: BTreeSet<i64> = [2, 3, 7].into_iter().collect();
        assert_eq!(resolve_line(&lines, 1), Some(2));
        assert_eq!(resolve_line(&lines, 3), Some(3));
        assert_eq!(resolve_line(&lines, 4), Some(7));
        assert_eq!(resolve_line(&lines, 8), None);
    }
}
