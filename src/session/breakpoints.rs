//! setBreakpoints, setFunctionBreakpoints and setExceptionBreakpoints.

use super::{with_gil, Session};
use crate::engine::breakpoints::{Behaviour, FunctionRequest, LineRequest, Placement};
use crate::engine::columns;
use crate::engine::engine;
use crate::engine::exceptions::{BreakMode, ExceptionFilters, ExceptionOption, TypeMatcher};
use crate::engine::instruction_breakpoints::InstructionRequest;
use crate::inspect::bytecode;
use crate::protocol::types::{
    Breakpoint, BreakpointLocation, BreakpointLocationsArguments, BreakpointLocationsBody, BreakpointsBody,
    SetBreakpointsArguments, SetExceptionBreakpointsArguments, SetFunctionBreakpointsArguments,
    SetInstructionBreakpointsArguments, Source, SourceBreakpoint,
};
use crate::protocol::Request;

/// Without debugging (`noDebug`), breakpoints are answered, but not set.
const NOT_DEBUGGING: &str = "not set: this session runs the program without debugging";

/// The answer to a breakpoint request in a session without debugging: one unverified
/// breakpoint per one asked for; exception filters are accepted and not set.
pub fn answer_without_debugging(session: &Session, request: &Request) {
    if request.command == "setExceptionBreakpoints" {
        return session.respond(request, Ok(()));
    }
    let asked = ["breakpoints", "lines"]
        .iter()
        .find_map(|key| request.arguments.get(*key).and_then(|v| v.as_array()).map(Vec::len))
        .unwrap_or(0);
    let breakpoints =
        (0..asked).map(|_| Breakpoint { verified: false, message: Some(NOT_DEBUGGING.into()), ..Default::default() });
    session.respond(request, Ok(BreakpointsBody { breakpoints: breakpoints.collect() }));
}

/// A breakpoint as the client is told of it.
pub(super) fn answer(placement: Placement, source: Option<Source>) -> Breakpoint {
    Breakpoint {
        id: Some(placement.id),
        verified: placement.refusal.is_none(),
        line: placement.line,
        column: placement.column,
        message: placement.refusal,
        source,
        ..Default::default()
    }
}

fn line_request(breakpoint: SourceBreakpoint) -> LineRequest {
    let SourceBreakpoint { line, column, condition, hit_condition, log_message } = breakpoint;
    LineRequest { line, column, behaviour: Behaviour { condition, hit_condition, log_message } }
}

/// Where in lines `line..=endLine` breakpoints can be: statements, lambdas and comprehensions,
/// for the editor's inline breakpoint positions.
pub async fn breakpoint_locations(session: &Session, request: &Request) {
    let result = async {
        let args: BreakpointLocationsArguments = request.args()?;
        let path = args.source.path.as_deref().ok_or("breakpointLocations needs source.path")?;
        let path = session.settings().path_mappings.to_program(path);
        let last = args.end_line.unwrap_or(args.line).clamp(args.line, args.line + MOST_LOCATION_LINES);
        let breakpoints = with_gil(move |py| -> Result<Vec<BreakpointLocation>, String> {
            let mut found = Vec::new();
            for line in args.line..=last {
                let columns = columns::locations(py, &path, line)?;
                found.extend(columns.into_iter().map(|column| BreakpointLocation { line, column }));
            }
            Ok(found)
        })
        .await?;
        Ok(BreakpointLocationsBody { breakpoints })
    }
    .await;
    session.respond(request, result.map_err(|e: String| e));
}

/// The most lines one breakpointLocations request reads past its first.
const MOST_LOCATION_LINES: i64 = 1000;

pub async fn set_breakpoints(session: &Session, request: &Request) {
    let result = async {
        let args: SetBreakpointsArguments = request.args()?;
        let (path, text) = match (&args.source.path, args.source.source_reference) {
            (Some(path), _) => (session.settings().path_mappings.to_program(path), None),
            (None, Some(reference)) => {
                let (name, text) =
                    session.handles.source(reference).ok_or(format!("there is no source {reference}"))?;
                (name, Some(text))
            }
            (None, None) => return Err("setBreakpoints needs source.path or source.sourceReference".into()),
        };
        let requested: Vec<LineRequest> = match (args.breakpoints, args.lines) {
            (Some(bps), _) => bps.into_iter().map(line_request).collect(),
            (None, Some(lines)) => lines
                .into_iter()
                .map(|line| LineRequest { line, column: None, behaviour: Behaviour::default() })
                .collect(),
            (None, None) => Vec::new(),
        };
        let placements = with_gil(move |py| engine().set_breakpoints(py, &path, text.as_deref(), &requested)).await;
        let breakpoints = placements.into_iter().map(|p| answer(p, Some(args.source.clone()))).collect();
        Ok(BreakpointsBody { breakpoints })
    }
    .await;
    session.respond(request, result.map_err(|e: String| e));
}

pub async fn set_function_breakpoints(session: &Session, request: &Request) {
    let result = match request.args::<SetFunctionBreakpointsArguments>() {
        Ok(args) => {
            let requested: Vec<FunctionRequest> = args
                .breakpoints
                .into_iter()
                .map(|b| FunctionRequest {
                    name: b.name,
                    behaviour: Behaviour { condition: b.condition, hit_condition: b.hit_condition, log_message: None },
                })
                .collect();
            let placements = with_gil(move |py| engine().set_function_breakpoints(py, &requested)).await;
            Ok(BreakpointsBody { breakpoints: placements.into_iter().map(|p| answer(p, None)).collect() })
        }
        Err(e) => Err(e),
    };
    session.respond(request, result);
}

/// Breakpoints at instruction addresses, as VS Code's Disassembly view sets them.
pub async fn set_instruction_breakpoints(session: &Session, request: &Request) {
    let args = match request.args::<SetInstructionBreakpointsArguments>() {
        Ok(args) => args,
        Err(e) => return session.respond::<()>(request, Err(e)),
    };
    let cx = session.inspection_context();
    let answers = with_gil(move |py| {
        let mut addresses = Vec::new();
        let requested = args
            .breakpoints
            .into_iter()
            .map(|b| {
                let target = bytecode::instruction_at(py, &cx, &b.instruction_reference, b.offset.unwrap_or(0));
                addresses.push(target.as_ref().ok().map(|t| t.address.clone()));
                InstructionRequest {
                    target: target.map(|t| (t.code, t.offset)),
                    behaviour: Behaviour { condition: b.condition, hit_condition: b.hit_condition, log_message: None },
                }
            })
            .collect();
        let placements = engine().set_instruction_breakpoints(py, requested);
        placements
            .into_iter()
            .zip(addresses)
            .map(|(p, address)| Breakpoint { instruction_reference: address, ..answer(p, None) })
            .collect()
    })
    .await;
    session.respond(request, Ok(BreakpointsBody { breakpoints: answers }));
}

pub async fn set_exception_breakpoints(session: &Session, request: &Request) {
    let result = request.args::<SetExceptionBreakpointsArguments>().and_then(parse_exception_filters);
    match result {
        Ok(filters) => {
            with_gil(move |py| engine().set_exception_filters(py, filters)).await;
            session.respond(request, Ok(()));
        }
        Err(e) => session.respond::<()>(request, Err(e)),
    }
}

fn parse_exception_filters(args: SetExceptionBreakpointsArguments) -> Result<ExceptionFilters, String> {
    let mut filters = ExceptionFilters::default();
    let mut requested: Vec<(String, Option<String>)> = args.filters.into_iter().map(|f| (f, None)).collect();
    requested.extend(args.filter_options.unwrap_or_default().into_iter().map(|o| (o.filter_id, o.condition)));
    for (id, condition) in requested {
        let matcher = TypeMatcher::parse(condition.as_deref().unwrap_or(""))?;
        let slot = match id.as_str() {
            "raised" => &mut filters.raised,
            "uncaught" => &mut filters.uncaught,
            "userUnhandled" => &mut filters.user_unhandled,
            other => {
                return Err(format!("unknown exception filter {other:?}; pydbg has raised, uncaught and userUnhandled"))
            }
        };
        *slot = Some(matcher);
    }
    for option in args.exception_options.unwrap_or_default() {
        let mode = match option.break_mode.as_str() {
            "never" => None,
            "always" => Some(BreakMode::Always),
            "unhandled" => Some(BreakMode::Unhandled),
            "userUnhandled" => Some(BreakMode::UserUnhandled),
            other => return Err(format!("unknown breakMode {other:?}")),
        };
        let path = option.path.unwrap_or_default();
        // The first segment names the category ("Python Exceptions"); the last names the types.
        let (names, negate) = match path.len() {
            0 | 1 => (Vec::new(), false),
            _ => {
                let last = path.last().expect("len >= 2");
                (last.names.clone(), last.negate.unwrap_or(false))
            }
        };
        filters.options.push(ExceptionOption { names, negate, mode });
    }
    Ok(filters)
}
