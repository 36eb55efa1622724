//! Step back: each stopped thread's time cursor, stepBack and reverseContinue, the steps forward
//! that replay the recorded past, and turning recording on and off (`record` at attach, pydbg's
//! `record` request, `.record on|off` in the debug console). User guide: docs/step-back.md.
//!
//! A cursor belongs to this client and lasts while its thread stays stopped. While it is back,
//! the thread's stack, scopes, variables and evaluate answer from the history
//! (`inspect::past`), and nothing that would change the program is done.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use super::inspection::on_parked;
use super::{run_control, with_gil, Session};
use crate::engine::engine;
use crate::engine::recording::{RecordConfig, RecordEntry, RecordScope, TimeMove, TimePosition, DEFAULT_CAPACITY};
use crate::protocol::types::{
    ContinueBody, EvaluateArguments, EvaluateBody, OutputEventBody, RecordArgument, RecordArguments, StoppedEventBody,
    ThreadArguments,
};
use crate::protocol::{Outgoing, Request};

const BACK_AT_THE_STOP: &str = "Back at the stop: the program goes on live from here";

/// The fewest events a thread's history may be limited to.
const MIN_CAPACITY: u64 = 100;

/// Where a thread's cursor is: a line event of its history, and how many lines before the stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub serial: u64,
    pub lines_back: u64,
}

/// The time cursors of this client's stopped threads, by thread; a thread without one is at the
/// stop itself.
#[derive(Default)]
pub struct TimeCursors {
    state: Mutex<Cursors>,
    /// One move at a time: each starts from where the one before it ended.
    moving: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Cursors {
    at: HashMap<u64, Cursor>,
    /// Bumped when every cursor is forgotten (all threads resume, a new recording), and per thread
    /// when that thread resumes alone: a move asked for before must not set a cursor after.
    all: u64,
    threads: HashMap<u64, u64>,
}

/// When a move was asked for, in resumes (`Cursors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch(u64, u64);

impl Cursors {
    fn epoch(&self, thread: u64) -> Epoch {
        Epoch(self.all, self.threads.get(&thread).copied().unwrap_or(0))
    }
}

impl TimeCursors {
    pub fn of(&self, thread: u64) -> Option<Cursor> {
        self.state.lock().at.get(&thread).copied()
    }

    /// A thread in the past, if any is.
    pub fn any(&self) -> Option<u64> {
        self.state.lock().at.keys().next().copied()
    }

    pub fn epoch(&self, thread: u64) -> Epoch {
        self.state.lock().epoch(thread)
    }

    /// Sets (or, with None, clears) a thread's cursor and runs `answer`, both at once, unless the
    /// thread resumed since `epoch`. Returns whether it did.
    fn finish_move(&self, thread: u64, cursor: Option<Cursor>, epoch: Epoch, answer: impl FnOnce()) -> bool {
        let mut state = self.state.lock();
        if state.epoch(thread) != epoch {
            return false;
        }
        match cursor {
            Some(cursor) => state.at.insert(thread, cursor),
            None => state.at.remove(&thread),
        };
        answer();
        true
    }

    /// The thread resumes alone, or (None) every thread does: the past is left.
    pub fn resumed(&self, thread: Option<u64>) {
        let mut state = self.state.lock();
        match thread {
            Some(thread) => {
                *state.threads.entry(thread).or_default() += 1;
                state.at.remove(&thread);
            }
            None => {
                state.all += 1;
                state.at.clear();
            }
        }
    }

    /// Forgets every cursor; returns the threads that were in the past.
    fn take_all(&self) -> Vec<u64> {
        let mut state = self.state.lock();
        state.all += 1;
        state.at.drain().map(|(thread, _)| thread).collect()
    }
}

/// Why nothing may change `thread` now, if its cursor is in the past.
pub fn refusal(session: &Session, thread: u64) -> Option<String> {
    session.cursors.of(thread).map(|cursor| {
        format!(
            "this thread is shown as it was {}, and pydbg does not change the past: \
             step forward to the stop first (Continue replays to the next breakpoint, then runs on)",
            before_the_stop(cursor.lines_back)
        )
    })
}

/// What `record` and `recordLimit` at attach ask for: None when recording stays off.
pub fn record_config(
    record: Option<&RecordArgument>,
    limit: Option<u64>,
    cwd: &str,
) -> Result<Option<RecordConfig>, String> {
    let scope = match record {
        None | Some(RecordArgument::All(false)) => return Ok(None),
        Some(RecordArgument::Only(entries)) if entries.is_empty() => return Ok(None),
        Some(RecordArgument::All(true)) => RecordScope::UserCode,
        Some(RecordArgument::Only(entries)) => {
            RecordScope::Entries(entries.iter().map(|e| RecordEntry::parse(e, cwd)).collect::<Result<Vec<_>, _>>()?)
        }
    };
    let capacity = match limit {
        None => DEFAULT_CAPACITY,
        Some(n) if n >= MIN_CAPACITY => usize::try_from(n).unwrap_or(usize::MAX),
        Some(n) => return Err(format!("recordLimit must be at least {MIN_CAPACITY} events, not {n}")),
    };
    Ok(Some(RecordConfig { scope, capacity }))
}

/// The move a run-control request makes (stepBack and reverseContinue always, the others while
/// their thread is in the past), and when it was asked for.
pub fn move_in_past(session: &Session, request: &Request) -> Option<(TimeMove, Epoch)> {
    let (step, always) = match request.command.as_str() {
        "stepBack" => (TimeMove::Back, true),
        "reverseContinue" => (TimeMove::BackToBreakpoint, true),
        "next" => (TimeMove::Over, false),
        "stepIn" => (TimeMove::In, false),
        "stepOut" => (TimeMove::Out, false),
        "continue" => (TimeMove::ForwardToBreakpoint, false),
        _ => return None,
    };
    let thread = request.args::<ThreadArguments>().ok().and_then(|args| engine().ident_of(args.thread_id));
    let Some(thread) = thread else {
        // Answered by the move, with the reason.
        return always.then_some((step, Epoch(0, 0)));
    };
    (always || session.cursors.of(thread).is_some()).then(|| (step, session.cursors.epoch(thread)))
}

/// Moves a thread's cursor, answers, and reports where it stopped. Continue that reaches the
/// stop runs on live.
pub async fn travel(session: &Session, request: &Request, step: TimeMove, epoch: Epoch) {
    let _one_at_a_time = session.cursors.moving.lock().await;
    let moved = async {
        let args: ThreadArguments = request.args()?;
        let thread = engine().ident_of(args.thread_id).ok_or(format!("there is no thread {}", args.thread_id))?;
        let from = session.cursors.of(thread).map(|c| c.serial);
        let position = on_parked(thread, move |py| {
            let top = engine().parked_frames(py, thread).ok_or("that thread is not stopped")?.top;
            engine().move_in_time(py, top.bind(py), from, step)
        })
        .await??;
        Ok::<_, String>((args.thread_id, thread, position))
    }
    .await;
    let (thread_id, thread, position) = match moved {
        Ok(moved) => moved,
        Err(e) => return session.respond::<()>(request, Err(e)),
    };
    if position == TimePosition::Present && step == TimeMove::ForwardToBreakpoint {
        return run_control::resume(session, request, None);
    }
    let (cursor, description) = match position {
        TimePosition::Past { serial, lines_back } | TimePosition::Start { serial, lines_back, .. } => {
            (Some(Cursor { serial, lines_back }), before_the_stop(lines_back))
        }
        TimePosition::Present => (None, BACK_AT_THE_STOP.to_owned()),
    };
    // The cursor, the answer and the stop together: a resume comes wholly before or after them.
    let answered = session.cursors.finish_move(thread, cursor, epoch, || {
        session.handles.clear_thread(thread);
        if request.command == "continue" {
            session.respond(request, Ok(ContinueBody { all_threads_continued: false }));
        } else {
            session.respond(request, Ok(()));
        }
        if let TimePosition::Start { lines_back, dropped, .. } = position {
            let older = match dropped {
                0 => "the recording began there".to_owned(),
                n => format!("{n} older events were dropped when the history was full; recordLimit keeps more"),
            };
            let output =
                format!("pydbg: this is as far back as the history goes, {} ({older})\n", before_the_stop(lines_back));
            session.send(Outgoing::event("output", OutputEventBody { category: "console", output }));
        }
        session.send(Outgoing::event("stopped", stepped(thread_id, description)));
    });
    if !answered {
        session.respond::<()>(request, Err("the thread resumed before it could move".into()));
    }
}

fn before_the_stop(lines: u64) -> String {
    match lines {
        1 => "1 line before the stop".to_owned(),
        n => format!("{n} lines before the stop"),
    }
}

fn stepped(thread_id: i64, description: String) -> StoppedEventBody {
    StoppedEventBody {
        reason: "step",
        thread_id,
        all_threads_stopped: true,
        hit_breakpoint_ids: Vec::new(),
        description: Some(description),
        text: None,
    }
}

fn back_at_the_stop(thread_id: i64) -> StoppedEventBody {
    stepped(thread_id, BACK_AT_THE_STOP.to_owned())
}

/// pydbg's `record` request: `{"on": true, "include": [...], "limit": N}` or `{"on": false}`.
pub async fn record_request(session: &Session, request: &Request) {
    let result = async {
        let args: RecordArguments = request.args()?;
        let on = args.on.ok_or("record needs `on`: true or false")?;
        let record = match (on, args.include) {
            (false, _) => None,
            (true, None) => Some(RecordArgument::All(true)),
            (true, Some(entries)) => Some(RecordArgument::Only(entries)),
        };
        set_recording(session, record, args.limit).await
    }
    .await;
    session.respond(request, result.map(|status| serde_json::json!({ "status": status })));
}

/// Whether an evaluate is the debug console's `.record` command.
pub fn is_record_command(request: &Request) -> bool {
    request.args::<EvaluateArguments>().is_ok_and(|args| args.expression.trim_start().starts_with(".record"))
}

/// `.record on [what...]`, `.record off`, or `.record` for what is being recorded.
pub async fn record_command(session: &Session, request: &Request) {
    let result = async {
        let args: EvaluateArguments = request.args()?;
        let words: Vec<&str> = args.expression.split_whitespace().collect();
        match words.as_slice() {
            [".record"] => Ok(status()),
            [".record", "off"] => set_recording(session, None, None).await,
            [".record", "on"] => set_recording(session, Some(RecordArgument::All(true)), None).await,
            [".record", "on", entries @ ..] => {
                let entries = entries.iter().map(|e| (*e).to_owned()).collect();
                set_recording(session, Some(RecordArgument::Only(entries)), None).await
            }
            _ => Err("usage: .record on [files, folders, globs or modules...] | .record off | .record".to_owned()),
        }
    }
    .await;
    let body = result.map(|result| EvaluateBody {
        result,
        type_name: String::new(),
        variables_reference: 0,
        indexed_variables: None,
    });
    session.respond(request, body);
}

async fn set_recording(
    session: &Session,
    record: Option<RecordArgument>,
    limit: Option<u64>,
) -> Result<String, String> {
    if session.settings().no_debug {
        return Err("nothing is recorded when running without debugging".into());
    }
    let cwd = std::env::current_dir().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
    let limit = limit.or_else(|| engine().recording().map(|r| r.capacity as u64));
    let config = record_config(record.as_ref(), limit, &cwd)?;
    with_gil(move |py| engine().set_recording(py, config)).await;
    // A new recording starts new histories: threads in the past are back at their stops.
    for thread in session.cursors.take_all() {
        session.handles.clear_thread(thread);
        session.send(Outgoing::event("stopped", back_at_the_stop(engine().thread_id_of(thread))));
    }
    Ok(status())
}

/// What is being recorded, in words.
fn status() -> String {
    match engine().recording() {
        None => "recording is off".to_owned(),
        Some(RecordConfig { scope, capacity }) => {
            let what = match scope {
                RecordScope::UserCode => "the user's code".to_owned(),
                RecordScope::Entries(entries) => entries
                    .iter()
                    .map(|e| match e {
                        RecordEntry::Path(p) | RecordEntry::Glob(p) | RecordEntry::Module(p) => p.as_str(),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            format!("recording {what}, keeping up to {capacity} events per thread")
        }
    }
}

/// Spawns `travel`: it waits for the parked thread, which may be busy with an inspection.
pub fn spawn_travel(session: &Arc<Session>, request: Request, (step, epoch): (TimeMove, Epoch)) {
    let session = session.clone();
    tokio::spawn(async move { travel(&session, &request, step, epoch).await });
}
