//! Who may debug this process. With an access token (`--access-token`, `PYDBG_ACCESS_TOKEN`,
//! `pydbg.listen(access_token=...)`), a client is served nothing but `initialize` until its
//! `attach` (or `launch`) carries `"accessToken"`; anything else closes the connection. The
//! program runs on, and the next client may try again.

use crate::protocol::secrets::{same_secret, ACCESS_TOKEN_KEY};
use crate::protocol::Request;

pub enum Admission {
    /// No token is needed, or the client has given it.
    Admitted,
    Awaiting(String),
}

impl Admission {
    pub fn new(access_token: Option<String>) -> Self {
        access_token.map_or(Admission::Admitted, Admission::Awaiting)
    }

    pub fn is_admitted(&self) -> bool {
        matches!(self, Admission::Admitted)
    }

    /// Whether `request` may be served. An error is the answer to give before closing.
    pub fn check(&mut self, request: &Request) -> Result<(), String> {
        let Admission::Awaiting(token) = self else { return Ok(()) };
        match request.command.as_str() {
            "initialize" => Ok(()),
            "attach" | "launch" => match request.arguments.get(ACCESS_TOKEN_KEY).and_then(|t| t.as_str()) {
                Some(given) if same_secret(given, token) => {
                    *self = Admission::Admitted;
                    Ok(())
                }
                Some(_) => Err("the access token is wrong".into()),
                None => Err(format!(
                    "this pydbg requires an access token: give \"{ACCESS_TOKEN_KEY}\" in the {} arguments",
                    request.command
                )),
            },
            other => Err(format!("'{other}' before the access token: attach with \"{ACCESS_TOKEN_KEY}\" first")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(command: &str, arguments: serde_json::Value) -> Request {
        Request { seq: 1, command: command.into(), arguments }
    }

    #[test]
    fn only_initialize_until_the_right_token() {
        let mut admission = Admission::new(Some("s3cret".into()));
        assert!(admission.check(&request("initialize", json!({}))).is_ok());
        assert!(admission.check(&request("threads", json!({}))).is_err());
        assert!(admission.check(&request("attach", json!({}))).unwrap_err().contains("requires an access token"));
        assert!(admission.check(&request("attach", json!({"accessToken": "nope"}))).unwrap_err().contains("wrong"));
        assert!(admission.check(&request("attach", json!({"accessToken": 7}))).is_err());
        assert!(!admission.is_admitted());
        assert!(admission.check(&request("attach", json!({"accessToken": "s3cret"}))).is_ok());
        assert!(admission.is_admitted() && admission.check(&request("threads", json!({}))).is_ok());
    }

    #[test]
    fn without_a_token_everything_is_served() {
        let mut admission = Admission::new(None);
        assert!(admission.is_admitted() && admission.check(&request("threads", json!({}))).is_ok());
    }
}
