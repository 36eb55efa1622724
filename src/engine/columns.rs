//! Column breakpoints: a breakpoint at a position inside a line (a statement after `;`, a lambda,
//! one comprehension among several) stops only when that part of the line runs.
//!
//! Where such breakpoints can be is read from the file's syntax tree: statements, lambdas and
//! comprehensions (`breakpointLocations`). A breakpoint becomes an instruction offset in each
//! code object the first time that code reaches its line (the LINE event), from `co_positions()`;
//! the code then gets INSTRUCTION events, and every other instruction answers DISABLE, as for
//! instruction breakpoints.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use super::conditions::Breakpoint;
use super::Engine;
use crate::embedded_python::embedded_function;
use crate::python_errors::describe_error;

const COLUMNS: &str = r#"
import ast
import dis
import linecache

# Nodes with code objects of their own. List, set and dict comprehensions are inlined (PEP 709).
OWN_CODE = (ast.Lambda, ast.GeneratorExp)
OWN_CODE_NAMES = {"<lambda>", "<genexpr>"}
PLACES = (ast.stmt, ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)
WHOLE_LINE = 1 << 30


def _nodes_on(path, line, text=None):
    source = text or "".join(linecache.getlines(path))
    if not source:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    tree = ast.parse(source, path)
    return [n for n in ast.walk(tree) if isinstance(n, PLACES) and n.lineno == line]


def _span(node, line):
    start = node.col_offset if node.lineno == line else 0
    end = node.end_col_offset if node.end_lineno == line else WHOLE_LINE
    return (start, end)


def locations(path, line):
    return sorted({n.col_offset + 1 for n in _nodes_on(path, line)})


def place(path, line, column, text=None):
    """(column, start, end, own_code, owners) of the place at `column` (1-based) of `line`."""
    nodes = _nodes_on(path, line, text)
    at = column - 1
    exact = [n for n in nodes if n.col_offset == at]
    covering = sorted((n for n in nodes if _span(n, line)[0] <= at < _span(n, line)[1]),
                      key=lambda n: _span(n, line)[1] - _span(n, line)[0])
    node = exact[0] if exact else covering[0] if covering else None
    if node is None:
        return None
    owners = [_span(n, line) for n in nodes if isinstance(n, OWN_CODE)]
    start, end = _span(node, line)
    return (node.col_offset + 1, start, end, isinstance(node, OWN_CODE), owners)


def _innermost(spans, inside):
    holders = [s for s in spans if inside(s)]
    return min(holders, key=lambda s: s[1] - s[0]) if holders else None


def offsets(code, line, places):
    """For each place, the offset in `code` before which its breakpoint stops, or None."""
    # The instructions of `line` after the code's prologue (which ends with RESUME) that have a
    # position on it; 3.12 gives some (a lambda's RETURN_VALUE) an empty one at column 0.
    on_line = []
    resumed = False
    for i in dis.get_instructions(code):
        p = i.positions
        empty = p.end_lineno == p.lineno and (p.end_col_offset or 0) <= (p.col_offset or 0)
        if resumed and p.lineno == line and p.col_offset is not None and not empty:
            on_line.append(i)
        resumed = resumed or i.opname == "RESUME"
    answers = []
    for (_, start, end, own_code, owners) in places:
        home = None
        if code.co_name in OWN_CODE_NAMES and on_line:
            first = min(i.positions.col_offset for i in on_line)
            home = _innermost(owners, lambda s: s[0] <= first < s[1])
        if own_code:
            found = on_line[0].offset if home == (start, end) and on_line else None
        else:
            node_home = _innermost(owners, lambda s: s != (start, end) and s[0] <= start and end <= s[1])
            inside = [i for i in on_line if start <= i.positions.col_offset < end]
            found = inside[0].offset if home == node_home and inside else None
        answers.append(found)
    return answers
"#;

static LOCATIONS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static PLACE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static OFFSETS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// A breakpoint at a column of a line: where on the line, and the breakpoint.
pub struct ColumnBreakpoint {
    /// The 1-based column of the place it was set at.
    pub column: i64,
    /// The place, as `place()` describes it, handed back to `offsets()`.
    place: Py<PyAny>,
    pub breakpoint: Arc<Breakpoint>,
}

/// The column breakpoints one code object stops at, by offset, and the lines already resolved.
pub(super) struct CodeColumns {
    pub(super) code: Py<PyAny>,
    pub(super) file: Arc<str>,
    pub(super) by_offset: BTreeMap<i64, Arc<Breakpoint>>,
    resolved_lines: BTreeSet<i64>,
}

/// The 1-based columns where a breakpoint can be on `line` of `path`.
pub fn locations(py: Python<'_>, path: &str, line: i64) -> Result<Vec<i64>, String> {
    embedded_function(py, &LOCATIONS, COLUMNS, c"pydbg_columns", "locations")
        .and_then(|f| f.call1((path, line))?.extract())
        .map_err(|e| describe_error(py, &e))
}

/// The place of a breakpoint at `column` of `line`: its own column, or why there is none.
pub(super) fn place(
    py: Python<'_>,
    path: &str,
    text: Option<&str>,
    line: i64,
    column: i64,
) -> Result<(i64, Py<PyAny>), String> {
    let place = embedded_function(py, &PLACE, COLUMNS, c"pydbg_columns", "place")
        .and_then(|f| f.call1((path, line, column, text)))
        .map_err(|e| describe_error(py, &e))?;
    if place.is_none() {
        return Err(format!("there is nothing to stop at in column {column} of line {line}"));
    }
    let column: i64 = place.get_item(0).and_then(|c| c.extract()).map_err(|e| describe_error(py, &e))?;
    Ok((column, place.unbind()))
}

impl ColumnBreakpoint {
    pub(super) fn new(column: i64, place: Py<PyAny>, breakpoint: Breakpoint) -> Self {
        ColumnBreakpoint { column, place, breakpoint: Arc::new(breakpoint) }
    }
}

impl Engine {
    /// `code` reached `line`, where column breakpoints are: the first time, find the instruction
    /// each stops before, and turn INSTRUCTION on for the code if any is in it.
    pub(super) fn arm_column_breakpoints(
        &self,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        file: &Arc<str>,
        line: i64,
        columns: &[Arc<ColumnBreakpoint>],
    ) -> PyResult<()> {
        let address = code.as_ptr() as usize;
        let known = self.state.lock().column_code.get(&address).is_some_and(|c| c.resolved_lines.contains(&line));
        if known {
            return Ok(());
        }
        let places: Vec<Py<PyAny>> = columns.iter().map(|c| c.place.clone_ref(py)).collect();
        let offsets: Vec<Option<i64>> = embedded_function(py, &OFFSETS, COLUMNS, c"pydbg_columns", "offsets")?
            .call1((code, line, places))?
            .extract()?;
        let events = {
            let mut state = self.state.lock();
            let entry = state.column_code.entry(address).or_insert_with(|| CodeColumns {
                code: code.clone().unbind(),
                file: file.clone(),
                by_offset: BTreeMap::new(),
                resolved_lines: BTreeSet::new(),
            });
            entry.resolved_lines.insert(line);
            for (offset, column) in offsets.into_iter().zip(columns) {
                if let Some(offset) = offset {
                    entry.by_offset.entry(offset).or_insert_with(|| column.breakpoint.clone());
                }
            }
            self.local_events_for(&state, address)
        };
        self.set_local_events(py, code, events);
        Ok(())
    }
}
