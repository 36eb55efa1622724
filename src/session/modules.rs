//! modules: the program's imported modules (`sys.modules`), by name, with their files, for the
//! editor's Modules view. Paged with startModule / moduleCount.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyModule};

use super::{with_gil, Session};
use crate::path_mappings::PathMappings;
use crate::protocol::types::{Module, ModulesArguments, ModulesBody};
use crate::protocol::Request;
use crate::python_errors::describe_error;

pub async fn modules(session: &Session, request: &Request) {
    let result = match request.args::<ModulesArguments>() {
        Ok(args) => {
            let settings = session.settings();
            with_gil(move |py| list(py, &settings.path_mappings, args)).await
        }
        Err(e) => Err(e),
    };
    session.respond(request, result);
}

/// Every module in `sys.modules`, by name, with its file if it has one.
pub(super) fn module_files(py: Python<'_>) -> PyResult<Vec<(String, Option<String>)>> {
    // A copy: importing on other threads changes sys.modules while it is read.
    let modules = py.import("sys")?.getattr("modules")?.call_method0("copy")?;
    let mut all = Vec::new();
    for (name, module) in modules.cast::<PyDict>()?.iter() {
        let Ok(name) = name.extract::<String>() else { continue };
        // Read from the module's dict: a module's own __getattr__ never runs here.
        let file = module
            .cast::<PyModule>()
            .ok()
            .and_then(|m| m.dict().get_item("__file__").ok().flatten())
            .and_then(|f| f.extract::<String>().ok());
        all.push((name, file));
    }
    Ok(all)
}

fn list(py: Python<'_>, mappings: &PathMappings, args: ModulesArguments) -> Result<ModulesBody, String> {
    let mut all: Vec<Module> = module_files(py)
        .map_err(|e| describe_error(py, &e))?
        .into_iter()
        .map(|(name, file)| Module { id: name.clone(), name, path: file.map(|f| mappings.to_client(&f)) })
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let total_modules = all.len() as i64;
    let start = args.start_module.unwrap_or(0).clamp(0, total_modules) as usize;
    let count = match args.module_count {
        Some(count) if count > 0 => count as usize,
        _ => all.len(),
    };
    let modules = all.into_iter().skip(start).take(count).collect();
    Ok(ModulesBody { modules, total_modules })
}
