//! initialize, attach, configurationDone, disconnect and terminate.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::{with_gil, Session};
use crate::engine::engine;
use crate::engine::exceptions::ExceptionFilters;
use crate::engine::files::{RuleRequest, RuleScope};
use crate::inspect::Settings;
use crate::protocol::capabilities::capabilities;
use crate::protocol::debugpy_attributes;
use crate::protocol::types::{
    AttachArguments, CodeRuleArgument, ContinuedEventBody, DisconnectArguments, ExitedEventBody, InitializeArguments,
    OutputEventBody, ProcessEventBody,
};
use crate::protocol::{Outgoing, Request};

/// How long a terminated program gets to end on its own before the process is ended for it.
const TERMINATE_GRACE: Duration = Duration::from_secs(3);

pub fn initialize(session: &Session, request: &Request) {
    let args = request.args::<InitializeArguments>();
    if let Ok(args) = &args {
        tracing::info!(client = ?args.client_id, adapter = ?args.adapter_id, "initialize");
    }
    session.respond(request, args.map(|_| capabilities()));
    session.send(Outgoing::bare_event("initialized"));
}

pub async fn attach(session: &Session, request: &Request) {
    let checked = match request.arguments.as_object() {
        Some(arguments) => debugpy_attributes::check(arguments),
        None => Ok(Vec::new()),
    };
    let result = match (checked, request.args::<AttachArguments>()) {
        (Ok(warnings), Ok(args)) => {
            for warning in warnings {
                session.send(Outgoing::event("output", OutputEventBody { category: "console", output: warning }));
            }
            configure(session, args).await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    let ok = result.is_ok();
    session.respond(request, result);
    if ok {
        session.send(Outgoing::event(
            "process",
            ProcessEventBody {
                name: engine().program_name().to_owned(),
                system_process_id: std::process::id() as i64,
                is_local_process: true,
                start_method: "attach",
            },
        ));
    }
}

/// Applies the debugger settings that attach (and, through the adapter, launch) carries.
async fn configure(session: &Session, args: AttachArguments) -> Result<(), String> {
    let program_cwd = std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
    let settings = Settings::from_attach(&args, &program_cwd)?;
    let no_debug = settings.no_debug;
    *session.settings.write() = Arc::new(settings);
    engine().set_breakpoint_calls_stop(!no_debug);
    engine().set_show_return_value(args.show_return_value.unwrap_or(true));
    engine().set_forward_program_output(args.redirect_output.unwrap_or(true));
    if no_debug {
        // Not even the `uncaught` filter, which is on until a client says otherwise.
        with_gil(|py| engine().set_exception_filters(py, ExceptionFilters::default())).await;
    }
    if args.stop_on_entry == Some(true) && !no_debug {
        with_gil(|py| engine().stop_on_entry(py)).await;
    }
    let record = super::time_travel::record_config(args.record.as_ref(), args.record_limit, &program_cwd)?;
    let rules = args.rules.into_iter().map(rule_request).collect::<Result<Vec<_>, _>>()?;
    let just_my_code = args.just_my_code.unwrap_or(true);
    with_gil(move |py| engine().set_just_my_code(py, just_my_code, &rules)).await?;
    // After the rules: `record: true` means the code they call the user's.
    if let Some(record) = record.filter(|_| !no_debug) {
        with_gil(move |py| engine().set_recording(py, Some(record))).await;
    }
    Ok(())
}

fn rule_request(rule: CodeRuleArgument) -> Result<RuleRequest, String> {
    let scope = match (rule.path, rule.module) {
        (Some(path), _) => RuleScope::Path(path),
        (None, Some(module)) => RuleScope::Module(module),
        (None, None) => return Err("a justMyCode rule needs \"path\" or \"module\"".into()),
    };
    Ok(RuleRequest { scope, include: rule.include })
}

pub fn launch(session: &Session, request: &Request) {
    session.respond::<()>(
        request,
        Err("this pydbg is already running its program (pydbg --listen/--connect): use \"request\": \"attach\"".into()),
    );
}

/// Answered, and written, before the program is released: a program that ends at once (an
/// `os._exit`) must not take the answer with it.
pub async fn configuration_done(session: &Session, request: &Request) {
    session.respond(request, Ok(()));
    session.flush().await;
    engine().configuration_done();
}

pub async fn disconnect(session: &Arc<Session>, request: &Request) {
    let args = match request.args::<DisconnectArguments>() {
        Ok(args) => args,
        Err(e) => return session.respond::<()>(request, Err(e)),
    };
    if args.terminate_debuggee == Some(true) {
        return terminate(session, request).await;
    }
    // Answered, and written, before the program is released: it may run to its end and exit at
    // once, and the answer must not die with it.
    session.respond(request, Ok(()));
    session.flush().await;
    with_gil(|py| engine().detach_client(py)).await;
    session.handles.clear();
    session.closing.store(true, Ordering::Release);
}

/// Ends the program: a KeyboardInterrupt first, then the process after a grace period.
/// Answered, and written, before the program is interrupted: it may end at once, and the answer
/// must not end with it.
pub async fn terminate(session: &Arc<Session>, request: &Request) {
    session.handles.clear();
    session.respond(request, Ok(()));
    session.send(Outgoing::event("continued", ContinuedEventBody { thread_id: 1, all_threads_continued: true }));
    session.flush().await;
    with_gil(|py| engine().terminate(py)).await;
    let session = session.clone();
    tokio::spawn(async move {
        tokio::time::sleep(TERMINATE_GRACE).await;
        tracing::warn!("the program did not end within {TERMINATE_GRACE:?} of terminate; ending the process");
        session.send(Outgoing::event("exited", ExitedEventBody { exit_code: 1 }));
        session.send(Outgoing::bare_event("terminated"));
        session.flush().await;
        std::process::exit(1);
    });
}
