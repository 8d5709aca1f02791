//! The PostgreSQL listener: accept loop and per-connection message loop.
//!
//! Each client connection runs in its own tokio task with its own [`PgConnection`] and
//! engine session; a panic inside one (pgwire's frontend decoders index without bounds
//! checks on some malformed messages) is caught and ends only that connection. The
//! connection loop is ours rather than `pgwire::tokio::process_socket` so that we can
//!
//! * cap client messages at [`ServerConfig::max_message_size`] *before* they are buffered
//!   ([`LimitedReader`]: pgwire itself accepts up to 1 GiB per message);
//! * answer undecodable input with a FATAL 08P01 instead of silently hanging up;
//! * end the engine session when the client goes away (`Request::Terminate`);
//! * shut down gracefully ([`PostgresGateway::serve`]): stop accepting, let running
//!   statements finish for up to [`ServerConfig::shutdown_timeout`], and end every
//!   session with PostgreSQL's own words, FATAL 57P01 "terminating connection due to
//!   administrator command" (an open transaction rolls back when its engine session
//!   ends). Statements still running at the deadline are cancelled in the engine first.
//!
//! TLS is refused (`N`) for now; GSS encryption likewise.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use futures::{FutureExt, SinkExt, StreamExt};
use pgwire::api::{ClientInfo, DefaultClient, PgWireConnectionState};
use pgwire::error::ErrorInfo;
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::response::{GssEncResponse, SslResponse};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage, SslNegotiationMetaMessage};
use pgwire::tokio::server::{process_error, process_message, PgWireMessageServerCodec};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::codec::Framed;

use super::errors::fatal;
use super::handler::{PgConnection, Shared};
use crate::engine_client;
use crate::plugin_host::PluginHost;

/// Default cap on one client message (64 MiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;
/// Default time running statements get to finish on shutdown.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// After the shutdown timeout, how long cancelled sessions get to close.
const FORCED_CLOSE_GRACE: Duration = Duration::from_secs(3);
/// How long closing one engine session may take before its socket is simply dropped.
const ENGINE_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// PostgreSQL's words for a session ended by a server shutdown.
const ADMIN_SHUTDOWN_MESSAGE: &str = "terminating connection due to administrator command";
/// Time a client gets to finish startup and authentication.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Untyped startup-phase packets (SSLRequest, StartupMessage, CancelRequest) are small.
const MAX_STARTUP_PACKET: usize = 10_000;
const SSL_REQUEST_CODE: u32 = 80_877_103;
const GSSENC_REQUEST_CODE: u32 = 80_877_104;

/// How to run a PostgreSQL gateway.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The engine's Unix socket.
    pub engine_socket: PathBuf,
    /// Largest client message accepted; larger ones end the connection with an error.
    pub max_message_size: usize,
    /// On shutdown, how long running statements may take to finish before they are
    /// cancelled.
    pub shutdown_timeout: Duration,
}

impl ServerConfig {
    /// Defaults for everything but the engine socket.
    pub fn new(engine_socket: PathBuf) -> Self {
        Self {
            engine_socket,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

/// Where a gateway stands in its life; every connection watches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Accepting and serving.
    Serving,
    /// Shutting down: idle sessions end now, busy ones after their statement.
    Draining,
    /// The shutdown timeout passed: running statements are cancelled.
    Forced,
}

/// A running-or-ready PostgreSQL gateway: everything its connections share.
#[derive(Debug, Clone)]
pub struct PostgresGateway {
    shared: Arc<Shared>,
    max_message_size: usize,
    shutdown_timeout: Duration,
    phase: Arc<watch::Sender<Phase>>,
    /// Number of open client connections.
    open: Arc<watch::Sender<usize>>,
}

/// Counts a connection as open while alive.
struct OpenGuard(Arc<watch::Sender<usize>>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl PostgresGateway {
    /// A gateway compiling with `plugins` and talking to the engine at
    /// `config.engine_socket`.
    pub fn new(config: ServerConfig, plugins: Arc<PluginHost>) -> Self {
        Self {
            shared: Arc::new(Shared {
                plugins,
                engine_socket: config.engine_socket,
                auth_secret: super::scram::process_secret(),
            }),
            max_message_size: config.max_message_size,
            shutdown_timeout: config.shutdown_timeout,
            phase: Arc::new(watch::channel(Phase::Serving).0),
            open: Arc::new(watch::channel(0).0),
        }
    }

    /// Number of client connections currently open.
    pub fn open_connections(&self) -> usize {
        *self.open.borrow()
    }

    /// The plugin host (for hot reload on SIGHUP).
    pub fn plugins(&self) -> &Arc<PluginHost> {
        &self.shared.plugins
    }

    /// Accepts connections on `listener` until `shutdown` resolves, then shuts down
    /// gracefully: the listener closes, idle sessions end at once with FATAL 57P01, busy
    /// ones after their statement; statements still running after the shutdown timeout
    /// are cancelled. Returns once every connection is closed (or, at worst, a few
    /// seconds after the timeout). Accept errors (e.g. out of file descriptors) are logged
    /// and retried; they never stop the gateway.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let gateway = self.clone();
                    self.open.send_modify(|n| *n += 1);
                    let guard = OpenGuard(self.open.clone());
                    tokio::spawn(async move {
                        let _guard = guard;
                        let result = std::panic::AssertUnwindSafe(gateway.handle(stream, peer))
                            .catch_unwind()
                            .await;
                        match result {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => tracing::debug!(%peer, "connection ended: {e}"),
                            Err(_) => tracing::error!(%peer, "connection task panicked; closed"),
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        drop(listener);
        self.drain().await;
        Ok(())
    }

    /// The shutdown sequence after the listener closed.
    async fn drain(&self) {
        let open = self.open_connections();
        tracing::info!(
            open,
            timeout = ?self.shutdown_timeout,
            "postgres gateway shutting down: no new connections, ending sessions"
        );
        self.phase.send_replace(Phase::Draining);
        let mut count = self.open.subscribe();
        let drained = tokio::time::timeout(self.shutdown_timeout, count.wait_for(|n| *n == 0))
            .await
            .is_ok();
        if drained {
            return;
        }
        tracing::warn!(
            still_open = self.open_connections(),
            "shutdown timeout reached: cancelling running statements"
        );
        self.phase.send_replace(Phase::Forced);
        if tokio::time::timeout(FORCED_CLOSE_GRACE, count.wait_for(|n| *n == 0))
            .await
            .is_err()
        {
            tracing::warn!(
                still_open = self.open_connections(),
                "connections still open after cancelling; exiting anyway"
            );
        }
    }

    /// Serves one client connection to its end.
    pub async fn handle(&self, stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let conn = Arc::new(PgConnection::new(self.shared.clone()));
        let reader = LimitedReader::new(stream, self.max_message_size);
        let mut socket = Framed::new(
            reader,
            PgWireMessageServerCodec::new(DefaultClient::<String>::new(peer, false)),
        );
        let result = self.run(&mut socket, conn.clone()).await;
        // Whatever happened, the engine session ends with the client connection (if the
        // engine does not answer in time, dropping the socket ends the session too).
        let _ = tokio::time::timeout(ENGINE_CLOSE_TIMEOUT, conn.close()).await;
        result
    }

    async fn run(
        &self,
        socket: &mut Framed<LimitedReader<TcpStream>, PgWireMessageServerCodec<String>>,
        conn: Arc<PgConnection>,
    ) -> io::Result<()> {
        let deadline = tokio::time::sleep(STARTUP_TIMEOUT);
        tokio::pin!(deadline);
        // SSL / GSS negotiation: refuse both, then the StartupMessage follows.
        loop {
            let msg = tokio::select! {
                _ = &mut deadline => return Ok(()),
                msg = socket.next() => msg,
            };
            match msg {
                Some(Ok(PgWireFrontendMessage::SslNegotiation(m))) => match m {
                    SslNegotiationMetaMessage::PostgresSsl(_) => {
                        socket
                            .send(PgWireBackendMessage::SslResponse(SslResponse::Refuse))
                            .await?
                    }
                    SslNegotiationMetaMessage::PostgresGss(_) => {
                        socket
                            .send(PgWireBackendMessage::GssEncResponse(GssEncResponse::Refuse))
                            .await?
                    }
                    _ => {
                        socket.set_state(PgWireConnectionState::AwaitingStartup);
                        break;
                    }
                },
                _ => return Ok(()),
            }
        }
        let cancel = Arc::new(CancelForwarder {
            engine_socket: self.shared.engine_socket.clone(),
        });
        let copy = conn.clone();
        let mut phase = self.phase.subscribe();
        loop {
            let in_startup = matches!(
                socket.state(),
                PgWireConnectionState::AwaitingStartup
                    | PgWireConnectionState::AuthenticationInProgress
            );
            // Between messages the session is idle: a shutdown ends it right here.
            let msg = tokio::select! {
                _ = &mut deadline, if in_startup => return Ok(()),
                _ = until(&mut phase, |p| *p != Phase::Serving) => {
                    return say_goodbye(socket).await;
                }
                msg = socket.next() => msg,
            };
            let msg = match msg {
                None => return Ok(()),
                Some(Ok(msg)) => msg,
                Some(Err(e)) => {
                    // Undecodable or oversized input: tell the client why, then close.
                    let info = fatal("08P01", format!("invalid frontend message: {e}"));
                    let _ = socket
                        .send(PgWireBackendMessage::ErrorResponse(info.into()))
                        .await;
                    return Ok(());
                }
            };
            if matches!(msg, PgWireFrontendMessage::Terminate(_)) {
                return Ok(());
            }
            let is_extended = msg.is_extended_query();
            let is_cancel = matches!(msg, PgWireFrontendMessage::CancelRequest(_));
            // A running statement may finish during a shutdown, up to the timeout.
            let processed = tokio::select! {
                processed = process_message(
                    msg,
                    socket,
                    conn.clone(),
                    conn.clone(),
                    conn.clone(),
                    copy.clone(),
                    cancel.clone(),
                ) => Some(processed),
                _ = until(&mut phase, |p| *p == Phase::Forced) => None,
            };
            let Some(processed) = processed else {
                self.cancel_running(socket).await;
                return say_goodbye(socket).await;
            };
            if let Err(e) = processed {
                let is_fatal = e.is_fatal();
                process_error(socket, e, is_extended).await?;
                if is_fatal {
                    return Ok(());
                }
            }
            if is_cancel {
                return Ok(());
            }
        }
    }
}

impl PostgresGateway {
    /// Asks the engine to stop the statement this session runs (forced shutdown).
    async fn cancel_running<S>(&self, socket: &S)
    where
        S: ClientInfo,
    {
        let (pid, key) = socket.pid_and_secret_key();
        let Some(secret) = key.as_i32() else {
            return;
        };
        let cancelled = tokio::time::timeout(
            ENGINE_CLOSE_TIMEOUT,
            engine_client::cancel(&self.shared.engine_socket, pid as u32, secret as u32),
        )
        .await;
        if !matches!(cancelled, Ok(Ok(()))) {
            tracing::warn!(session = pid, "could not cancel a statement on shutdown");
        }
    }
}

/// Resolves once the gateway's phase satisfies `predicate` (never, if the sender is gone).
async fn until(phase: &mut watch::Receiver<Phase>, predicate: fn(&Phase) -> bool) {
    if phase.wait_for(predicate).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Ends a session on shutdown as PostgreSQL does: FATAL 57P01.
async fn say_goodbye<S>(socket: &mut S) -> io::Result<()>
where
    S: futures::Sink<PgWireBackendMessage> + Unpin,
{
    let info: ErrorInfo = fatal("57P01", ADMIN_SHUTDOWN_MESSAGE);
    let _ = socket
        .send(PgWireBackendMessage::ErrorResponse(info.into()))
        .await;
    Ok(())
}

/// Forwards a CancelRequest to the engine on a fresh connection (the engine checks the
/// session id and secret, and stops the statement itself).
#[derive(Debug)]
struct CancelForwarder {
    engine_socket: PathBuf,
}

#[async_trait]
impl pgwire::api::cancel::CancelHandler for CancelForwarder {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let Some(secret) = request.secret_key.as_i32() else {
            return;
        };
        if let Err(e) =
            engine_client::cancel(&self.engine_socket, request.pid as u32, secret as u32).await
        {
            tracing::warn!("cancel request not forwarded: {e}");
        }
    }
}

/// Where [`LimitedReader`] stands in the client's byte stream.
#[derive(Debug, Clone, Copy)]
enum Framing {
    /// Reading an untyped startup-phase packet header (length + code: 8 bytes).
    Untyped,
    /// Reading a typed message header (type byte + length: 5 bytes).
    Typed,
}

/// Wraps the client socket and follows PostgreSQL's message framing as bytes go by,
/// failing the read as soon as a header announces a message larger than the limit, so
/// that the codec never buffers it.
#[derive(Debug)]
pub struct LimitedReader<S> {
    inner: S,
    limit: usize,
    framing: Framing,
    header: [u8; 8],
    header_len: usize,
    /// Body bytes of the current message still to pass through.
    skip: usize,
}

impl<S> LimitedReader<S> {
    /// Wraps `inner`, allowing messages of at most `limit` bytes.
    pub fn new(inner: S, limit: usize) -> Self {
        Self {
            inner,
            limit,
            framing: Framing::Untyped,
            header: [0; 8],
            header_len: 0,
            skip: 0,
        }
    }

    /// Follows the framing over `data` (bytes just read).
    fn track(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len());
                self.skip -= n;
                data = &data[n..];
                continue;
            }
            let want = match self.framing {
                Framing::Untyped => 8,
                Framing::Typed => 5,
            };
            let n = (want - self.header_len).min(data.len());
            self.header[self.header_len..self.header_len + n].copy_from_slice(&data[..n]);
            self.header_len += n;
            data = &data[n..];
            if self.header_len < want {
                continue;
            }
            self.header_len = 0;
            let too_big = |len: usize, limit: usize| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("message of {len} bytes exceeds the {limit}-byte limit"),
                )
            };
            match self.framing {
                Framing::Untyped => {
                    let h = self.header;
                    let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
                    let code = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
                    if len < 8 {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "invalid startup packet length",
                        ));
                    }
                    if len > MAX_STARTUP_PACKET {
                        return Err(too_big(len, MAX_STARTUP_PACKET));
                    }
                    self.skip = len - 8;
                    if code != SSL_REQUEST_CODE && code != GSSENC_REQUEST_CODE {
                        self.framing = Framing::Typed;
                    }
                }
                Framing::Typed => {
                    let h = self.header;
                    let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
                    if len < 4 {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            "invalid message length",
                        ));
                    }
                    if len > self.limit {
                        return Err(too_big(len, self.limit));
                    }
                    self.skip = len - 4;
                }
            }
        }
        Ok(())
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for LimitedReader<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let fresh = buf.filled()[before..].to_vec();
                Poll::Ready(this.track(&fresh))
            }
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for LimitedReader<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn startup_packet() -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&196_608u32.to_be_bytes());
        body.extend_from_slice(b"user\0u\0\0");
        let mut p = ((body.len() + 4) as u32).to_be_bytes().to_vec();
        p.extend_from_slice(&body);
        p
    }

    #[test]
    fn limiter_follows_framing() {
        let mut r = LimitedReader::new((), 100);
        // SSLRequest, then startup, then a query, fed in awkward pieces.
        let mut bytes = vec![0, 0, 0, 8];
        bytes.extend_from_slice(&SSL_REQUEST_CODE.to_be_bytes());
        bytes.extend_from_slice(&startup_packet());
        bytes.push(b'Q');
        bytes.extend_from_slice(&13u32.to_be_bytes());
        bytes.extend_from_slice(b"select 1\0");
        for chunk in bytes.chunks(3) {
            r.track(chunk).expect("within limits");
        }
        assert!(matches!(r.framing, Framing::Typed));
        assert_eq!((r.skip, r.header_len), (0, 0));
        // A header announcing 101 bytes is refused at once.
        let mut big = vec![b'Q'];
        big.extend_from_slice(&101u32.to_be_bytes());
        assert!(r.track(&big).is_err());
    }

    #[test]
    fn limiter_refuses_bad_lengths() {
        let mut r = LimitedReader::new((), 100);
        assert!(r.track(&[0, 0, 0, 2, 0, 0, 0, 0]).is_err());
        let mut r = LimitedReader::new((), 100);
        r.track(&startup_packet()).expect("startup");
        assert!(r.track(&[b'Q', 0, 0, 0, 3]).is_err());
        let mut r = LimitedReader::new((), 100);
        assert!(r.track(&[0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]).is_err());
    }
}
