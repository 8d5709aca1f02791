//! One client connection: the connection phase and the command loop, mapped onto one
//! engine session (ADR 0005: this loop is ours, not `opensrv-mysql`'s).
//!
//! ```text
//!  accept ─▶ engine Startup("", default db) ─▶ greeting(id = engine session id)
//!         ─▶ auth (mysql_native_password, via AuthInfo) ─▶ engine Reset{user, db} ─▶ OK
//!         ─▶ loop { command ─▶ engine request(s) ─▶ OK | ERR | result set }
//! ```
//!
//! The engine session is opened *before* authentication, on the default database and
//! with no user, only so that its id can be announced in the greeting (clients keep that
//! id for `KILL`); no statement runs in it until `Reset` has switched it to the
//! authenticated user.
//!
//! State kept here rather than in the engine: the prepared-statement table (MySQL ids →
//! engine handles, parameter types bound by the client, long data), `autocommit`
//! (`SET autocommit=0` opens a transaction before the next statement), and the
//! multi-statement option.
//!
//! Errors in SQL are ERR packets and the session goes on; only a broken client socket or
//! engine connection ends it.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use opensrv_mysql::ErrorKind;
use rand::Rng;
use rosetta_bytecode::{DataType, Dialect, Program, Semantics, Statement, TransactionMode};
use rosetta_proto::{Column, Response, TxnState, MYSQL_SERVER_VERSION};
use rosetta_types::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;

use super::auth;
use super::command::{self, Command};
use super::errors::MyError;
use super::execute::parse_params;
use super::handshake::{self, caps, Login};
use super::packet::{PacketReader, PacketWriter};
use super::resultset::{self, status};
use super::server::{Phase, Shared};
use super::types::{self, ColumnDef};
use super::wire::put_lenenc_int;
use crate::engine_client::{self, EngineClient, EngineClientError, ResponseStream};

/// `mysql_native_password`, the one authentication method offered.
const NATIVE_PASSWORD: &str = "mysql_native_password";
/// Largest client packet accepted (MySQL's default `max_allowed_packet`).
pub const MAX_PACKET: usize = 64 << 20;
/// Time a client gets to finish the connection phase.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// The column the MySQL plugin gives `SHOW TABLES`; shown as `Tables_in_<database>`
/// (the plugin does not know the session's database).
const SHOW_TABLES_COLUMN: &str = "Tables_in_@database";
/// More results follow this one (multi-statement queries).
const MORE_RESULTS: u16 = 0x0008;

/// What a statement is, as far as transaction handling in the gateway cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `START TRANSACTION` / `BEGIN`.
    Begin,
    /// `COMMIT` / `ROLLBACK`.
    End,
    /// `SET autocommit = …` with the new value.
    Autocommit(bool),
    /// DDL: MySQL commits an open transaction first.
    Ddl,
    /// `KILL`, `SET` of other variables: never opens a transaction.
    Session,
    /// Queries and DML.
    Other,
}

/// A prepared statement of this connection.
struct Prepared {
    handle: u64,
    kind: Kind,
    param_types: Vec<DataType>,
    columns: Vec<Column>,
    /// Parameter types (type code, unsigned) the client bound last.
    bound: Vec<(u8, bool)>,
    /// COM_STMT_SEND_LONG_DATA contents by parameter.
    long_data: HashMap<u16, Vec<u8>>,
}

/// Whether the command loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Close,
}

/// How a statement's responses ended.
enum Ended {
    /// OK or result set written.
    Ok,
    /// An ERR packet was written; the session goes on.
    Failed,
    /// The engine connection is gone; an ERR packet was written; close.
    Broken,
}

/// One MySQL client connection.
pub(crate) struct Connection<R, W> {
    shared: Arc<Shared>,
    reader: PacketReader<R>,
    writer: PacketWriter<W>,
    peer: SocketAddr,
    caps: u32,
    scramble: [u8; 20],
    user: String,
    database: String,
    engine: Option<EngineClient>,
    session_id: u32,
    secret: u32,
    txn: TxnState,
    autocommit: bool,
    multi_statements: bool,
    prepared: HashMap<u32, Prepared>,
    next_statement: u32,
}

impl<R, W> Connection<R, W>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    /// A connection on a freshly accepted socket.
    pub(crate) fn new(shared: Arc<Shared>, reader: R, writer: W, peer: SocketAddr) -> Self {
        let database = shared.config.default_database.clone();
        Self {
            shared,
            reader: PacketReader::new(reader, MAX_PACKET),
            writer: PacketWriter::new(writer),
            peer,
            caps: 0,
            scramble: scramble(),
            user: String::new(),
            database,
            engine: None,
            session_id: 0,
            secret: 0,
            txn: TxnState::Idle,
            autocommit: true,
            multi_statements: false,
            prepared: HashMap::new(),
            next_statement: 1,
        }
    }

    /// Serves the connection to its end, watching the gateway's `phase` for shutdown.
    pub(crate) async fn run(mut self, mut phase: watch::Receiver<Phase>) -> io::Result<()> {
        let login = tokio::time::timeout(LOGIN_TIMEOUT, self.login()).await;
        let result = match login {
            Ok(Ok(true)) => self.command_loop(&mut phase).await,
            Ok(Ok(false)) | Err(_) => Ok(()),
            Ok(Err(e)) => Err(e),
        };
        let _ = self.writer.flush().await;
        if let Some(engine) = self.engine.take() {
            // Ends the engine session (rolls back an open transaction).
            let _ = tokio::time::timeout(Duration::from_secs(5), engine.terminate()).await;
        }
        result
    }

    // ---- connection phase -------------------------------------------------------

    /// Greets, authenticates and opens the session; false when the client was refused
    /// (the ERR packet is written) or went away.
    async fn login(&mut self) -> io::Result<bool> {
        let socket = self.shared.config.engine_socket.clone();
        let mut engine = match EngineClient::connect(&socket).await {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!("mysql login: {e}");
                self.send_err(&MyError::new(
                    ErrorKind::ER_CON_COUNT_ERROR,
                    "the Rosetta engine is not reachable",
                ))
                .await?;
                return Ok(false);
            }
        };
        // Open the session early so that its id can be announced (see the module doc).
        let preopened = match engine
            .startup(
                "",
                &self.shared.config.default_database,
                Dialect::Mysql,
                "mysql",
            )
            .await
        {
            Ok(info) => {
                self.session_id = info.session_id;
                self.secret = info.secret;
                true
            }
            Err(e) if !e.is_fatal() || matches!(e, EngineClientError::Engine(_)) => {
                tracing::debug!("early session start failed ({e}); opening after auth");
                self.session_id = rand::rng().random_range(1..0x7fff_ffff);
                false
            }
            Err(e) => {
                tracing::warn!("mysql login: {e}");
                self.send_err(&MyError::new(ErrorKind::ER_CON_COUNT_ERROR, e.to_string()))
                    .await?;
                return Ok(false);
            }
        };
        let greeting = handshake::greeting(
            MYSQL_SERVER_VERSION,
            self.session_id,
            &self.scramble,
            NATIVE_PASSWORD,
        );
        self.writer.set_seq(0);
        self.writer.write(&greeting).await?;
        self.writer.flush().await?;

        let Some((seq, payload)) = self.reader.next().await? else {
            return Ok(false);
        };
        self.writer.set_seq(seq.wrapping_add(1));
        let login = match handshake::parse_response(&payload) {
            Ok(l) => l,
            Err(e) => {
                self.send_err(&MyError::new(ErrorKind::ER_HANDSHAKE_ERROR, e.to_string()))
                    .await?;
                return Ok(false);
            }
        };
        self.caps = login.caps & caps::SERVER | (login.caps & caps::MULTI_STATEMENTS);
        self.multi_statements = login.caps & caps::MULTI_STATEMENTS != 0;
        let scramble = self.scramble;
        let Some(proof) = self.auth_response(&login, scramble).await? else {
            return Ok(false);
        };
        let Ok(user) = String::from_utf8(login.user.clone()) else {
            self.send_err(&access_denied("?", &self.peer)).await?;
            return Ok(false);
        };
        if !verify(&mut engine, &user, &scramble, &proof).await {
            self.send_err(&access_denied(&user, &self.peer)).await?;
            return Ok(false);
        }
        let database = match &login.database {
            Some(d) => String::from_utf8_lossy(d).into_owned(),
            None => self.shared.config.default_database.clone(),
        };
        let opened = if preopened {
            engine.reset(Some(&user), Some(&database)).await
        } else {
            engine
                .startup(&user, &database, Dialect::Mysql, "mysql")
                .await
        };
        match opened {
            Ok(info) => {
                self.session_id = info.session_id;
                self.secret = info.secret;
            }
            Err(e) => {
                self.send_err(&session_error(&e, &database)).await?;
                return Ok(false);
            }
        }
        self.engine = Some(engine);
        self.user = user;
        self.database = database;
        self.send_ok(0, 0).await?;
        self.writer.flush().await?;
        Ok(true)
    }

    /// The client's `mysql_native_password` proof for `scramble`, asking for it with an
    /// AuthSwitchRequest when the client answered for another plugin
    /// (`caching_sha2_password`, MySQL 8's default). `None`: the client went away.
    async fn auth_response(
        &mut self,
        login: &Login,
        scramble: [u8; 20],
    ) -> io::Result<Option<Vec<u8>>> {
        let native = login.plugin.is_empty() || login.plugin == NATIVE_PASSWORD.as_bytes();
        if native {
            return Ok(Some(login.auth.clone()));
        }
        self.writer
            .write(&handshake::auth_switch(NATIVE_PASSWORD, &scramble))
            .await?;
        self.writer.flush().await?;
        let Some((seq, answer)) = self.reader.next().await? else {
            return Ok(None);
        };
        self.writer.set_seq(seq.wrapping_add(1));
        Ok(Some(answer))
    }

    // ---- command phase ----------------------------------------------------------

    async fn command_loop(&mut self, phase: &mut watch::Receiver<Phase>) -> io::Result<()> {
        loop {
            if *phase.borrow() != Phase::Serving {
                return self.goodbye().await;
            }
            let next = tokio::select! {
                next = self.reader.next() => next,
                _ = until(phase, |p| *p != Phase::Serving) => {
                    return self.goodbye().await;
                }
            };
            let (seq, payload) = match next {
                Ok(Some(p)) => p,
                Ok(None) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    // Oversized packet: say why, then close (the rest of it is unread).
                    self.writer.set_seq(0);
                    let err = MyError::new(ErrorKind::ER_NET_PACKET_TOO_LARGE, e.to_string());
                    self.send_err(&err).await?;
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            self.writer.set_seq(seq.wrapping_add(1));
            let flow = {
                let session_id = self.session_id;
                let secret = self.secret;
                let socket = self.shared.config.engine_socket.clone();
                let work = self.dispatch(&payload);
                tokio::pin!(work);
                tokio::select! {
                    flow = &mut work => flow?,
                    _ = until(phase, |p| *p == Phase::Forced) => {
                        // Shutdown timeout: stop the statement, let its error reach the
                        // client, then close.
                        let _ = tokio::time::timeout(
                            Duration::from_secs(5),
                            engine_client::cancel(&socket, session_id, secret),
                        )
                        .await;
                        work.await?;
                        Flow::Close
                    }
                }
            };
            self.writer.flush().await?;
            if flow == Flow::Close {
                return Ok(());
            }
        }
    }

    /// Ends an idle session on shutdown: rolls back (by ending the engine session) and
    /// sends ER_SERVER_SHUTDOWN as the answer to whatever the client sends next.
    async fn goodbye(&mut self) -> io::Result<()> {
        if let Some(engine) = self.engine.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), engine.terminate()).await;
        }
        self.writer.set_seq(1);
        let _ = self.send_err(&MyError::shutdown()).await;
        let _ = self.writer.shutdown().await;
        Ok(())
    }

    /// Runs one command and writes its answer.
    async fn dispatch(&mut self, payload: &[u8]) -> io::Result<Flow> {
        let cmd = match command::parse(payload) {
            Ok(c) => c,
            Err(e) => {
                self.send_err(&MyError::new(ErrorKind::ER_MALFORMED_PACKET, e.to_string()))
                    .await?;
                return Ok(Flow::Continue);
            }
        };
        match cmd {
            Command::Quit => return Ok(Flow::Close),
            Command::Ping => self.send_ok(0, 0).await?,
            Command::Query(sql) => match super::binary_text::utf8_statement(sql) {
                Some(sql) => return self.query(&sql).await,
                None => {
                    self.send_err(&MyError::new(
                        ErrorKind::ER_INVALID_CHARACTER_STRING,
                        "the statement is not valid UTF-8",
                    ))
                    .await?
                }
            },
            Command::InitDb(db) => {
                let db = String::from_utf8_lossy(db).into_owned();
                return self.use_database(&db).await;
            }
            Command::FieldList(table) => {
                let table = String::from_utf8_lossy(table).into_owned();
                return self.field_list(&table).await;
            }
            Command::Statistics => {
                let text = format!(
                    "Uptime: 0  Threads: 1  Questions: 0  Rosetta session {}",
                    self.session_id
                );
                self.writer.write(text.as_bytes()).await?;
            }
            Command::ProcessKill(id) => return self.query(&format!("KILL CONNECTION {id}")).await,
            Command::ChangeUser(rest) => return self.change_user(rest).await,
            Command::ResetConnection => return self.reset_connection().await,
            Command::Prepare(sql) => match std::str::from_utf8(sql) {
                Ok(sql) => return self.prepare(sql).await,
                Err(_) => {
                    self.send_err(&MyError::new(
                        ErrorKind::ER_INVALID_CHARACTER_STRING,
                        "the statement is not valid UTF-8",
                    ))
                    .await?
                }
            },
            Command::Execute { stmt, rest } => return self.execute(stmt, rest).await,
            Command::SendLongData { stmt, param, data } => {
                // No answer, even on error (MySQL reports it at the next execute).
                if let Some(p) = self.prepared.get_mut(&stmt) {
                    let total: usize = p.long_data.values().map(Vec::len).sum();
                    if total + data.len() <= MAX_PACKET {
                        p.long_data
                            .entry(param)
                            .or_default()
                            .extend_from_slice(data);
                    }
                }
            }
            Command::Close(stmt) => {
                // No answer.
                if let Some(p) = self.prepared.remove(&stmt) {
                    if let Some(engine) = self.engine.as_mut() {
                        if let Err(e) = engine.close_prepared(p.handle).await {
                            tracing::debug!("closing prepared statement {stmt}: {e}");
                            if e.is_fatal() {
                                return Ok(Flow::Close);
                            }
                        }
                    }
                }
            }
            Command::StmtReset(stmt) => match self.prepared.get_mut(&stmt) {
                Some(p) => {
                    p.long_data.clear();
                    self.send_ok(0, 0).await?;
                }
                None => {
                    self.send_err(&unknown_statement(stmt, "mysqld_stmt_reset"))
                        .await?
                }
            },
            Command::SetOption(option) => match option {
                0 | 1 => {
                    self.multi_statements = option == 0;
                    let p = resultset::eof(self.status());
                    self.writer.write(&p).await?;
                }
                _ => {
                    self.send_err(&MyError::new(
                        ErrorKind::ER_UNKNOWN_COM_ERROR,
                        "Unknown COM_SET_OPTION option",
                    ))
                    .await?
                }
            },
            Command::Fetch(_) => {
                self.send_err(&MyError::new(
                    ErrorKind::ER_NOT_SUPPORTED_YET,
                    "cursors (COM_STMT_FETCH) are not supported",
                ))
                .await?
            }
            Command::Unsupported(byte) => {
                self.send_err(&MyError::new(
                    ErrorKind::ER_UNKNOWN_COM_ERROR,
                    format!("Unknown command 0x{byte:02x}"),
                ))
                .await?
            }
        }
        Ok(Flow::Continue)
    }

    // ---- session switches -------------------------------------------------------

    /// COM_INIT_DB / `USE db`: the engine session moves to `db` (the engine resets it:
    /// an open transaction rolls back and prepared statements are forgotten).
    async fn use_database(&mut self, db: &str) -> io::Result<Flow> {
        let db = db.trim().trim_matches('`').to_string();
        if db == self.database {
            self.send_ok(0, 0).await?;
            return Ok(Flow::Continue);
        }
        let Some(engine) = self.engine.as_mut() else {
            return Ok(Flow::Close);
        };
        match engine.reset(None, Some(&db)).await {
            Ok(_) => {
                self.database = db;
                self.after_reset();
                self.send_ok(0, 0).await?;
                Ok(Flow::Continue)
            }
            Err(e) => {
                // The engine rolled back even though the switch failed.
                self.txn = TxnState::Idle;
                self.prepared.clear();
                self.send_err(&session_error(&e, &db)).await?;
                Ok(if e.is_fatal() {
                    Flow::Close
                } else {
                    Flow::Continue
                })
            }
        }
    }

    /// Forgets what the engine forgot in a `Reset`.
    fn after_reset(&mut self) {
        self.txn = TxnState::Idle;
        self.prepared.clear();
    }

    /// COM_RESET_CONNECTION: a fresh session on the same connection (same id, user and
    /// database; transaction rolled back; prepared statements, settings and
    /// `autocommit=0` gone).
    async fn reset_connection(&mut self) -> io::Result<Flow> {
        let Some(engine) = self.engine.as_mut() else {
            return Ok(Flow::Close);
        };
        match engine.reset(None, None).await {
            Ok(_) => {
                self.after_reset();
                self.autocommit = true;
                self.send_ok(0, 0).await?;
                Ok(Flow::Continue)
            }
            Err(e) => {
                self.send_err(&engine_error(&e)).await?;
                Ok(if e.is_fatal() {
                    Flow::Close
                } else {
                    Flow::Continue
                })
            }
        }
    }

    /// COM_CHANGE_USER: authenticates again (the connection closes if that fails, as in
    /// MySQL), then resets the session as the new user on the named database.
    async fn change_user(&mut self, rest: &[u8]) -> io::Result<Flow> {
        let login = match handshake::parse_change_user(rest, self.caps) {
            Ok(l) => l,
            Err(e) => {
                self.send_err(&MyError::new(ErrorKind::ER_MALFORMED_PACKET, e.to_string()))
                    .await?;
                return Ok(Flow::Close);
            }
        };
        // A client answering for another plugin is switched with a fresh scramble.
        let native = login.plugin.is_empty() || login.plugin == NATIVE_PASSWORD.as_bytes();
        let scramble = if native { self.scramble } else { scramble() };
        let Some(proof) = self.auth_response(&login, scramble).await? else {
            return Ok(Flow::Close);
        };
        let user = String::from_utf8_lossy(&login.user).into_owned();
        let Some(mut engine) = self.engine.take() else {
            return Ok(Flow::Close);
        };
        if !verify(&mut engine, &user, &scramble, &proof).await {
            self.engine = Some(engine);
            self.send_err(&access_denied(&user, &self.peer)).await?;
            return Ok(Flow::Close);
        }
        let database = login
            .database
            .as_ref()
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .unwrap_or_else(|| self.shared.config.default_database.clone());
        let result = engine.reset(Some(&user), Some(&database)).await;
        self.engine = Some(engine);
        self.after_reset();
        self.autocommit = true;
        match result {
            Ok(_) => {
                self.user = user;
                self.database = database;
                self.send_ok(0, 0).await?;
                Ok(Flow::Continue)
            }
            Err(e) => {
                self.send_err(&session_error(&e, &database)).await?;
                Ok(Flow::Close)
            }
        }
    }

    // ---- text protocol ----------------------------------------------------------

    /// COM_QUERY: compiles and runs every statement of `sql`.
    async fn query(&mut self, sql: &str) -> io::Result<Flow> {
        if let Some(db) = use_statement(sql) {
            return self.use_database(&db).await;
        }
        let compiled = match self.shared.plugins.compile(sql).await {
            Ok(c) => c,
            Err(e) => {
                self.send_err(&MyError::from(&e)).await?;
                return Ok(Flow::Continue);
            }
        };
        let statements: Vec<_> = compiled.iter().filter(|s| !s.is_empty).collect();
        if statements.is_empty() {
            self.send_ok(0, 0).await?;
            return Ok(Flow::Continue);
        }
        if statements.len() > 1 && !self.multi_statements {
            self.send_err(&MyError::new(
                ErrorKind::ER_PARSE_ERROR,
                "several statements in one query need the multi-statements option \
                 (CLIENT_MULTI_STATEMENTS)",
            ))
            .await?;
            return Ok(Flow::Continue);
        }
        let last = statements.len() - 1;
        for (i, statement) in statements.iter().enumerate() {
            if statement.param_count > 0 {
                self.send_err(&MyError::new(
                    ErrorKind::ER_PARSE_ERROR,
                    "'?' parameters are only allowed in prepared statements",
                ))
                .await?;
                return Ok(Flow::Continue);
            }
            let kind = classify(&statement.bytes);
            match self
                .run_statement(Run::Program(statement.bytes.clone()), kind, None, i < last)
                .await?
            {
                Ended::Ok => {}
                Ended::Failed => return Ok(Flow::Continue),
                Ended::Broken => return Ok(Flow::Close),
            }
        }
        Ok(Flow::Continue)
    }

    /// COM_FIELD_LIST: the columns of `table`, as column definitions.
    async fn field_list(&mut self, table: &str) -> io::Result<Flow> {
        let sql = format!("SELECT * FROM `{}` LIMIT 0", table.replace('`', "``"));
        let prepared = match self.prepare_in_engine(&sql).await {
            Ok((p, _)) => p,
            Err(e) => {
                self.send_err(&e).await?;
                return Ok(Flow::Continue);
            }
        };
        if let Some(engine) = self.engine.as_mut() {
            let _ = engine.close_prepared(prepared.handle).await;
        }
        for c in &prepared.columns {
            let def = types::column(c);
            let p = types::encode_column(&def, &self.database, table, true);
            self.writer.write(&p).await?;
        }
        self.end_result(false, 0).await?;
        Ok(Flow::Continue)
    }

    // ---- running statements -----------------------------------------------------

    /// Runs one statement with MySQL's transaction rules layered on the engine's:
    /// implicit commit before DDL and before `START TRANSACTION` in a transaction, an
    /// implicit `BEGIN` when `autocommit=0`, `SET autocommit=1` committing.
    async fn run_statement(
        &mut self,
        what: Run,
        kind: Kind,
        columns: Option<Vec<Column>>,
        more: bool,
    ) -> io::Result<Ended> {
        let in_txn = self.txn != TxnState::Idle;
        let pre = match kind {
            Kind::Ddl | Kind::Begin if in_txn => Some(Statement::Commit),
            Kind::Autocommit(true) if in_txn => Some(Statement::Commit),
            Kind::Other if !self.autocommit && !in_txn => {
                Some(Statement::Begin(TransactionMode::default()))
            }
            _ => None,
        };
        if let Some(pre) = pre {
            if let Err(e) = self.control(pre).await {
                let broken = e.is_fatal();
                self.send_err(&engine_error(&e)).await?;
                return Ok(if broken { Ended::Broken } else { Ended::Failed });
            }
        }
        if let Kind::Autocommit(on) = kind {
            self.autocommit = on;
        }
        let binary = matches!(what, Run::Prepared { .. });
        let Some(engine) = self.engine.as_mut() else {
            return Ok(Ended::Broken);
        };
        let stream = match what {
            Run::Program(bytes) => engine.execute(bytes, Vec::new(), 0).await,
            Run::Prepared { handle, params } => engine.execute_prepared(handle, params, 0).await,
        };
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                self.send_err(&engine_error(&e)).await?;
                return Ok(Ended::Broken);
            }
        };
        let mut out = Output {
            writer: &mut self.writer,
            caps: self.caps,
            autocommit: self.autocommit,
            database: &self.database,
        };
        let (ended, txn) = out.results(stream, binary, columns, more).await?;
        if let Some(txn) = txn {
            self.txn = txn;
        }
        Ok(ended)
    }

    /// Runs a transaction-control statement the gateway adds on its own.
    async fn control(&mut self, statement: Statement) -> Result<(), EngineClientError> {
        let program = Program {
            version: rosetta_bytecode::VERSION,
            dialect: Dialect::Mysql,
            semantics: Semantics::for_dialect(Dialect::Mysql),
            statement,
            param_count: 0,
        };
        let Some(engine) = self.engine.as_mut() else {
            return Err(EngineClientError::Unexpected {
                request: "Execute",
                response: "no engine session".into(),
            });
        };
        let mut stream = engine
            .execute(rosetta_bytecode::encode(&program), Vec::new(), 0)
            .await?;
        let mut result = Ok(());
        while let Some(r) = stream.next().await {
            match r? {
                Response::Complete(c) => self.txn = c.txn,
                Response::Error(e) => {
                    self.txn = e.txn;
                    result = Err(e.into());
                }
                _ => {}
            }
        }
        result
    }

    // ---- binary protocol --------------------------------------------------------

    /// Compiles one statement and prepares it in the engine.
    async fn prepare_in_engine(
        &mut self,
        sql: &str,
    ) -> Result<(rosetta_proto::PreparedInfo, Kind), MyError> {
        let compiled = self
            .shared
            .plugins
            .compile(sql)
            .await
            .map_err(|e| MyError::from(&e))?;
        let [statement] = compiled.as_slice() else {
            return Err(MyError::new(
                ErrorKind::ER_UNSUPPORTED_PS,
                "a prepared statement must hold exactly one statement",
            ));
        };
        let kind = classify(&statement.bytes);
        let declared = vec![None; usize::from(statement.param_count)];
        let Some(engine) = self.engine.as_mut() else {
            return Err(MyError::new(
                ErrorKind::ER_UNKNOWN_ERROR,
                "no engine session",
            ));
        };
        let info = engine
            .prepare(statement.bytes.clone(), declared)
            .await
            .map_err(|e| engine_error(&e))?;
        Ok((info, kind))
    }
}

/// A statement to run: compiled text or a prepared handle with parameters.
enum Run {
    Program(Vec<u8>),
    Prepared { handle: u64, params: Vec<Value> },
}

impl<R, W> Connection<R, W>
where
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    /// COM_STMT_PREPARE: prepares in the engine, so parameter and column types are real.
    async fn prepare(&mut self, sql: &str) -> io::Result<Flow> {
        let (info, kind) = match self.prepare_in_engine(sql).await {
            Ok(p) => p,
            Err(e) => {
                self.send_err(&e).await?;
                return Ok(Flow::Continue);
            }
        };
        let id = self.next_statement;
        self.next_statement = self.next_statement.wrapping_add(1).max(1);
        let deprecate_eof = self.caps & caps::DEPRECATE_EOF != 0;
        let mut p = vec![0];
        p.extend_from_slice(&id.to_le_bytes());
        p.extend_from_slice(&(info.columns.len().min(usize::from(u16::MAX)) as u16).to_le_bytes());
        p.extend_from_slice(
            &(info.param_types.len().min(usize::from(u16::MAX)) as u16).to_le_bytes(),
        );
        p.push(0);
        p.extend_from_slice(&0u16.to_le_bytes());
        self.writer.write(&p).await?;
        if !info.param_types.is_empty() {
            for t in &info.param_types {
                let def = types::column_def("?", t);
                self.writer
                    .write(&types::encode_column(&def, "", "", false))
                    .await?;
            }
            if !deprecate_eof {
                self.writer.write(&resultset::eof(self.status())).await?;
            }
        }
        if !info.columns.is_empty() {
            for c in &info.columns {
                self.writer
                    .write(&types::encode_column(
                        &types::column(c),
                        &self.database,
                        "",
                        false,
                    ))
                    .await?;
            }
            if !deprecate_eof {
                self.writer.write(&resultset::eof(self.status())).await?;
            }
        }
        self.prepared.insert(
            id,
            Prepared {
                handle: info.handle,
                kind,
                param_types: info.param_types,
                columns: info.columns,
                bound: Vec::new(),
                long_data: HashMap::new(),
            },
        );
        Ok(Flow::Continue)
    }

    /// COM_STMT_EXECUTE: decodes the parameters (any malformation is an ERR packet),
    /// converts them to the inferred types and runs the engine statement.
    async fn execute(&mut self, stmt: u32, rest: &[u8]) -> io::Result<Flow> {
        let Some(p) = self.prepared.get_mut(&stmt) else {
            self.send_err(&unknown_statement(stmt, "mysqld_stmt_execute"))
                .await?;
            return Ok(Flow::Continue);
        };
        let long_data = std::mem::take(&mut p.long_data);
        let decoded =
            parse_params(rest, p.param_types.len(), &mut p.bound, &long_data).and_then(|raw| {
                raw.into_iter()
                    .enumerate()
                    .map(|(i, r)| types::param_value(r, p.param_types.get(i)))
                    .collect::<Result<Vec<Value>, _>>()
            });
        let (handle, kind, columns) = (p.handle, p.kind, p.columns.clone());
        let params = match decoded {
            Ok(v) => v,
            Err(e) => {
                self.send_err(&MyError::new(
                    ErrorKind::ER_WRONG_ARGUMENTS,
                    format!("Incorrect arguments to mysqld_stmt_execute: {e}"),
                ))
                .await?;
                return Ok(Flow::Continue);
            }
        };
        match self
            .run_statement(Run::Prepared { handle, params }, kind, Some(columns), false)
            .await?
        {
            Ended::Broken => Ok(Flow::Close),
            Ended::Ok | Ended::Failed => Ok(Flow::Continue),
        }
    }

    // ---- small writers ----------------------------------------------------------

    /// Server status flags for the current session state.
    fn status(&self) -> u16 {
        status_flags(self.txn, self.autocommit)
    }

    async fn send_ok(&mut self, affected_rows: u64, last_insert_id: u64) -> io::Result<()> {
        let p = resultset::ok(
            &resultset::Ok {
                affected_rows,
                last_insert_id,
                status: self.status(),
                warnings: 0,
            },
            false,
        );
        self.writer.write(&p).await
    }

    async fn send_err(&mut self, e: &MyError) -> io::Result<()> {
        self.writer
            .write(&resultset::err(e.code, &e.sqlstate, &e.message))
            .await
    }

    /// Ends a result set (EOF, or OK with header 0xfe under `CLIENT_DEPRECATE_EOF`).
    async fn end_result(&mut self, more: bool, _rows: u64) -> io::Result<()> {
        let mut status = self.status();
        if more {
            status |= MORE_RESULTS;
        }
        let p = if self.caps & caps::DEPRECATE_EOF != 0 {
            resultset::ok(
                &resultset::Ok {
                    status,
                    ..Default::default()
                },
                true,
            )
        } else {
            resultset::eof(status)
        };
        self.writer.write(&p).await
    }
}

/// Writes one statement's engine responses to the client.
struct Output<'a, W> {
    writer: &'a mut PacketWriter<W>,
    caps: u32,
    autocommit: bool,
    database: &'a str,
}

impl<W: AsyncWrite + Unpin + Send> Output<'_, W> {
    /// Streams a statement's responses as an OK packet or a result set (or an ERR
    /// packet). `columns`: the prepared statement's columns (binary rows are encoded
    /// against them). Returns how it ended and the session's new transaction state.
    async fn results(
        &mut self,
        mut stream: ResponseStream<'_>,
        binary: bool,
        prepared_columns: Option<Vec<Column>>,
        more: bool,
    ) -> io::Result<(Ended, Option<TxnState>)> {
        let more_flag = if more { MORE_RESULTS } else { 0 };
        let mut columns: Option<Vec<Column>> = None;
        let mut row_buf = Vec::with_capacity(256);
        loop {
            let response = match stream.next().await {
                Some(Ok(r)) => r,
                Some(Err(e)) => {
                    self.err(&engine_error(&e)).await?;
                    return Ok((Ended::Broken, None));
                }
                None => {
                    // The engine ended the request without a final answer.
                    self.err(&MyError::new(
                        ErrorKind::ER_UNKNOWN_ERROR,
                        "engine ended the request",
                    ))
                    .await?;
                    return Ok((Ended::Broken, None));
                }
            };
            match response {
                Response::Notice { .. } => {}
                Response::Columns(c) => {
                    let c = match &prepared_columns {
                        Some(p) if binary && p.len() == c.len() => p.clone(),
                        _ => c,
                    };
                    let mut head = Vec::new();
                    put_lenenc_int(&mut head, c.len() as u64);
                    self.writer.write(&head).await?;
                    for col in &c {
                        let mut def: ColumnDef = types::column(col);
                        if def.name == SHOW_TABLES_COLUMN {
                            def.name = format!("Tables_in_{}", self.database);
                        }
                        self.writer
                            .write(&types::encode_column(&def, self.database, "", false))
                            .await?;
                    }
                    if self.caps & caps::DEPRECATE_EOF == 0 {
                        self.writer
                            .write(&resultset::eof(
                                status_flags(TxnState::Idle, self.autocommit) | more_flag,
                            ))
                            .await?;
                    }
                    columns = Some(c);
                }
                Response::Rows(batch) => {
                    let Some(cols) = &columns else { continue };
                    for row in &batch {
                        row_buf.clear();
                        let encoded = if binary {
                            types::encode_binary_row(&mut row_buf, cols, row)
                        } else {
                            types::encode_text_row(&mut row_buf, cols, row)
                        };
                        if let Err(e) = encoded {
                            self.err(&MyError::new(ErrorKind::ER_UNKNOWN_ERROR, e.to_string()))
                                .await?;
                            // The rest of the answer is drained before the next request.
                            return Ok((Ended::Failed, None));
                        }
                        self.writer.write(&row_buf).await?;
                    }
                }
                Response::Complete(c) => {
                    let status = status_flags(c.txn, self.autocommit) | more_flag;
                    if columns.is_some() {
                        let p = if self.caps & caps::DEPRECATE_EOF != 0 {
                            resultset::ok(
                                &resultset::Ok {
                                    status,
                                    ..Default::default()
                                },
                                true,
                            )
                        } else {
                            resultset::eof(status)
                        };
                        self.writer.write(&p).await?;
                    } else {
                        let dml = ["INSERT", "UPDATE", "DELETE"]
                            .iter()
                            .any(|t| c.tag.starts_with(t));
                        let p = resultset::ok(
                            &resultset::Ok {
                                affected_rows: if dml { c.rows } else { 0 },
                                last_insert_id: c.last_insert_id,
                                status,
                                warnings: 0,
                            },
                            false,
                        );
                        self.writer.write(&p).await?;
                    }
                    return Ok((Ended::Ok, Some(c.txn)));
                }
                Response::Error(e) => {
                    let fatal = e.fatal;
                    self.err(&MyError::from(&e)).await?;
                    let ended = if fatal { Ended::Broken } else { Ended::Failed };
                    return Ok((ended, Some(e.txn)));
                }
                other => {
                    let message = format!("unexpected engine response {other:?}");
                    self.err(&MyError::new(ErrorKind::ER_UNKNOWN_ERROR, message))
                        .await?;
                    return Ok((Ended::Broken, None));
                }
            }
        }
    }

    async fn err(&mut self, e: &MyError) -> io::Result<()> {
        self.writer
            .write(&resultset::err(e.code, &e.sqlstate, &e.message))
            .await
    }
}

/// Server status flags for a transaction state.
fn status_flags(txn: TxnState, autocommit: bool) -> u16 {
    let mut s = 0;
    if autocommit {
        s |= status::AUTOCOMMIT;
    }
    if txn != TxnState::Idle {
        s |= status::IN_TRANS;
    }
    s
}

/// What a compiled statement is, for the gateway's transaction rules.
fn classify(bytes: &[u8]) -> Kind {
    let Ok(program) = rosetta_bytecode::decode(bytes, &rosetta_bytecode::Limits::default()) else {
        return Kind::Other;
    };
    match &program.statement {
        Statement::Begin(_) => Kind::Begin,
        Statement::Commit | Statement::Rollback => Kind::End,
        Statement::SetVariable { name, values, .. } if name == "autocommit" => {
            match values.as_slice() {
                [v] => match truth(v) {
                    Some(on) => Kind::Autocommit(on),
                    None => Kind::Session,
                },
                _ => Kind::Session,
            }
        }
        Statement::SetVariable { .. }
        | Statement::SetTransaction(_)
        | Statement::ShowVariable { .. }
        | Statement::Kill { .. }
        | Statement::Empty => Kind::Session,
        Statement::CreateTable(_)
        | Statement::DropTable { .. }
        | Statement::CreateIndex(_)
        | Statement::DropIndex { .. }
        | Statement::CreateDatabase { .. }
        | Statement::DropDatabase { .. }
        | Statement::CreateView(_)
        | Statement::DropView { .. }
        | Statement::CreateSequence(_)
        | Statement::DropSequence { .. }
        | Statement::AlterSequence { .. } => Kind::Ddl,
        _ => Kind::Other,
    }
}

/// The truth value of `SET autocommit = v` (`1`, `0`, `ON`, `OFF`, `TRUE`, `FALSE`).
fn truth(v: &rosetta_bytecode::Expr) -> Option<bool> {
    use rosetta_bytecode::{Expr, Literal};
    match v {
        Expr::Literal(Literal::Boolean(b)) => Some(*b),
        Expr::Literal(Literal::Integer(i)) => Some(*i != 0),
        Expr::Literal(Literal::String(s)) => match s.to_ascii_lowercase().as_str() {
            "on" | "1" | "true" => Some(true),
            "off" | "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The database of a `USE db` statement (sent alone, as the mysql client does).
fn use_statement(sql: &str) -> Option<String> {
    let sql = sql.trim().trim_end_matches(';').trim();
    let (word, rest) = sql.split_once(char::is_whitespace)?;
    if !word.eq_ignore_ascii_case("use") {
        return None;
    }
    let db = rest.trim();
    if db.is_empty() || (db.contains(char::is_whitespace) && !db.starts_with('`')) {
        return None;
    }
    Some(db.trim_matches('`').to_string())
}

/// Checks a `mysql_native_password` proof against the engine's verifier for `user`
/// (unknown users run the same check against an empty verifier, which never matches).
async fn verify(engine: &mut EngineClient, user: &str, scramble: &[u8], proof: &[u8]) -> bool {
    let stored = match engine.auth_info(user).await {
        Ok(Some(info)) => info.mysql_native,
        Ok(None) => Vec::new(),
        Err(e) => {
            tracing::warn!("cannot fetch credentials from the engine: {e}");
            return false;
        }
    };
    auth::verify_native(scramble, &stored, proof)
}

/// MySQL's 1045 for a failed login (the same for unknown users and wrong passwords).
fn access_denied(user: &str, peer: &SocketAddr) -> MyError {
    MyError::new(
        ErrorKind::ER_ACCESS_DENIED_ERROR,
        format!(
            "Access denied for user '{user}'@'{}' (using password: YES)",
            peer.ip()
        ),
    )
}

/// The client error for a failed session start or switch to `database`.
fn session_error(e: &EngineClientError, database: &str) -> MyError {
    match e {
        EngineClientError::Engine(e) if e.sqlstate == "3D000" => MyError::new(
            ErrorKind::ER_BAD_DB_ERROR,
            format!("Unknown database '{database}'"),
        ),
        other => engine_error(other),
    }
}

/// The client error for a failed engine request. A broken engine connection most often
/// means `KILL CONNECTION` ended this session.
fn engine_error(e: &EngineClientError) -> MyError {
    match e {
        EngineClientError::Engine(e) => MyError::from(e),
        EngineClientError::Frame(_) => MyError::connection_killed(),
        other => MyError::new(ErrorKind::ER_UNKNOWN_ERROR, other.to_string()),
    }
}

fn unknown_statement(stmt: u32, command: &str) -> MyError {
    MyError::new(
        ErrorKind::ER_UNKNOWN_STMT_HANDLER,
        format!("Unknown prepared statement handler ({stmt}) given to {command}"),
    )
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

/// Resolves once the gateway's phase satisfies `predicate` (never, if the sender is gone).
async fn until(phase: &mut watch::Receiver<Phase>, predicate: fn(&Phase) -> bool) {
    if phase.wait_for(predicate).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_statements_are_recognised() {
        assert_eq!(use_statement("USE other;"), Some("other".into()));
        assert_eq!(use_statement("use `my db`"), Some("my db".into()));
        assert_eq!(use_statement("user_table"), None);
        assert_eq!(use_statement("SELECT 1"), None);
    }

    fn encoded(statement: Statement) -> Vec<u8> {
        rosetta_bytecode::encode(&Program {
            version: rosetta_bytecode::VERSION,
            dialect: Dialect::Mysql,
            semantics: Semantics::for_dialect(Dialect::Mysql),
            statement,
            param_count: 0,
        })
    }

    #[test]
    fn statements_are_classified_for_transaction_rules() {
        use rosetta_bytecode::{Expr, Literal};
        assert_eq!(
            classify(&encoded(Statement::Begin(TransactionMode::default()))),
            Kind::Begin
        );
        assert_eq!(classify(&encoded(Statement::Commit)), Kind::End);
        let set = |v| Statement::SetVariable {
            name: "autocommit".into(),
            values: vec![Expr::Literal(v)],
            local: false,
        };
        assert_eq!(
            classify(&encoded(set(Literal::Integer(0)))),
            Kind::Autocommit(false)
        );
        assert_eq!(
            classify(&encoded(set(Literal::String("ON".into())))),
            Kind::Autocommit(true)
        );
        assert_eq!(classify(b"garbage"), Kind::Other);
    }

    #[test]
    fn status_follows_transaction_and_autocommit() {
        assert_eq!(status_flags(TxnState::Idle, true), status::AUTOCOMMIT);
        assert_eq!(status_flags(TxnState::InBlock, false), status::IN_TRANS);
    }
}
