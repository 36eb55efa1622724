//! `attach` through the adapter: for clients that only start stdio adapters, the adapter connects
//! to a `pydbg --listen` server (`connect`, or the legacy top-level `host`/`port`), waits for
//! `pydbg --connect` to dial it (`listen`), or injects pydbg into a running process and connects
//! to it (`processId`); then it proxies as it does after a launch.

use std::time::Duration;

use std::path::PathBuf;

use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};

use crate::inject;

/// What an attach by `processId` injects: this pydbg, logging where the adapter logs.
pub struct Injector {
    pub package_dir: PathBuf,
    pub log_dir: Option<PathBuf>,
}

/// How long a `connect` keeps trying while the server is not up yet.
const CONNECT_RETRY: Duration = Duration::from_secs(3);

/// The attach arguments that say where the program is; the rest go to the program's pydbg.
#[cfg(test)]
pub const ENDPOINT_KEYS: &[&str] = &["connect", "listen", "host", "port", "processId"];

#[derive(Debug, PartialEq)]
pub enum Endpoint {
    Connect(String, u16),
    Listen(String, u16),
    Process(u32),
}

pub fn endpoint(arguments: &Value) -> Result<Endpoint, String> {
    let address = |value: &Value, what: &str| -> Result<(String, u16), String> {
        let host = match value.get("host") {
            None | Some(Value::Null) => "127.0.0.1".to_owned(),
            Some(Value::String(host)) => host.clone(),
            Some(_) => return Err(format!("{what}: \"host\" must be a string")),
        };
        let port = match value.get("port") {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        let port = port.and_then(|p| u16::try_from(p).ok()).ok_or(format!("{what}: \"port\" must be a port number"))?;
        Ok((host, port))
    };
    if let Some(connect) = arguments.get("connect").filter(|v| !v.is_null()) {
        let (host, port) = address(connect, "\"connect\"")?;
        Ok(Endpoint::Connect(host, port))
    } else if let Some(listen) = arguments.get("listen").filter(|v| !v.is_null()) {
        let (host, port) = address(listen, "\"listen\"")?;
        Ok(Endpoint::Listen(host, port))
    } else if arguments.get("port").is_some_and(|v| !v.is_null()) {
        let (host, port) = address(arguments, "attach")?;
        Ok(Endpoint::Connect(host, port))
    } else if let Some(process_id) = arguments.get("processId").filter(|v| !v.is_null()) {
        let pid = match process_id {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        pid.and_then(|pid| u32::try_from(pid).ok())
            .filter(|&pid| pid > 0)
            .map(Endpoint::Process)
            .ok_or_else(|| format!("\"processId\" must be a process id, not {process_id}"))
    } else {
        Err("attach needs \"connect\": {\"host\": ..., \"port\": ...} to reach a `pydbg --listen` server, \
             \"listen\": {\"port\": ...} to wait for `pydbg --connect`, or \"processId\" to attach to a running \
             Python process"
            .into())
    }
}

/// Reaches the program. `child_pid`: a child process's session stops trying once the process is
/// gone. `injector`: the pydbg to inject for `processId`.
pub async fn open(endpoint: Endpoint, child_pid: Option<u32>, injector: Injector) -> Result<TcpStream, String> {
    match endpoint {
        Endpoint::Process(pid) => {
            let served = tokio::task::spawn_blocking(move || {
                inject::inject(&inject::Injection {
                    pid,
                    serve: inject::Serve::Listen("127.0.0.1".into(), 0),
                    log_dir: injector.log_dir.as_deref(),
                    package_dir: &injector.package_dir,
                    timeout: inject::DEFAULT_TIMEOUT,
                })
            })
            .await
            .map_err(|e| format!("injecting pydbg: {e}"))??;
            tracing::info!(pid, port = served.port, reused = served.reused, "attached by process id");
            if served.mode != "listen" {
                return Err(format!(
                    "pydbg is already in process {pid}, dialing a client at {}:{} (an earlier `pydbg --pid --connect`): \
                     attach by listening there instead",
                    served.host, served.port
                ));
            }
            TcpStream::connect((served.host.as_str(), served.port)).await.map_err(|e| {
                format!("pydbg started in process {pid}, but cannot be reached at {}:{}: {e}", served.host, served.port)
            })
        }
        Endpoint::Connect(host, port) => {
            let deadline = tokio::time::Instant::now() + CONNECT_RETRY;
            loop {
                match TcpStream::connect((host.as_str(), port)).await {
                    Ok(stream) => return Ok(stream),
                    Err(e)
                        if tokio::time::Instant::now() >= deadline
                            || child_pid.is_some_and(crate::process::is_gone) =>
                    {
                        return Err(format!("cannot connect to a pydbg server at {host}:{port}: {e}"))
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }
        Endpoint::Listen(host, port) => {
            let listener = TcpListener::bind((host.as_str(), port))
                .await
                .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
            tracing::info!("waiting for pydbg --connect on {host}:{port}");
            let (stream, peer) = listener.accept().await.map_err(|e| format!("accepting on {host}:{port}: {e}"))?;
            tracing::info!(%peer, "the debuggee connected");
            Ok(stream)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoint_forms() {
        assert_eq!(endpoint(&json!({"connect": {"port": 5678}})), Ok(Endpoint::Connect("127.0.0.1".into(), 5678)));
        assert_eq!(
            endpoint(&json!({"connect": {"host": "10.0.0.2", "port": "5678"}})),
            Ok(Endpoint::Connect("10.0.0.2".into(), 5678))
        );
        assert_eq!(endpoint(&json!({"host": "h", "port": 1})), Ok(Endpoint::Connect("h".into(), 1)));
        assert_eq!(endpoint(&json!({"listen": {"port": 2}})), Ok(Endpoint::Listen("127.0.0.1".into(), 2)));
        assert!(endpoint(&json!({"connect": {"port": 70000}})).unwrap_err().contains("port"));
        assert_eq!(endpoint(&json!({"processId": 12})), Ok(Endpoint::Process(12)));
        assert_eq!(endpoint(&json!({"processId": "12"})), Ok(Endpoint::Process(12)));
        assert!(endpoint(&json!({"processId": "${command:pickProcess}"})).unwrap_err().contains("process id"));
        assert!(endpoint(&json!({"processId": 0})).unwrap_err().contains("process id"));
        assert!(endpoint(&json!({})).unwrap_err().contains("connect"));
    }
}
