//! The message envelope: requests in, responses and events out.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// A request from the client. `arguments` stays raw until its handler asks for a typed view.
#[derive(Debug, Clone)]
pub struct Request {
    pub seq: i64,
    pub command: String,
    pub arguments: Value,
}

impl Request {
    /// The arguments as `T`. An absent `arguments` key reads as `{}`.
    pub fn args<T: DeserializeOwned>(&self) -> Result<T, String> {
        let value = if self.arguments.is_null() { json!({}) } else { self.arguments.clone() };
        serde_json::from_value(value).map_err(|e| format!("invalid arguments for '{}': {e}", self.command))
    }
}

/// What one frame from the client turned out to be.
#[derive(Debug)]
pub enum Incoming {
    Request(Request),
    /// The client's answer to a reverse request; nothing in pydbg waits on one yet.
    Response,
    /// Unusable input. `request_seq` is set when the message's `seq` could still be recovered,
    /// so that an error response can be addressed to it.
    Malformed {
        request_seq: Option<i64>,
        command: String,
        message: String,
    },
}

pub fn parse_incoming(body: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Incoming::Malformed {
                request_seq: recover_seq(body),
                command: recover_command(body).unwrap_or_default(),
                message: format!("malformed JSON: {e}"),
            }
        }
    };
    let seq = value.get("seq").and_then(Value::as_i64);
    let command = value.get("command").and_then(Value::as_str).map(str::to_owned);
    match value.get("type").and_then(Value::as_str) {
        Some("request") => match (seq, command) {
            (Some(seq), Some(command)) => Incoming::Request(Request {
                seq,
                command,
                arguments: value.get("arguments").cloned().unwrap_or(Value::Null),
            }),
            (seq, command) => Incoming::Malformed {
                request_seq: seq,
                command: command.unwrap_or_default(),
                message: "a request needs an integer 'seq' and a string 'command'".into(),
            },
        },
        Some("response") => Incoming::Response,
        other => Incoming::Malformed {
            request_seq: seq,
            command: command.unwrap_or_default(),
            message: format!("unsupported message type {other:?}; expected \"request\""),
        },
    }
}

/// Finds `"seq": N` in text that is not valid JSON, so a broken request still gets its answer.
fn recover_seq(body: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(body).ok()?;
    let after = &text[text.find("\"seq\"")? + 5..];
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

fn recover_command(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let after = &text[text.find("\"command\"")? + 9..];
    let after = after.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    Some(after[..after.find('"')?].to_owned())
}

/// A message to the client. The writer assigns `seq`. Bodies are serialized when the message
/// is made, straight from their protocol types: a stack of 500 frames never becomes a tree of
/// `Value`s.
#[derive(Debug)]
pub enum Outgoing {
    Response { request_seq: i64, command: String, result: Result<Box<RawValue>, String> },
    Event { event: &'static str, body: Option<Box<RawValue>> },
}

/// The envelope around a body, in the order DAP's examples give.
#[derive(Serialize)]
struct Envelope<'a> {
    seq: i64,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_seq: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    success: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    command: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a RawValue>,
}

fn raw<T: Serialize>(body: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(body).expect("protocol types serialize")
}

impl Outgoing {
    pub fn response<T: Serialize>(request: &Request, body: T) -> Self {
        Outgoing::Response { request_seq: request.seq, command: request.command.clone(), result: Ok(raw(&body)) }
    }

    pub fn error(request_seq: i64, command: &str, message: impl Into<String>) -> Self {
        Outgoing::Response { request_seq, command: command.to_owned(), result: Err(message.into()) }
    }

    pub fn event<T: Serialize>(event: &'static str, body: T) -> Self {
        Outgoing::Event { event, body: Some(raw(&body)) }
    }

    pub fn bare_event(event: &'static str) -> Self {
        Outgoing::Event { event, body: None }
    }

    /// The whole message as JSON text, numbered `seq`.
    pub fn encode(&self, seq: i64) -> Vec<u8> {
        // The text once, in `message` (the schema wants a body, which may be empty): clients
        // that show both `message` and `body.error` would show it twice.
        let empty = RawValue::from_string("{}".to_owned()).expect("valid JSON");
        let envelope = match self {
            Outgoing::Response { request_seq, command, result } => Envelope {
                seq,
                kind: "response",
                request_seq: Some(*request_seq),
                success: Some(result.is_ok()),
                command: Some(command),
                event: None,
                message: result.as_ref().err().map(String::as_str),
                body: Some(result.as_deref().unwrap_or(&empty)).filter(|body| body.get() != "null"),
            },
            Outgoing::Event { event, body } => Envelope {
                seq,
                kind: "event",
                request_seq: None,
                success: None,
                command: None,
                event: Some(event),
                message: None,
                body: body.as_deref(),
            },
        };
        serde_json::to_vec(&envelope).expect("JSON envelopes serialize")
    }

    /// The message as a `Value`, for code that edits it (the adapter renumbers what it relays).
    pub fn to_json(&self, seq: i64) -> Value {
        serde_json::from_slice(&self.encode(seq)).expect("an encoded message parses")
    }
}

/// A body that is already a `Value` (the adapter's own responses).
pub fn raw_body(value: &Value) -> Box<RawValue> {
    raw(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_without_arguments_reads_as_empty_object() {
        let Incoming::Request(r) = parse_incoming(br#"{"seq":3,"type":"request","command":"threads"}"#) else {
            panic!()
        };
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct Nothing {}
        assert!(r.args::<Nothing>().is_ok());
    }

    #[test]
    fn broken_json_recovers_seq_and_command() {
        match parse_incoming(br#"{"seq": 12, "type":"request","command":"next", "arguments": {"#) {
            Incoming::Malformed { request_seq, command, message } => {
                assert_eq!(request_seq, Some(12));
                assert_eq!(command, "next");
                assert!(message.starts_with("malformed JSON"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_message_type_is_malformed_with_seq() {
        assert!(matches!(
            parse_incoming(br#"{"seq":1,"type":"banana"}"#),
            Incoming::Malformed { request_seq: Some(1), .. }
        ));
    }

    #[test]
    fn responses_and_events_carry_their_bodies_as_serialized() {
        #[derive(Serialize)]
        struct Body {
            value: i64,
        }
        let request = Request { seq: 4, command: "evaluate".into(), arguments: Value::Null };
        let v = Outgoing::response(&request, Body { value: 7 }).to_json(9);
        assert_eq!(
            v,
            json!({"seq": 9, "type": "response", "request_seq": 4, "success": true,
                             "command": "evaluate", "body": {"value": 7}})
        );
        assert!(Outgoing::response(&request, ()).to_json(1).get("body").is_none(), "no body for ()");
        assert_eq!(
            Outgoing::bare_event("initialized").to_json(2),
            json!({"seq": 2, "type": "event", "event": "initialized"})
        );
        let e = Outgoing::event("output", Body { value: 1 }).to_json(3);
        assert_eq!(e["body"], json!({"value": 1}));
    }

    #[test]
    fn error_response_carries_message() {
        let v = Outgoing::error(4, "evaluate", "boom").to_json(9);
        assert_eq!(v["success"], false);
        assert_eq!(v["message"], "boom");
        assert_eq!(v["request_seq"], 4);
        assert_eq!(v["body"], serde_json::json!({}), "the text once, in message");
    }
}
