//! The DAP client on stdin/stdout: what the adapter sends it (numbered by one outbox, whatever
//! the message's source) and the reverse requests the adapter waits on (`runInTerminal`).

use std::collections::HashMap;
use std::sync::Mutex;

use pydbg_protocol::Outgoing;
use serde_json::{json, Value};
use tokio::io::AsyncWrite;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::wire::{self, Outbox};

pub struct Client {
    out: Outbox,
    /// Reverse requests the adapter sent, by their seq, with who waits for the answer.
    waiting: Mutex<HashMap<i64, oneshot::Sender<Value>>>,
}

impl Client {
    pub fn new<W: AsyncWrite + Unpin + Send + 'static>(writer: W) -> (Client, JoinHandle<()>) {
        let (out, writer) = Outbox::new(writer, "client");
        (Client { out, waiting: Mutex::new(HashMap::new()) }, writer)
    }

    /// Sends a message as it is, but for its `seq`; returns the seq it got.
    pub fn send(&self, message: Value) -> i64 {
        self.out.send(message)
    }

    pub fn respond(&self, request: &Value, result: Result<Value, String>) {
        self.out.send_outgoing(wire::response_to(request, result));
    }

    pub fn event(&self, event: &'static str, body: Value) {
        self.out.send_outgoing(if body.is_null() { Outgoing::bare_event(event) } else { Outgoing::event(event, body) });
    }

    pub fn output(&self, category: &'static str, text: impl Into<String>) {
        self.event("output", json!({"category": category, "output": text.into()}));
    }

    /// Sends a reverse request and waits for the client's response (success or not).
    pub async fn reverse_request(&self, command: &str, arguments: Value) -> Result<Value, String> {
        let (tx, rx) = oneshot::channel();
        {
            // Registered under the lock that numbers the request, so the answer cannot come first.
            let mut waiting = self.waiting.lock().expect("waiting lock");
            let seq = self.out.send(wire::request(command, arguments));
            waiting.insert(seq, tx);
        }
        rx.await.map_err(|_| format!("the client went away before answering {command}"))
    }

    /// Hands a response to the reverse request that waits for it; gives it back if none does.
    pub fn resolve(&self, response: Value) -> Option<Value> {
        let request_seq = response.get("request_seq").and_then(Value::as_i64).unwrap_or(0);
        match self.waiting.lock().expect("waiting lock").remove(&request_seq) {
            Some(waiter) => {
                let _ = waiter.send(response);
                None
            }
            None => Some(response),
        }
    }

    /// Nothing more goes out; the writer ends once it has written what is queued.
    pub fn close(&self) {
        self.waiting.lock().expect("waiting lock").clear();
        self.out.close();
    }
}
