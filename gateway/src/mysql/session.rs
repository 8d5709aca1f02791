//! One client connection: the `AsyncMysqlShim` that maps MySQL commands onto one engine
//! session.
//!
//! * The handshake announces a random 20-byte scramble, [`MYSQL_SERVER_VERSION`] and a
//!   gateway-unique connection id; `authenticate` checks `mysql_native_password` against
//!   the engine's verifier (unknown users get the same work and the same answer as a
//!   wrong password).
//! * The engine session is opened on the database named at connect time or by
//!   COM_INIT_DB / `USE db` (a fresh engine connection per switch: an engine session is
//!   bound to one database), else lazily on the default database at the first command.
//! * COM_QUERY compiles with the MySQL plugin and runs each statement; COM_STMT_PREPARE
//!   prepares in the engine, so parameter and column types are real.
//! * No handler returns `Err` for an SQL problem (that would drop the connection): such
//!   errors become MySQL error packets. `Err` is returned only when the client socket or
//!   the engine connection is broken.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use opensrv_mysql::{
    AsyncMysqlShim, Column as MyColumn, ErrorKind, InitWriter, OkResponse, ParamParser,
    QueryResultWriter, StatementMetaWriter, StatusFlags,
};
use rand::Rng;
use rosetta_bytecode::{CompileError, DataType, Dialect};
use rosetta_proto::{Column, EngineError, Response, TxnState, MYSQL_SERVER_VERSION};
use rosetta_types::Value;
use tokio::io::AsyncWrite;

use super::errors::error_kind;
use super::server::Shared;
use super::{auth, types};
use crate::engine_client::{EngineClient, EngineClientError, ResponseStream};

/// `mysql_native_password`, the one authentication method offered.
const NATIVE_PASSWORD: &str = "mysql_native_password";

/// A prepared statement of this connection.
struct Prepared {
    /// The engine's handle.
    handle: u64,
    /// Parameter types the engine inferred.
    param_types: Vec<DataType>,
}

/// An error to report to the client as an error packet.
struct ClientError {
    kind: ErrorKind,
    message: String,
}

impl ClientError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl From<&CompileError> for ClientError {
    fn from(e: &CompileError) -> Self {
        Self::new(error_kind(&e.sqlstate, &e.message), e.message.clone())
    }
}

impl From<&EngineError> for ClientError {
    fn from(e: &EngineError) -> Self {
        Self::new(error_kind(&e.sqlstate, &e.message), e.message.clone())
    }
}

/// The state of one MySQL client connection.
pub struct MysqlSession {
    shared: Arc<Shared>,
    id: u32,
    scramble: [u8; 20],
    /// The user `authenticate` accepted (set through `&self`, hence the mutex).
    user: Mutex<Option<String>>,
    engine: Option<EngineClient>,
    database: String,
    txn: TxnState,
    prepared: HashMap<u32, Prepared>,
    next_statement: u32,
}

impl MysqlSession {
    pub(crate) fn new(shared: Arc<Shared>, id: u32) -> Self {
        let database = shared.config.default_database.clone();
        Self {
            shared,
            id,
            scramble: scramble(),
            user: Mutex::new(None),
            engine: None,
            database,
            txn: TxnState::Idle,
            prepared: HashMap::new(),
            next_statement: 1,
        }
    }

    fn user(&self) -> Option<String> {
        match self.user.lock() {
            Ok(u) => u.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Opens an engine session for the authenticated user on `database`.
    async fn open(&self, database: &str) -> Result<EngineClient, EngineClientError> {
        let user = self.user().unwrap_or_default();
        let mut client = EngineClient::connect(&self.shared.config.engine_socket).await?;
        client
            .startup(&user, database, Dialect::Mysql, "mysql")
            .await?;
        Ok(client)
    }

    /// The engine session, opened on the current database if there is none yet.
    async fn engine(&mut self) -> Result<&mut EngineClient, ClientError> {
        if self.engine.is_none() {
            let database = self.database.clone();
            match self.open(&database).await {
                Ok(client) => self.engine = Some(client),
                Err(e) => return Err(session_error(&e, &database)),
            }
        }
        self.engine
            .as_mut()
            .ok_or_else(|| ClientError::new(ErrorKind::ER_UNKNOWN_ERROR, "no engine session"))
    }

    /// OK-packet status flags for the current transaction state.
    fn status(&self) -> StatusFlags {
        match self.txn {
            TxnState::Idle => StatusFlags::SERVER_STATUS_AUTOCOMMIT,
            TxnState::InBlock | TxnState::Failed => {
                StatusFlags::SERVER_STATUS_AUTOCOMMIT | StatusFlags::SERVER_STATUS_IN_TRANS
            }
        }
    }
}

/// A random scramble of printable ASCII without `$` (some clients treat it specially),
/// new for every connection.
fn scramble() -> [u8; 20] {
    let mut rng = rand::rng();
    let mut s = [0u8; 20];
    for b in &mut s {
        loop {
            let c: u8 = rng.random_range(0x21..0x7f);
            if c != b'$' {
                *b = c;
                break;
            }
        }
    }
    s
}

/// The client error for a failed session start on `database`.
fn session_error(e: &EngineClientError, database: &str) -> ClientError {
    match e {
        EngineClientError::Engine(e) if e.sqlstate == "3D000" => ClientError::new(
            ErrorKind::ER_BAD_DB_ERROR,
            format!("Unknown database '{database}'"),
        ),
        EngineClientError::Engine(e) => ClientError::from(e),
        other => ClientError::new(ErrorKind::ER_UNKNOWN_ERROR, other.to_string()),
    }
}

/// How running one statement ended, for the caller to finish the exchange.
enum Outcome {
    /// Everything was written.
    Done,
    /// The engine connection is broken: the client connection must end.
    Fatal(String),
}

/// Streams one statement's engine responses to the client as a result set or an OK
/// packet (or an error packet).
async fn write_results<W: AsyncWrite + Send + Unpin>(
    mut stream: ResponseStream<'_>,
    results: QueryResultWriter<'_, W>,
    txn: &mut TxnState,
) -> io::Result<Outcome> {
    let mut columns: Vec<Column> = Vec::new();
    let mut my_columns: Vec<MyColumn> = Vec::new();
    // Read up to the first response that decides the shape.
    let first = loop {
        match stream.next().await {
            Some(Ok(Response::Notice { .. })) => continue,
            Some(Ok(Response::Columns(c))) => {
                my_columns = c.iter().map(types::column).collect();
                columns = c;
                break None;
            }
            Some(Ok(other)) => break Some(other),
            Some(Err(e)) => {
                let message = e.to_string();
                results
                    .error(ErrorKind::ER_UNKNOWN_ERROR, message.as_bytes())
                    .await?;
                return Ok(Outcome::Fatal(message));
            }
            None => {
                results
                    .error(ErrorKind::ER_UNKNOWN_ERROR, b"engine ended the request")
                    .await?;
                return Ok(Outcome::Fatal("engine ended the request".into()));
            }
        }
    };
    if let Some(response) = first {
        return match response {
            Response::Complete(c) => {
                *txn = c.txn;
                let dml = ["INSERT", "UPDATE", "DELETE"]
                    .iter()
                    .any(|t| c.tag.starts_with(t));
                results
                    .completed(OkResponse {
                        header: 0,
                        affected_rows: if dml { c.rows } else { 0 },
                        last_insert_id: 0,
                        status_flags: status_for(c.txn),
                        ..Default::default()
                    })
                    .await?;
                Ok(Outcome::Done)
            }
            Response::Error(e) => {
                *txn = e.txn;
                let err = ClientError::from(&e);
                results.error(err.kind, err.message.as_bytes()).await?;
                if e.fatal {
                    Ok(Outcome::Fatal(e.message))
                } else {
                    Ok(Outcome::Done)
                }
            }
            other => {
                let message = format!("unexpected engine response {other:?}");
                results
                    .error(ErrorKind::ER_UNKNOWN_ERROR, message.as_bytes())
                    .await?;
                Ok(Outcome::Fatal(message))
            }
        };
    }
    let mut rows = results.start(&my_columns).await?;
    loop {
        match stream.next().await {
            Some(Ok(Response::Rows(batch))) => {
                for row in &batch {
                    for (value, column) in row.iter().zip(&columns) {
                        types::write_value(&mut rows, &column.data_type, value)?;
                    }
                    rows.end_row().await?;
                }
            }
            Some(Ok(Response::Notice { .. })) => {}
            Some(Ok(Response::Complete(c))) => {
                *txn = c.txn;
                rows.finish().await?;
                return Ok(Outcome::Done);
            }
            Some(Ok(Response::Error(e))) => {
                *txn = e.txn;
                let err = ClientError::from(&e);
                rows.finish_error(err.kind, &err.message.into_bytes())
                    .await?;
                return Ok(if e.fatal {
                    Outcome::Fatal(e.message)
                } else {
                    Outcome::Done
                });
            }
            Some(Ok(other)) => {
                let message = format!("unexpected engine response {other:?}");
                rows.finish_error(ErrorKind::ER_UNKNOWN_ERROR, &message.clone().into_bytes())
                    .await?;
                return Ok(Outcome::Fatal(message));
            }
            Some(Err(e)) => {
                let message = e.to_string();
                rows.finish_error(ErrorKind::ER_UNKNOWN_ERROR, &message.clone().into_bytes())
                    .await?;
                return Ok(Outcome::Fatal(message));
            }
            None => {
                rows.finish().await?;
                return Ok(Outcome::Done);
            }
        }
    }
}

fn status_for(txn: TxnState) -> StatusFlags {
    match txn {
        TxnState::Idle => StatusFlags::SERVER_STATUS_AUTOCOMMIT,
        TxnState::InBlock | TxnState::Failed => {
            StatusFlags::SERVER_STATUS_AUTOCOMMIT | StatusFlags::SERVER_STATUS_IN_TRANS
        }
    }
}

/// Ends the connection after a broken engine connection (the error packet is written).
fn fatal(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, message)
}

#[async_trait]
impl<W: AsyncWrite + Send + Unpin> AsyncMysqlShim<W> for MysqlSession {
    type Error = io::Error;

    fn version(&self) -> String {
        MYSQL_SERVER_VERSION.to_string()
    }

    fn connect_id(&self) -> u32 {
        self.id
    }

    fn default_auth_plugin(&self) -> &str {
        NATIVE_PASSWORD
    }

    async fn auth_plugin_for_username(&self, _user: &[u8]) -> &str {
        NATIVE_PASSWORD
    }

    fn salt(&self) -> [u8; 20] {
        self.scramble
    }

    async fn authenticate(
        &self,
        auth_plugin: &str,
        username: &[u8],
        salt: &[u8],
        auth_data: &[u8],
    ) -> bool {
        if auth_plugin != NATIVE_PASSWORD || salt != self.scramble {
            return false;
        }
        let Ok(user) = std::str::from_utf8(username) else {
            return false;
        };
        let info = match EngineClient::connect(&self.shared.config.engine_socket).await {
            Ok(mut client) => {
                let info = client.auth_info(user).await;
                client.terminate().await;
                info
            }
            Err(e) => Err(e),
        };
        let stored = match info {
            Ok(Some(info)) => info.mysql_native,
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::warn!("cannot fetch credentials from the engine: {e}");
                return false;
            }
        };
        // Unknown users run the same check against an empty verifier (always false).
        let ok = auth::verify_native(salt, &stored, auth_data);
        if ok {
            match self.user.lock() {
                Ok(mut u) => *u = Some(user.to_string()),
                Err(poisoned) => *poisoned.into_inner() = Some(user.to_string()),
            }
        }
        ok
    }

    async fn on_init<'a>(
        &'a mut self,
        database: &'a str,
        writer: InitWriter<'a, W>,
    ) -> Result<(), Self::Error> {
        let database = database.trim().trim_matches('`');
        match self.open(database).await {
            Ok(client) => {
                if let Some(old) = self.engine.replace(client) {
                    old.terminate().await;
                }
                // Engine prepared statements belonged to the old session.
                self.prepared.clear();
                self.database = database.to_string();
                self.txn = TxnState::Idle;
                writer.ok().await
            }
            Err(e) => {
                let err = session_error(&e, database);
                writer.error(err.kind, err.message.as_bytes()).await
            }
        }
    }

    async fn on_query<'a>(
        &'a mut self,
        query: &'a str,
        results: QueryResultWriter<'a, W>,
    ) -> Result<(), Self::Error> {
        let compiled = match self.shared.plugins.compile(query).await {
            Ok(c) => c,
            Err(e) => {
                let err = ClientError::from(&e);
                return results.error(err.kind, err.message.as_bytes()).await;
            }
        };
        let statement = match compiled.as_slice() {
            [one] => one,
            [] => {
                return results
                    .completed(OkResponse {
                        status_flags: self.status(),
                        ..Default::default()
                    })
                    .await
            }
            _ => {
                return results
                    .error(
                        ErrorKind::ER_NOT_SUPPORTED_YET,
                        b"several statements in one query are not supported yet",
                    )
                    .await
            }
        };
        if statement.param_count > 0 {
            return results
                .error(
                    ErrorKind::ER_PARSE_ERROR,
                    b"'?' parameters are only allowed in prepared statements",
                )
                .await;
        }
        let bytes = statement.bytes.clone();
        let mut txn = self.txn;
        let engine = match self.engine().await {
            Ok(e) => e,
            Err(err) => return results.error(err.kind, err.message.as_bytes()).await,
        };
        let stream = match engine.execute(bytes, Vec::new(), 0).await {
            Ok(s) => s,
            Err(e) => {
                let message = e.to_string();
                results
                    .error(ErrorKind::ER_UNKNOWN_ERROR, message.as_bytes())
                    .await?;
                return Err(fatal(message));
            }
        };
        let outcome = write_results(stream, results, &mut txn).await?;
        self.txn = txn;
        match outcome {
            Outcome::Done => Ok(()),
            Outcome::Fatal(m) => Err(fatal(m)),
        }
    }

    async fn on_prepare<'a>(
        &'a mut self,
        query: &'a str,
        info: StatementMetaWriter<'a, W>,
    ) -> Result<(), Self::Error> {
        let compiled = match self.shared.plugins.compile(query).await {
            Ok(c) => c,
            Err(e) => {
                let err = ClientError::from(&e);
                return info.error(err.kind, err.message.as_bytes()).await;
            }
        };
        let [statement] = compiled.as_slice() else {
            return info
                .error(
                    ErrorKind::ER_UNSUPPORTED_PS,
                    b"a prepared statement must hold exactly one statement",
                )
                .await;
        };
        let bytes = statement.bytes.clone();
        let declared = vec![None; usize::from(statement.param_count)];
        let engine = match self.engine().await {
            Ok(e) => e,
            Err(err) => return info.error(err.kind, err.message.as_bytes()).await,
        };
        let prepared = match engine.prepare(bytes, declared).await {
            Ok(p) => p,
            Err(EngineClientError::Engine(e)) if !e.fatal => {
                let err = ClientError::from(&e);
                return info.error(err.kind, err.message.as_bytes()).await;
            }
            Err(e) => {
                let message = e.to_string();
                info.error(ErrorKind::ER_UNKNOWN_ERROR, message.as_bytes())
                    .await?;
                return Err(fatal(message));
            }
        };
        let id = self.next_statement;
        self.next_statement = self.next_statement.wrapping_add(1).max(1);
        let params: Vec<MyColumn> = prepared
            .param_types
            .iter()
            .map(types::param_column)
            .collect();
        let columns: Vec<MyColumn> = prepared.columns.iter().map(types::column).collect();
        self.prepared.insert(
            id,
            Prepared {
                handle: prepared.handle,
                param_types: prepared.param_types,
            },
        );
        info.reply(id, &params, &columns).await
    }

    async fn on_execute<'a>(
        &'a mut self,
        id: u32,
        params: ParamParser<'a>,
        results: QueryResultWriter<'a, W>,
    ) -> Result<(), Self::Error> {
        let Some(prepared) = self.prepared.get(&id) else {
            return results
                .error(
                    ErrorKind::ER_UNKNOWN_STMT_HANDLER,
                    format!(
                        "Unknown prepared statement handler ({id}) given to mysqld_stmt_execute"
                    )
                    .as_bytes(),
                )
                .await;
        };
        let handle = prepared.handle;
        let mut values: Vec<Value> = Vec::with_capacity(prepared.param_types.len());
        for (i, p) in params.into_iter().enumerate() {
            match types::param_value(p.value.into_inner(), prepared.param_types.get(i)) {
                Ok(v) => values.push(v),
                Err(e) => {
                    return results
                        .error(ErrorKind::ER_WRONG_ARGUMENTS, e.to_string().as_bytes())
                        .await
                }
            }
        }
        let mut txn = self.txn;
        let engine = match self.engine().await {
            Ok(e) => e,
            Err(err) => return results.error(err.kind, err.message.as_bytes()).await,
        };
        let stream = match engine.execute_prepared(handle, values, 0).await {
            Ok(s) => s,
            Err(e) => {
                let message = e.to_string();
                results
                    .error(ErrorKind::ER_UNKNOWN_ERROR, message.as_bytes())
                    .await?;
                return Err(fatal(message));
            }
        };
        let outcome = write_results(stream, results, &mut txn).await?;
        self.txn = txn;
        match outcome {
            Outcome::Done => Ok(()),
            Outcome::Fatal(m) => Err(fatal(m)),
        }
    }

    async fn on_close<'a>(&'a mut self, id: u32)
    where
        W: 'async_trait,
    {
        if let Some(p) = self.prepared.remove(&id) {
            if let Some(engine) = self.engine.as_mut() {
                if let Err(e) = engine.close_prepared(p.handle).await {
                    tracing::debug!("closing prepared statement {id}: {e}");
                }
            }
        }
    }
}
