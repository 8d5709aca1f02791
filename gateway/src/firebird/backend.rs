//! The narrow seam between the Firebird protocol and the rest of Rosetta.
//!
//! The protocol state machine ([`super::protocol`]) only needs: the SRP verifier of a
//! user, a way to compile SQL with the Firebird dialect plugin, and engine sessions that
//! run programs and return whole results. [`Backend`] and [`Session`] say exactly that;
//! [`EngineBackend`] implements them with [`EngineClient`] and [`PluginHost`]. A test can
//! put any other implementation behind the protocol.
//!
//! Each Firebird *transaction* gets its own engine session (a Firebird attachment may run
//! several transactions at once; an engine session runs one), so a [`Session`] is opened
//! per transaction and pooled by the protocol when the transaction ends.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use rosetta_bytecode::{CompileError, Dialect};
use rosetta_proto::{AuthInfo, Column, Completion, PreparedInfo, Response};
use rosetta_types::Value;

use crate::engine_client::{EngineClient, EngineClientError};
use crate::plugin_host::{Compiled, PluginHost};
use rosetta_plugin_abi::blr::BlrOutput;

/// The complete answer to one statement.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Result columns (empty for statements without rows).
    pub columns: Vec<Column>,
    /// All result rows.
    pub rows: Vec<Vec<Value>>,
    /// How it ended (`None` only for a default value).
    pub completion: Option<Completion>,
}

/// Most rows one statement may buffer in the gateway (a cursor is read completely before
/// the first fetch is answered).
pub const MAX_BUFFERED_ROWS: usize = 5_000_000;
/// Most bytes (roughly) of row data one statement may buffer in the gateway.
pub const MAX_BUFFERED_BYTES: usize = 1024 * 1024 * 1024;

/// A rough size of a value in memory, for [`MAX_BUFFERED_BYTES`].
fn value_size(v: &Value) -> usize {
    std::mem::size_of::<Value>()
        + match v {
            Value::Text(s) => s.len(),
            Value::Bytes(b) => b.len(),
            Value::Array(items) => items.iter().map(value_size).sum(),
            _ => 0,
        }
}

/// One engine session.
#[async_trait]
pub trait Session: Send {
    /// Runs an unprepared program to its end.
    async fn run(
        &mut self,
        program: Vec<u8>,
        params: Vec<Value>,
    ) -> Result<Outcome, EngineClientError>;
    /// Prepares a program.
    async fn prepare(&mut self, program: Vec<u8>) -> Result<PreparedInfo, EngineClientError>;
    /// Runs a prepared program to its end.
    async fn run_prepared(
        &mut self,
        handle: u64,
        params: Vec<Value>,
    ) -> Result<Outcome, EngineClientError>;
    /// Forgets a prepared program.
    async fn close_prepared(&mut self, handle: u64) -> Result<(), EngineClientError>;
    /// Ends the session.
    async fn terminate(self: Box<Self>);
    /// The engine's (session id, secret) that lets [`Backend::cancel`] interrupt what
    /// this session runs; `None` when it cannot be cancelled.
    fn cancel_key(&self) -> Option<(u32, u32)> {
        None
    }
}

/// What the protocol needs from Rosetta.
#[async_trait]
pub trait Backend: Send + Sync {
    /// Authentication data of `user` (`None`: unknown).
    async fn auth_info(&self, user: &str) -> Result<Option<AuthInfo>, EngineClientError>;
    /// Opens an engine session for an authenticated user on a database.
    async fn open(&self, user: &str, database: &str)
        -> Result<Box<dyn Session>, EngineClientError>;
    /// Compiles Firebird SQL.
    async fn compile(&self, sql: &str) -> Result<Compiled, CompileError>;
    /// Compiles a BLR request (`op_compile`); `None` when the plugin has no BLR compiler.
    fn compile_blr(&self, blr: &[u8]) -> BlrOutput;
    /// Interrupts what the session with this [`Session::cancel_key`] runs (`op_cancel`
    /// kind 3); best effort, errors are only logged.
    async fn cancel(&self, _key: (u32, u32)) {}
}

/// The real backend: the engine's socket and the gateway's plugin host.
#[derive(Debug, Clone)]
pub struct EngineBackend {
    /// The engine's Unix socket.
    pub engine_socket: PathBuf,
    /// The Firebird dialect plugin.
    pub plugins: Arc<PluginHost>,
}

#[async_trait]
impl Backend for EngineBackend {
    async fn auth_info(&self, user: &str) -> Result<Option<AuthInfo>, EngineClientError> {
        let mut client = EngineClient::connect(&self.engine_socket).await?;
        let info = client.auth_info(user).await;
        client.terminate().await;
        info
    }

    async fn open(
        &self,
        user: &str,
        database: &str,
    ) -> Result<Box<dyn Session>, EngineClientError> {
        let mut client = EngineClient::connect(&self.engine_socket).await?;
        let info = client
            .startup(user, database, Dialect::Firebird, "firebird")
            .await?;
        Ok(Box::new(EngineSession {
            client,
            key: (info.session_id, info.secret),
        }))
    }

    async fn cancel(&self, key: (u32, u32)) {
        if let Err(e) = crate::engine_client::cancel(&self.engine_socket, key.0, key.1).await {
            tracing::debug!("firebird cancel not delivered: {e}");
        }
    }

    async fn compile(&self, sql: &str) -> Result<Compiled, CompileError> {
        self.plugins.compile(sql).await
    }

    fn compile_blr(&self, blr: &[u8]) -> BlrOutput {
        self.plugins.current().compile_blr(blr)
    }
}

async fn collect(
    mut stream: crate::engine_client::ResponseStream<'_>,
) -> Result<Outcome, EngineClientError> {
    let mut out = Outcome::default();
    let mut overflow = false;
    let mut bytes = 0usize;
    while let Some(resp) = stream.next().await {
        match resp? {
            Response::Columns(c) => out.columns = c,
            Response::Rows(rows) => {
                bytes += rows.iter().flatten().map(value_size).sum::<usize>();
                if overflow
                    || out.rows.len() + rows.len() > MAX_BUFFERED_ROWS
                    || bytes > MAX_BUFFERED_BYTES
                {
                    // Keep reading (the engine's answer must be drained) but drop rows.
                    overflow = true;
                    out.rows.clear();
                } else {
                    out.rows.extend(rows);
                }
            }
            Response::Complete(c) => out.completion = Some(c),
            Response::Error(e) => return Err(e.into()),
            Response::Notice { .. } | Response::Ok => {}
            other => {
                return Err(EngineClientError::Unexpected {
                    request: "Execute",
                    response: format!("{other:?}").chars().take(40).collect(),
                })
            }
        }
    }
    if overflow {
        return Err(rosetta_proto::EngineError {
            sqlstate: "54000".into(),
            message: format!(
                "result larger than the gateway buffers ({MAX_BUFFERED_ROWS} rows, {} MiB)",
                MAX_BUFFERED_BYTES >> 20
            ),
            detail: None,
            hint: None,
            position: None,
            txn: out
                .completion
                .as_ref()
                .map(|c| c.txn)
                .unwrap_or(rosetta_proto::TxnState::InBlock),
            fatal: false,
        }
        .into());
    }
    Ok(out)
}

/// An engine connection with the identity that lets it be cancelled.
struct EngineSession {
    client: EngineClient,
    /// (session id, secret) from the engine's startup answer.
    key: (u32, u32),
}

#[async_trait]
impl Session for EngineSession {
    async fn run(
        &mut self,
        program: Vec<u8>,
        params: Vec<Value>,
    ) -> Result<Outcome, EngineClientError> {
        let stream = self.client.execute(program, params, 0).await?;
        collect(stream).await
    }

    async fn prepare(&mut self, program: Vec<u8>) -> Result<PreparedInfo, EngineClientError> {
        self.client.prepare(program, Vec::new()).await
    }

    async fn run_prepared(
        &mut self,
        handle: u64,
        params: Vec<Value>,
    ) -> Result<Outcome, EngineClientError> {
        let stream = self.client.execute_prepared(handle, params, 0).await?;
        collect(stream).await
    }

    async fn close_prepared(&mut self, handle: u64) -> Result<(), EngineClientError> {
        self.client.close_prepared(handle).await
    }

    async fn terminate(self: Box<Self>) {
        self.client.terminate().await
    }

    fn cancel_key(&self) -> Option<(u32, u32)> {
        Some(self.key)
    }
}
