//! What the engine does for each `sys.monitoring` event: the decisions behind the entry points in
//! `callbacks.rs` (a breakpoint's line, a step's end, an exception filter, a frame leaving).

use std::collections::BTreeMap;
use std::sync::Arc;

use pyo3::prelude::*;

use super::callbacks::{current_frame, filename, Answer, Leave};
use super::conditions::{Breakpoint, Verdict};
use super::exceptions::{BreakMode, LAST_LEFT_USER_CODE, LAST_RAISED};
use super::files::{FileInfo, Origin};
use super::recording::LineRecording;
use super::stepping::{StepKind, StepPlan};
use super::threads::{ParkedIn, StopReason};
use super::{current_ident, Engine, State};
use crate::python_errors::exception_text;

impl Engine {
    pub(super) fn on_py_start(&self, py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<Answer> {
        let filename = filename(py, code)?;
        let (info, has_breakpoints, has_function_breakpoints, just_my_code, recording) = {
            let mut state = self.state.lock();
            let info = state.files.info(filename.to_str()?);
            let has_breakpoints = state.line_breakpoints.contains_key(&info.key);
            let recording = state.recording.is_some();
            (info, has_breakpoints, !state.function_breakpoints.is_empty(), state.just_my_code, recording)
        };
        let origin = info.origin;
        if origin == Origin::Internal {
            return Ok(Answer::Disable);
        }
        if has_breakpoints {
            self.watch_code_for_breakpoints(py, code, info.clone());
        }
        if recording {
            self.record_if_in_scope(py, code, info.clone(), current_frame(py).as_ref());
        }
        let mut keep = false;
        if has_function_breakpoints {
            keep = self.check_function_breakpoints(py, code)?;
        }
        let ident = current_ident();
        let plan = self.plans.get(&ident).map(|p| p.wants_new_frames());
        let stoppable = origin == Origin::User || !just_my_code;
        if (plan == Some(true) && stoppable) || self.must_stop_for_all_stop() {
            self.watch_code_for_step(py, code)?;
        }
        if plan.is_some() {
            if let Some(frame) = current_frame(py) {
                let caller = frame.getattr("f_back")?.as_ptr() as usize;
                if self.plans.get(&ident).is_some_and(|p| p.steps_over_calls_from(caller)) {
                    self.watch_code_for_return_value(py, code)?;
                }
            }
        }
        Ok(if keep || !self.quiet() { Answer::Keep } else { Answer::Disable })
    }

    /// Matches a starting function against the function breakpoints by qualified name, with or
    /// without its module. Returns whether PY_START must stay on for this code.
    fn check_function_breakpoints(&self, py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<bool> {
        let qualname: String = code.getattr(pyo3::intern!(py, "co_qualname"))?.extract()?;
        let candidates: Vec<_> = self
            .state
            .lock()
            .function_breakpoints
            .iter()
            .filter(|(name, _)| name.ends_with(qualname.as_str()))
            .cloned()
            .collect();
        if candidates.is_empty() {
            return Ok(false);
        }
        let Some(frame) = current_frame(py) else { return Ok(true) };
        let module: String =
            frame.getattr("f_globals")?.get_item("__name__").and_then(|n| n.extract()).unwrap_or_default();
        for (name, bp) in candidates {
            if name != qualname && name != format!("{module}.{qualname}") {
                continue;
            }
            if self.breakpoint_stops(py, &bp, &frame) {
                self.plans.insert(current_ident(), StepPlan::entry(StepKind::FunctionEntry(bp.id)));
                self.watch_code_for_step(py, code)?;
                self.refresh_events(py);
                break;
            }
        }
        Ok(true)
    }

    /// Runs a breakpoint's condition, hit count and log message in `frame`; whether it stops.
    pub(super) fn breakpoint_stops(&self, py: Python<'_>, bp: &Breakpoint, frame: &Bound<'_, PyAny>) -> bool {
        let (verdict, error) = bp.decide(py, frame);
        if let Some(error) = error {
            self.output("console", error);
        }
        match verdict {
            Verdict::Stop => true,
            Verdict::Log(text) => {
                self.output("console", text);
                false
            }
            Verdict::Ignore => false,
        }
    }

    /// PY_RETURN, PY_UNWIND or PY_YIELD on a thread that may be stepping.
    pub(super) fn on_frame_leave<'py>(&self, py: Python<'py>, how: Leave<'_, 'py>) -> PyResult<Answer> {
        let Some(frame) = current_frame(py) else { return Ok(Answer::Keep) };
        self.record_leave(&frame, how);
        let mut interrupt = None;
        if !matches!(how, Leave::Yield) {
            let code = crate::frames::code(&frame)?;
            if Engine::watches_code(&self.state.lock(), code.as_ptr() as usize) {
                interrupt = self.data_frame_exit(py, &frame);
            }
        }
        let mut released = Vec::new();
        let caller = match (self.plans.get_mut(&current_ident()), how) {
            (Some(mut plan), Leave::Yield) => plan.on_frame_yield(&frame)?,
            (Some(mut plan), Leave::Return(value)) => {
                plan.on_call_return(&frame, value, &mut released)?;
                plan.on_frame_exit(&frame, Some(value), &mut released)?
            }
            (Some(mut plan), Leave::Unwind) => plan.on_frame_exit(&frame, None, &mut released)?,
            (None, _) => None,
        };
        drop(released);
        if let Some(caller) = caller {
            self.watch_code_for_instructions(py, &crate::frames::code(&caller)?)?;
        }
        Ok(Answer::after_stop(interrupt))
    }

    pub(super) fn on_raise(
        &self,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        exception: &Bound<'_, PyAny>,
    ) -> PyResult<Answer> {
        // Most raised types never stop: decided first, by type, without the state lock.
        if !self.raise_stops_on_type(exception)? {
            return Ok(Answer::Keep);
        }
        let filename = filename(py, code)?;
        let (origin, just_my_code) = {
            let mut state = self.state.lock();
            (state.files.info(filename.to_str()?).origin, state.just_my_code)
        };
        // With justMyCode, an exception from a library is judged where it reaches user code.
        if origin == Origin::Internal || (just_my_code && origin != Origin::User) {
            return Ok(Answer::Keep);
        }
        if !LAST_RAISED.first_sight(exception) {
            return Ok(Answer::Keep);
        }
        let Some(frame) = current_frame(py) else { return Ok(Answer::Keep) };
        let text = exception_text(py, exception);
        let interrupt = self.park_with(
            py,
            &frame,
            StopReason::Exception { mode: BreakMode::Always, text },
            ParkedIn::OtherEvent,
            Some(exception),
            None,
        );
        Ok(Answer::after_stop(interrupt))
    }

    /// `userUnhandled`: an exception leaves a user frame into a library frame.
    pub(super) fn on_unwind(&self, py: Python<'_>, exception: &Bound<'_, PyAny>) -> PyResult<Answer> {
        let filters = self.exception_filters();
        if !filters.wants_unwind_events() {
            return Ok(Answer::Keep);
        }
        let Some(frame) = current_frame(py) else { return Ok(Answer::Keep) };
        let caller = frame.getattr("f_back")?;
        if caller.is_none() {
            return Ok(Answer::Keep);
        }
        let origin_of = |f: &Bound<'_, PyAny>| -> PyResult<Origin> {
            let filename: String = f.getattr("f_code")?.getattr("co_filename")?.extract()?;
            Ok(self.origin_of(&filename))
        };
        if origin_of(&frame)? != Origin::User || origin_of(&caller)? != Origin::Library {
            return Ok(Answer::Keep);
        }
        if !LAST_LEFT_USER_CODE.first_sight(exception)
            || !filters.stops_when_leaving_user_code(&self.exception_type_names(exception)?)
        {
            return Ok(Answer::Keep);
        }
        let text = exception_text(py, exception);
        let interrupt = self.park_with(
            py,
            &frame,
            StopReason::Exception { mode: BreakMode::UserUnhandled, text },
            ParkedIn::OtherEvent,
            Some(exception),
            None,
        );
        Ok(Answer::after_stop(interrupt))
    }

    pub(super) fn on_instruction(&self, py: Python<'_>, code: &Bound<'_, PyAny>, offset: i64) -> PyResult<Answer> {
        let Some(frame) = current_frame(py) else { return Ok(Answer::Keep) };
        let address = code.as_ptr() as usize;
        // Just after a store to a watched local (local_watches.rs).
        let (after_store, only_data) = {
            let state = self.state.lock();
            let after_store = Engine::watches_offset(&state, address, offset);
            let others =
                state.instruction_breakpoints.contains_key(&address) || state.column_code.contains_key(&address);
            (after_store, after_store && !others)
        };
        if after_store {
            if let Some(change) = self.stopping_local_change(py, &frame, address, offset) {
                if let Some(interrupt) = self.stop_after_store(py, change, self.on_store_line(address, offset)) {
                    return Ok(Answer::after_stop(interrupt));
                }
            }
            if only_data && self.plans.is_empty() {
                return Ok(Answer::Keep);
            }
        }
        let filename = filename(py, code)?;
        let (origin, just_my_code, breakpoint) = {
            let mut state = self.state.lock();
            let at = |bps: Option<&BTreeMap<i64, Arc<Breakpoint>>>| bps.and_then(|b| b.get(&offset)).cloned();
            let breakpoint = match at(state.instruction_breakpoints.get(&address).map(|c| &c.by_offset)) {
                Some(bp) => Some((StopReason::InstructionBreakpoint(bp.id), bp)),
                None => at(state.column_code.get(&address).map(|c| &c.by_offset))
                    .map(|bp| (StopReason::Breakpoint(bp.id), bp)),
            };
            (state.files.info(filename.to_str()?).origin, state.just_my_code, breakpoint)
        };
        if let Some((reason, bp)) = breakpoint.as_ref() {
            if self.breakpoint_stops(py, bp, &frame) {
                return Ok(Answer::after_stop(self.park(py, &frame, reason.clone(), ParkedIn::OtherEvent)));
            }
        }
        let stoppable = origin == Origin::User || (origin == Origin::Library && !just_my_code);
        let stop = self
            .plans
            .get_mut(&current_ident())
            .is_some_and(|mut plan| plan.stops_at_instruction(frame.as_ptr() as usize, offset, stoppable));
        if stop {
            if let Some(reason) = self.step_end_reason(py, &frame, StopReason::Step) {
                return Ok(Answer::after_stop(self.park(py, &frame, reason, ParkedIn::OtherEvent)));
            }
        }
        // Only a breakpoint's own instruction needs to call back again, until the next restart.
        Ok(if breakpoint.is_none() && !after_store && self.quiet() { Answer::Disable } else { Answer::Keep })
    }

    pub(super) fn on_line(&self, py: Python<'_>, code: &Bound<'_, PyAny>, line: i64) -> PyResult<Answer> {
        let at_line = |state: &State, info: Arc<FileInfo>| {
            let file = state.line_breakpoints.get(&info.key);
            let bp = file.and_then(|f| f.lines.get(&line)).cloned();
            let columns = file.and_then(|f| f.columns.get(&line)).cloned();
            (info, bp, columns, state.just_my_code)
        };
        // Code armed for breakpoints or recording knows its file; other code (a step's) reads
        // `co_filename`.
        let (armed, recording) = {
            let state = self.state.lock();
            let address = code.as_ptr() as usize;
            let recorded = state.recorded_code.get(&address);
            let armed = state.breakpoint_code.get(&address).or(recorded.map(|r| &r.armed));
            let file = armed.map(|armed| armed.file.clone());
            let recording = match (&state.recording, recorded) {
                (Some(r), Some(code)) => Some(LineRecording {
                    generation: r.generation,
                    capacity: r.config.capacity,
                    stores: code.stores.clone(),
                    frames_before: !state.frames_before_recording.is_empty(),
                }),
                _ => None,
            };
            (file.map(|file| at_line(&state, file)), recording)
        };
        // Recorded before any stop, so that the stop is the latest line of the history.
        if let Some(recording) = &recording {
            if let Err(e) = self.record_line(py, recording, line) {
                tracing::warn!("recording a line: {e}");
            }
        }
        let (info, breakpoint, columns, just_my_code) = match armed {
            Some(found) => found,
            None => {
                let filename = filename(py, code)?;
                let mut state = self.state.lock();
                let info = state.files.info(filename.to_str()?);
                at_line(&state, info)
            }
        };
        let origin = info.origin;
        if let Some(columns) = &columns {
            self.arm_column_breakpoints(py, code, &info.key, line, columns)?;
        }
        if origin == Origin::Internal {
            return Ok(Answer::Disable);
        }
        let Some(frame) = current_frame(py) else { return Ok(Answer::Keep) };
        if let Some(bp) = &breakpoint {
            if self.breakpoint_stops(py, bp, &frame) {
                return Ok(Answer::after_stop(self.park(py, &frame, StopReason::Breakpoint(bp.id), ParkedIn::Line)));
            }
        }
        let ident = current_ident();
        let step_stop = self.plans.get(&ident).and_then(|plan| {
            // The program's entry is its own first line, never the library code before it.
            let stoppable = origin == Origin::User || (!just_my_code && plan.kind != StepKind::ProgramEntry);
            let function = match plan.kind {
                StepKind::IntoTarget(_) => {
                    code.getattr("co_name").and_then(|n| n.extract::<String>()).unwrap_or_default()
                }
                _ => String::new(),
            };
            plan.stops_at_line(frame.as_ptr() as usize, stoppable, &function).then(|| plan.kind.clone())
        });
        if let Some(kind) = step_stop {
            let reason = match kind {
                StepKind::FunctionEntry(id) => StopReason::FunctionBreakpoint(id),
                StepKind::ProgramEntry => StopReason::Entry,
                _ => StopReason::Step,
            };
            if let Some(reason) = self.step_end_reason(py, &frame, reason) {
                return Ok(Answer::after_stop(self.park(py, &frame, reason, ParkedIn::Line)));
            }
        }
        if self.must_stop_for_all_stop() {
            return Ok(Answer::after_stop(self.park(py, &frame, StopReason::Pause, ParkedIn::Line)));
        }
        let disable = breakpoint.is_none() && columns.is_none() && recording.is_none() && self.quiet();
        Ok(if disable { Answer::Disable } else { Answer::Keep })
    }
}
