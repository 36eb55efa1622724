//! DAP messages on a byte stream, kept as JSON values: the adapter forwards most of them, so it
//! only looks at the fields it needs. A reader turns frames into [`Inbound`]s; an [`Outbox`]
//! numbers what it sends, one `seq` counter per peer, so each peer sees a consistent sequence
//! whatever the adapter injects or drops.

use std::sync::Mutex;

use pydbg_protocol::codec::{encode_frame, read_frame, Frame};
use pydbg_protocol::secrets::Redacted;
use pydbg_protocol::Outgoing;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What a reader delivers. Bodies are parsed by the receiver: the client and the debuggee are
/// held to different rules.
pub enum Inbound {
    Body(Vec<u8>),
    /// A header block without a usable `Content-Length`.
    BadHeader(String),
    /// End of stream or a read error: the peer is gone.
    Closed,
}

/// Reads frames until the stream ends; `deliver` returns false to stop early.
pub fn spawn_reader<R, F>(reader: R, deliver: F) -> JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    F: Fn(Inbound) -> bool + Send + 'static,
{
    tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        loop {
            let inbound = match read_frame(&mut reader).await {
                Ok(Some(Frame::Body(body))) => Inbound::Body(body),
                Ok(Some(Frame::BadHeader(message))) => Inbound::BadHeader(message),
                Ok(None) => Inbound::Closed,
                Err(e) => {
                    tracing::info!("read failed: {e}");
                    Inbound::Closed
                }
            };
            let closed = matches!(inbound, Inbound::Closed);
            if !deliver(inbound) || closed {
                return;
            }
        }
    })
}

/// Numbers messages for one peer and queues them for its writer, in order.
pub struct Outbox {
    peer: &'static str,
    state: Mutex<(i64, Option<mpsc::UnboundedSender<Value>>)>,
}

impl Outbox {
    /// Starts the writer task for `writer`; it ends once the outbox is closed and drained.
    pub fn new<W: AsyncWrite + Unpin + Send + 'static>(writer: W, peer: &'static str) -> (Outbox, JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(write_messages(writer, rx, peer));
        (Outbox { peer, state: Mutex::new((0, Some(tx))) }, task)
    }

    /// Sends `message` with the next `seq` and returns that number.
    pub fn send(&self, mut message: Value) -> i64 {
        let mut state = self.state.lock().expect("outbox lock");
        state.0 += 1;
        let seq = state.0;
        message["seq"] = Value::from(seq);
        tracing::debug!(target: "pydbg_adapter::wire", "-> {} {}", self.peer, Redacted(&message));
        if let Some(tx) = &state.1 {
            let _ = tx.send(message);
        }
        seq
    }

    pub fn send_outgoing(&self, message: Outgoing) -> i64 {
        self.send(message.to_json(0))
    }

    /// No more messages: the writer ends after writing what is queued.
    pub fn close(&self) {
        self.state.lock().expect("outbox lock").1 = None;
    }
}

async fn write_messages<W: AsyncWrite + Unpin>(mut writer: W, mut queue: mpsc::UnboundedReceiver<Value>, peer: &str) {
    let mut failed = false;
    while let Some(message) = queue.recv().await {
        if failed {
            continue; // keep draining, so senders never notice
        }
        let body = serde_json::to_vec(&message).expect("JSON values serialize");
        let result = async {
            writer.write_all(&encode_frame(&body)).await?;
            writer.flush().await
        }
        .await;
        if let Err(e) = result {
            tracing::info!("writing to the {peer} failed: {e}");
            failed = true;
        }
    }
    let _ = writer.shutdown().await;
}

/// `seq` of a message, or 0.
pub fn seq_of(message: &Value) -> i64 {
    message.get("seq").and_then(Value::as_i64).unwrap_or(0)
}

pub fn command_of(message: &Value) -> &str {
    message.get("command").and_then(Value::as_str).unwrap_or("")
}

/// A request's arguments; an absent key reads as `{}`.
pub fn arguments_of(message: &Value) -> Value {
    match message.get("arguments") {
        Some(Value::Null) | None => Value::Object(Default::default()),
        Some(arguments) => arguments.clone(),
    }
}

/// A request message with this command and arguments; its outbox sets `seq`.
pub fn request(command: &str, arguments: Value) -> Value {
    serde_json::json!({"type": "request", "command": command, "arguments": arguments})
}

/// The response to `request`: a body on success, a message on failure.
pub fn response_to(request: &Value, result: Result<Value, String>) -> Outgoing {
    Outgoing::Response {
        request_seq: seq_of(request),
        command: command_of(request).to_owned(),
        result: result.map(|body| pydbg_protocol::message::raw_body(&body)),
    }
}
