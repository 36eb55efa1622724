//! Sockets and the runtime: accepting or dialing the client, and writing messages out.

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::sync::OnceLock;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

use crate::engine::mark_pydbg_thread;
use crate::protocol::codec::encode_frame;
use crate::protocol::Outgoing;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The session's tokio runtime. Its threads are pydbg's own, so monitoring ignores them.
pub fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pydbg-session")
            .on_thread_start(mark_pydbg_thread)
            .enable_all()
            .build()
            .expect("the session runtime starts")
    })
}

/// Binds at once, so that a bad or busy port is reported before the program runs; then serves
/// one client at a time for the life of the process.
pub fn listen(host: &str, port: u16) -> std::io::Result<SocketAddr> {
    let listener = StdListener::bind((host, port))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    runtime().spawn(async move {
        let listener = match TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => return tracing::error!("listener: {e}"),
        };
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    tracing::info!(%peer, "client connected");
                    super::serve(stream).await;
                    tracing::info!(%peer, "client gone");
                }
                Err(e) => tracing::warn!("accept: {e}"),
            }
        }
    });
    Ok(address)
}

/// Dials a client that is listening (`--connect`).
pub fn connect(host: &str, port: u16) -> std::io::Result<()> {
    let stream = StdStream::connect((host, port))?;
    stream.set_nonblocking(true)?;
    runtime().spawn(async move {
        match TcpStream::from_std(stream) {
            Ok(stream) => super::serve(stream).await,
            Err(e) => tracing::error!("connection: {e}"),
        }
    });
    Ok(())
}

pub enum Outbound {
    Message(Outgoing),
    /// Answered once everything queued before it has been written.
    Flush(oneshot::Sender<()>),
}

/// Numbers and writes messages in order, each as a single write.
pub async fn write_messages(mut writer: OwnedWriteHalf, mut queue: mpsc::UnboundedReceiver<Outbound>) {
    let mut seq = 0;
    while let Some(item) = queue.recv().await {
        match item {
            Outbound::Message(message) => {
                seq += 1;
                let json = message.to_json(seq);
                tracing::debug!(target: "pydbg::wire", "-> {json}");
                let body = serde_json::to_vec(&json).expect("JSON values serialize");
                if let Err(e) = writer.write_all(&encode_frame(&body)).await {
                    tracing::info!("client write failed: {e}");
                    break;
                }
            }
            Outbound::Flush(done) => {
                let _ = writer.flush().await;
                let _ = done.send(());
            }
        }
    }
}
