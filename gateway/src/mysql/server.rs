//! The listener, the per-connection tasks and graceful shutdown.
//!
//! On shutdown (SIGTERM) the gateway stops accepting; idle sessions end at once (their
//! open transaction rolls back, the client reads ER_SERVER_SHUTDOWN 1053 as the answer
//! to its next command); busy ones end after their statement; statements still running
//! after [`MysqlConfig::shutdown_timeout`] are cancelled in the engine.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::session::Connection;
use crate::plugin_host::PluginHost;

/// Default time running statements get to finish on shutdown.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// After the shutdown timeout, how long cancelled sessions get to close.
const FORCED_CLOSE_GRACE: Duration = Duration::from_secs(3);

/// Settings of a MySQL gateway.
#[derive(Debug, Clone)]
pub struct MysqlConfig {
    /// The engine's Unix socket.
    pub engine_socket: PathBuf,
    /// The Rosetta database a client lands in when it names none at connect time.
    pub default_database: String,
    /// On shutdown, how long running statements may take before they are cancelled.
    pub shutdown_timeout: Duration,
}

impl MysqlConfig {
    /// Defaults for everything but the engine socket (database `rosetta`).
    pub fn new(engine_socket: PathBuf) -> Self {
        Self {
            engine_socket,
            default_database: "rosetta".into(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }
}

/// Where a gateway stands in its life; every connection watches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Accepting and serving.
    Serving,
    /// Shutting down: idle sessions end now, busy ones after their statement.
    Draining,
    /// The shutdown timeout passed: running statements are cancelled.
    Forced,
}

/// What every connection of a gateway shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) plugins: Arc<PluginHost>,
    pub(crate) config: MysqlConfig,
}

/// A running-or-ready MySQL gateway.
#[derive(Debug, Clone)]
pub struct MysqlGateway {
    shared: Arc<Shared>,
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

impl MysqlGateway {
    /// A gateway compiling with `plugins` (the MySQL dialect plugin) and talking to the
    /// engine named in `config`.
    pub fn new(config: MysqlConfig, plugins: Arc<PluginHost>) -> Self {
        Self {
            shared: Arc::new(Shared { plugins, config }),
            phase: Arc::new(watch::channel(Phase::Serving).0),
            open: Arc::new(watch::channel(0).0),
        }
    }

    /// The plugin host (for SIGHUP reloads).
    pub fn plugins(&self) -> &Arc<PluginHost> {
        &self.shared.plugins
    }

    /// Number of client connections currently open.
    pub fn open_connections(&self) -> usize {
        *self.open.borrow()
    }

    /// Accepts connections on `listener` until `shutdown` resolves, then shuts down
    /// gracefully (see the module doc) and returns once every connection is closed (at
    /// worst a few seconds after the timeout). Accept errors are logged and retried; a
    /// panicking connection task closes that connection only.
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
        let timeout = self.shared.config.shutdown_timeout;
        tracing::info!(
            open = self.open_connections(),
            ?timeout,
            "mysql gateway shutting down: no new connections, ending sessions"
        );
        self.phase.send_replace(Phase::Draining);
        let mut count = self.open.subscribe();
        if tokio::time::timeout(timeout, count.wait_for(|n| *n == 0))
            .await
            .is_ok()
        {
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
        tracing::debug!(%peer, "mysql connection");
        let (r, w) = stream.into_split();
        let conn = Connection::new(self.shared.clone(), r, w, peer);
        conn.run(self.phase.subscribe()).await
    }
}
