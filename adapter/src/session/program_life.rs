//! The program's process, from its start to its end: its pipes and exit, the timers that bound
//! its end, and when the session is over.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{json, Value};

use super::{Mode, ProgramNews, Session, Timer, DRAIN_GRACE, KILL_GRACE};
use crate::process::{self, ProcessEvent};
use crate::proxy::Origin;

impl Session {
    pub(super) fn on_started(&mut self, pid: u32) {
        self.program.pid = Some(pid);
        self.program.open_pipes = 2;
        if self.program.terminating || self.program.ended || self.program.failed {
            // Ended before it connected: it never ran any of the user's code.
            process::signal_group(pid, libc::SIGKILL);
        }
    }

    pub(super) fn on_process(&mut self, event: ProcessEvent) {
        match event {
            ProcessEvent::Output { category, text } => {
                if !self.quiet() && !self.program.ended {
                    self.client.output(category, text);
                }
            }
            ProcessEvent::OutputClosed => {
                self.program.open_pipes = self.program.open_pipes.saturating_sub(1);
                self.check_end();
            }
            ProcessEvent::Exited(code) => {
                self.program.exit_code = Some(code);
                self.program.exit_report_pending = false;
                let own = matches!(&self.program.mode, Mode::Launch(l) if l.own_process);
                if self.program.terminating && own {
                    // Whatever the program started goes with it.
                    if let Some(pid) = self.program.pid {
                        process::signal_group(pid, libc::SIGKILL);
                    }
                }
                self.after(DRAIN_GRACE, Timer::Drain);
                self.check_end();
            }
            ProcessEvent::ExitUnreported => {
                self.program.exit_report_pending = false;
                self.check_end();
            }
        }
    }

    /// Ends the program: a KeyboardInterrupt through the core when it is connected (so `finally`
    /// blocks run), a kill otherwise (it has not run any user code yet); the process group is
    /// killed if it is still there after the grace period.
    pub(super) fn end_program(&mut self) {
        if self.program.terminating || self.program.ended {
            return;
        }
        self.program.terminating = true;
        if let Some(link) = &mut self.program.link {
            link.command("terminate", json!({}), Origin::Internal);
        } else {
            self.kill();
            if let Some(task) = self.program.connecting.take() {
                task.abort();
                self.fail("the launch was cancelled: the client ended the session".into());
            }
        }
        self.after(KILL_GRACE, Timer::Kill);
    }

    /// The program's id: known from the `Started` event, or straight from the launch task.
    pub(super) fn program_pid(&self) -> Option<u32> {
        self.program.pid.or(match self.program.spawned.load(Ordering::SeqCst) {
            0 => None,
            pid => Some(pid),
        })
    }

    /// The adapter is about to exit: a program it started goes too, unless the client asked to
    /// leave it running.
    pub(super) fn leave_nothing_behind(&self) {
        let own = matches!(&self.program.mode, Mode::Launch(l) if l.own_process);
        if let (true, Some(pid)) = (own && !self.detached && self.program.exit_code.is_none(), self.program_pid()) {
            process::signal_group(pid, libc::SIGKILL);
        }
    }

    pub(super) fn kill(&self) {
        let own = matches!(&self.program.mode, Mode::Launch(l) if l.own_process);
        match self.program_pid() {
            Some(pid) if own && self.program.exit_code.is_none() => {
                process::signal_group(pid, libc::SIGKILL);
            }
            Some(pid) if !own && self.program.link.is_some() => {
                process::signal_process(pid, libc::SIGKILL);
            }
            _ => {}
        }
    }

    pub(super) fn on_timer(&mut self, timer: Timer) {
        match timer {
            Timer::Kill if !self.program.ended => {
                tracing::warn!("the program did not end within {KILL_GRACE:?}; killing it");
                self.kill();
            }
            Timer::Drain => {
                self.program.drained = true;
                self.check_end();
            }
            Timer::GiveUp if !self.done => {
                tracing::warn!("giving up waiting for the program to end");
                if let Some(request) = self.disconnect.take() {
                    self.respond(&request, Ok(Value::Null));
                }
                self.done = true;
            }
            _ => {}
        }
    }

    pub(super) fn after(&self, delay: Duration, timer: Timer) {
        let news = self.program_news();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            news(ProgramNews::Timer(timer));
        });
    }

    /// The launch or attach failed: say so, answer what waited, and end what was started.
    pub(super) fn fail(&mut self, message: String) {
        tracing::warn!("{message}");
        self.program.failed = true;
        if let Some(request) = self.program.request.take() {
            self.respond(&request, Err(message.clone()));
        }
        for request in std::mem::take(&mut self.program.waiting) {
            self.respond(&request, Err(format!("nothing is being debugged: {message}")));
        }
        self.end_program();
        self.check_end();
    }

    /// Once the program has ended and everything it said has been passed on: `exited` (with the
    /// real exit code where the adapter has the process, else the one the core reported) and
    /// `terminated`, then the answer to a waiting disconnect.
    pub(super) fn check_end(&mut self) {
        if self.program.ended {
            return;
        }
        let over = match &self.program.mode {
            Mode::Idle => false,
            Mode::Launch(l) if l.own_process => {
                self.program.connecting.is_none()
                    && (self.program.exit_code.is_some()
                        && ((self.program.open_pipes == 0 && self.program.link.is_none()) || self.program.drained)
                        || self.program.failed && self.program.pid.is_none())
            }
            _ => {
                self.program.connecting.is_none()
                    && self.program.link.is_none()
                    && (self.program.linked && !self.program.exit_report_pending
                        || self.program.failed
                        || self.child_gone)
            }
        };
        if !over {
            return;
        }
        self.program.ended = true;
        if let Some(link) = self.program.link.take() {
            link.close();
        }
        if let Some((request, arguments)) = self.restart.take() {
            if !self.quiet() {
                return self.relaunch(request, arguments);
            }
        }
        if !self.program.failed && !self.quiet() {
            if let Some(code) = self.program.exit_code.or(self.program.core_exit_code) {
                self.client.event("exited", json!({"exitCode": code}));
            }
            self.client.event("terminated", Value::Null);
        }
        if let Some(request) = self.disconnect.take() {
            self.respond(&request, Ok(Value::Null));
            self.done = true;
        }
        if self.client_gone || self.detached {
            self.done = true;
        }
    }
}
