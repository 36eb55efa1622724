//! Recording for step back: which code is recorded (`record` at attach, the `record` request,
//! `.record on` in the REPL), the events that record it, and moving through a thread's recorded
//! past. What is kept of each thread is in `history.rs`.
//!
//! While recording is on, PY_START is on globally: the first start of each code object in scope
//! turns LINE, PY_RETURN and PY_YIELD on for that code object alone. Other code answers DISABLE.
//! With recording off, nothing is on and nothing is paid.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use rustc_hash::FxHashMap;

use super::callbacks::{current_frame, Leave};
use super::files::{FileInfo, Origin};
use super::history::{self, LineStores, PastFrame, PastValue, Read};
use super::{ArmedCode, Engine};

/// What a step back says when recording is off.
pub const RECORDING_OFF: &str =
    "recording is off: turn it on with `record` in the launch configuration, or `.record on` in the debug console";

/// The events kept per thread unless the client asks otherwise (`recordLimit`).
pub const DEFAULT_CAPACITY: usize = 1_000_000;

/// What to record.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordScope {
    /// Every file that is the user's code (justMyCode's meaning).
    UserCode,
    Entries(Vec<RecordEntry>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum RecordEntry {
    /// A file, or the files under a folder, by canonical path.
    Path(String),
    /// A glob on absolute paths: `*` and `?` within a folder name, `**` across folders.
    Glob(String),
    /// A module's files, and its submodules', by the module's `__name__`.
    Module(String),
}

impl RecordEntry {
    /// Reads one entry of `record`: a glob if it has `*` or `?`; a path if it has a slash or ends
    /// in `.py`; otherwise a module name. Relative paths and globs start at `cwd`.
    pub fn parse(entry: &str, cwd: &str) -> Result<RecordEntry, String> {
        let entry = entry.trim();
        if entry.is_empty() {
            return Err("record: an entry is empty".into());
        }
        let absolute = |p: &str| {
            if std::path::Path::new(p).is_absolute() {
                p.to_owned()
            } else {
                format!("{}/{}", cwd.trim_end_matches('/'), p.trim_start_matches("./"))
            }
        };
        if entry.contains(['*', '?']) {
            return Ok(RecordEntry::Glob(absolute(entry)));
        }
        if entry.contains(['/', '\\']) || entry.ends_with(".py") {
            return Ok(RecordEntry::Path(super::files::canonical_key(&absolute(entry)).to_string()));
        }
        if entry.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_alphanumeric() || c == '_')) {
            return Ok(RecordEntry::Module(entry.to_owned()));
        }
        Err(format!("record: {entry:?} is not a file, a folder, a glob or a module name"))
    }

    fn includes(&self, file: &FileInfo, module: &mut impl FnMut() -> Option<String>) -> bool {
        match self {
            RecordEntry::Path(prefix) => {
                file.key.starts_with(prefix.as_str())
                    && (file.key.len() == prefix.len() || file.key[prefix.len()..].starts_with('/'))
            }
            RecordEntry::Glob(pattern) => glob_matches(pattern.as_bytes(), file.key.as_bytes()),
            RecordEntry::Module(name) => module()
                .is_some_and(|m| m == *name || (m.starts_with(name.as_str()) && m[name.len()..].starts_with('.'))),
        }
    }
}

impl RecordScope {
    fn includes(&self, file: &FileInfo, mut module: impl FnMut() -> Option<String>) -> bool {
        match self {
            RecordScope::UserCode => file.origin == Origin::User,
            RecordScope::Entries(entries) => entries.iter().any(|e| e.includes(file, &mut module)),
        }
    }

    fn has_modules(&self) -> bool {
        matches!(self, RecordScope::Entries(e) if e.iter().any(|e| matches!(e, RecordEntry::Module(_))))
    }
}

/// `*` matches within one folder name, `**` across folders, `?` one character.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    match pattern {
        [] => text.is_empty(),
        [b'*', b'*', rest @ ..] => {
            // Zero or more whole folders: resume at a folder's start.
            let rest = rest.strip_prefix(b"/").unwrap_or(rest);
            (0..=text.len()).filter(|&i| i == 0 || text[i - 1] == b'/').any(|i| glob_matches(rest, &text[i..]))
        }
        [b'*', rest @ ..] => {
            (0..=text.len()).take_while(|&i| i == 0 || text[i - 1] != b'/').any(|i| glob_matches(rest, &text[i..]))
        }
        [b'?', rest @ ..] => text.first().is_some_and(|&c| c != b'/') && glob_matches(rest, &text[1..]),
        [c, rest @ ..] => text.first() == Some(c) && glob_matches(rest, &text[1..]),
    }
}

/// Recording as the client set it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordConfig {
    pub scope: RecordScope,
    /// The most events kept per thread; older ones are dropped.
    pub capacity: usize,
}

/// Recording in progress: its settings and the histories it writes to.
pub(super) struct Recording {
    pub config: RecordConfig,
    /// Histories of an earlier recording are emptied when their thread next uses them.
    pub generation: u64,
}

/// A code object with events on for recording: its file, and which locals its lines store to.
pub(super) struct RecordedCode {
    pub armed: ArmedCode,
    pub stores: Arc<LineStores>,
}

/// What a LINE event of recorded code needs to record it.
pub(super) struct LineRecording {
    pub generation: u64,
    pub capacity: usize,
    pub stores: Arc<LineStores>,
    /// Some frames ran before recording began (`frames_before_recording` is not empty).
    pub frames_before: bool,
}

/// `co_flags` bits: the code keeps its locals in fast slots (a function, not a module or class
/// body); it takes `*args`; it takes `**kwargs`.
const CO_OPTIMIZED: i64 = 0x0001;
const CO_VARARGS: i64 = 0x0004;
const CO_VARKEYWORDS: i64 = 0x0008;

/// Which locals each line of `code` stores to, read from its instructions with `dis`: every
/// instruction that binds or unbinds a fast local or a cell.
fn line_stores(code: &Bound<'_, PyAny>) -> PyResult<LineStores> {
    let py = code.py();
    let flags: i64 = code.getattr("co_flags")?.extract()?;
    let locals: usize = code.getattr("co_nlocals")?.extract::<usize>()?
        + code.getattr("co_cellvars")?.len()?
        + code.getattr("co_freevars")?.len()?;
    let every_line = flags & CO_OPTIMIZED == 0;
    let fresh_calls = flags & super::stepping::RESUMABLE_FLAGS == 0;
    let mut stores = LineStores {
        every_line,
        always: Vec::new(),
        by_line: FxHashMap::default(),
        locals,
        arguments: Vec::new(),
        fresh_calls,
    };
    if stores.every_line {
        return Ok(stores);
    }
    let interned = |name: &Bound<'_, PyAny>| -> PyResult<Py<PyString>> {
        Ok(PyString::intern(py, name.cast::<PyString>()?.to_str()?).unbind())
    };
    // Positional and keyword-only arguments, then *args and **kwargs: the first of co_varnames.
    let count = |name: &str| -> PyResult<usize> { code.getattr(name)?.extract() };
    let starred = usize::from(flags & CO_VARARGS != 0) + usize::from(flags & CO_VARKEYWORDS != 0);
    let arguments = count("co_argcount")? + count("co_kwonlyargcount")? + starred;
    for name in code.getattr("co_varnames")?.try_iter()?.take(arguments) {
        stores.arguments.push(interned(&name?)?);
    }
    for kind in ["co_cellvars", "co_freevars"] {
        for name in code.getattr(kind)?.try_iter()? {
            stores.always.push(interned(&name?)?);
        }
    }
    for instruction in py.import("dis")?.call_method1("get_instructions", (code,))?.try_iter()? {
        let instruction = instruction?;
        let opname: String = instruction.getattr("opname")?.extract()?;
        let binds = opname.starts_with("STORE_FAST")
            || opname.starts_with("DELETE_FAST")
            || matches!(opname.as_str(), "STORE_DEREF" | "DELETE_DEREF" | "LOAD_FAST_AND_CLEAR");
        if !binds {
            continue;
        }
        // One name, or a pair for the fused instructions (STORE_FAST_STORE_FAST).
        let argval = instruction.getattr("argval")?;
        let names: Vec<Bound<'_, PyAny>> = match argval.cast::<pyo3::types::PyTuple>() {
            Ok(pair) => pair.iter().collect(),
            Err(_) => vec![argval],
        };
        let line: Option<i64> = instruction.getattr("positions")?.getattr("lineno")?.extract()?;
        for name in names {
            let name = interned(&name)?;
            let list = match line {
                Some(line) => stores.by_line.entry(line).or_default(),
                None => &mut stores.always,
            };
            if !list.iter().any(|n| n.is(&name)) {
                list.push(name);
            }
        }
    }
    Ok(stores)
}

/// A move through a thread's recorded past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeMove {
    /// stepBack: the line before, in any recorded call.
    Back,
    /// reverseContinue: the latest earlier line with a breakpoint, or the start of the history.
    BackToBreakpoint,
    /// stepIn, next, stepOut and continue, replayed forward.
    In,
    Over,
    Out,
    ForwardToBreakpoint,
}

/// Where a move ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePosition {
    /// A line event in the past, by serial, and how many line events lie between it and the stop.
    Past { serial: u64, lines_back: u64 },
    /// The history reaches no further back than this line event.
    Start { serial: u64, lines_back: u64, dropped: u64 },
    /// Back at the stop itself: the program goes on live from here.
    Present,
}

impl Engine {
    /// Turns recording on with `config`, or off with None. Each start begins new histories.
    pub fn set_recording(&self, py: Python<'_>, config: Option<RecordConfig>) {
        let previous = {
            let mut state = self.state.lock();
            let generation = state.recording_generation + 1;
            state.recording = config.map(|config| Arc::new(Recording { config, generation }));
            self.recording_on.store(state.recording.is_some(), Ordering::Release);
            state.recording_generation = generation;
            state.recorded_files.clear();
            state.frames_before_recording.clear();
            std::mem::take(&mut state.recorded_code)
        };
        for recorded in previous.values() {
            let code = &recorded.armed.code;
            let events = self.local_events_for(&self.state.lock(), code.as_ptr() as usize);
            self.set_local_events(py, code.bind(py), events);
        }
        drop(previous);
        // Each recording starts afresh; a history in use now is emptied at its next use.
        drop(history::forget_all());
        if self.state.lock().recording.is_some() {
            // PY_START first: a call that starts after the frames are listed below is seen
            // starting, and every call that started before is listed.
            self.refresh_events(py);
            if let Err(e) = self.record_running_frames(py) {
                tracing::error!("recording the frames already running: {e}");
            }
        }
        self.refresh_events(py);
    }

    pub fn recording(&self) -> Option<RecordConfig> {
        self.state.lock().recording.as_ref().map(|r| r.config.clone())
    }

    /// Frames that started before recording did get no PY_START: their code is armed now, and
    /// their first recorded line reads all their locals.
    fn record_running_frames(&self, py: Python<'_>) -> PyResult<()> {
        // Every running frame is listed at once, with no Python code run in between (arming
        // runs `dis`, and another thread could start a call of armed code meanwhile).
        let mut running = Vec::new();
        for (ident, frame) in py.import("sys")?.call_method0("_current_frames")?.cast::<PyDict>()?.iter() {
            if self.pydbg_threads.contains(&ident.extract::<u64>()?) {
                continue;
            }
            let mut frame = Some(frame);
            while let Some(f) = frame {
                frame = crate::frames::back(&f)?;
                running.push(f);
            }
        }
        self.state.lock().frames_before_recording.extend(running.iter().map(|f| f.as_ptr() as usize));
        for f in &running {
            let code = crate::frames::code(f)?;
            let filename: String = code.getattr(pyo3::intern!(py, "co_filename"))?.extract()?;
            let info = self.state.lock().files.info(&filename);
            if !self.record_if_in_scope(py, &code, info, Some(f)) {
                // Never recorded: no line of it will take the frame off the list.
                self.state.lock().frames_before_recording.remove(&(f.as_ptr() as usize));
            }
        }
        Ok(())
    }

    /// At PY_START, or for a frame already running: turns on the events that record `code` if
    /// recording is on and its file (or module) is in scope. Returns whether it is recorded.
    pub(super) fn record_if_in_scope(
        &self,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        file: Arc<FileInfo>,
        frame: Option<&Bound<'_, PyAny>>,
    ) -> bool {
        if file.origin == Origin::Internal {
            return false;
        }
        let address = code.as_ptr() as usize;
        let (recording, known) = {
            let state = self.state.lock();
            let Some(recording) = state.recording.clone() else { return false };
            if state.recorded_code.contains_key(&address) {
                return true;
            }
            (recording, state.recorded_files.get(&file.key).copied())
        };
        let scope = &recording.config.scope;
        // A module's name is its frame's `__name__`: such verdicts are not kept by file.
        let in_scope = match known {
            Some(verdict) if !scope.has_modules() => verdict,
            _ => {
                let module = || {
                    let globals = crate::frames::globals(frame?).ok()?;
                    globals.get_item("__name__").ok()?.extract::<String>().ok()
                };
                let verdict = scope.includes(&file, module);
                if !scope.has_modules() {
                    self.state.lock().recorded_files.insert(file.key.clone(), verdict);
                }
                verdict
            }
        };
        if !in_scope {
            return false;
        }
        let stores = Arc::new(line_stores(code).unwrap_or_else(|e| {
            tracing::warn!("reading which locals each line stores to: {e}");
            LineStores {
                every_line: true,
                always: Vec::new(),
                by_line: FxHashMap::default(),
                locals: 0,
                arguments: Vec::new(),
                fresh_calls: false,
            }
        }));
        let events = {
            let mut state = self.state.lock();
            let armed = ArmedCode { code: code.clone().unbind(), file };
            state.recorded_code.entry(address).or_insert(RecordedCode { armed, stores });
            self.local_events_for(&state, address)
        };
        self.set_local_events(py, code, events);
        true
    }

    /// The LINE events that recording needs on a recorded code object.
    pub(super) fn recording_events(&self) -> i64 {
        let ids = self.monitoring.ids;
        ids.line | ids.py_return | ids.py_yield
    }

    /// Records a line of recorded code.
    pub(super) fn record_line(&self, py: Python<'_>, recording: &LineRecording, line: i64) -> PyResult<()> {
        let Some(frame) = current_frame(py) else { return Ok(()) };
        let LineRecording { generation, capacity, stores, frames_before } = recording;
        let address = frame.as_ptr() as usize;
        let started_before = *frames_before && self.state.lock().frames_before_recording.contains(&address);
        let read = history::with_history(*generation, |h, _| h.read_for(&frame, stores, started_before));
        let read = read.unwrap_or(Read::Whole);
        // Read before the history is locked: reading can release objects (see `record_line`).
        let snapshot = (read == Read::Whole).then(|| crate::frames::locals_snapshot(&frame));
        let recorded = history::with_history(*generation, |h, released| {
            h.record_line(&frame, line, stores, read, snapshot, *capacity, released)
        });
        match recorded {
            Some(Ok(())) => {
                if started_before {
                    self.state.lock().frames_before_recording.remove(&address);
                }
                Ok(())
            }
            // A line not recorded: what it stored is read at the next.
            Some(Err(e)) => {
                history::locals_may_have_changed();
                Err(e)
            }
            None => {
                history::locals_may_have_changed();
                Ok(())
            }
        }
    }

    /// A recorded frame returns or yields; unwinding frames are noticed at the next line.
    pub(super) fn record_leave(&self, frame: &Bound<'_, PyAny>, how: Leave<'_, '_>) {
        if !self.recording_on.load(Ordering::Acquire) {
            return;
        }
        let recording = {
            let state = self.state.lock();
            let code = crate::frames::code(frame).map(|c| c.as_ptr() as usize).unwrap_or(0);
            match &state.recording {
                Some(r) if state.recorded_code.contains_key(&code) => Some((r.generation, r.config.capacity)),
                _ => None,
            }
        };
        let Some((generation, capacity)) = recording else { return };
        let value = match how {
            Leave::Return(value) => Some(value.clone()),
            Leave::Yield | Leave::Unwind => None,
        };
        history::with_history(generation, |h, released| h.record_return(frame, value.as_ref(), capacity, released));
    }

    /// Runs `f` on the calling thread's history, if recording is on. For the parked thread.
    fn past<R>(&self, f: impl FnOnce(&mut history::History) -> R) -> Option<R> {
        let generation = self.state.lock().recording.as_ref().map(|r| r.generation)?;
        history::with_history(generation, |h, _| f(h))
    }

    /// Moves the calling (parked) thread's time cursor from `from` (None: the stop itself) by
    /// `step`. `top` is the frame the thread is stopped in.
    pub fn move_in_time(
        &self,
        py: Python<'_>,
        top: &Bound<'_, PyAny>,
        from: Option<u64>,
        step: TimeMove,
    ) -> Result<TimePosition, String> {
        let mut at_breakpoint = self.breakpoint_lines();
        let top_line = crate::frames::line(top).ok().flatten();
        let moved = self.past(|h| {
            let latest = h.latest_line().ok_or("nothing has been recorded on this thread yet")?;
            // The stop is the latest line when it is in recorded code; otherwise it lies after it.
            let present = if h.is_present(latest, top, top_line) { latest } else { latest + 1 };
            let from = from.unwrap_or(present);
            let depth = h.line_event(from).map_or(u32::MAX, |(_, _, depth)| depth);
            let mut on_breakpoint = |activation: u64, line: i64| {
                h.code(py, activation).is_some_and(|code| at_breakpoint(code.bind(py), line))
            };
            let to = match step {
                TimeMove::Back => h.line_before(from, |_, _, _| true),
                TimeMove::BackToBreakpoint => h.line_before(from, |a, line, _| on_breakpoint(a, line)),
                TimeMove::In => h.line_after(from, |_, _, _| true),
                TimeMove::Over => h.line_after(from, |_, _, d| d <= depth),
                TimeMove::Out => h.line_after(from, |_, _, d| d < depth),
                TimeMove::ForwardToBreakpoint => h.line_after(from, |a, line, _| on_breakpoint(a, line)),
            };
            let lines_back = |serial: u64| (serial..present).filter(|&s| h.line_event(s).is_some()).count() as u64;
            let backwards = matches!(step, TimeMove::Back | TimeMove::BackToBreakpoint);
            Ok(match to {
                Some(serial) if serial < present => TimePosition::Past { serial, lines_back: lines_back(serial) },
                None if backwards => match h.oldest_line().filter(|&s| s < present) {
                    Some(serial) => {
                        TimePosition::Start { serial, lines_back: lines_back(serial), dropped: h.extent().0 }
                    }
                    None => return Err("nothing was recorded on this thread before the stop".to_owned()),
                },
                _ => TimePosition::Present,
            })
        });
        moved.unwrap_or_else(|| Err(RECORDING_OFF.to_owned()))
    }

    /// Whether a line of a code object has a line breakpoint now; each file is looked up once.
    fn breakpoint_lines(&self) -> impl FnMut(&Bound<'_, PyAny>, i64) -> bool + '_ {
        let mut lines_by_code: FxHashMap<usize, Vec<i64>> = FxHashMap::default();
        move |code: &Bound<'_, PyAny>, line: i64| {
            let lines = lines_by_code.entry(code.as_ptr() as usize).or_insert_with(|| {
                let Ok(filename) = code.getattr("co_filename").and_then(|f| f.extract::<String>()) else {
                    return Vec::new();
                };
                let mut state = self.state.lock();
                let key = state.files.info(&filename).key.clone();
                state.line_breakpoints.get(&key).map(|file| file.lines.keys().copied().collect()).unwrap_or_default()
            });
            lines.contains(&line)
        }
    }

    /// The recorded stack of the calling (parked) thread at `serial`, innermost first, and the
    /// running frame of its outermost activation, if that still runs.
    pub fn past_frames(&self, py: Python<'_>, serial: u64) -> (Vec<PastFrame>, Option<Py<PyAny>>) {
        self.past(|h| {
            let frames = h.frames_at(py, serial);
            let running = frames.last().and_then(|f| h.running_frame(py, f.activation));
            (frames, running)
        })
        .unwrap_or_default()
    }

    /// The locals of `activation` at `serial`, after what the calls it made returned just before.
    pub fn past_locals(&self, py: Python<'_>, serial: u64, activation: u64) -> Vec<(String, PastValue)> {
        self.past(|h| {
            let mut out: Vec<(String, PastValue)> = h
                .returns_before(py, serial, activation)
                .into_iter()
                .map(|(name, value)| (format!("(return) {name}"), value))
                .collect();
            out.extend(h.locals_at(py, serial, activation));
            out
        })
        .unwrap_or_default()
    }

    /// The globals an activation ran with (as they are now).
    pub fn past_globals(&self, py: Python<'_>, activation: u64) -> Option<Py<PyAny>> {
        self.past(|h| h.globals(py, activation)).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_within_and_across_folders() {
        let m = |p: &str, t: &str| glob_matches(p.as_bytes(), t.as_bytes());
        assert!(m("/src/*.py", "/src/app.py"));
        assert!(!m("/src/*.py", "/src/pkg/app.py"));
        assert!(m("/src/**/*.py", "/src/pkg/deep/app.py"));
        assert!(m("/src/**/*.py", "/src/app.py"));
        assert!(m("/a/**/b.py", "/a/b.py") && m("/a/**/b.py", "/a/x/y/b.py"));
        assert!(!m("/a/**/b.py", "/a/xb.py"));
        assert!(m("/src/a?.py", "/src/ab.py"));
        assert!(!m("/src/a?.py", "/src/a/.py"));
    }

    #[test]
    fn entries_are_globs_paths_or_modules() {
        assert_eq!(RecordEntry::parse("src/*.py", "/w").unwrap(), RecordEntry::Glob("/w/src/*.py".into()));
        assert_eq!(RecordEntry::parse("pkg.mod", "/w").unwrap(), RecordEntry::Module("pkg.mod".into()));
        assert!(
            matches!(RecordEntry::parse("/nowhere/app.py", "/w").unwrap(), RecordEntry::Path(p) if p == "/nowhere/app.py")
        );
        assert!(RecordEntry::parse("not a module!", "/w").is_err());
        assert!(RecordEntry::parse(" ", "/w").is_err());
    }
}
