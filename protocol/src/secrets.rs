//! The access token travels in attach and launch arguments (`accessToken`). It is compared in
//! constant time and never written to a log: log messages through `Redacted`.

use std::fmt;

use serde_json::Value;

pub const ACCESS_TOKEN_KEY: &str = "accessToken";

/// Whether `given` is `expected`, in time that depends only on their lengths.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    let mut difference = given.len() ^ expected.len();
    for (i, byte) in expected.iter().enumerate() {
        difference |= usize::from(byte ^ given.get(i).copied().unwrap_or(!byte));
    }
    difference == 0
}

/// Displays a message with every `accessToken` value replaced.
pub struct Redacted<'a>(pub &'a Value);

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if holds_secret(self.0) {
            let mut copy = self.0.clone();
            redact(&mut copy);
            write!(f, "{copy}")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

fn holds_secret(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(key, v)| key == ACCESS_TOKEN_KEY || holds_secret(v)),
        Value::Array(items) => items.iter().any(holds_secret),
        _ => false,
    }
}

fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == ACCESS_TOKEN_KEY {
                    *v = Value::from("<redacted>");
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_match_only_when_equal() {
        assert!(same_secret("s3cret", "s3cret"));
        assert!(!same_secret("s3cret", "s3creT"));
        assert!(!same_secret("s3cre", "s3cret"));
        assert!(!same_secret("s3cret!", "s3cret"));
        assert!(!same_secret("", "s3cret"));
        assert!(same_secret("", ""));
    }

    #[test]
    fn tokens_never_reach_the_text() {
        let message = json!({"command": "attach", "arguments": {"accessToken": "hunter2", "port": 1,
                             "configurations": [{"accessToken": "hunter3"}]}});
        let text = Redacted(&message).to_string();
        assert!(!text.contains("hunter") && text.contains("<redacted>") && text.contains("\"port\":1"));
        assert_eq!(Redacted(&json!({"a": 1})).to_string(), r#"{"a":1}"#);
    }
}
