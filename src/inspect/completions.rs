//! REPL completions: names in scope, attributes after `.`, and dict keys after `[`.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{frame_locals, read_only};
use crate::protocol::types::CompletionItem;

/// At most this many suggestions are sent.
const MAX_ITEMS: usize = 200;

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// Completions for `text` with the cursor at `column` (1-based, in characters).
pub fn complete(
    py: Python<'_>,
    frame: Option<&Bound<'_, PyAny>>,
    text: &str,
    column: usize,
) -> PyResult<Vec<CompletionItem>> {
    let before: String = text.chars().take(column.saturating_sub(1)).collect();
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map_or(before.len(), |(i, _)| i);
    let prefix = &before[word_start..];
    let head = &before[..word_start];
    let start_column = before[..word_start].chars().count() as i64 + 1;
    let item = |label: String, kind: &'static str| CompletionItem {
        length: Some(prefix.chars().count() as i64),
        start: Some(start_column),
        label,
        kind: Some(kind),
    };

    let (globals, locals) = match frame {
        Some(f) => (f.getattr("f_globals")?, frame_locals::locals(f)?),
        None => {
            let g = py.import("__main__")?.getattr("__dict__")?;
            (g.clone(), g)
        }
    };
    let mut items = Vec::new();
    if let Some(object_text) = head.strip_suffix('.') {
        // Attributes of the expression before the dot, if it is safe to evaluate.
        let object_text = trailing_expression(object_text);
        if let Ok(object) = read_only::evaluate_read_only(py, object_text, &globals, &locals) {
            for name in object.dir()?.iter().filter_map(|n| n.extract::<String>().ok()) {
                if name.starts_with(prefix) && (prefix.starts_with('_') || !name.starts_with('_')) {
                    items.push(item(name, "property"));
                }
            }
        }
    } else if let Some(object_text) = dict_key_context(head) {
        if let Ok(object) = read_only::evaluate_read_only(py, trailing_expression(object_text), &globals, &locals) {
            if let Ok(dict) = object.cast::<PyDict>() {
                for key in dict.keys() {
                    let label = key.repr()?.to_string();
                    items.push(item(label, "value"));
                }
            }
        }
    } else {
        let mut names: Vec<String> = Vec::new();
        for scope in [&locals, &globals, &py.import("builtins")?.getattr("__dict__")?] {
            for key in scope.call_method0("keys")?.try_iter()? {
                if let Ok(name) = key?.extract::<String>() {
                    names.push(name);
                }
            }
        }
        names.extend(KEYWORDS.iter().map(|k| k.to_string()));
        names.sort();
        names.dedup();
        for name in names {
            if name.starts_with(prefix) && (prefix.starts_with('_') || !name.starts_with('_')) {
                items.push(item(name, "variable"));
            }
        }
    }
    items.truncate(MAX_ITEMS);
    Ok(items)
}

/// `data[` or `data['` before the cursor: the text of `data`.
fn dict_key_context(head: &str) -> Option<&str> {
    let head = head.trim_end_matches(['\'', '"']);
    head.strip_suffix('[')
}

/// The dotted expression at the end of `text`: `x = obj.attr` → `obj.attr`.
fn trailing_expression(text: &str) -> &str {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '.')
        .last()
        .map_or(text.len(), |(i, _)| i);
    &text[start..]
}
