//! One PostgreSQL client session: simple and extended query protocol on one side, the
//! engine session on the other.
//!
//! pgwire is used as a codec and message dispatcher only. Every query-phase hook
//! (`on_query`, `on_parse`, `on_bind`, `on_describe`, `on_execute`, `on_close`,
//! `on_sync`) is overridden here because its defaults cannot do what Rosetta needs:
//!
//! * ReadyForQuery must carry the engine's transaction state *exactly*; pgwire's defaults
//!   derive it from response variants. We keep the engine's [`TxnState`] of the last final
//!   response and write it with `set_transaction_status` before every ReadyForQuery.
//! * Statements are prepared in the engine at Parse time, so Describe has real types.
//! * Errors are sent by us, as ERROR with the real SQLSTATE; in the extended protocol we
//!   then switch pgwire into `AwaitingSync`, and its dispatcher discards messages until
//!   Sync (as PostgreSQL does). Only FATAL errors are returned to pgwire, which sends them
//!   and closes the connection.

// `Fail` carries pgwire's `ErrorInfo` (~400 bytes) by value: it lives for one step of one
// message on the error path, where boxing buys nothing.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::{BufMut, BytesMut};
use futures::sink::{Sink, SinkExt};
use pgwire::api::portal::Portal as PgPortal;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::Response as PgResponse;
use pgwire::api::stmt::NoopQueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{ClientInfo, ClientPortalStore, PgWireConnectionState};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult, SEVERITY_NOTICE};
use pgwire::messages::data::{
    DataRow, FieldDescription, NoData, ParameterDescription, RowDescription, FORMAT_CODE_BINARY,
    FORMAT_CODE_TEXT,
};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Close, CloseComplete, Describe, Execute, Parse, ParseComplete,
    PortalSuspended, Sync as PgSync, TARGET_TYPE_BYTE_PORTAL, TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, ReadyForQuery, TransactionStatus,
};
use pgwire::messages::simplequery::Query;
use pgwire::messages::PgWireBackendMessage;
use rosetta_bytecode::DataType;
use rosetta_proto::{Column, Completion, Response, TxnState};
use rosetta_types::Value;

use super::auth::AuthPhase;
use super::errors::{self, error, fatal, into_pgwire};
use super::types;
use crate::engine_client::{EngineClient, EngineClientError};
use crate::plugin_host::{PluginHost, StatementKind};

/// What every session of one gateway shares.
#[derive(Debug)]
pub struct Shared {
    /// The dialect plugin (swappable for hot reload).
    pub plugins: Arc<PluginHost>,
    /// The engine's Unix socket.
    pub engine_socket: PathBuf,
    /// Per-process secret for the fake SCRAM salts of unknown users.
    pub auth_secret: [u8; 32],
}

/// A statement prepared with Parse (and in the engine).
#[derive(Debug)]
pub(crate) struct PreparedStatement {
    /// Engine handle; `None` for an empty statement.
    handle: Option<u64>,
    /// Parameter types (declared, or inferred by the engine).
    param_types: Vec<DataType>,
    /// Result columns (empty: the statement returns no rows).
    columns: Vec<Column>,
    /// Transaction-control role (for failed-block emulation).
    kind: StatementKind,
}

/// Where a portal's execution stands.
#[derive(Debug)]
enum PortalState {
    /// Not executed yet.
    Ready,
    /// Executed with a row limit: the rest of the rows wait here for the next Execute.
    Suspended {
        rows: VecDeque<Vec<Value>>,
        completion: Completion,
    },
    /// Ran to completion.
    Done { tag: String },
}

/// A bound statement (Bind).
#[derive(Debug)]
pub(crate) struct BoundPortal {
    statement: Arc<PreparedStatement>,
    params: Vec<Value>,
    /// One format code per result column.
    formats: Vec<i16>,
    state: PortalState,
}

/// The mutable state of one session.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    /// The engine session (present once startup succeeded).
    pub(crate) engine: Option<EngineClient>,
    /// Where authentication stands.
    pub(crate) auth: AuthPhase,
    statements: HashMap<String, Arc<PreparedStatement>>,
    portals: HashMap<String, BoundPortal>,
    /// The engine's transaction state after the last request.
    pub(crate) txn: Option<TxnState>,
    /// An error raised by the gateway itself (syntax error, bad parameter) inside a
    /// transaction block: PostgreSQL fails the block, the engine does not know. Until the
    /// engine reports the block ended, the gateway reports 'E', refuses statements with
    /// 25P02 and turns COMMIT into ROLLBACK, as PostgreSQL does.
    locally_failed: bool,
    /// A `COPY … FROM STDIN` in progress.
    pub(crate) copy: Option<super::copy::CopyIn>,
}

impl ConnState {
    /// Records the engine's transaction state.
    pub(crate) fn set_txn(&mut self, txn: TxnState) {
        apply_txn(&mut self.txn, &mut self.locally_failed, txn);
    }

    /// True in a block that failed on the gateway side.
    pub(super) fn in_failed_block(&self) -> bool {
        self.locally_failed && self.txn == Some(TxnState::InBlock)
    }

    /// The transaction status to report in ReadyForQuery.
    pub(super) fn status(&self) -> TransactionStatus {
        if self.in_failed_block() {
            TransactionStatus::Error
        } else {
            txn_status(self.txn)
        }
    }

    /// Notes a failure: one raised by the gateway inside a block fails the block.
    pub(super) fn note_failure(&mut self, fail: &Fail) {
        if matches!(fail, Fail::Sql(_)) && self.txn == Some(TxnState::InBlock) {
            self.locally_failed = true;
        }
    }
}

fn apply_txn(slot: &mut Option<TxnState>, locally_failed: &mut bool, txn: TxnState) {
    *slot = Some(txn);
    if txn != TxnState::InBlock {
        *locally_failed = false;
    }
}

fn aborted_block() -> Fail {
    Fail::Sql(error(
        "25P02",
        "current transaction is aborted, commands ignored until end of transaction block",
    ))
}

/// One client connection; implements pgwire's handler traits (created per connection).
#[derive(Debug)]
pub struct PgConnection {
    pub(crate) shared: Arc<Shared>,
    pub(crate) state: tokio::sync::Mutex<ConnState>,
}

impl PgConnection {
    /// A fresh session sharing `shared`.
    pub fn new(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            state: tokio::sync::Mutex::new(ConnState::default()),
        }
    }

    /// Ends the engine session (called when the client goes away).
    pub async fn close(&self) {
        let mut st = self.state.lock().await;
        if let Some(engine) = st.engine.take() {
            engine.terminate().await;
        }
    }
}

/// How a step failed: a SQL error raised by the gateway or by the engine (the session
/// goes on), a FATAL one (the connection closes), or a client I/O failure.
pub(super) enum Fail {
    /// Raised by the gateway (compile, parameter decoding, protocol misuse).
    Sql(ErrorInfo),
    /// Reported by the engine (which already accounted for it in its transaction state).
    Engine(ErrorInfo),
    Fatal(ErrorInfo),
    Io(PgWireError),
}

impl From<PgWireError> for Fail {
    fn from(e: PgWireError) -> Self {
        Fail::Io(e)
    }
}

impl From<&EngineClientError> for Fail {
    fn from(e: &EngineClientError) -> Self {
        let info = errors::from_engine_client(e);
        if info.is_fatal() {
            Fail::Fatal(info)
        } else {
            Fail::Engine(info)
        }
    }
}

impl From<EngineClientError> for Fail {
    fn from(e: EngineClientError) -> Self {
        Fail::from(&e)
    }
}

fn txn_status(txn: Option<TxnState>) -> TransactionStatus {
    match txn {
        None | Some(TxnState::Idle) => TransactionStatus::Idle,
        Some(TxnState::InBlock) => TransactionStatus::Transaction,
        Some(TxnState::Failed) => TransactionStatus::Error,
    }
}

/// PostgreSQL treats a query string of only blanks and semicolons as empty.
fn is_empty_query(sql: &str) -> bool {
    sql.chars().all(|c| c == ';' || c.is_whitespace())
}

pub(super) fn engine(st: &mut ConnState) -> Result<&mut EngineClient, Fail> {
    st.engine
        .as_mut()
        .ok_or_else(|| Fail::Fatal(fatal("08003", "the session has no engine connection")))
}

fn row_description(columns: &[Column], formats: Option<&[i16]>) -> RowDescription {
    RowDescription::new(
        columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                FieldDescription::new(
                    c.name.clone(),
                    c.table_id as i32,
                    c.column_number as i16,
                    types::oid(&c.data_type),
                    types::type_size(&c.data_type),
                    types::type_modifier(&c.data_type),
                    formats
                        .and_then(|f| f.get(i).copied())
                        .unwrap_or(FORMAT_CODE_TEXT),
                )
            })
            .collect(),
    )
}

/// Encodes one result row; `formats` has one code per column (empty = all text).
fn data_row(row: &[Value], columns: &[Column], formats: &[i16]) -> Result<DataRow, Fail> {
    if !columns.is_empty() && row.len() != columns.len() {
        return Err(Fail::Sql(error(
            "XX000",
            format!(
                "engine returned a row of {} values for {} columns",
                row.len(),
                columns.len()
            ),
        )));
    }
    let mut buf = BytesMut::with_capacity(row.len() * 8);
    for (i, value) in row.iter().enumerate() {
        let binary = formats.get(i) == Some(&FORMAT_CODE_BINARY);
        let bytes = if binary {
            let ty = columns
                .get(i)
                .map(|c| c.data_type)
                .or_else(|| value.data_type())
                .unwrap_or(DataType::Text);
            types::encode_binary(&ty, value).map_err(|e| Fail::Sql(errors::from_wire_type(&e)))?
        } else {
            types::encode_text(value).map(String::into_bytes)
        };
        match bytes {
            None => buf.put_i32(-1),
            Some(b) => {
                let len = i32::try_from(b.len())
                    .map_err(|_| Fail::Sql(error("54000", "result value too large")))?;
                buf.put_i32(len);
                buf.put_slice(&b);
            }
        }
    }
    Ok(DataRow::new(buf, row.len() as i16))
}

fn notice(message: String) -> PgWireBackendMessage {
    let info = ErrorInfo::new(SEVERITY_NOTICE.to_owned(), "00000".to_owned(), message);
    PgWireBackendMessage::NoticeResponse(info.into())
}

/// Rewrites the row count of a `SELECT n`-style tag (for partial portal fetches).
fn tag_with_rows(tag: &str, rows: usize) -> String {
    match tag.rsplit_once(' ') {
        Some((head, n)) if n.bytes().all(|b| b.is_ascii_digit()) && !head.contains(' ') => {
            format!("{head} {rows}")
        }
        _ => tag.to_string(),
    }
}

/// Queues one message for the client, as a [`Fail`] on error.
pub(super) async fn put<C>(client: &mut C, message: PgWireBackendMessage) -> Result<(), Fail>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    client
        .feed(message)
        .await
        .map_err(|e| Fail::Io(PgWireError::from(e)))
}

impl PgConnection {
    /// Runs a simple-protocol query string; sends everything but ReadyForQuery.
    async fn run_simple<C>(&self, st: &mut ConnState, client: &mut C, sql: &str) -> Result<(), Fail>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if is_empty_query(sql) {
            put(
                client,
                PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new()),
            )
            .await?;
            return Ok(());
        }
        let compiled = self
            .shared
            .plugins
            .compile(sql)
            .await
            .map_err(|e| Fail::Sql(errors::from_compile(&e)))?;
        let statements: Vec<_> = compiled.iter().filter(|s| !s.is_empty).collect();
        if statements.is_empty() {
            put(
                client,
                PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new()),
            )
            .await?;
            return Ok(());
        }
        let count = statements.len();
        for (i, stmt) in statements.iter().enumerate() {
            let mut program = stmt.bytes.clone();
            if st.in_failed_block() {
                match stmt.kind {
                    StatementKind::Rollback => {}
                    StatementKind::Commit => {
                        program = PluginHost::rollback_program(rosetta_bytecode::Dialect::Postgres)
                    }
                    StatementKind::Other | StatementKind::ShowPlugin | StatementKind::CopyFrom => {
                        return Err(aborted_block())
                    }
                }
            }
            if stmt.kind == StatementKind::CopyFrom {
                if i + 1 != count {
                    return Err(Fail::Sql(error(
                        "0A000",
                        "COPY FROM STDIN must be the last statement of a query string",
                    )));
                }
                return self.start_copy(st, client, &program).await;
            }
            let engine = engine(st)?;
            let mut stream = engine.execute(program, Vec::new(), 0).await?;
            let mut columns: Vec<Column> = Vec::new();
            let mut txn = None;
            let mut failure = None;
            while let Some(resp) = stream.next().await {
                match resp? {
                    Response::Columns(cols) => {
                        put(
                            client,
                            PgWireBackendMessage::RowDescription(row_description(&cols, None)),
                        )
                        .await?;
                        columns = cols;
                    }
                    Response::Rows(rows) => {
                        for row in rows {
                            let row = data_row(&row, &columns, &[])?;
                            put(client, PgWireBackendMessage::DataRow(row)).await?;
                        }
                    }
                    Response::Notice { message } => put(client, notice(message)).await?,
                    Response::Complete(c) => {
                        txn = Some(c.txn);
                        put(
                            client,
                            PgWireBackendMessage::CommandComplete(CommandComplete::new(c.tag)),
                        )
                        .await?;
                    }
                    Response::Error(e) => {
                        txn = Some(e.txn);
                        failure = Some(EngineClientError::Engine(e));
                    }
                    _ => {
                        failure = Some(EngineClientError::Unexpected {
                            request: "Execute",
                            response: "a non-result response".into(),
                        })
                    }
                }
            }
            if let Some(t) = txn {
                st.set_txn(t);
            }
            if let Some(e) = failure {
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Parse: compile (exactly one statement) and prepare in the engine.
    async fn parse(&self, st: &mut ConnState, message: Parse) -> Result<(), Fail> {
        let name = message.name.unwrap_or_default();
        if !name.is_empty() && st.statements.contains_key(&name) {
            return Err(Fail::Sql(error(
                "42P05",
                format!("prepared statement \"{name}\" already exists"),
            )));
        }
        let declared = message
            .type_oids
            .iter()
            .map(|oid| types::data_type_from_oid(*oid))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Fail::Sql(errors::from_wire_type(&e)))?;
        let statement = if is_empty_query(&message.query) {
            PreparedStatement {
                handle: None,
                param_types: Vec::new(),
                columns: Vec::new(),
                kind: StatementKind::Other,
            }
        } else {
            let compiled = self
                .shared
                .plugins
                .compile(&message.query)
                .await
                .map_err(|e| Fail::Sql(errors::from_compile(&e)))?;
            let statements: Vec<_> = compiled.iter().filter(|s| !s.is_empty).collect();
            match statements.as_slice() {
                [] => PreparedStatement {
                    handle: None,
                    param_types: Vec::new(),
                    columns: Vec::new(),
                    kind: StatementKind::Other,
                },
                [one] => {
                    if st.in_failed_block()
                        && matches!(
                            one.kind,
                            StatementKind::Other
                                | StatementKind::ShowPlugin
                                | StatementKind::CopyFrom
                        )
                    {
                        return Err(aborted_block());
                    }
                    let result = engine(st)?.prepare(one.bytes.clone(), declared).await;
                    let info = match result {
                        Ok(info) => info,
                        Err(EngineClientError::Engine(e)) => {
                            st.set_txn(e.txn);
                            return Err(EngineClientError::Engine(e).into());
                        }
                        Err(e) => return Err(e.into()),
                    };
                    st.set_txn(info.txn);
                    PreparedStatement {
                        handle: Some(info.handle),
                        param_types: info.param_types,
                        columns: info.columns,
                        kind: one.kind,
                    }
                }
                _ => {
                    return Err(Fail::Sql(error(
                        "42601",
                        "cannot insert multiple commands into a prepared statement",
                    )))
                }
            }
        };
        if let Some(old) = st.statements.insert(name, Arc::new(statement)) {
            self.forget_statement(st, &old).await?;
        }
        Ok(())
    }

    /// Drops the engine side of a replaced or closed statement, and its portals.
    async fn forget_statement(
        &self,
        st: &mut ConnState,
        old: &Arc<PreparedStatement>,
    ) -> Result<(), Fail> {
        st.portals.retain(|_, p| !Arc::ptr_eq(&p.statement, old));
        if let Some(handle) = old.handle {
            match engine(st)?.close_prepared(handle).await {
                Ok(()) => {}
                Err(e) if e.is_fatal() => return Err(e.into()),
                // A statement the engine already forgot is not the client's problem.
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Bind: decode parameters, pick result formats, create the portal.
    fn bind(&self, st: &mut ConnState, message: Bind) -> Result<(), Fail> {
        let stmt_name = message.statement_name.unwrap_or_default();
        let portal_name = message.portal_name.unwrap_or_default();
        let statement = st.statements.get(&stmt_name).cloned().ok_or_else(|| {
            Fail::Sql(error(
                "26000",
                format!("prepared statement \"{stmt_name}\" does not exist"),
            ))
        })?;
        if !portal_name.is_empty() && st.portals.contains_key(&portal_name) {
            return Err(Fail::Sql(error(
                "42P03",
                format!("portal \"{portal_name}\" already exists"),
            )));
        }
        let nparams = message.parameters.len();
        if nparams != statement.param_types.len() {
            return Err(Fail::Sql(error(
                "08P01",
                format!(
                    "bind message supplies {nparams} parameters, but prepared statement \"{stmt_name}\" requires {}",
                    statement.param_types.len()
                ),
            )));
        }
        let param_formats = &message.parameter_format_codes;
        if param_formats.len() > 1 && param_formats.len() != nparams {
            return Err(Fail::Sql(error(
                "08P01",
                format!(
                    "bind message has {} parameter formats but {nparams} parameters",
                    param_formats.len()
                ),
            )));
        }
        let mut params = Vec::with_capacity(nparams);
        for (i, (raw, ty)) in message
            .parameters
            .iter()
            .zip(statement.param_types.iter())
            .enumerate()
        {
            let format = match param_formats.len() {
                0 => FORMAT_CODE_TEXT,
                1 => param_formats[0],
                _ => param_formats[i],
            };
            let value = match raw {
                None => Value::Null,
                Some(bytes) if format == FORMAT_CODE_BINARY => types::decode_binary(ty, bytes)
                    .map_err(|e| Fail::Sql(errors::from_wire_type(&e)))?,
                Some(bytes) if format == FORMAT_CODE_TEXT => {
                    let text = std::str::from_utf8(bytes).map_err(|_| {
                        Fail::Sql(error(
                            "22021",
                            "invalid byte sequence for encoding \"UTF8\"",
                        ))
                    })?;
                    types::decode_text(ty, text)
                        .map_err(|e| Fail::Sql(errors::from_wire_type(&e)))?
                }
                Some(_) => {
                    return Err(Fail::Sql(error(
                        "08P01",
                        format!("unsupported format code: {format}"),
                    )))
                }
            };
            params.push(value);
        }
        let ncols = statement.columns.len();
        let result_formats = &message.result_column_format_codes;
        let formats: Vec<i16> = match result_formats.len() {
            0 => vec![FORMAT_CODE_TEXT; ncols],
            1 => vec![result_formats[0]; ncols],
            n if n == ncols => result_formats.clone(),
            n => {
                return Err(Fail::Sql(error(
                    "08P01",
                    format!("bind message has {n} result formats but query has {ncols} columns"),
                )))
            }
        };
        if let Some(bad) = formats
            .iter()
            .find(|f| **f != FORMAT_CODE_TEXT && **f != FORMAT_CODE_BINARY)
        {
            return Err(Fail::Sql(error(
                "08P01",
                format!("unsupported format code: {bad}"),
            )));
        }
        st.portals.insert(
            portal_name,
            BoundPortal {
                statement,
                params,
                formats,
                state: PortalState::Ready,
            },
        );
        Ok(())
    }

    /// Execute: run (or continue) a portal, sending at most `max_rows` rows (0 = all).
    async fn execute<C>(
        &self,
        st: &mut ConnState,
        client: &mut C,
        message: Execute,
    ) -> Result<(), Fail>
    where
        C: Sink<PgWireBackendMessage> + Unpin + Send,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let name = message.name.unwrap_or_default();
        let max_rows = usize::try_from(message.max_rows.max(0)).unwrap_or(0);
        let failed_block = st.in_failed_block();
        let ConnState {
            engine,
            portals,
            txn,
            locally_failed,
            ..
        } = st;
        let portal = portals.get_mut(&name).ok_or_else(|| {
            Fail::Sql(error("34000", format!("portal \"{name}\" does not exist")))
        })?;
        let Some(handle) = portal.statement.handle else {
            put(
                client,
                PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new()),
            )
            .await?;
            return Ok(());
        };
        let columns = portal.statement.columns.clone();
        match std::mem::replace(&mut portal.state, PortalState::Ready) {
            PortalState::Done { tag } => {
                let tag = tag_with_rows(&tag, 0);
                portal.state = PortalState::Done { tag: tag.clone() };
                put(
                    client,
                    PgWireBackendMessage::CommandComplete(CommandComplete::new(tag)),
                )
                .await?;
                Ok(())
            }
            PortalState::Suspended {
                mut rows,
                completion,
            } => {
                let mut sent = 0;
                while max_rows == 0 || sent < max_rows {
                    let Some(row) = rows.pop_front() else { break };
                    let row = data_row(&row, &columns, &portal.formats)?;
                    put(client, PgWireBackendMessage::DataRow(row)).await?;
                    sent += 1;
                }
                if rows.is_empty() {
                    let tag = tag_with_rows(&completion.tag, sent);
                    portal.state = PortalState::Done { tag: tag.clone() };
                    put(
                        client,
                        PgWireBackendMessage::CommandComplete(CommandComplete::new(tag)),
                    )
                    .await?;
                } else {
                    portal.state = PortalState::Suspended { rows, completion };
                    put(
                        client,
                        PgWireBackendMessage::PortalSuspended(PortalSuspended::new()),
                    )
                    .await?;
                }
                Ok(())
            }
            PortalState::Ready => {
                let engine = engine
                    .as_mut()
                    .ok_or_else(|| Fail::Fatal(fatal("08003", "no engine connection")))?;
                // The whole result is fetched; rows beyond the limit wait in the portal.
                let mut stream = match (failed_block, portal.statement.kind) {
                    // Answered with the plugin active now, not the one that prepared it.
                    (false, StatementKind::ShowPlugin) => {
                        let program = self
                            .shared
                            .plugins
                            .plugin_show_program(rosetta_bytecode::Dialect::Postgres);
                        engine.execute(program, Vec::new(), 0).await?
                    }
                    (false, _) | (true, StatementKind::Rollback) => {
                        engine
                            .execute_prepared(handle, portal.params.clone(), 0)
                            .await?
                    }
                    (true, StatementKind::Commit) => {
                        let rollback =
                            PluginHost::rollback_program(rosetta_bytecode::Dialect::Postgres);
                        engine.execute(rollback, Vec::new(), 0).await?
                    }
                    (
                        true,
                        StatementKind::Other | StatementKind::ShowPlugin | StatementKind::CopyFrom,
                    ) => {
                        portal.state = PortalState::Ready;
                        return Err(aborted_block());
                    }
                };
                let mut sent = 0;
                let mut rest: VecDeque<Vec<Value>> = VecDeque::new();
                let mut done = None;
                let mut failure = None;
                while let Some(resp) = stream.next().await {
                    match resp? {
                        Response::Columns(_) => {}
                        Response::Rows(rows) => {
                            for row in rows {
                                if max_rows != 0 && sent >= max_rows {
                                    rest.push_back(row);
                                    continue;
                                }
                                let row = data_row(&row, &columns, &portal.formats)?;
                                put(client, PgWireBackendMessage::DataRow(row)).await?;
                                sent += 1;
                            }
                        }
                        Response::Notice { message } => put(client, notice(message)).await?,
                        Response::Complete(c) => {
                            apply_txn(txn, locally_failed, c.txn);
                            done = Some(c);
                        }
                        Response::Error(e) => {
                            apply_txn(txn, locally_failed, e.txn);
                            failure = Some(EngineClientError::Engine(e));
                        }
                        _ => {
                            failure = Some(EngineClientError::Unexpected {
                                request: "ExecutePrepared",
                                response: "a non-result response".into(),
                            })
                        }
                    }
                }
                if let Some(e) = failure {
                    portal.state = PortalState::Done { tag: String::new() };
                    return Err(e.into());
                }
                let Some(completion) = done else {
                    return Err(Fail::Fatal(fatal("08006", "engine ended a result early")));
                };
                if rest.is_empty() && !completion.suspended {
                    let tag = completion.tag.clone();
                    portal.state = PortalState::Done { tag: tag.clone() };
                    put(
                        client,
                        PgWireBackendMessage::CommandComplete(CommandComplete::new(tag)),
                    )
                    .await?;
                } else {
                    portal.state = PortalState::Suspended {
                        rows: rest,
                        completion,
                    };
                    put(
                        client,
                        PgWireBackendMessage::PortalSuspended(PortalSuspended::new()),
                    )
                    .await?;
                }
                Ok(())
            }
        }
    }

    /// Describe a statement or a portal.
    fn describe(
        &self,
        st: &ConnState,
        message: &Describe,
    ) -> Result<Vec<PgWireBackendMessage>, Fail> {
        let name = message.name.clone().unwrap_or_default();
        let mut out = Vec::new();
        match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => {
                let stmt = st.statements.get(&name).ok_or_else(|| {
                    Fail::Sql(error(
                        "26000",
                        format!("prepared statement \"{name}\" does not exist"),
                    ))
                })?;
                out.push(PgWireBackendMessage::ParameterDescription(
                    ParameterDescription::new(stmt.param_types.iter().map(types::oid).collect()),
                ));
                out.push(if stmt.columns.is_empty() {
                    PgWireBackendMessage::NoData(NoData::new())
                } else {
                    PgWireBackendMessage::RowDescription(row_description(&stmt.columns, None))
                });
            }
            TARGET_TYPE_BYTE_PORTAL => {
                let portal = st.portals.get(&name).ok_or_else(|| {
                    Fail::Sql(error("34000", format!("portal \"{name}\" does not exist")))
                })?;
                out.push(if portal.statement.columns.is_empty() {
                    PgWireBackendMessage::NoData(NoData::new())
                } else {
                    PgWireBackendMessage::RowDescription(row_description(
                        &portal.statement.columns,
                        Some(&portal.formats),
                    ))
                });
            }
            other => {
                return Err(Fail::Sql(error(
                    "08P01",
                    format!("invalid DESCRIBE message subtype {other}"),
                )))
            }
        }
        Ok(out)
    }

    /// Reports a failure of an extended-protocol message: ERROR, then discard until Sync.
    async fn extended_failure<C>(
        &self,
        st: &mut ConnState,
        client: &mut C,
        fail: Fail,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        st.note_failure(&fail);
        match fail {
            Fail::Sql(info) | Fail::Engine(info) => {
                client
                    .send(PgWireBackendMessage::ErrorResponse(info.into()))
                    .await?;
                client.set_transaction_status(st.status());
                client.set_state(PgWireConnectionState::AwaitingSync);
                Ok(())
            }
            Fail::Fatal(info) => Err(into_pgwire(info)),
            Fail::Io(e) => Err(e),
        }
    }
}

#[async_trait]
impl SimpleQueryHandler for PgConnection {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let st = &mut *guard;
        // A simple Query destroys the unnamed statement and portal, as in PostgreSQL.
        st.portals.remove("");
        if let Some(old) = st.statements.remove("") {
            match self.forget_statement(st, &old).await {
                Ok(()) | Err(Fail::Sql(_)) | Err(Fail::Engine(_)) => {}
                Err(Fail::Fatal(info)) => return Err(into_pgwire(info)),
                Err(Fail::Io(e)) => return Err(e),
            }
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let result = self.run_simple(st, client, &query.query).await;
        if let Err(fail) = &result {
            st.note_failure(fail);
        }
        if result.is_ok() && st.copy.is_some() {
            // CopyInResponse is out: the copy-in sub-protocol ends the query.
            client.set_state(PgWireConnectionState::CopyInProgress(false));
            client.flush().await?;
            return Ok(());
        }
        match result {
            Ok(()) => {}
            Err(Fail::Sql(info)) | Err(Fail::Engine(info)) => {
                client
                    .feed(PgWireBackendMessage::ErrorResponse(info.into()))
                    .await?;
            }
            Err(Fail::Fatal(info)) => return Err(into_pgwire(info)),
            Err(Fail::Io(e)) => return Err(e),
        }
        let status = st.status();
        client.set_transaction_status(status);
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<PgResponse>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // Never reached: `on_query` is overridden.
        Err(into_pgwire(error(
            "XX000",
            "internal error: unexpected query path",
        )))
    }
}

#[async_trait]
impl ExtendedQueryHandler for PgConnection {
    type Statement = String;
    type QueryParser = NoopQueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::new(NoopQueryParser)
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let st = &mut *guard;
        match self.parse(st, message).await {
            Ok(()) => {
                client.set_transaction_status(st.status());
                client
                    .feed(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
                    .await?;
                Ok(())
            }
            Err(fail) => self.extended_failure(st, client, fail).await,
        }
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let st = &mut *guard;
        match self.bind(st, message) {
            Ok(()) => {
                client
                    .feed(PgWireBackendMessage::BindComplete(BindComplete::new()))
                    .await?;
                Ok(())
            }
            Err(fail) => self.extended_failure(st, client, fail).await,
        }
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let st = &mut *guard;
        let result = self.execute(st, client, message).await;
        client.set_transaction_status(st.status());
        match result {
            Ok(()) => Ok(()),
            Err(fail) => self.extended_failure(st, client, fail).await,
        }
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        match self.describe(&guard, &message) {
            Ok(messages) => {
                for m in messages {
                    client.feed(m).await?;
                }
                Ok(())
            }
            Err(fail) => self.extended_failure(&mut guard, client, fail).await,
        }
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let st = &mut *guard;
        let name = message.name.unwrap_or_default();
        let result = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match st.statements.remove(&name) {
                Some(old) => self.forget_statement(st, &old).await,
                None => Ok(()),
            },
            TARGET_TYPE_BYTE_PORTAL => {
                st.portals.remove(&name);
                Ok(())
            }
            other => Err(Fail::Sql(error(
                "08P01",
                format!("invalid CLOSE message subtype {other}"),
            ))),
        };
        match result {
            Ok(()) => {
                client
                    .feed(PgWireBackendMessage::CloseComplete(CloseComplete::new()))
                    .await?;
                Ok(())
            }
            Err(fail) => self.extended_failure(st, client, fail).await,
        }
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        // Portals do not outlive their transaction.
        if matches!(guard.txn, None | Some(TxnState::Idle)) {
            guard.portals.clear();
        }
        let status = guard.status();
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    async fn do_query<C>(
        &self,
        _client: &mut C,
        _portal: &PgPortal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<PgResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // Never reached: `on_execute` is overridden.
        Err(into_pgwire(error(
            "XX000",
            "internal error: unexpected execute path",
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_rewritten_only_when_they_end_in_a_count() {
        assert_eq!(tag_with_rows("SELECT 10", 3), "SELECT 3");
        assert_eq!(tag_with_rows("INSERT 0 5", 0), "INSERT 0 5");
        assert_eq!(tag_with_rows("BEGIN", 0), "BEGIN");
    }

    #[test]
    fn empty_queries() {
        assert!(is_empty_query(" ; ;\n"));
        assert!(is_empty_query(""));
        assert!(!is_empty_query("select 1"));
    }

    #[test]
    fn rows_encode_text_and_binary() {
        let columns = vec![
            Column {
                name: "a".into(),
                data_type: DataType::Integer,
                table_id: 0,
                column_number: 0,
            },
            Column {
                name: "b".into(),
                data_type: DataType::Text,
                table_id: 0,
                column_number: 0,
            },
        ];
        let row = vec![Value::Int32(1), Value::Null];
        let Ok(text) = data_row(&row, &columns, &[]) else {
            panic!("text row")
        };
        assert_eq!(&text.data[..], &[0, 0, 0, 1, b'1', 0xff, 0xff, 0xff, 0xff]);
        let Ok(bin) = data_row(&row, &columns, &[1, 1]) else {
            panic!("binary row")
        };
        assert_eq!(
            &bin.data[..],
            &[0, 0, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]
        );
        assert!(data_row(&[Value::Int32(1)], &columns, &[]).is_err());
    }

    #[test]
    fn txn_state_maps_exactly() {
        assert_eq!(txn_status(Some(TxnState::Idle)), TransactionStatus::Idle);
        assert_eq!(
            txn_status(Some(TxnState::InBlock)),
            TransactionStatus::Transaction
        );
        assert_eq!(txn_status(Some(TxnState::Failed)), TransactionStatus::Error);
    }
}
