//! loadedSources, loadedSource events and source: the program's files, and the text of its code
//! that has no file (`unfiled_sources`).
//!
//! Nothing here runs until the client asks for loadedSources. From then on, the session looks at
//! `sys.modules` once a second and announces the files it has not announced yet: no import pays
//! for it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use super::modules::module_files;
use super::{with_gil, Session};
use crate::engine::engine;
use crate::engine::files::Origin;
use crate::inspect::handles::Handles;
use crate::inspect::Settings;
use crate::protocol::types::{LoadedSourceEventBody, LoadedSourcesBody, Source, SourceArguments, SourceBody};
use crate::protocol::{Outgoing, Request};
use crate::python_errors::describe_error;
use crate::unfiled_sources;

/// How often, once the client has asked for loaded sources, new ones are looked for.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// A source by what identifies it, for telling new ones from those already announced.
fn identity(source: &Source) -> String {
    source.path.clone().or_else(|| source.name.clone()).unwrap_or_default()
}

/// The program's Python files (not pydbg's), then its code without files that has a text.
fn loaded(py: Python<'_>, handles: &Handles, settings: &Settings) -> PyResult<Vec<Source>> {
    let mut sources = Vec::new();
    let mut seen = HashSet::new();
    for (_, file) in module_files(py)? {
        let Some(file) = file.filter(|f| f.ends_with(".py") || f.ends_with(".pyw")) else { continue };
        if engine().origin_of(&file) == Origin::Internal || !seen.insert(file.clone()) {
            continue;
        }
        let name = std::path::Path::new(&file).file_name().map(|n| n.to_string_lossy().into_owned());
        sources.push(Source { name, path: Some(settings.path_mappings.to_client(&file)), ..Default::default() });
    }
    for name in unfiled_sources::listed_names(py) {
        let Some(text) = unfiled_sources::text_of(py, &name) else { continue };
        let reference = handles.source_reference(&name, text);
        sources.push(Source { name: Some(name), source_reference: Some(reference), ..Default::default() });
    }
    Ok(sources)
}

pub async fn loaded_sources(session: &Arc<Session>, request: &Request) {
    let (handles, settings) = (session.handles.clone(), session.settings());
    let result = with_gil(move |py| loaded(py, &handles, &settings).map_err(|e| describe_error(py, &e))).await;
    if let Ok(sources) = &result {
        watch_for_new_sources(session, sources.iter().map(identity).collect());
    }
    session.respond(request, result.map(|sources| LoadedSourcesBody { sources }));
}

/// Starts announcing sources that load from now on, once per session.
fn watch_for_new_sources(session: &Arc<Session>, mut announced: HashSet<String>) {
    let mut watch = session.source_watch.lock();
    if watch.is_some() {
        return;
    }
    let session = Arc::downgrade(session);
    *watch = Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(WATCH_INTERVAL).await;
            let Some(session) = session.upgrade() else { return };
            let (handles, settings) = (session.handles.clone(), session.settings());
            let Ok(sources) = with_gil(move |py| loaded(py, &handles, &settings)).await else { continue };
            for source in sources {
                if announced.insert(identity(&source)) {
                    session.send(Outgoing::event("loadedSource", LoadedSourceEventBody { reason: "new", source }));
                }
            }
        }
    }));
}

/// The text of a `sourceReference` pydbg gave.
pub async fn source(session: &Session, request: &Request) {
    let result = async {
        let args: SourceArguments = request.args()?;
        let reference =
            args.source.and_then(|s| s.source_reference).filter(|r| *r > 0).unwrap_or(args.source_reference);
        let (_, text) = session.handles.source(reference).ok_or(format!("there is no source {reference}"))?;
        Ok(SourceBody { content: text.to_string(), mime_type: "text/x-python" })
    }
    .await;
    session.respond(request, result.map_err(|e: String| e));
}
