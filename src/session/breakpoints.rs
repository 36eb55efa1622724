//! setBreakpoints, setFunctionBreakpoints and setExceptionBreakpoints.

use super::{with_gil, Session};
use crate::engine::engine;
use crate::protocol::types::{
    BreakpointsBody, SetBreakpointsArguments, SetFunctionBreakpointsArguments, SourceBreakpoint,
};
use crate::protocol::Request;

pub async fn set_breakpoints(session: &Session, request: &Request) {
    let result = async {
        let args: SetBreakpointsArguments = request.args()?;
        let path = args.source.path.clone().ok_or("setBreakpoints needs source.path")?;
        let requested: Vec<SourceBreakpoint> = match (args.breakpoints, args.lines) {
            (Some(bps), _) => bps,
            (None, Some(lines)) => lines.into_iter().map(|line| SourceBreakpoint { line, ..Default::default() }).collect(),
            (None, None) => Vec::new(),
        };
        let mut breakpoints = with_gil(move |py| engine().set_breakpoints(py, &path, &requested)).await;
        for bp in &mut breakpoints {
            bp.source = Some(args.source.clone());
        }
        Ok(BreakpointsBody { breakpoints })
    }
    .await;
    session.respond(request, result.map_err(|e: String| e));
}

pub async fn set_function_breakpoints(session: &Session, request: &Request) {
    let result = match request.args::<SetFunctionBreakpointsArguments>() {
        Ok(args) => Ok(BreakpointsBody {
            breakpoints: with_gil(move |py| engine().set_function_breakpoints(py, &args.breakpoints)).await,
        }),
        Err(e) => Err(e),
    };
    session.respond(request, result);
}

/// pydbg advertises no exception filters yet, so there is nothing to set; the request is still
/// answered because clients send it during configuration.
pub fn set_exception_breakpoints(session: &Session, request: &Request) {
    session.respond(request, Ok(()));
}
