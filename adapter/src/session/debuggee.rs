//! The link to the debuggee: its connection, what it sends (responses, events, reverse
//! requests), and its closing.

use pydbg_protocol::secrets::Redacted;
use serde_json::{json, Value};
use tokio::net::TcpStream;

use super::{Mode, ProgramNews, Session};
use crate::proxy::{self, Link, Origin};
use crate::{capabilities, ended, wire};

impl Session {
    pub(super) fn on_linked(&mut self, stream: TcpStream) {
        self.program.connecting = None;
        if self.program.ended || self.program.terminating {
            return; // too late: the stream closes, and the program is being ended
        }
        tracing::info!("the debuggee connected");
        let news = self.program_news();
        let mut link = Link::new(stream, move |inbound| news(ProgramNews::Debuggee(inbound)));
        let initialize = self.initialize.clone().unwrap_or_else(|| json!({"adapterID": "pydbg"}));
        link.command("initialize", initialize, Origin::Replay);
        match &self.program.mode {
            Mode::Launch(_) => link.command("attach", self.program.attach_arguments.take(), Origin::Launch),
            _ => {
                // The client's own attach goes through; its response is the core's.
                if let Some(request) = self.program.request.take() {
                    link.forward(request);
                }
            }
        }
        if self.generation > 0 {
            // A restarted program: the client configured the session once, at its start.
            for (command, arguments) in self.configuration.replay() {
                link.command(command, arguments, Origin::Internal);
            }
            link.command("configurationDone", json!({}), Origin::Internal);
        }
        for request in self.program.waiting.drain(..) {
            link.forward(request);
        }
        self.program.link = Some(link);
        self.program.linked = true;
    }

    pub(super) fn on_debuggee(&mut self, message: Value) {
        tracing::debug!(target: "pydbg_adapter::wire", "<- debuggee {}", Redacted(&message));
        match message.get("type").and_then(Value::as_str) {
            Some("response") => self.on_debuggee_response(message),
            Some("event") => self.on_debuggee_event(message),
            Some("request") if !self.client_gone => {
                let debuggee_seq = wire::seq_of(&message);
                let client_seq = self.client.send(message);
                if let Some(link) = &mut self.program.link {
                    link.reverse_request_sent(client_seq, debuggee_seq);
                }
            }
            _ => {}
        }
    }

    pub(super) fn on_debuggee_response(&mut self, mut message: Value) {
        let Some(origin) = self.program.link.as_mut().and_then(|link| link.answered(&message)) else { return };
        let success = message.get("success") == Some(&Value::Bool(true));
        match origin {
            Origin::Client { seq, .. } => {
                message["request_seq"] = Value::from(seq);
                if !self.client_gone {
                    self.client.send(message);
                }
                if self.finish_after == Some(seq) {
                    self.finish_after = None;
                    let draining =
                        matches!(&self.program.mode, Mode::Launch(l) if l.own_process) && !self.program.ended;
                    if !draining {
                        self.done = true;
                    }
                }
            }
            Origin::Replay if success => {
                let reported = message.get("body").cloned().unwrap_or(Value::Null);
                let changed = proxy::changed_capabilities(&capabilities::announced(), &reported);
                if !changed.is_empty() {
                    tracing::info!(?changed, "the debuggee's capabilities differ from the announced ones");
                    self.client.event("capabilities", json!({"capabilities": changed}));
                }
            }
            Origin::Launch => {
                let Some(request) = self.program.request.take() else { return };
                if success {
                    self.respond(&request, Ok(Value::Null));
                } else {
                    let reason = message.get("message").and_then(Value::as_str).unwrap_or("no reason given");
                    self.program.request = Some(request);
                    self.fail(format!("pydbg could not attach to the program: {reason}"));
                }
            }
            Origin::Replay | Origin::Internal => {}
        }
    }

    pub(super) fn on_debuggee_event(&mut self, mut message: Value) {
        let body = message.get("body").cloned().unwrap_or(Value::Null);
        match message.get("event").and_then(Value::as_str).unwrap_or("") {
            // The adapter sent its own, at initialize.
            "initialized" => return,
            // The adapter reports the end itself, once the output has drained, with the real
            // exit code where it has the process.
            "exited" => {
                self.program.core_exit_code = body.get("exitCode").and_then(Value::as_i64);
                return;
            }
            "terminated" => return,
            "process" => {
                if let Mode::Launch(launch) = &self.program.mode {
                    let pid = body.get("systemProcessId").and_then(Value::as_u64);
                    if self.program.pid.is_none() {
                        self.program.pid = pid.and_then(|p| u32::try_from(p).ok());
                    }
                    message["body"] = json!({"name": launch.name, "systemProcessId": pid, "isLocalProcess": true,
                                             "startMethod": "launch"});
                }
            }
            _ => {}
        }
        if !self.quiet() {
            self.client.send(message);
        }
    }

    pub(super) fn on_link_closed(&mut self) {
        tracing::info!("the debuggee's connection closed");
        let unanswered = self.program.link.as_mut().map(|link| link.unanswered_client_requests()).unwrap_or_default();
        // Only a session that still has something to answer asks; a child whose session simply
        // ended (a disconnect) is never waited for.
        let child_gone = (self.program.request.is_some() || !unanswered.is_empty()) && self.is_child_gone();
        if let Some(link) = self.program.link.take() {
            for (seq, command) in unanswered {
                if !self.client_gone {
                    let request = json!({"seq": seq, "command": command});
                    // What terminate and disconnect asked for has happened.
                    let result = match command.as_str() {
                        _ if child_gone => ended::answer(&request),
                        "terminate" | "disconnect" => Ok(Value::Null),
                        _ => Err(format!("the program ended before answering '{command}'")),
                    };
                    self.respond(&request, result);
                }
            }
            link.close();
        }
        if child_gone {
            self.end_child_session();
        } else if self.program.request.is_some() {
            self.fail("the program ended before pydbg could attach to it".into());
        }
        self.check_end();
    }
}
