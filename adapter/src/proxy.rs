//! The link to the debuggee's in-process DAP server, and the bookkeeping that keeps two sequence
//! spaces apart: each request the adapter writes to the debuggee gets the link's own `seq`, and
//! its response goes back to whoever asked (the client, under the client's `request_seq`, or the
//! adapter itself). Reverse requests from the debuggee are mapped the other way.

use std::collections::HashMap;

use serde_json::Value;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::wire::{self, Inbound, Outbox};

/// Who a request on the link came from, and so where its response goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// The client's request with this seq: the response is forwarded.
    Client { seq: i64, command: String },
    /// The client's `initialize`, replayed to the debuggee: its capabilities are compared.
    Replay,
    /// The `attach` that stands for the client's `launch`: it answers the launch.
    Launch,
    /// The adapter's own request (a terminate on the client's behalf): the response is dropped.
    Internal,
}

pub struct Link {
    out: Outbox,
    reader: JoinHandle<()>,
    /// Requests written to the debuggee that wait for a response, by the link's seq.
    pending: HashMap<i64, Origin>,
    /// Reverse requests from the debuggee, by the seq the client saw: the debuggee's seq.
    reverse: HashMap<i64, i64>,
}

impl Link {
    /// Starts reading from `stream`; every frame goes to `deliver`, then a final `Closed`.
    pub fn new(stream: TcpStream, deliver: impl Fn(Inbound) -> bool + Send + 'static) -> Link {
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let (out, _writer) = Outbox::new(write, "debuggee");
        let reader = wire::spawn_reader(read, deliver);
        Link { out, reader, pending: HashMap::new(), reverse: HashMap::new() }
    }

    /// Writes a request (the client's, or one the adapter made) and remembers who asked.
    pub fn request(&mut self, message: Value, origin: Origin) {
        let seq = self.out.send(message);
        self.pending.insert(seq, origin);
    }

    /// Forwards the client's request; its response will go back under the client's seq.
    pub fn forward(&mut self, mut request: Value) {
        if wire::command_of(&request) == "cancel" {
            self.name_cancelled_request_by_link_seq(&mut request);
        }
        let origin = Origin::Client { seq: wire::seq_of(&request), command: wire::command_of(&request).to_owned() };
        self.request(request, origin);
    }

    /// A `cancel` names the client's seq; the debuggee knows that request by the link's. One
    /// already answered is no longer named at all.
    fn name_cancelled_request_by_link_seq(&self, cancel: &mut Value) {
        let Some(arguments) = cancel.get_mut("arguments").and_then(Value::as_object_mut) else { return };
        let Some(client_seq) = arguments.get("requestId").and_then(Value::as_i64) else { return };
        let link_seq = self.pending.iter().find_map(|(link_seq, origin)| match origin {
            Origin::Client { seq, .. } if *seq == client_seq => Some(*link_seq),
            _ => None,
        });
        match link_seq {
            Some(link_seq) => arguments.insert("requestId".into(), Value::from(link_seq)),
            None => arguments.remove("requestId"),
        };
    }

    pub fn command(&mut self, command: &str, arguments: Value, origin: Origin) {
        self.request(wire::request(command, arguments), origin);
    }

    /// Who asked for the request that `response` answers, now that it is answered.
    pub fn answered(&mut self, response: &Value) -> Option<Origin> {
        let request_seq = response.get("request_seq").and_then(Value::as_i64)?;
        self.pending.remove(&request_seq)
    }

    /// Remembers a reverse request from the debuggee that went to the client as `client_seq`.
    pub fn reverse_request_sent(&mut self, client_seq: i64, debuggee_seq: i64) {
        self.reverse.insert(client_seq, debuggee_seq);
    }

    /// Passes the client's response to a reverse request back to the debuggee; gives it back if
    /// the debuggee did not ask.
    pub fn reverse_response(&mut self, mut response: Value) -> Option<Value> {
        let request_seq = response.get("request_seq").and_then(Value::as_i64).unwrap_or(0);
        match self.reverse.remove(&request_seq) {
            Some(debuggee_seq) => {
                response["request_seq"] = Value::from(debuggee_seq);
                self.out.send(response);
                None
            }
            None => Some(response),
        }
    }

    /// The client's requests that will now never be answered: (seq, command), in order.
    pub fn unanswered_client_requests(&mut self) -> Vec<(i64, String)> {
        let mut requests: Vec<(i64, String)> = self
            .pending
            .drain()
            .filter_map(|(_, origin)| match origin {
                Origin::Client { seq, command } => Some((seq, command)),
                _ => None,
            })
            .collect();
        requests.sort_unstable();
        requests
    }

    /// Closes the connection: the debuggee sees the client go (after an attach, it resumes).
    pub fn close(self) {
        self.out.close();
        self.reader.abort();
    }
}

/// The capabilities in `reported` (the debuggee's) that differ from `announced` (what the adapter
/// told the client before the debuggee existed), for a `capabilities` event.
pub fn changed_capabilities(announced: &Value, reported: &Value) -> serde_json::Map<String, Value> {
    let Some(reported) = reported.as_object() else { return Default::default() };
    reported
        .iter()
        .filter(|(key, value)| announced.get(key.as_str()) != Some(value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_changed_capabilities_are_announced() {
        let announced = json!({"a": true, "b": [1]});
        let changed = changed_capabilities(&announced, &json!({"a": true, "b": [1, 2], "c": false}));
        assert_eq!(Value::Object(changed), json!({"b": [1, 2], "c": false}));
        assert!(changed_capabilities(&announced, &json!({"a": true})).is_empty());
    }
}
