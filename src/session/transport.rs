//! Sockets and the runtime: accepting or dialing the client, and writing messages out.

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};

use parking_lot::Mutex;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{timeout, timeout_at, Duration, Instant};

use crate::engine::mark_pydbg_thread;
use crate::protocol::codec::{encode_frame, read_frame, Frame};
use crate::protocol::Outgoing;

/// Leaked on purpose: a runtime is never shut down, and after a fork the parent's is abandoned.
static RUNTIME: Mutex<Option<&'static Runtime>> = Mutex::new(None);

/// The session's tokio runtime. Its threads are pydbg's own, so monitoring ignores them.
pub fn runtime() -> &'static Runtime {
    let mut slot = RUNTIME.lock();
    slot.get_or_insert_with(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pydbg-session")
            .on_thread_start(mark_pydbg_thread)
            .enable_all()
            .build()
            .expect("the session runtime starts");
        Box::leak(Box::new(runtime))
    })
}

/// The listening socket and the client's connection, which a forked child must not keep open
/// (the parent's client would not see the parent's connection close). -1 when there is none.
static LISTENER_FD: AtomicI32 = AtomicI32::new(-1);
pub(super) static CLIENT_FD: AtomicI32 = AtomicI32::new(-1);

/// In a forked child the runtime's threads do not exist; the next `runtime()` builds a new one.
/// The parent's sockets are closed here; the objects that own them are never used again.
pub fn forget_runtime_after_fork() {
    if RUNTIME.is_locked() {
        // SAFETY: in a forked child the calling thread is the only one; the holder is gone.
        unsafe { RUNTIME.force_unlock() };
    }
    *RUNTIME.lock() = None;
    for fd in [&LISTENER_FD, &CLIENT_FD] {
        let fd = fd.swap(-1, Ordering::AcqRel);
        if fd >= 0 {
            // SAFETY: the fd belongs to a socket object that the child never touches again.
            unsafe { libc::close(fd) };
        }
    }
}

/// Binds at once, so that a bad or busy port is reported before the program runs; then serves
/// one client at a time for the life of the process. Each client must give `access_token`, if
/// there is one.
pub fn listen(host: &str, port: u16, access_token: Option<String>) -> std::io::Result<SocketAddr> {
    let listener = StdListener::bind((host, port))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    if !address.ip().is_loopback() {
        warn_reachable(address, access_token.is_some());
    }
    LISTENER_FD.store(listener.as_raw_fd(), Ordering::Release);
    runtime().spawn(async move {
        let listener = match TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => return tracing::error!("listener: {e}"),
        };
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    tracing::info!(%peer, "client connected");
                    super::serve(stream, access_token.clone()).await;
                    tracing::info!(%peer, "client gone");
                }
                Err(e) => tracing::warn!("accept: {e}"),
            }
        }
    });
    Ok(address)
}

/// A debug port is a way to run any code as this user; the user must know when other machines
/// can reach it.
fn warn_reachable(address: SocketAddr, has_token: bool) {
    let risk = if has_token {
        "the access token and all debugging traffic cross the network unencrypted"
    } else {
        "anyone who can connect can run any code as this user; set an access token (--access-token or \
         PYDBG_ACCESS_TOKEN)"
    };
    eprintln!(
        "pydbg: warning: listening on {address}, which other machines can reach: {risk}. Safer: listen on \
         127.0.0.1 and connect through an SSH tunnel (see pydbg's docs/security.md)."
    );
}

/// Dials a client that is listening (`--connect`). It chose to debug this program, so it needs
/// no access token.
pub fn connect(host: &str, port: u16) -> std::io::Result<()> {
    let stream = StdStream::connect((host, port))?;
    stream.set_nonblocking(true)?;
    runtime().spawn(async move {
        match TcpStream::from_std(stream) {
            Ok(stream) => super::serve(stream, None).await,
            Err(e) => tracing::error!("connection: {e}"),
        }
    });
    Ok(())
}

/// A message that has begun must be whole within this time: a client that stalls halfway would
/// otherwise hold the one client slot for good.
const MESSAGE_DEADLINE: Duration = Duration::from_secs(5);

/// The client's next frame; `None` when it closed the connection. With `begun_by`, the client
/// must have begun sending by then. An error says why the connection ends.
pub async fn read_client_frame(
    reader: &mut BufReader<OwnedReadHalf>,
    begun_by: Option<Instant>,
) -> Result<Option<Frame>, String> {
    let begun = reader.fill_buf();
    let begun = match begun_by {
        Some(deadline) => timeout_at(deadline, begun).await.map_err(|_| "no access token in time".to_owned())?,
        None => begun.await,
    };
    match begun {
        Ok([]) => return Ok(None),
        Ok(_) => {}
        Err(e) => return Err(format!("read failed: {e}")),
    }
    match timeout(MESSAGE_DEADLINE, read_frame(reader)).await {
        Ok(frame) => frame.map_err(|e| format!("read failed: {e}")),
        Err(_) => Err(format!("a message was left unfinished for {MESSAGE_DEADLINE:?}")),
    }
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
                let body = message.encode(seq);
                tracing::debug!(target: "pydbg::wire", "-> {}", String::from_utf8_lossy(&body));
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
