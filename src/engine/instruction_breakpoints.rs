//! Instruction breakpoints: a stop before one bytecode instruction runs. The code object gets
//! INSTRUCTION as a local event; every other instruction of it answers DISABLE the first time it
//! runs, so only the breakpoint's offset keeps calling back.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use pyo3::prelude::*;

use super::breakpoints::{Behaviour, Placement};
use super::conditions::Breakpoint;
use super::Engine;

/// A breakpoint asked for before the instruction at `offset` of `code`, or why none can be.
pub struct InstructionRequest {
    pub target: Result<(Py<PyAny>, i64), String>,
    pub behaviour: Behaviour,
}

/// The instruction breakpoints of one code object, which they keep alive so that its address
/// stays its own.
pub(super) struct CodeBreakpoints {
    pub(super) code: Py<PyAny>,
    pub(super) by_offset: BTreeMap<i64, Arc<Breakpoint>>,
}

impl Engine {
    /// Replaces every instruction breakpoint and reports how each one was placed.
    pub fn set_instruction_breakpoints(&self, py: Python<'_>, requested: Vec<InstructionRequest>) -> Vec<Placement> {
        let mut table: HashMap<usize, CodeBreakpoints> = HashMap::new();
        let mut answers = Vec::new();
        for request in requested {
            let id = self.next_breakpoint_id();
            let placed = request.target.and_then(|(code, offset)| {
                let breakpoint = self.compile_breakpoint(py, id, 0, &request.behaviour)?;
                Ok((code, offset, breakpoint))
            });
            answers.push(match placed {
                Ok((code, offset, breakpoint)) => {
                    let address = code.as_ptr() as usize;
                    let entry =
                        table.entry(address).or_insert_with(|| CodeBreakpoints { code, by_offset: BTreeMap::new() });
                    entry.by_offset.entry(offset).or_insert_with(|| Arc::new(breakpoint));
                    Placement { id, line: None, column: None, refusal: None }
                }
                Err(message) => Placement { id, line: None, column: None, refusal: Some(message) },
            });
        }
        let (old, rearm) = {
            let mut state = self.state.lock();
            let old = std::mem::replace(&mut state.instruction_breakpoints, table);
            let touched: Vec<Py<PyAny>> =
                old.values().chain(state.instruction_breakpoints.values()).map(|c| c.code.clone_ref(py)).collect();
            let rearm: Vec<(Py<PyAny>, i64)> = touched
                .into_iter()
                .map(|code| {
                    let events = self.local_events_for(&state, code.as_ptr() as usize);
                    (code, events)
                })
                .collect();
            (old, rearm)
        };
        for (code, events) in &rearm {
            self.set_local_events(py, code.bind(py), *events);
        }
        // restart_events() also brings back the instructions that answered DISABLE.
        self.refresh_events(py);
        drop(old);
        answers
    }
}
