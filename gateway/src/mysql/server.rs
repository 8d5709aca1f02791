//! The listener and the per-connection task.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use opensrv_mysql::AsyncMysqlIntermediary;
use tokio::net::{TcpListener, TcpStream};

use super::session::MysqlSession;
use crate::plugin_host::PluginHost;

/// Settings of a MySQL gateway.
#[derive(Debug, Clone)]
pub struct MysqlConfig {
    /// The engine's Unix socket.
    pub engine_socket: PathBuf,
    /// The Rosetta database a client lands in when it names none at connect time.
    pub default_database: String,
}

impl MysqlConfig {
    /// Defaults for everything but the engine socket (database `rosetta`).
    pub fn new(engine_socket: PathBuf) -> Self {
        Self {
            engine_socket,
            default_database: "rosetta".into(),
        }
    }
}

/// What every connection of a gateway shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) plugins: Arc<PluginHost>,
    pub(crate) config: MysqlConfig,
    /// Source of connection ids (the handshake announces one before the user, and so
    /// the engine session, is known).
    next_connection: AtomicU32,
}

/// A running-or-ready MySQL gateway.
#[derive(Debug, Clone)]
pub struct MysqlGateway {
    shared: Arc<Shared>,
}

impl MysqlGateway {
    /// A gateway compiling with `plugins` (the MySQL dialect plugin) and talking to the
    /// engine named in `config`.
    pub fn new(config: MysqlConfig, plugins: Arc<PluginHost>) -> Self {
        Self {
            shared: Arc::new(Shared {
                plugins,
                config,
                next_connection: AtomicU32::new(1),
            }),
        }
    }

    /// The plugin host (for SIGHUP reloads).
    pub fn plugins(&self) -> &Arc<PluginHost> {
        &self.shared.plugins
    }

    /// Accepts connections on `listener` until `shutdown` resolves. Accept errors are
    /// logged and retried; a panicking connection task closes that connection only.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let gateway = self.clone();
                    tokio::spawn(async move {
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
    }

    /// Serves one client connection to its end.
    pub async fn handle(&self, stream: TcpStream, peer: SocketAddr) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let id = self.shared.next_connection.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(%peer, id, "mysql connection");
        let session = MysqlSession::new(self.shared.clone(), id);
        let (r, w) = stream.into_split();
        AsyncMysqlIntermediary::run_on(session, r, w).await
    }
}
