//! An expression of a breakpoint (its condition, or a part of its log message) as a function of
//! the locals it reads: in `fib`, `n < 0` becomes `lambda n: (n < 0)` with `fib`'s globals,
//! called with the frame's own values of those locals. That avoids what the general path pays on
//! every hit: building `frame.f_locals` (a dict on 3.12, a proxy whose every lookup is a call on
//! 3.13) and evaluating a code object against it. docs/decisions.md has the measurements.
//!
//! The general path stays for what a function cannot see the same way: frames whose locals live
//! in a dict (module and class bodies, `exec`), a local that is not bound yet, code run with
//! other globals than the first time, and expressions that look at their own scope (`locals()`,
//! `vars()`, `dir()`, `eval`, `exec`) or bind a name in it (`:=`).

use std::collections::BTreeSet;

use parking_lot::Mutex;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::frames;

/// Code objects an expression is usually reached from: one, or a few (a line in a loop of a
/// nested function is still one code object). More are served by the general path.
const MAX_FORMS: usize = 8;

pub struct ConditionFunctions {
    source: String,
    /// Every name the expression reads, in nested scopes too (a generator expression's).
    names: BTreeSet<String>,
    forms: Mutex<Vec<Form>>,
}

/// The expression as a function for one code object.
struct Form {
    /// Held, so that the address it is found by is never another code object's.
    code: Py<PyAny>,
    globals: Py<PyAny>,
    /// None: this code's frames take the general path.
    function: Option<LocalsFunction>,
}

enum Lookup {
    Found(Py<PyAny>),
    NoForm,
    GeneralPath,
}

/// The function, and the names of the locals it takes, in order.
type LocalsFunction = (Py<PyAny>, Vec<Py<PyString>>);

impl ConditionFunctions {
    /// `compiled` is the expression compiled in "eval" mode.
    pub fn new(compiled: &Bound<'_, PyAny>, source: &str) -> ConditionFunctions {
        let mut names = BTreeSet::new();
        collect_names(compiled, &mut names);
        ConditionFunctions { source: source.trim().to_owned(), names, forms: Mutex::new(Vec::new()) }
    }

    /// The expression's value in `frame`, or None where the general path must evaluate it.
    pub fn call<'py>(&self, py: Python<'py>, frame: &Bound<'py, PyAny>) -> Option<PyResult<Bound<'py, PyAny>>> {
        let (code, globals) = (frames::code(frame).ok()?, frames::globals(frame).ok()?);
        let mut values: Vec<Bound<'py, PyAny>> = Vec::new();
        // Python code never runs under the lock: it could let another thread take the GIL and
        // then wait on the lock while holding it. So a new form is made outside it, and the
        // function is called after it (PyFrame_GetVar runs no Python code).
        let function = match self.read_locals(py, frame, &code, &globals, &mut values) {
            Lookup::Found(function) => function,
            Lookup::GeneralPath => return None,
            Lookup::NoForm => {
                let form = self.form_for(py, &code, &globals);
                {
                    let mut forms = self.forms.lock();
                    if forms.len() >= MAX_FORMS {
                        return None;
                    }
                    if !forms.iter().any(|known| known.code.as_ptr() == code.as_ptr()) {
                        forms.push(form);
                    }
                }
                match self.read_locals(py, frame, &code, &globals, &mut values) {
                    Lookup::Found(function) => function,
                    _ => return None,
                }
            }
        };
        let arguments: Vec<*mut ffi::PyObject> = values.iter().map(Bound::as_ptr).collect();
        // SAFETY: the GIL is held; `arguments` are live references for the call's duration.
        Some(unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyObject_Vectorcall(function.as_ptr(), arguments.as_ptr(), arguments.len(), std::ptr::null_mut()),
            )
        })
    }

    /// With the lock held: this code's function, and in `values` the frame's values of its
    /// parameters.
    fn read_locals<'py>(
        &self,
        py: Python<'py>,
        frame: &Bound<'py, PyAny>,
        code: &Bound<'py, PyAny>,
        globals: &Bound<'py, PyAny>,
        values: &mut Vec<Bound<'py, PyAny>>,
    ) -> Lookup {
        let forms = self.forms.lock();
        let Some(form) = forms.iter().find(|form| form.code.as_ptr() == code.as_ptr()) else { return Lookup::NoForm };
        let Some((function, params)) = form.function.as_ref().filter(|_| form.globals.as_ptr() == globals.as_ptr())
        else {
            return Lookup::GeneralPath;
        };
        values.reserve(params.len());
        for name in params {
            match frames::local(frame, name.bind(py)) {
                Ok(Some(value)) => values.push(value),
                _ => return Lookup::GeneralPath,
            }
        }
        Lookup::Found(function.clone_ref(py))
    }

    /// Whether the expression looks at its own scope, or binds a name in it: inside a function
    /// it would see or bind the function's names, not the frame's.
    fn needs_the_frames_scope(&self) -> bool {
        self.source.contains(":=") || ["locals", "vars", "dir", "eval", "exec"].iter().any(|n| self.names.contains(*n))
    }

    fn form_for(&self, py: Python<'_>, code: &Bound<'_, PyAny>, globals: &Bound<'_, PyAny>) -> Form {
        let function = self.function_for(py, code, globals).unwrap_or_else(|e| {
            tracing::debug!("condition {:?} stays on the general path: {e}", self.source);
            None
        });
        Form { code: code.clone().unbind(), globals: globals.clone().unbind(), function }
    }

    fn function_for(
        &self,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        globals: &Bound<'_, PyAny>,
    ) -> PyResult<Option<LocalsFunction>> {
        let Some(local_names) = frames::fast_local_names(code)? else { return Ok(None) };
        if self.needs_the_frames_scope() {
            return Ok(None);
        }
        let locals: BTreeSet<String> = local_names.into_iter().collect();
        let params: Vec<&String> = self.names.intersection(&locals).collect();
        let text = format!(
            "lambda {}: (\n{}\n)",
            params.iter().map(|name| name.as_str()).collect::<Vec<_>>().join(", "),
            self.source
        );
        let builtins = py.import("builtins")?;
        let compiled = builtins.getattr("compile")?.call1((text, "<breakpoint condition>", "eval"))?;
        let function = builtins.getattr("eval")?.call1((compiled, globals))?;
        let params = params.iter().map(|name| PyString::intern(py, name).unbind()).collect();
        Ok(Some((function.unbind(), params)))
    }
}

/// The names a compiled expression reads (`co_names`, which also holds attribute names: a
/// superset is harmless), with those of the code objects nested in it.
fn collect_names(code: &Bound<'_, PyAny>, names: &mut BTreeSet<String>) {
    let read = |attribute: &str, names: &mut BTreeSet<String>| {
        if let Ok(tuple) = code.getattr(attribute).and_then(|t| t.try_iter().map(|i| i.collect::<Vec<_>>())) {
            names.extend(tuple.into_iter().filter_map(|name| name.ok()?.extract::<String>().ok()));
        }
    };
    read("co_names", names);
    read("co_freevars", names);
    if let Ok(constants) = code.getattr("co_consts").and_then(|c| c.try_iter().map(|i| i.collect::<Vec<_>>())) {
        for constant in constants.into_iter().flatten() {
            if constant.hasattr("co_code").unwrap_or(false) {
                collect_names(&constant, names);
            }
        }
    }
}
