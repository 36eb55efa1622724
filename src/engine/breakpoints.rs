//! The breakpoint table: line breakpoints by file (lines resolved with `co_lines()`), column
//! breakpoints inside lines (`columns.rs`), and function breakpoints. What one breakpoint does
//! when reached is `conditions.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::columns::{self, ColumnBreakpoint};
use super::conditions::{compile_log_message, Breakpoint, Expression, HitCondition};
use super::files::canonical_key;
use super::Engine;
use crate::python_errors::describe_error;

/// Every line that holds code in the file at `path` (or in `text`, for code without a file),
/// found by compiling it and walking `co_lines()` of each code object in the tree.
pub fn code_lines(py: Python<'_>, path: &str, text: Option<&str>) -> Result<BTreeSet<i64>, String> {
    let source = match text {
        Some(text) => text.as_bytes().to_vec(),
        None => std::fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?,
    };
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
    /// A column breakpoint: only the part of the line at this (1-based) column.
    pub column: Option<i64>,
    pub behaviour: Behaviour,
}

/// The breakpoints of one file: whole lines, and places inside lines (`columns.rs`).
#[derive(Default)]
pub struct FileBreakpoints {
    pub lines: BTreeMap<i64, Arc<Breakpoint>>,
    pub columns: BTreeMap<i64, Vec<Arc<ColumnBreakpoint>>>,
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
    pub column: Option<i64>,
    pub refusal: Option<String>,
}

impl Engine {
    pub(super) fn next_breakpoint_id(&self) -> i64 {
        let mut state = self.state.lock();
        state.next_breakpoint_id += 1;
        state.next_breakpoint_id
    }

    /// Replaces the breakpoints of the file at `path` (or of code without a file named `path`,
    /// whose text is `text`) and reports how each one resolved.
    pub fn set_breakpoints(
        &self,
        py: Python<'_>,
        path: &str,
        text: Option<&str>,
        requested: &[LineRequest],
    ) -> Vec<Placement> {
        let key = canonical_key(path);
        let lines = if requested.is_empty() { Ok(Default::default()) } else { code_lines(py, &key, text) };
        let mut table = FileBreakpoints::default();
        let mut answers = Vec::new();
        for request in requested {
            let id = self.next_breakpoint_id();
            let resolved = match &lines {
                Err(message) => Err(message.clone()),
                Ok(lines) => resolve_line(lines, request.line)
                    .ok_or_else(|| format!("line {} is past the last line with code", request.line))
                    .and_then(|line| {
                        let bp = self.compile_breakpoint(py, id, line, &request.behaviour)?;
                        let place =
                            request.column.map(|column| columns::place(py, &key, text, line, column)).transpose()?;
                        Ok((bp, place))
                    }),
            };
            answers.push(match resolved {
                Ok((bp, None)) => {
                    let line = bp.line;
                    table.lines.entry(line).or_insert_with(|| Arc::new(bp));
                    Placement { id, line: Some(line), column: None, refusal: None }
                }
                Ok((bp, Some((column, place)))) => {
                    let line = bp.line;
                    let at_line = table.columns.entry(line).or_default();
                    at_line.push(Arc::new(ColumnBreakpoint::new(column, place, bp)));
                    Placement { id, line: Some(line), column: Some(column), refusal: None }
                }
                Err(message) => {
                    Placement { id, line: Some(request.line), column: request.column, refusal: Some(message) }
                }
            });
        }
        let stale_code = {
            let mut state = self.state.lock();
            if table.lines.is_empty() && table.columns.is_empty() {
                state.line_breakpoints.remove(&key);
            } else {
                state.line_breakpoints.insert(key.clone(), table);
            }
            let stale_columns: Vec<usize> =
                state.column_code.iter().filter(|(_, c)| c.file == key).map(|(address, _)| *address).collect();
            let mut removed: Vec<(usize, Py<PyAny>)> =
                stale_columns.into_iter().filter_map(|a| state.column_code.remove(&a).map(|c| (a, c.code))).collect();
            // Code of this file stops being watched; running frames are found again below.
            let stale: Vec<usize> = state
                .breakpoint_code
                .iter()
                .filter(|(_, armed)| armed.file.key == key)
                .map(|(address, _)| *address)
                .collect();
            removed.extend(stale.into_iter().filter_map(|a| state.breakpoint_code.remove(&a).map(|c| (a, c.code))));
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
                    let file = self.state.lock().files.info(&filename);
                    if file.key == *key {
                        self.watch_code_for_breakpoints(py, &code, file);
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
                    Placement { id, line: None, column: None, refusal: None }
                }
                Err(message) => Placement { id, line: None, column: None, refusal: Some(message) },
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
    fn lines_resolve_forward() {
        let lines: BTreeSet<i64> = [2, 3, 7].into_iter().collect();
        assert_eq!(resolve_line(&lines, 1), Some(2));
        assert_eq!(resolve_line(&lines, 3), Some(3));
        assert_eq!(resolve_line(&lines, 4), Some(7));
        assert_eq!(resolve_line(&lines, 8), None);
    }
}
