//! Child processes (`subProcess`): the adapter listens on a loopback port that the program's
//! Python children announce themselves on (`PYDBG_SUBPROCESS`, read by pydbg/_child.py). Each
//! child listens on a port of its own; the session asks the client to attach to it through the
//! `startDebugging` reverse request, and tells the child whether to wait for that client.

use std::time::Duration;

use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long a child gets to say who it is, and the session to answer.
const ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize)]
pub struct Announcement {
    pub pid: u32,
    /// The loopback port the child's pydbg listens on.
    pub port: u16,
    /// The child's command line.
    pub name: String,
}

/// A child that announced itself; `wait` tells it whether a client is coming.
pub struct Child {
    pub announcement: Announcement,
    pub wait: oneshot::Sender<bool>,
}

pub struct Listener {
    pub address: String,
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
    let report = std::sync::Arc::new(report);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let report = report.clone();
            tokio::spawn(async move {
                if let Err(e) = serve(stream, &*report).await {
                    tracing::warn!("a child process's announcement failed: {e}");
                }
            });
        }
    });
    Ok(Listener { address, task })
}

async fn serve(stream: TcpStream, report: &(dyn Fn(Child) -> bool + Send + Sync)) -> Result<(), String> {
    let (read_half, mut write_half) = stream.into_split();
    let mut line = String::new();
    tokio::time::timeout(ANNOUNCE_TIMEOUT, BufReader::new(read_half).read_line(&mut line))
        .await
        .map_err(|_| "it said nothing".to_owned())?
        .map_err(|e| e.to_string())?;
    let announcement: Announcement = serde_json::from_str(&line).map_err(|e| format!("{e}: {line:?}"))?;
    tracing::info!(?announcement, "a child process announced itself");
    let (wait, answer) = oneshot::channel();
    if !report(Child { announcement, wait }) {
        return Err("the session is over".into());
    }
    let wait = tokio::time::timeout(ANNOUNCE_TIMEOUT, answer).await.ok().and_then(Result::ok).unwrap_or(false);
    let reply = serde_json::json!({ "wait": wait }).to_string() + "\n";
    write_half.write_all(reply.as_bytes()).await.map_err(|e| e.to_string())
}
