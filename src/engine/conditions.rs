//! What one breakpoint does when it is reached: its condition, its hit condition and its log
//! message (a logpoint), evaluated on the thread that reached it.
//!
//! Parsing is pure Rust and unit-tested; compiling and evaluating expressions needs the GIL.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use pyo3::prelude::*;

use super::condition_functions::ConditionFunctions;
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

/// An expression compiled once, evaluated in a frame each time it is needed: as a function of
/// the frame's locals where it can be, else against `frame.f_locals`.
pub struct Expression {
    pub source: String,
    code: Py<PyAny>,
    functions: ConditionFunctions,
}

impl Expression {
    pub fn compile(py: Python<'_>, source: &str, filename: &str) -> Result<Self, String> {
        let builtins = py.import("builtins").map_err(|e| e.to_string())?;
        let code = builtins
            .getattr("compile")
            .and_then(|c| c.call1((source.trim(), filename, "eval")))
            .map_err(|e| format!("{}: {}", filename.trim_matches(['<', '>']), describe_error(py, &e)))?;
        let functions = ConditionFunctions::new(&code, source);
        Ok(Expression { source: source.to_owned(), code: code.unbind(), functions })
    }

    pub fn eval<'py>(&self, py: Python<'py>, frame: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        if let Some(result) = self.functions.call(py, frame) {
            return result;
        }
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

    /// The verdict when it needs no Python (no condition, no log message), counting the hit; None
    /// when it does.
    pub fn decide_without_python(&self) -> Option<bool> {
        if self.condition.is_some() || self.log_message.is_some() {
            return None;
        }
        Some(self.counted_hit_matches())
    }

    /// Counts a hit and tells whether the hit condition agrees. With no hit condition, nothing is
    /// counted: only a hit condition reads the count, and the count is an atomic add on every hit.
    fn counted_hit_matches(&self) -> bool {
        self.hit_condition.is_none_or(|h| h.matches(self.hits.fetch_add(1, Ordering::Relaxed) + 1))
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
        if !self.counted_hit_matches() {
            return (Verdict::Ignore, error);
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
}
