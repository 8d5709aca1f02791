//! The runner: accepts TCP connections and runs one protocol task per connection.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::net::{TcpListener, TcpStream};

use super::backend::EngineBackend;
use super::protocol;
use crate::plugin_host::PluginHost;

/// Settings of a Firebird gateway.
#[derive(Debug, Clone)]
pub struct FirebirdConfig {
    /// The engine's Unix socket.
    pub engine_socket: PathBuf,
}

/// A running-or-ready Firebird gateway.
#[derive(Debug, Clone)]
pub struct FirebirdGateway {
    backend: Arc<EngineBackend>,
    next_attachment: Arc<AtomicU32>,
    active: Arc<AtomicUsize>,
}

/// Counts a connection as active for as long as it lives.
struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl FirebirdGateway {
    /// A gateway compiling with `plugins` (the Firebird dialect plugin) and talking to the
    /// engine named in `config`.
    pub fn new(config: FirebirdConfig, plugins: Arc<PluginHost>) -> Self {
        Self {
            backend: Arc::new(EngineBackend {
                engine_socket: config.engine_socket,
                plugins,
            }),
            next_attachment: Arc::new(AtomicU32::new(1)),
            active: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The plugin host (for SIGHUP reloads).
    pub fn plugins(&self) -> &Arc<PluginHost> {
        &self.backend.plugins
    }

    /// Accepts connections on `listener` until `shutdown` resolves. Accept errors are
    /// logged and retried; a connection that fails or panics closes alone.
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
                    self.active.fetch_add(1, Ordering::Relaxed);
                    let guard = ActiveGuard(self.active.clone());
                    tokio::spawn(async move {
                        let result = std::panic::AssertUnwindSafe(gateway.handle(stream))
                            .catch_unwind()
                            .await;
                        match result {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => tracing::debug!(%peer, "firebird connection ended: {e}"),
                            Err(_) => {
                                tracing::error!(%peer, "firebird connection task panicked; closed")
                            }
                        }
                        drop(guard);
                    });
                }
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }

    /// Connections still open.
    pub fn active_connections(&self) -> usize {
        self.active.load(Ordering::Relaxed)
    }

    /// After [`FirebirdGateway::serve`] returned: waits until every connection has ended
    /// or `timeout` passed (the process then exits and the engine rolls back what the
    /// remaining sessions had open). Returns the number of connections still open.
    pub async fn drain(&self, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.active_connections() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.active_connections()
    }

    /// Serves one client connection to its end.
    pub async fn handle(&self, stream: TcpStream) -> Result<(), super::channel::ChannelError> {
        stream.set_nodelay(true)?;
        let id = self.next_attachment.fetch_add(1, Ordering::Relaxed);
        protocol::run(stream, self.backend.clone(), id).await
    }
}
