//! Child processes (`subProcess`): the adapter listens on a loopback port that the program's
//! Python children announce themselves on (`PYDBG_SUBPROCESS`, read by pydbg/_child.py). Each
//! child listens on a port of its own; the session asks the client to attach to it through the
//! `startDebugging` reverse request, and tells the child whether to wait for that client.
//!
//! A secret made for each launch (`PYDBG_SUBPROCESS_TOKEN`, inherited by the program's process
//! tree and nothing else) proves an announcement comes from the program's own children, and is
//! each child's access token: the client attaches with it, and no other local user can.

use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a child gets to say who it is, and the session to answer.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(5);
/// An announcement is one short line; nothing longer is read.
const ANNOUNCEMENT_LIMIT: u64 = 64 * 1024;

/// Where the program's children find the launch's secret.
pub const TOKEN_VARIABLE: &str = "PYDBG_SUBPROCESS_TOKEN";

#[derive(Debug, Deserialize)]
pub struct Announcement {
    pub pid: u32,
    /// The loopback port the child's pydbg listens on.
    pub port: u16,
    /// The child's command line.
    pub name: String,
    /// The launch's secret, as the child found it.
    #[serde(default)]
    pub token: String,
}

/// A child that announced itself; `wait` tells it whether a client is coming.
pub struct Child {
    pub announcement: Announcement,
    pub wait: oneshot::Sender<bool>,
}

pub struct Listener {
    pub address: String,
    /// The launch's secret: children announce themselves with it, and clients attach with it.
    pub token: String,
    task: JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Listens for children on a loopback port; each announcement goes to `report`.
pub fn listen(report: impl Fn(Child) -> bool + Send + Sync + 'static) -> std::io::Result<Listener> {
    let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    std_listener.set_nonblocking(true)?;
    let address = std_listener.local_addr()?.to_string();
    let listener = TcpListener::from_std(std_listener)?;
    let token = new_secret()?;
    let report = std::sync::Arc::new(report);
    let expected = std::sync::Arc::new(token.clone());
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (report, expected) = (report.clone(), expected.clone());
            tokio::spawn(async move {
                if let Err(e) = serve(stream, &expected, &*report).await {
                    tracing::warn!("a child process's announcement failed: {e}");
                }
            });
        }
    });
    Ok(Listener { address, token, task })
}

/// 128 random bits, as hex.
fn new_secret() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

async fn serve(
    stream: TcpStream,
    expected_token: &str,
    report: &(dyn Fn(Child) -> bool + Send + Sync),
) -> Result<(), String> {
    let (read_half, mut write_half) = stream.into_split();
    let mut line = String::new();
    tokio::time::timeout(ANNOUNCE_TIMEOUT, BufReader::new(read_half.take(ANNOUNCEMENT_LIMIT)).read_line(&mut line))
        .await
        .map_err(|_| "it said nothing".to_owned())?
        .map_err(|e| e.to_string())?;
    let announcement: Announcement = serde_json::from_str(&line).map_err(|e| format!("{e}: {line:?}"))?;
    if !pydbg_protocol::secrets::same_secret(&announcement.token, expected_token) {
        return Err(format!("process {} announced itself without this launch's secret", announcement.pid));
    }
    tracing::info!(?announcement, "a child process announced itself");
    let (wait, answer) = oneshot::channel();
    if !report(Child { announcement, wait }) {
        return Err("the session is over".into());
    }
    let wait = tokio::time::timeout(ANNOUNCE_TIMEOUT, answer).await.ok().and_then(Result::ok).unwrap_or(false);
    let reply = serde_json::json!({ "wait": wait }).to_string() + "\n";
    write_half.write_all(reply.as_bytes()).await.map_err(|e| e.to_string())
}
