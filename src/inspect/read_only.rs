//! Evaluation for completions, which run as the user types: only expressions that read, never
//! ones that call.
//!
//! The rule, checked on the parsed expression: names, constants, attribute access and subscripts
//! (with constant, name or slice indices) are allowed; calls, operators, comprehensions,
//! assignments and everything else are refused. Attribute access can still run a property's
//! code; that cannot be told from the text.

use pyo3::prelude::*;

/// Evaluates `expression` if it only reads names, attributes and subscripts.
pub fn evaluate_read_only<'py>(
    py: Python<'py>,
    expression: &str,
    globals: &Bound<'py, PyAny>,
    locals: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let ast = py.import("ast")?;
    let tree = ast.call_method1("parse", (expression.trim(), "<completion>", "eval"))?;
    if !reads_only(&ast, &tree.getattr("body")?)? {
        return Err(pyo3::exceptions::PyValueError::new_err("not a read-only expression"));
    }
    let builtins = py.import("builtins")?;
    let code = builtins.getattr("compile")?.call1((tree, "<completion>", "eval"))?;
    builtins.getattr("eval")?.call1((code, globals, locals))
}

fn reads_only(ast: &Bound<'_, PyModule>, node: &Bound<'_, PyAny>) -> PyResult<bool> {
    let is = |kind: &str| -> PyResult<bool> { node.is_instance(&ast.getattr(kind)?) };
    if is("Name")? || is("Constant")? {
        return Ok(true);
    }
    if is("Attribute")? {
        return reads_only(ast, &node.getattr("value")?);
    }
    if is("Subscript")? {
        return Ok(reads_only(ast, &node.getattr("value")?)? && reads_only(ast, &node.getattr("slice")?)?);
    }
    if is("Slice")? {
        for part in ["lower", "upper", "step"] {
            let part = node.getattr(part)?;
            if !part.is_none() && !reads_only(ast, &part)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    if is("UnaryOp")? {
        return Ok(node.getattr("op")?.is_instance(&ast.getattr("USub")?)?
            && node.getattr("operand")?.is_instance(&ast.getattr("Constant")?)?);
    }
    if is("Tuple")? {
        for element in node.getattr("elts")?.try_iter()? {
            if !reads_only(ast, &element?)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    Ok(false)
}
