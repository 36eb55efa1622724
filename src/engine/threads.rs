//! Python threads as the client sees them: DAP thread ids, parked (stopped) threads, and which
//! stop is reported to the client.
//!
//! All stops are all-threads stops. One thread's stop is *reported*; the other threads park with
//! reason `Pause`. A thread that stops for its own reason while another stop is reported waits in
//! `pending` and is reported after the next continue, so no stop is lost.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::Sender;

use pyo3::prelude::*;

use super::all_stop::AllThreadsStop;
use super::exceptions::BreakMode;
use super::stepping::Step;
use super::{Engine, EngineEvent, ParkedFrames};

/// Inspection work that runs on a parked thread, with the GIL.
pub type ParkedWork = Box<dyn FnOnce(Python<'_>) + Send>;

/// Work sent to a parked thread.
pub enum Command {
    /// Run inspection code on the parked thread, with the GIL.
    Run(ParkedWork),
    Resume {
        step: Option<Step>,
        single_thread: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum StopReason {
    Breakpoint(i64),
    FunctionBreakpoint(i64),
    InstructionBreakpoint(i64),
    Step,
    Entry,
    /// The program called `breakpoint()` or `pydbg.breakpoint()`.
    BreakpointCall,
    /// Parked because another thread stopped, or because the client asked for a pause.
    Pause,
    /// A watched value changed; `description` names it with its old and new value.
    DataBreakpoint {
        id: i64,
        description: String,
    },
    /// `text` is the exception as `Type: message`.
    Exception {
        mode: BreakMode,
        text: String,
    },
}

/// The monitoring event a thread is parked in. Only in a LINE event may its frame move to another
/// line (goto, restartFrame): CPython refuses `f_lineno` writes from any other event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParkedIn {
    Line,
    OtherEvent,
}

pub struct Parked {
    pub commands: Sender<Command>,
    pub frame: Py<PyAny>,
    pub reason: StopReason,
    pub parked_in: ParkedIn,
    /// The exception being stopped on, for exceptionInfo.
    pub exception: Option<Py<PyAny>>,
    /// The frames to show, innermost first, when they are not `frame`'s callers: an uncaught
    /// exception shows the frames its traceback went through.
    pub frames: Option<Vec<Py<PyAny>>>,
    /// What the functions the step left or stepped over returned, by function name.
    pub return_values: Vec<(String, Py<PyAny>)>,
}

#[derive(Clone)]
pub struct ThreadInfo {
    /// The thread's DAP id.
    pub id: i64,
    pub name: String,
}

#[derive(Default)]
pub struct Threads {
    known: HashMap<u64, ThreadInfo>,
    next_id: i64,
    pub parked: HashMap<u64, Parked>,
    reported: Option<u64>,
    pending: VecDeque<u64>,
    pause_requested: bool,
    /// Bumped by every resume and by every new stop. Stopping all threads takes the GIL and so
    /// happens a little later; it goes ahead only if nothing was resumed in between.
    pub generation: u64,
}

/// The stop to report to the client: a thread (by DAP id) and why it stopped.
pub struct Stop {
    pub thread_id: i64,
    pub reason: StopReason,
}

/// What the engine must do after a change in the parked set.
#[derive(Default)]
pub struct Outcome {
    pub report: Option<Stop>,
    /// Every other thread must be brought to a stop, unless `generation` has moved on by then.
    pub stop_all: Option<u64>,
}

impl Threads {
    /// The DAP id of a Python thread, given on first sight (the main thread registers first and
    /// gets 1).
    pub fn register(&mut self, ident: u64, name: &str) -> (i64, bool) {
        if let Some(info) = self.known.get_mut(&ident) {
            info.name = name.to_owned();
            return (info.id, false);
        }
        self.next_id += 1;
        self.known.insert(ident, ThreadInfo { id: self.next_id, name: name.to_owned() });
        (self.next_id, true)
    }

    pub fn forget(&mut self, ident: u64) -> Option<i64> {
        self.known.remove(&ident).map(|info| info.id)
    }

    pub fn dap_id(&mut self, ident: u64) -> i64 {
        match self.known.get(&ident) {
            Some(info) => info.id,
            None => self.register(ident, &format!("Thread-{ident}")).0,
        }
    }

    pub fn ident_of(&self, dap_id: i64) -> Option<u64> {
        self.known.iter().find(|(_, info)| info.id == dap_id).map(|(ident, _)| *ident)
    }

    pub fn list(&self) -> Vec<ThreadInfo> {
        let mut threads: Vec<ThreadInfo> = self.known.values().cloned().collect();
        threads.sort_by_key(|t| t.id);
        threads
    }

    fn stop_of(&mut self, ident: u64) -> Stop {
        Stop { thread_id: self.dap_id(ident), reason: self.parked[&ident].reason.clone() }
    }

    /// A thread parks. One that parks only for the all-threads stop (`Pause`) does not, if that
    /// stop no longer applies to it (a continue ended it after the thread decided to park): it
    /// would park unreported, and nothing would ever resume it. Returns None then.
    pub fn park(&mut self, ident: u64, parked: Parked, all_stop: &AllThreadsStop) -> Option<Outcome> {
        let own_reason = parked.reason != StopReason::Pause;
        if !own_reason && !all_stop.applies_to(ident) {
            return None;
        }
        self.parked.insert(ident, parked);
        if self.reported.is_some() {
            if own_reason {
                self.pending.push_back(ident);
            }
            return Some(Outcome::default());
        }
        if own_reason || self.pause_requested {
            self.pause_requested = false;
            self.reported = Some(ident);
            let stop_all = own_reason.then(|| self.next_generation());
            return Some(Outcome { report: Some(self.stop_of(ident)), stop_all });
        }
        Some(Outcome::default())
    }

    /// The client asked for a pause. Returns whether threads must be brought to a stop.
    pub fn request_pause(&mut self) -> Outcome {
        if self.reported.is_some() {
            return Outcome::default();
        }
        if let Some(&ident) = self.parked.keys().next() {
            self.reported = Some(ident);
            return Outcome { report: Some(self.stop_of(ident)), stop_all: None };
        }
        self.pause_requested = true;
        Outcome { report: None, stop_all: Some(self.next_generation()) }
    }

    fn next_generation(&mut self) -> u64 {
        self.generation += 1;
        self.generation
    }

    /// Resumes `ident` alone, with `step`. Returns false if it was not parked.
    pub fn resume_one(&mut self, ident: u64, step: Option<Step>) -> bool {
        let Some(parked) = self.parked.remove(&ident) else { return false };
        self.pending.retain(|&p| p != ident);
        if self.reported == Some(ident) {
            self.reported = None;
        }
        let _ = parked.commands.send(Command::Resume { step, single_thread: true });
        true
    }

    /// Resumes every parked thread (`ident` with `step`) except those whose own stop has not been
    /// reported yet; the next of those becomes the reported stop.
    pub fn resume_all(&mut self, ident: u64, step: Option<Step>) -> Outcome {
        self.next_generation();
        self.reported = None;
        self.pause_requested = false;
        let waiting: Vec<u64> = self.pending.iter().copied().collect();
        let resumed: Vec<u64> = self.parked.keys().filter(|k| !waiting.contains(k)).copied().collect();
        for id in resumed {
            let parked = self.parked.remove(&id).expect("listed above");
            let step = if id == ident { step.clone() } else { None };
            let _ = parked.commands.send(Command::Resume { step, single_thread: false });
        }
        match self.pending.pop_front() {
            Some(next) => {
                self.reported = Some(next);
                Outcome { report: Some(self.stop_of(next)), stop_all: Some(self.next_generation()) }
            }
            None => Outcome::default(),
        }
    }

    /// Forgets every stop; dropping the command senders lets each parked thread run on.
    pub fn release_all(&mut self) -> HashMap<u64, Parked> {
        self.next_generation();
        self.reported = None;
        self.pending.clear();
        self.pause_requested = false;
        std::mem::take(&mut self.parked)
    }

    pub fn is_stopped(&self) -> bool {
        self.reported.is_some()
    }
}

// ------------------------------------------------------------ the engine's threads

impl Engine {
    pub fn thread_started(&self, ident: u64, name: &str) {
        let (id, new) = self.state.lock().threads.register(ident, name);
        if new {
            self.emit(EngineEvent::ThreadStarted(id));
        }
    }

    pub fn thread_exited(&self, ident: u64) {
        self.plans.remove(&ident);
        self.all_stop.forget(ident);
        if let Some(id) = self.state.lock().threads.forget(ident) {
            self.emit(EngineEvent::ThreadExited(id));
        }
    }

    pub fn threads(&self) -> Vec<ThreadInfo> {
        self.state.lock().threads.list()
    }

    pub fn ident_of(&self, dap_id: i64) -> Option<u64> {
        self.state.lock().threads.ident_of(dap_id)
    }

    /// The DAP id of Python thread `ident`.
    pub fn thread_id_of(&self, ident: u64) -> i64 {
        self.state.lock().threads.dap_id(ident)
    }

    /// Sends inspection work to a parked thread. Gives the work back if the thread is not parked.
    pub(super) fn is_parked(&self, ident: u64) -> bool {
        self.state.lock().threads.parked.contains_key(&ident)
    }

    pub fn run_on_parked(&self, ident: u64, work: ParkedWork) -> Result<(), ParkedWork> {
        let state = self.state.lock();
        match state.threads.parked.get(&ident) {
            Some(parked) => parked.commands.send(Command::Run(work)).map_err(|e| match e.0 {
                Command::Run(work) => work,
                Command::Resume { .. } => unreachable!("only Run is sent here"),
            }),
            None => Err(work),
        }
    }

    /// Where a parked thread stopped, and the frames it shows.
    pub fn parked_frames(&self, py: Python<'_>, ident: u64) -> Option<ParkedFrames> {
        let state = self.state.lock();
        let parked = state.threads.parked.get(&ident)?;
        let shown = parked.frames.as_ref().map(|f| f.iter().map(|p| p.clone_ref(py)).collect());
        Some(ParkedFrames { top: parked.frame.clone_ref(py), shown, parked_in: parked.parked_in })
    }

    /// What the functions a step left or stepped over returned, if the thread stopped in `frame`
    /// after them.
    pub fn parked_return_values(
        &self,
        py: Python<'_>,
        ident: u64,
        frame: &Bound<'_, PyAny>,
    ) -> Vec<(String, Py<PyAny>)> {
        let state = self.state.lock();
        match state.threads.parked.get(&ident) {
            Some(parked) if parked.frame.as_ptr() == frame.as_ptr() => {
                parked.return_values.iter().map(|(name, value)| (name.clone(), value.clone_ref(py))).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The exception a parked thread stopped on, and how.
    pub fn parked_exception(&self, py: Python<'_>, ident: u64) -> Option<(Py<PyAny>, BreakMode)> {
        let state = self.state.lock();
        let parked = state.threads.parked.get(&ident)?;
        match (&parked.exception, &parked.reason) {
            (Some(e), StopReason::Exception { mode, .. }) => Some((e.clone_ref(py), *mode)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parked(py: Python<'_>, reason: StopReason) -> (Parked, std::sync::mpsc::Receiver<Command>) {
        let (commands, inbox) = std::sync::mpsc::channel();
        let parked = Parked {
            commands,
            frame: py.None(),
            reason,
            parked_in: ParkedIn::Line,
            exception: None,
            frames: None,
            return_values: Vec::new(),
        };
        (parked, inbox)
    }

    /// The lost stop: a thread decides (without the lock) to park for an all-threads stop, a
    /// continue ends that stop, and only then does the thread park.
    #[test]
    fn a_thread_late_for_an_ended_all_threads_stop_does_not_park() {
        Python::initialize();
        Python::attach(|py| {
            let mut threads = Threads::default();
            let all_stop = AllThreadsStop::default();
            let (hit, _hit_inbox) = parked(py, StopReason::Breakpoint(1));
            let outcome = threads.park(1, hit, &all_stop).expect("a breakpoint always parks");
            assert!(outcome.report.is_some());
            all_stop.begin();
            assert!(all_stop.applies_to(2), "thread 2 decides to park for the stop");
            let outcome = threads.resume_all(1, None);
            all_stop.end();
            assert!(outcome.report.is_none());
            let (late, _late_inbox) = parked(py, StopReason::Pause);
            assert!(threads.park(2, late, &all_stop).is_none(), "it would park unreported, forever");
            assert!(threads.parked.is_empty() && !threads.is_stopped());
        });
    }

    #[test]
    fn a_thread_on_time_for_an_all_threads_stop_parks_unreported_and_resumes_with_the_rest() {
        Python::initialize();
        Python::attach(|py| {
            let mut threads = Threads::default();
            let all_stop = AllThreadsStop::default();
            let (hit, _hit_inbox) = parked(py, StopReason::Breakpoint(1));
            threads.park(1, hit, &all_stop);
            all_stop.begin();
            let (paused, paused_inbox) = parked(py, StopReason::Pause);
            let outcome = threads.park(2, paused, &all_stop).expect("parks for the stop");
            assert!(outcome.report.is_none() && outcome.stop_all.is_none());
            threads.resume_all(1, None);
            assert!(matches!(paused_inbox.try_recv(), Ok(Command::Resume { step: None, single_thread: false })));
        });
    }
}
