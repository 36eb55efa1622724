//! What a client chose at attach (and, through the adapter, launch) that shapes what inspection
//! shows. Each session has one value, replaced whole by its attach.

use std::time::Duration;

use super::presentation::Presentation;
use crate::path_mappings::PathMappings;
use crate::protocol::types::AttachArguments;

/// The default limit for one `repr` or attribute read (attach: `reprTimeout`).
const DEFAULT_REPR_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `variablePresentation`.
    pub presentation: Presentation,
    /// `reprTimeout`: how long user code run to show a value may take.
    pub repr_timeout: Duration,
    /// `pathMappings`.
    pub path_mappings: PathMappings,
    /// `noDebug`: run without debugging; breakpoints and exception filters are not set.
    pub no_debug: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            presentation: Presentation::default(),
            repr_timeout: DEFAULT_REPR_TIMEOUT,
            path_mappings: PathMappings::default(),
            no_debug: false,
        }
    }
}

impl Settings {
    /// The settings an attach asks for; a relative `remoteRoot` is taken from `program_cwd`.
    pub fn from_attach(args: &AttachArguments, program_cwd: &str) -> Result<Settings, String> {
        let presentation = match &args.variable_presentation {
            Some(chosen) => Presentation::from_arguments(chosen)?,
            None => Presentation::default(),
        };
        let repr_timeout = match args.repr_timeout {
            None => DEFAULT_REPR_TIMEOUT,
            Some(seconds) if seconds > 0.0 && seconds.is_finite() => {
                Duration::from_secs_f64(seconds).max(Duration::from_millis(1))
            }
            Some(seconds) => return Err(format!("reprTimeout must be a positive number of seconds, not {seconds}")),
        };
        Ok(Settings {
            presentation,
            repr_timeout,
            path_mappings: PathMappings::new(&args.path_mappings, program_cwd),
            no_debug: args.no_debug == Some(true),
        })
    }
}
