//! The per-connection protocol state machine.
//!
//! ```text
//!  AwaitConnect ──op_connect──▶ (op_cond_accept: salt, B)      ──▶ AwaitProof
//!       │ no usable protocol: op_reject, close                      │
//!       │ client's first plugin not SRP: op_cond_accept(Srp256, no data) ──▶ AwaitA
//!  AwaitA ──op_cont_auth(A)──▶ (op_cont_auth: salt, B) ──▶ AwaitProof
//!  AwaitProof ──op_cont_auth(M)──▶ ok: op_response(keys Symmetric/Arc4) ──▶ Authenticated
//!                                  bad: op_response(isc_login), close
//!  Authenticated ──op_crypt(Arc4)──▶ Arc4 on, op_response (encrypted) ──▶ Authenticated
//!                ──op_attach/op_create──▶ engine session opened ──▶ Attached
//!                                         unknown database: I/O error, stay
//!  Attached ──requests (one answer each, in order)──▶ Attached
//!           ──op_detach──▶ everything rolled back ──▶ Detached ──op_disconnect/EOF──▶ close
//! ```
//!
//! In `Attached` the connection keeps one 16-bit handle space (0 = the attachment) for
//! transactions, statements and blobs; `0xFFFF` means "the object created last" (deferred
//! packets, guide §14). Every Firebird transaction runs in its own engine session, begun
//! (at its first statement) with the isolation and lock-wait options of its TPB; ended
//! sessions are pooled. Compiled BLR requests (isql's `SHOW`, guide §19) share the handle
//! space; their messages travel unpacked.
//! Statements are compiled by the Firebird plugin, prepared in the engine (which gives the
//! describe information) and executed on the session of the transaction named by each
//! `op_execute`. A SELECT's rows are read completely at execute time and handed out by
//! `op_fetch`. Blobs live in the gateway: result values of blob columns are stored under
//! fresh ids until their transaction ends, and blobs the client writes are kept until it
//! passes their id as a parameter.
//!
//! Requests that name a handle we do not know get Firebird's "invalid … handle" error; a
//! request we cannot parse closes the connection (there is no length to skip it by).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use rosetta_bytecode::{DataType, IsolationLevel, Limits, Program, Statement, TransactionMode};
use rosetta_proto::{Column, PreparedInfo};
use rosetta_types::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use super::auth::{self, ClientHello};
use super::backend::{Backend, Outcome, Session};
use super::blr::{item_of, write_message, write_unpacked, zero, Item, Wire};
use super::channel::{Channel, ChannelError};
use super::info::{self, DatabaseFacts, Described, Var};
use super::packets::DataRequest;
use super::packets::{self, op, ExecImmediate, Execute, InfoRequest, Request};
use super::srp::{self, Exchange};
use super::status::{self, gds, Status};
use super::types;
use super::xdr::Writer;
use crate::engine_client::EngineClientError;
use rosetta_plugin_abi::blr::{BlrItemSource, BlrRequest};

/// The handle meaning "the object created last".
const LAST_OBJECT: u16 = 0xFFFF;
/// Idle engine sessions kept per connection for the next transaction.
const POOL_SIZE: usize = 4;
/// How long connect and authentication may take.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Most blob bytes one connection may hold in the gateway.
const MAX_BLOB_BYTES: usize = 512 * 1024 * 1024;

/// Serves one client connection to its end.
pub async fn run<S, B>(stream: S, backend: Arc<B>, attachment_id: u32) -> Result<(), ChannelError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: Backend + ?Sized,
{
    let mut channel = Channel::new(stream);
    let result = drive(&mut channel, backend, attachment_id).await;
    channel.close().await;
    result
}

async fn next<S: AsyncRead + AsyncWrite + Unpin>(
    channel: &mut Channel<S>,
) -> Result<Option<Request>, ChannelError> {
    channel.next(packets::parse_request).await
}

/// A compiled BLR request (isql's `SHOW` commands, guide §19).
struct BlrState {
    request: BlrRequest,
    /// Message layouts by message number.
    formats: HashMap<u16, Vec<Item>>,
    /// Output messages produced by the last start, not yet received.
    queue: VecDeque<Vec<Wire>>,
}

/// What the handshake produced.
struct Authenticated {
    /// The engine's name of the user.
    user: String,
    /// The normalised login (what a DPB user name must match).
    login: String,
    /// The SRP session key (wire encryption).
    key: [u8; 20],
}

async fn drive<S, B>(
    channel: &mut Channel<S>,
    backend: Arc<B>,
    attachment_id: u32,
) -> Result<(), ChannelError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: Backend + ?Sized,
{
    // A client that connects and then stalls must not hold the task forever.
    let Ok(handshake) =
        tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(channel, &*backend)).await
    else {
        tracing::debug!("firebird handshake timed out");
        return Ok(());
    };
    let Some(auth) = handshake? else {
        return Ok(());
    };
    // Authenticated: op_crypt, then op_attach.
    let mut conn = loop {
        let Some(request) = next(channel).await? else {
            return Ok(());
        };
        match request {
            Request::Crypt { plugin, key_type } => {
                if plugin != b"Arc4" || key_type != b"Symmetric" {
                    tracing::debug!("client asked for an encryption we did not offer");
                    return Ok(());
                }
                channel.flush().await?;
                channel.enable_arc4(&auth.key);
                channel.send(&packets::ok(0, &[]));
            }
            Request::Attach { file_name, dpb, .. } => {
                match attach(&*backend, &auth, &file_name, &dpb, attachment_id).await {
                    Ok(conn) => {
                        channel.send(&packets::ok(0, &[]));
                        break conn;
                    }
                    Err(status) => channel.send(&packets::error(&status)),
                }
            }
            Request::Ping => channel.send(&packets::ok(0, &[])),
            Request::Cancel(_) | Request::Dummy => {}
            Request::Disconnect => return Ok(()),
            _ => {
                channel.send(&packets::error(&Status::code(gds::BAD_DB_HANDLE)));
            }
        }
    };
    let result = conn.serve(channel, &*backend).await;
    conn.shutdown().await;
    result
}

/// Runs connect and authentication; `None` when the client was refused (answer sent).
async fn handshake<S, B>(
    channel: &mut Channel<S>,
    backend: &B,
) -> Result<Option<Authenticated>, ChannelError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    B: Backend + ?Sized,
{
    let Some(Request::Connect(connect)) = next(channel).await? else {
        return Ok(None);
    };
    let Some((version, ptype)) = auth::choose_protocol(&connect.offers) else {
        let mut w = Writer::new();
        w.int(op::REJECT);
        channel.send(&w.into_bytes());
        return Ok(None);
    };
    let hello = auth::parse_user_id(&connect.user_id);
    let login = auth::normalize_login(&hello.login);
    let accept = |w: &mut Writer| {
        w.short(0x8000 | version).int(1).ushort(ptype);
    };
    let first = srp::Plugin::from_name(&hello.plugin).filter(|_| !hello.specific_data.is_empty());
    let offered = auth::plugin_names(&hello.plugin_list)
        .filter_map(srp::Plugin::from_name)
        .next();
    let (plugin, mut a_hex) = match (first, offered) {
        (Some(p), _) => (p, Some(hello.specific_data.clone())),
        (None, Some(p)) => (p, None),
        (None, None) => {
            channel.send(&packets::error(&Status::code(gds::LOGIN)));
            return Ok(None);
        }
    };
    let (user, exchange) = lookup(backend, &login).await;
    let mut w = Writer::new();
    w.int(op::COND_ACCEPT);
    accept(&mut w);
    match &a_hex {
        Some(_) => w.buffer(&exchange.server_data()),
        None => w.buffer(b""),
    };
    w.buffer(plugin.name().as_bytes()).ushort(0).buffer(b"");
    channel.send(&w.into_bytes());
    loop {
        let Some(request) = next(channel).await? else {
            return Ok(None);
        };
        let Request::ContAuth {
            data,
            plugin: named,
            ..
        } = request
        else {
            channel.send(&packets::error(&Status::code(gds::LOGIN)));
            return Ok(None);
        };
        if srp::Plugin::from_name(&String::from_utf8_lossy(&named)) != Some(plugin) {
            channel.send(&packets::error(&Status::code(gds::LOGIN)));
            return Ok(None);
        }
        match &a_hex {
            None => {
                // Plugin switch (guide §3.4 C): this is the client's A; answer salt and B.
                a_hex = Some(data);
                let mut w = Writer::new();
                w.int(op::CONT_AUTH)
                    .buffer(&exchange.server_data())
                    .buffer(plugin.name().as_bytes())
                    .buffer(b"")
                    .buffer(b"");
                channel.send(&w.into_bytes());
            }
            Some(a) => {
                let verified = exchange.verify(plugin, &login, a, &data);
                return match (verified, user) {
                    (Some(key), Some(user)) => {
                        let keys = [&[0u8, 9][..], b"Symmetric", &[1, 4], b"Arc4"].concat();
                        channel.send(&packets::ok(0, &keys));
                        tracing::debug!(user, plugin = plugin.name(), "firebird login");
                        Ok(Some(Authenticated { user, login, key }))
                    }
                    _ => {
                        tracing::info!(login, "firebird login failed");
                        channel.send(&packets::error(&Status::code(gds::LOGIN)));
                        Ok(None)
                    }
                };
            }
        }
    }
}

/// The engine user and the SRP exchange for a normalised login; a decoy exchange (and
/// no user) when the login is unknown or has no Firebird verifier.
async fn lookup<B: Backend + ?Sized>(backend: &B, login: &str) -> (Option<String>, Exchange) {
    let mut candidates = vec![login.to_string()];
    if login.to_lowercase() != login {
        candidates.push(login.to_lowercase());
    }
    for name in candidates {
        match backend.auth_info(&name).await {
            Ok(Some(info)) => {
                if let Some(v) = info.firebird_srp {
                    return (Some(info.user), Exchange::new(&v.salt, &v.verifier));
                }
                break;
            }
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!("cannot look up a Firebird login: {e}");
                break;
            }
        }
    }
    (None, Exchange::fake())
}

async fn attach<B: Backend + ?Sized>(
    backend: &B,
    auth: &Authenticated,
    file_name: &[u8],
    dpb: &[u8],
    attachment_id: u32,
) -> Result<Conn, Status> {
    let dpb = auth::parse_dpb(dpb);
    if let Some(name) = &dpb.user_name {
        if auth::normalize_login(name) != auth.login {
            return Err(Status::code(gds::LOGIN));
        }
    }
    let name = String::from_utf8_lossy(file_name).trim().to_string();
    let database = database_name(&name);
    let session = match backend.open(&auth.user, &database).await {
        Ok(s) => s,
        Err(EngineClientError::Engine(e)) if e.sqlstate == "3D000" => {
            return Err(status::database_not_found(&name))
        }
        Err(EngineClientError::Engine(e)) => {
            return Err(status::from_sqlstate(&e.sqlstate, &e.message, None, ""))
        }
        Err(e) => return Err(Status::text(gds::IO_ERROR, e.to_string())),
    };
    let charset = match dpb
        .lc_ctype
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("UTF8") | Some("UNICODE_FSS") => 4,
        Some("OCTETS") => 1,
        Some("ASCII") => 2,
        _ => 0,
    };
    Ok(Conn {
        user: auth.user.clone(),
        database,
        facts: DatabaseFacts {
            charset,
            attachment_id: attachment_id as i32,
            name,
        },
        next_handle: 1,
        last_handle: 0,
        txns: HashMap::new(),
        stmts: HashMap::new(),
        blobs: HashMap::new(),
        store: HashMap::new(),
        store_bytes: 0,
        next_blob: 1,
        cancel_keys: session.cancel_key().into_iter().collect(),
        pool: vec![(1, session)],
        requests: HashMap::new(),
        next_serial: 2,
        detached: false,
    })
}

/// The engine database an attach string names: the alias itself (`rosetta`), or the last
/// path component without a `.fdb` extension (`/srv/db/rosetta.fdb`).
fn database_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let last = last
        .strip_suffix(".fdb")
        .or_else(|| last.strip_suffix(".FDB"))
        .unwrap_or(last);
    last.to_string()
}

/// One Firebird transaction: its engine session and its options.
///
/// The engine transaction is begun lazily, before the first statement that runs in it:
/// isql starts its DML transaction at connect time and keeps it while its metadata
/// transaction creates and commits tables, which Firebird's shared metadata lets the
/// earlier transaction use; an engine snapshot taken at connect time would not see them.
struct Txn {
    session: Box<dyn Session>,
    serial: u64,
    mode: TransactionMode,
    begun: bool,
}

impl Txn {
    /// The session, with the engine transaction begun.
    async fn begun(&mut self) -> Result<&mut Box<dyn Session>, EngineClientError> {
        if !self.begun {
            self.session
                .run(begin_program(&self.mode), Vec::new())
                .await?;
            self.begun = true;
        }
        Ok(&mut self.session)
    }
}

/// What one client statement compiled to.
struct Unit {
    /// The program whose result the client sees.
    program: Vec<u8>,
    statement: Statement,
    /// Programs run before it, in order (e.g. the drop of `RECREATE TABLE`).
    before: Vec<Vec<u8>>,
    /// `COMMIT RETAIN` / `ROLLBACK RETAIN`.
    retain: bool,
}

/// DDL and other statements that the engine runs unprepared (no result to describe; a
/// `RECREATE`'s create could not be prepared before its drop ran).
fn runs_unprepared(statement: &Statement) -> bool {
    matches!(
        statement,
        Statement::CreateTable(_)
            | Statement::DropTable { .. }
            | Statement::CreateIndex(_)
            | Statement::DropIndex { .. }
            | Statement::CreateView(_)
            | Statement::DropView { .. }
            | Statement::CreateSequence(_)
            | Statement::DropSequence { .. }
            | Statement::AlterSequence { .. }
            | Statement::CreateDatabase { .. }
            | Statement::DropDatabase { .. }
            | Statement::AddPrimaryKey { .. }
            | Statement::Truncate { .. }
    ) || is_generator_set(statement)
}

/// `SELECT setval('G', n)` without a `FROM`: how the Firebird plugin compiles `SET
/// GENERATOR` / `ALTER SEQUENCE … RESTART WITH` (an immediate, non-transactional set).
/// It is DDL to the client: no result set, statement type DDL.
fn is_generator_set(statement: &Statement) -> bool {
    use rosetta_bytecode::{Expr, SelectItem, SetExpr};
    let Statement::Query(q) = statement else {
        return false;
    };
    let SetExpr::Select(select) = &q.body else {
        return false;
    };
    matches!(
        select.projection.as_slice(),
        [SelectItem::Expr { expr: Expr::Function(f), alias: None }]
            if f.namespace == "std" && f.name == "setval"
    ) && select.from.is_empty()
        && select.filter.is_none()
        && q.limit.is_none()
}

/// A prepared statement.
struct Prepared {
    /// Programs run before `program` (see [`Unit::before`]).
    before: Vec<Vec<u8>>,
    /// `COMMIT RETAIN` / `ROLLBACK RETAIN`.
    retain: bool,
    program: Vec<u8>,
    statement: Statement,
    described: Described,
    params: Vec<DataType>,
    /// Engine handles of this program, per engine session serial.
    handles: Vec<(u64, u64)>,
}

/// A statement handle.
#[derive(Default)]
struct Stmt {
    prepared: Option<Prepared>,
    cursor: Option<Cursor>,
    fetch_items: Option<Vec<Item>>,
}

struct Cursor {
    rows: VecDeque<Vec<Value>>,
    txn: u16,
}

enum Blob {
    Read {
        id: [u8; 8],
        pos: usize,
    },
    Write {
        id: [u8; 8],
        data: Vec<u8>,
        txn: u16,
    },
}

struct Stored {
    data: Vec<u8>,
    txn: u16,
}

/// The state of an attached connection.
struct Conn {
    user: String,
    database: String,
    facts: DatabaseFacts,
    next_handle: u16,
    last_handle: u16,
    txns: HashMap<u16, Txn>,
    stmts: HashMap<u16, Stmt>,
    blobs: HashMap<u16, Blob>,
    store: HashMap<[u8; 8], Stored>,
    store_bytes: usize,
    next_blob: u64,
    /// Idle engine sessions (serial, session).
    pool: Vec<(u64, Box<dyn Session>)>,
    next_serial: u64,
    detached: bool,
    requests: HashMap<u16, BlrState>,
    /// Cancel keys of every engine session this connection opened (`op_cancel`).
    cancel_keys: Vec<(u32, u32)>,
}

/// The answer to one request: bytes to send (possibly several packets), or a fatal
/// engine failure that ends the connection.
type Answer = Result<Vec<u8>, Fatal>;

/// The engine connection broke; the client connection is closed.
#[derive(Debug)]
struct Fatal(String);

fn err(status: Status) -> Answer {
    Ok(packets::error(&status))
}

fn engine_status(e: &EngineClientError, sql: &str) -> Result<Status, Fatal> {
    match e {
        EngineClientError::Engine(e) if !e.fatal => {
            let mut status = status::from_sqlstate(&e.sqlstate, &e.message, e.position, sql);
            if let Some(key) = e.detail.as_deref().and_then(status::problematic_key) {
                status.0.extend(key);
            }
            Ok(status)
        }
        other => Err(Fatal(other.to_string())),
    }
}

/// An `op_sql_response` without a message (what precedes an error answer to
/// `op_execute2`/`op_exec_immediate2`); nothing for the other operations.
fn sql_response_none(wanted: bool) -> Vec<u8> {
    if !wanted {
        return Vec::new();
    }
    let mut w = Writer::new();
    w.int(op::SQL_RESPONSE).int(0);
    w.into_bytes()
}

/// Runs `before` without parameters and then `program` with `values`; the first error
/// stops.
async fn run_with(
    session: &mut Box<dyn Session>,
    before: Vec<Vec<u8>>,
    program: Vec<u8>,
    values: Vec<Value>,
) -> Result<Outcome, EngineClientError> {
    for p in before {
        session.run(p, Vec::new()).await?;
    }
    session.run(program, values).await
}

fn begin_program(mode: &TransactionMode) -> Vec<u8> {
    rosetta_bytecode::encode(&Program::new(
        rosetta_bytecode::Dialect::Firebird,
        Statement::Begin(mode.clone()),
    ))
}

fn end_program(commit: bool) -> Vec<u8> {
    rosetta_bytecode::encode(&Program::new(
        rosetta_bytecode::Dialect::Firebird,
        if commit {
            Statement::Commit
        } else {
            Statement::Rollback
        },
    ))
}

/// Maps a TPB (guide §10) onto the engine's transaction options.
pub fn parse_tpb(tpb: &[u8]) -> TransactionMode {
    let mut mode = TransactionMode {
        isolation: Some(IsolationLevel::RepeatableRead),
        read_only: Some(false),
        wait: Some(true),
        lock_timeout_ms: None,
    };
    let mut i = 1; // version byte
    while i < tpb.len() {
        let tag = tpb[i];
        i += 1;
        match tag {
            1 => mode.isolation = Some(IsolationLevel::Serializable),
            2 => mode.isolation = Some(IsolationLevel::RepeatableRead),
            15 => mode.isolation = Some(IsolationLevel::ReadCommitted),
            6 => mode.wait = Some(true),
            7 => mode.wait = Some(false),
            8 => mode.read_only = Some(true),
            9 => mode.read_only = Some(false),
            10 | 11 | 21 | 23 => {
                let len = tpb.get(i).copied().unwrap_or(0) as usize;
                let value = tpb.get(i + 1..i + 1 + len).unwrap_or(&[]);
                if tag == 21 {
                    let mut le = [0u8; 4];
                    for (d, s) in le.iter_mut().zip(value) {
                        *d = *s;
                    }
                    let secs = u32::from_le_bytes(le);
                    mode.lock_timeout_ms = Some(secs.saturating_mul(1000));
                }
                i += 1 + len;
            }
            _ => {}
        }
    }
    mode
}

/// The `isc_info_sql_stmt_type` of a statement.
fn stmt_type(statement: &Statement, has_columns: bool) -> i32 {
    match statement {
        Statement::Query(_) if is_generator_set(statement) => 5,
        Statement::Query(_) => 1,
        Statement::Insert(i) if !i.returning.is_empty() => 8,
        Statement::Update(u) if !u.returning.is_empty() => 8,
        Statement::Delete(d) if !d.returning.is_empty() => 8,
        Statement::Insert(_) => 2,
        Statement::Update(_) => 3,
        Statement::Delete(_) => 4,
        Statement::Begin(_) | Statement::SetTransaction(_) => 9,
        Statement::Commit => 10,
        Statement::Rollback => 11,
        _ if has_columns => 1,
        _ => 5,
    }
}

fn vars(columns: &[Column]) -> Vec<Var> {
    columns
        .iter()
        .map(|c| Var {
            ty: types::describe(&c.data_type),
            nullable: true,
            field: if c.table_id != 0 {
                c.name.clone()
            } else {
                String::new()
            },
            relation: String::new(),
            alias: c.name.clone(),
        })
        .collect()
}

fn params(types_: &[DataType]) -> Vec<Var> {
    types_
        .iter()
        .map(|t| Var {
            ty: types::describe(t),
            nullable: true,
            field: String::new(),
            relation: String::new(),
            alias: String::new(),
        })
        .collect()
}

impl Conn {
    fn resolve(&self, handle: u16) -> u16 {
        if handle == LAST_OBJECT {
            self.last_handle
        } else {
            handle
        }
    }

    fn new_handle(&mut self) -> Option<u16> {
        for _ in 0..u16::MAX {
            let h = self.next_handle;
            self.next_handle = match self.next_handle.wrapping_add(1) {
                0 | LAST_OBJECT => 1,
                n => n,
            };
            if !self.txns.contains_key(&h)
                && !self.stmts.contains_key(&h)
                && !self.blobs.contains_key(&h)
                && !self.requests.contains_key(&h)
            {
                self.last_handle = h;
                return Some(h);
            }
        }
        None
    }

    fn new_blob_id(&mut self) -> [u8; 8] {
        let id = self.next_blob | (1 << 63);
        self.next_blob += 1;
        id.to_be_bytes()
    }

    fn store_blob(&mut self, data: Vec<u8>, txn: u16) -> Result<[u8; 8], Status> {
        if self.store_bytes + data.len() > MAX_BLOB_BYTES {
            return Err(Status::text(
                gds::BLOB_TOO_BIG,
                "too much blob data held by this connection",
            ));
        }
        let id = self.new_blob_id();
        self.store_bytes += data.len();
        self.store.insert(id, Stored { data, txn });
        Ok(id)
    }

    fn drop_blobs_of(&mut self, txn: u16) {
        let mut freed = 0;
        self.store.retain(|_, b| {
            let keep = b.txn != txn;
            if !keep {
                freed += b.data.len();
            }
            keep
        });
        self.store_bytes -= freed.min(self.store_bytes);
        self.blobs
            .retain(|_, b| !matches!(b, Blob::Write { txn: t, .. } if *t == txn));
    }

    async fn session<B: Backend + ?Sized>(
        &mut self,
        backend: &B,
    ) -> Result<(u64, Box<dyn Session>), EngineClientError> {
        if let Some(s) = self.pool.pop() {
            return Ok(s);
        }
        let s = backend.open(&self.user, &self.database).await?;
        self.cancel_keys.extend(s.cancel_key());
        let serial = self.next_serial;
        self.next_serial += 1;
        Ok((serial, s))
    }

    async fn release(&mut self, serial: u64, session: Box<dyn Session>) {
        if self.pool.len() < POOL_SIZE {
            self.pool.push((serial, session));
        } else {
            self.forget_serial(serial);
            session.terminate().await;
        }
    }

    fn forget_serial(&mut self, serial: u64) {
        for stmt in self.stmts.values_mut() {
            if let Some(p) = &mut stmt.prepared {
                p.handles.retain(|(s, _)| *s != serial);
            }
        }
    }

    async fn shutdown(&mut self) {
        for (_, txn) in self.txns.drain() {
            txn.session.terminate().await;
        }
        for (_, s) in self.pool.drain(..) {
            s.terminate().await;
        }
    }

    async fn serve<S, B>(
        &mut self,
        channel: &mut Channel<S>,
        backend: &B,
    ) -> Result<(), ChannelError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        B: Backend + ?Sized,
    {
        loop {
            let last = self.last_handle;
            let requests = &self.requests;
            let formats = |request: u16, message: u16| {
                let h = if request == LAST_OBJECT {
                    last
                } else {
                    request
                };
                requests.get(&h)?.formats.get(&message).cloned()
            };
            let Some(request) = channel
                .next(|r| packets::parse_request_with(r, &formats))
                .await?
            else {
                return Ok(());
            };
            tracing::trace!(?request, "firebird request");
            let answer = match request {
                Request::Disconnect => return Ok(()),
                Request::Cancel(_) | Request::Dummy => continue,
                request if self.detached => match request {
                    Request::Ping => Ok(packets::ok(0, &[])),
                    _ => err(Status::code(gds::BAD_DB_HANDLE)),
                },
                request @ (Request::Execute(_) | Request::ExecImmediate(_) | Request::Data(_)) => {
                    self.handle_cancellable(request, channel, backend).await
                }
                request => self.handle(request, backend).await,
            };
            match answer {
                Ok(bytes) => channel.send(&bytes),
                Err(Fatal(why)) => {
                    tracing::warn!("engine session failed, closing the Firebird connection: {why}");
                    return Ok(());
                }
            }
        }
    }

    /// Handles a request that may run long while watching the socket: an `op_cancel`
    /// of kind 3 (isql's Ctrl-C) or 4, or the client going away, interrupts the engine
    /// sessions of this connection (the statement then fails with `isc_cancelled`).
    /// Kinds 1 and 2 (isql brackets statements with them) need nothing.
    async fn handle_cancellable<S, B>(
        &mut self,
        request: Request,
        channel: &mut Channel<S>,
        backend: &B,
    ) -> Answer
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
        B: Backend + ?Sized,
    {
        let keys = self.cancel_keys.clone();
        let work = self.handle(request, backend);
        tokio::pin!(work);
        let mut open = true;
        let mut cancels = Vec::new();
        loop {
            tokio::select! {
                answer = &mut work => return answer,
                more = channel.read_more(&mut cancels), if open => {
                    // End of stream or a broken socket: the next read reports it, and
                    // the statement of a client that is gone is cancelled too.
                    open = matches!(more, Ok(true));
                    if !open || cancels.drain(..).any(|kind| kind == 3 || kind == 4) {
                        tracing::debug!("firebird op_cancel");
                        for key in &keys {
                            backend.cancel(*key).await;
                        }
                    }
                }
            }
        }
    }

    async fn handle<B: Backend + ?Sized>(&mut self, request: Request, backend: &B) -> Answer {
        match request {
            Request::Ping => Ok(packets::ok(0, &[])),
            Request::Release(h) => {
                let h = self.resolve(h);
                match self.requests.remove(&h) {
                    Some(_) => Ok(packets::ok(0, &[])),
                    None => err(Status::text(gds::RANDOM, "invalid request handle")),
                }
            }
            Request::Compile { blr } => self.compile_blr(&blr, backend),
            Request::Data(data) => self.data(data).await,
            Request::Detach => {
                let open: Vec<u16> = self.txns.keys().copied().collect();
                for h in open {
                    if let Some(txn) = self.txns.remove(&h) {
                        txn.session.terminate().await;
                    }
                }
                self.detached = true;
                Ok(packets::ok(0, &[]))
            }
            Request::InfoDatabase(req) => Ok(packets::ok(
                req.object,
                &info::database_info(&req.items, req.buffer_length, &self.facts),
            )),
            Request::InfoTransaction(req) => {
                let h = self.resolve(req.object);
                if !self.txns.contains_key(&h) {
                    return err(Status::code(gds::BAD_TRANS_HANDLE));
                }
                Ok(packets::ok(
                    h,
                    &info::transaction_info(&req.items, req.buffer_length, h as i32),
                ))
            }
            Request::Transaction { tpb } => self.start(parse_tpb(&tpb), backend).await,
            Request::Commit(h) => self.end(h, true, false).await,
            Request::Rollback(h) => self.end(h, false, false).await,
            Request::CommitRetaining(h) => self.end(h, true, true).await,
            Request::RollbackRetaining(h) => self.end(h, false, true).await,
            Request::AllocateStatement => match self.new_handle() {
                Some(h) => {
                    self.stmts.insert(h, Stmt::default());
                    Ok(packets::ok(h, &[]))
                }
                None => err(Status::text(gds::DSQL_STMT_HANDLE, "too many open handles")),
            },
            Request::Prepare {
                transaction,
                statement,
                sql,
                items,
                buffer_length,
            } => {
                self.prepare(transaction, statement, &sql, &items, buffer_length, backend)
                    .await
            }
            Request::InfoSql(req) => self.info_sql(&req),
            Request::Execute(exec) => self.execute(exec, backend).await,
            Request::ExecImmediate(exec) => self.exec_immediate(exec, backend).await,
            Request::Fetch {
                statement,
                out_items,
                count,
            } => Ok(self.fetch(statement, out_items, count)),
            Request::FreeStatement { statement, option } => self.free(statement, option).await,
            Request::CreateBlob { transaction } => {
                let txn = self.resolve(transaction);
                if !self.txns.contains_key(&txn) {
                    return err(Status::code(gds::BAD_TRANS_HANDLE));
                }
                let Some(h) = self.new_handle() else {
                    return err(Status::code(gds::BAD_SEGSTR_HANDLE));
                };
                let id = self.new_blob_id();
                self.blobs.insert(
                    h,
                    Blob::Write {
                        id,
                        data: Vec::new(),
                        txn,
                    },
                );
                let mut w = Writer::new();
                packets::response(&mut w, h, id, &[], None);
                Ok(w.into_bytes())
            }
            Request::PutSegment {
                blob,
                data,
                batched,
            } => {
                let h = self.resolve(blob);
                let held = self.store_bytes;
                let Some(Blob::Write { data: buf, .. }) = self.blobs.get_mut(&h) else {
                    return err(Status::code(gds::BAD_SEGSTR_HANDLE));
                };
                if held + buf.len() + data.len() > MAX_BLOB_BYTES {
                    return err(Status::text(gds::BLOB_TOO_BIG, "blob too large"));
                }
                if batched {
                    let mut rest = &data[..];
                    while rest.len() >= 2 {
                        let len = u16::from_le_bytes([rest[0], rest[1]]) as usize;
                        let Some(seg) = rest.get(2..2 + len) else {
                            return err(Status::code(gds::BAD_SEGSTR_HANDLE));
                        };
                        buf.extend_from_slice(seg);
                        rest = &rest[2 + len..];
                    }
                } else {
                    buf.extend_from_slice(&data);
                }
                Ok(packets::ok(0, &[]))
            }
            Request::CloseBlob(h) | Request::CancelBlob(h) => {
                let h = self.resolve(h);
                match self.blobs.remove(&h) {
                    Some(Blob::Write { id, data, txn }) => {
                        self.store_bytes += data.len();
                        self.store.insert(id, Stored { data, txn });
                        Ok(packets::ok(0, &[]))
                    }
                    Some(Blob::Read { .. }) => Ok(packets::ok(0, &[])),
                    None => err(Status::code(gds::BAD_SEGSTR_HANDLE)),
                }
            }
            Request::OpenBlob { transaction: _, id } => {
                if !self.store.contains_key(&id) {
                    return err(Status::code(gds::BAD_SEGSTR_ID));
                }
                let Some(h) = self.new_handle() else {
                    return err(Status::code(gds::BAD_SEGSTR_HANDLE));
                };
                self.blobs.insert(h, Blob::Read { id, pos: 0 });
                Ok(packets::ok(h, &[]))
            }
            Request::GetSegment { blob, length } => {
                let h = self.resolve(blob);
                let Some(Blob::Read { id, pos }) = self.blobs.get_mut(&h) else {
                    return err(Status::code(gds::BAD_SEGSTR_HANDLE));
                };
                let data = self.store.get(id).map(|s| &s.data[..]).unwrap_or(&[]);
                let rest = data.get(*pos..).unwrap_or(&[]);
                let mut out = Vec::new();
                let mut taken = 0;
                while taken < rest.len() && out.len() + 2 < length {
                    let n = (rest.len() - taken)
                        .min(length - out.len() - 2)
                        .min(u16::MAX as usize);
                    out.extend_from_slice(&(n as u16).to_le_bytes());
                    out.extend_from_slice(&rest[taken..taken + n]);
                    taken += n;
                }
                *pos += taken;
                let object = if *pos >= data.len() { 2 } else { 0 };
                Ok(packets::ok(object, &out))
            }
            Request::InfoBlob(req) => {
                let h = self.resolve(req.object);
                let len = match self.blobs.get(&h) {
                    Some(Blob::Read { id, .. }) => {
                        self.store.get(id).map(|s| s.data.len()).unwrap_or(0)
                    }
                    Some(Blob::Write { data, .. }) => data.len(),
                    None => return err(Status::code(gds::BAD_SEGSTR_HANDLE)),
                };
                Ok(packets::ok(
                    h,
                    &info::blob_info(&req.items, req.buffer_length, len),
                ))
            }
            Request::Attach { .. } => err(Status::text(gds::WISH_LIST, "already attached")),
            Request::DropDatabase => err(Status::unsupported(
                "DROP DATABASE through the Firebird protocol",
            )),
            Request::Unsupported(what) => err(Status::unsupported(what)),
            Request::UnknownOp(code) => {
                tracing::debug!(code, "unsupported firebird operation");
                err(Status::unsupported(format!("operation {code}")))
            }
            Request::Connect(_) | Request::ContAuth { .. } | Request::Crypt { .. } => {
                err(Status::text(gds::WISH_LIST, "unexpected handshake packet"))
            }
            Request::Disconnect | Request::Cancel(_) | Request::Dummy => Ok(Vec::new()),
        }
    }

    fn compile_blr<B: Backend + ?Sized>(&mut self, blr: &[u8], backend: &B) -> Answer {
        let request = match backend.compile_blr(blr) {
            None => return err(Status::unsupported("BLR requests (op_compile)")),
            Some(Err(e)) => {
                return err(status::from_sqlstate(&e.sqlstate, &e.message, None, ""));
            }
            Some(Ok(r)) => r,
        };
        let mut formats = HashMap::new();
        for message in &request.messages {
            let items: Option<Vec<Item>> = message
                .items
                .iter()
                .map(|i| item_of(i.dtype, i.scale, i.length, i.sub_type, i.charset))
                .collect();
            let Some(items) = items else {
                return err(Status::unsupported("a BLR data type in a request message"));
            };
            formats.insert(message.number, items);
        }
        let Some(h) = self.new_handle() else {
            return err(Status::text(gds::RANDOM, "too many open handles"));
        };
        self.requests.insert(
            h,
            BlrState {
                request,
                formats,
                queue: VecDeque::new(),
            },
        );
        Ok(packets::ok(h, &[]))
    }

    /// `op_start*`, `op_send`, `op_receive` on a BLR request.
    async fn data(&mut self, data: DataRequest) -> Answer {
        let rh = self.resolve(data.request);
        let th = self.resolve(data.transaction);
        let Some(state) = self.requests.get(&rh) else {
            return err(Status::text(gds::RANDOM, "invalid request handle"));
        };
        let starts = matches!(
            data.op,
            op::START | op::START_AND_SEND | op::START_AND_RECEIVE | op::START_SEND_AND_RECEIVE
        );
        if starts {
            // A new start forgets what an earlier one left unread.
            let param_count = state.request.program.param_count as usize;
            if let Some(state) = self.requests.get_mut(&rh) {
                state.queue.clear();
            }
            let Some(state) = self.requests.get(&rh) else {
                return err(Status::text(gds::RANDOM, "invalid request handle"));
            };
            let params: Result<Vec<Value>, Status> = data
                .data
                .clone()
                .unwrap_or_default()
                .into_iter()
                .take(param_count)
                .map(|w| types::from_wire(Some(w), None, &|_| None))
                .collect();
            let params = match params {
                Ok(p) => p,
                Err(status) => return err(status),
            };
            let program = rosetta_bytecode::encode(&state.request.program);
            let Some(txn) = self.txns.get_mut(&th) else {
                return err(Status::code(gds::BAD_TRANS_HANDLE));
            };
            let session = match txn.begun().await {
                Ok(s) => s,
                Err(e) => return err(engine_status(&e, "")?),
            };
            let outcome = match session.run(program, params).await {
                Ok(o) => o,
                Err(e) => {
                    tracing::debug!(request = rh, "BLR request failed: {e}");
                    return err(engine_status(&e, "")?);
                }
            };
            tracing::debug!(request = rh, rows = outcome.rows.len(), "BLR request ran");
            let Some(state) = self.requests.get(&rh) else {
                return err(Status::text(gds::RANDOM, "invalid request handle"));
            };
            let output = state.request.output;
            let items = state.formats.get(&output).cloned().unwrap_or_default();
            let row_sources = state.request.row.clone();
            let end_sources = state.request.end.clone();
            let mut queue = VecDeque::with_capacity(outcome.rows.len() + 1);
            for row in &outcome.rows {
                queue.push_back(self.blr_message(&items, &row_sources, row, th));
            }
            queue.push_back(self.blr_message(&items, &end_sources, &[], th));
            if let Some(state) = self.requests.get_mut(&rh) {
                state.queue = queue;
            }
        }
        match data.op {
            op::START | op::START_AND_SEND | op::SEND => Ok(packets::ok(0, &[])),
            _ => {
                let Some(state) = self.requests.get_mut(&rh) else {
                    return err(Status::text(gds::RANDOM, "invalid request handle"));
                };
                let output = state.request.output;
                let items = state.formats.get(&output).cloned().unwrap_or_default();
                let mut w = Writer::new();
                if starts {
                    w.int(op::RESPONSE_PIGGYBACK)
                        .short(output)
                        .raw(&[0; 8])
                        .buffer(&[]);
                    status::write_status(&mut w, None);
                }
                // Every op_send carries one message; `messages` is 1 while more of this
                // batch follow and 0 on its last one. After a start the whole result goes
                // as one batch (the client queues it); an op_receive gets what it asked.
                let batch = if starts {
                    state.queue.len()
                } else {
                    (data.messages.max(1) as usize).min(state.queue.len())
                };
                if batch == 0 {
                    // Nothing left (the start failed, or the client reads past the end):
                    // answer with the end message so that a request loop, which stops
                    // only on its end-of-data flag, terminates.
                    let end_sources = state.request.end.clone();
                    let end = self.blr_message(&items, &end_sources, &[], th);
                    let mut w = Writer::new();
                    w.int(op::SEND)
                        .short(data.request)
                        .short(0)
                        .short(data.transaction)
                        .short(output)
                        .short(0);
                    write_unpacked(&mut w, &items, &end);
                    return Ok(w.into_bytes());
                }
                for n in (0..batch).rev() {
                    let message = state.queue.pop_front().unwrap_or_default();
                    w.int(op::SEND)
                        .short(data.request)
                        .short(0)
                        .short(data.transaction)
                        .short(output)
                        .short(u16::from(n > 0));
                    write_unpacked(&mut w, &items, &message);
                }
                Ok(w.into_bytes())
            }
        }
    }

    /// One output message of a BLR request for a result row (or the end message).
    fn blr_message(
        &mut self,
        items: &[Item],
        sources: &[BlrItemSource],
        row: &[Value],
        txn: u16,
    ) -> Vec<Wire> {
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let value = match sources.get(i) {
                    Some(BlrItemSource::Column(n)) => {
                        let v = row.get(*n as usize).unwrap_or(&Value::Null);
                        let mut store = |data: Vec<u8>| self.store_blob(data, txn);
                        types::to_wire(v, item, &mut store).ok().flatten()
                    }
                    Some(BlrItemSource::NullFlag(n)) => {
                        let null = row.get(*n as usize).is_none_or(|v| v.is_null());
                        Some(Wire::Scaled(if null { -1 } else { 0 }, 0))
                    }
                    Some(BlrItemSource::Integer(v)) => Some(Wire::Scaled(*v as i128, 0)),
                    Some(BlrItemSource::Text(s)) => {
                        let mut b = s.as_bytes().to_vec();
                        if let Item::Varying { max, .. } | Item::CString { max, .. } = item {
                            b.truncate(*max as usize);
                        }
                        Some(Wire::Bytes(b))
                    }
                    Some(BlrItemSource::Unset) | None => None,
                };
                value.unwrap_or_else(|| zero(item))
            })
            .collect()
    }

    async fn start<B: Backend + ?Sized>(&mut self, mode: TransactionMode, backend: &B) -> Answer {
        let (serial, session) = match self.session(backend).await {
            Ok(s) => s,
            Err(e) => return engine_status(&e, "").map(|s| packets::error(&s)),
        };
        let Some(h) = self.new_handle() else {
            self.release(serial, session).await;
            return err(Status::text(gds::BAD_TRANS_HANDLE, "too many open handles"));
        };
        self.txns.insert(
            h,
            Txn {
                session,
                serial,
                mode,
                begun: false,
            },
        );
        Ok(packets::ok(h, &[]))
    }

    /// Commits or rolls back (and with `retain` begins again under the same handle).
    async fn end(&mut self, handle: u16, commit: bool, retain: bool) -> Answer {
        let h = self.resolve(handle);
        let Some(txn) = self.txns.get_mut(&h) else {
            return err(Status::code(gds::BAD_TRANS_HANDLE));
        };
        if txn.begun {
            if let Err(e) = txn.session.run(end_program(commit), Vec::new()).await {
                // A failed commit leaves the transaction for the client to roll back.
                return err(engine_status(&e, "")?);
            }
            txn.begun = false;
        }
        if retain {
            // The next statement begins the engine transaction again.
            return Ok(packets::ok(0, &[]));
        }
        if let Some(txn) = self.txns.remove(&h) {
            self.drop_blobs_of(h);
            for stmt in self.stmts.values_mut() {
                if stmt.cursor.as_ref().is_some_and(|c| c.txn == h) {
                    stmt.cursor = None;
                }
            }
            self.release(txn.serial, txn.session).await;
        }
        Ok(packets::ok(0, &[]))
    }

    /// Compiles one client statement. Most compile to one program; a few compile to
    /// several run in order (`RECREATE TABLE` → drop + create), and `COMMIT RETAIN` /
    /// `ROLLBACK RETAIN` to an end followed by a begin, which is reported as `retain`.
    async fn compile<B: Backend + ?Sized>(backend: &B, sql: &str) -> Result<Unit, Status> {
        let compiled = backend
            .compile(sql)
            .await
            .map_err(|e| status::from_sqlstate(&e.sqlstate, &e.message, e.position, sql))?;
        let mut programs = Vec::new();
        for p in compiled.iter().filter(|p| !p.is_empty) {
            let program = rosetta_bytecode::decode(&p.bytes, &Limits::default())
                .map_err(|e| Status::text(gds::RANDOM, format!("invalid program: {e}")))?;
            programs.push((p.bytes.clone(), program.statement));
        }
        let retain = matches!(
            programs.as_slice(),
            [
                (_, Statement::Commit | Statement::Rollback),
                (_, Statement::Begin(_))
            ]
        );
        if retain {
            programs.truncate(1);
        }
        let Some((program, statement)) = programs.pop() else {
            return Err(status::from_sqlstate(
                "42601",
                "Unexpected end of command",
                None,
                sql,
            ));
        };
        let transactional = programs.iter().any(|(_, s)| {
            matches!(
                s,
                Statement::Begin(_)
                    | Statement::SetTransaction(_)
                    | Statement::Commit
                    | Statement::Rollback
            )
        });
        if transactional {
            return Err(status::from_sqlstate(
                "0A000",
                "a statement that ends or starts a transaction in the middle",
                None,
                sql,
            ));
        }
        Ok(Unit {
            program,
            statement,
            before: programs.into_iter().map(|(b, _)| b).collect(),
            retain,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn prepare<B: Backend + ?Sized>(
        &mut self,
        transaction: u16,
        statement: u16,
        sql: &[u8],
        items: &[u8],
        buffer_length: usize,
        backend: &B,
    ) -> Answer {
        let sh = self.resolve(statement);
        if !self.stmts.contains_key(&sh) {
            return err(Status::code(gds::DSQL_STMT_HANDLE));
        }
        let Ok(sql) = std::str::from_utf8(sql) else {
            return err(Status::text(gds::RANDOM, "SQL text is not valid UTF-8"));
        };
        // Forget the previous preparation of this handle.
        self.unprepare(sh).await;
        let Unit {
            program,
            statement,
            before,
            retain,
        } = match Self::compile(backend, sql).await {
            Ok(p) => p,
            Err(status) => return err(status),
        };
        let engine_side = !matches!(
            statement,
            Statement::Begin(_)
                | Statement::SetTransaction(_)
                | Statement::Commit
                | Statement::Rollback
        ) && before.is_empty()
            && !runs_unprepared(&statement);
        let th = self.resolve(transaction);
        let mut info = PreparedInfo {
            handle: 0,
            param_types: Vec::new(),
            columns: Vec::new(),
            txn: rosetta_proto::TxnState::Idle,
        };
        let mut handles = Vec::new();
        if engine_side {
            let result = match self.txns.get_mut(&th) {
                Some(txn) => txn
                    .session
                    .prepare(program.clone())
                    .await
                    .map(|i| (txn.serial, i)),
                None => {
                    let (serial, mut session) = match self.session(backend).await {
                        Ok(s) => s,
                        Err(e) => return err(engine_status(&e, sql)?),
                    };
                    let r = session.prepare(program.clone()).await;
                    self.release(serial, session).await;
                    r.map(|i| (serial, i))
                }
            };
            match result {
                Ok((serial, i)) => {
                    handles.push((serial, i.handle));
                    info = i;
                }
                Err(e) => return err(engine_status(&e, sql)?),
            }
        }
        let described = Described {
            stmt_type: stmt_type(&statement, !info.columns.is_empty()),
            select: vars(&info.columns),
            bind: params(&info.param_types),
            records: (0, 0, 0, 0),
            has_records: false,
        };
        let data = info::sql_info(items, buffer_length, &described);
        if let Some(stmt) = self.stmts.get_mut(&sh) {
            stmt.prepared = Some(Prepared {
                before,
                retain,
                program,
                statement,
                described,
                params: info.param_types,
                handles,
            });
        }
        Ok(packets::ok(0, &data))
    }

    fn info_sql(&self, req: &InfoRequest) -> Answer {
        let h = self.resolve(req.object);
        match self.stmts.get(&h).and_then(|s| s.prepared.as_ref()) {
            Some(p) => Ok(packets::ok(
                h,
                &info::sql_info(&req.items, req.buffer_length, &p.described),
            )),
            None => err(Status::code(gds::DSQL_STMT_HANDLE)),
        }
    }

    /// Drops the engine side of a statement's preparation.
    async fn unprepare(&mut self, sh: u16) {
        let Some(prepared) = self.stmts.get_mut(&sh).and_then(|s| {
            s.cursor = None;
            s.prepared.take()
        }) else {
            return;
        };
        for (serial, handle) in prepared.handles {
            let session = self
                .txns
                .values_mut()
                .find(|t| t.serial == serial)
                .map(|t| &mut t.session)
                .or_else(|| {
                    self.pool
                        .iter_mut()
                        .find(|(s, _)| *s == serial)
                        .map(|(_, s)| s)
                });
            if let Some(session) = session {
                let _ = session.close_prepared(handle).await;
            }
        }
    }

    async fn free(&mut self, statement: u16, option: u16) -> Answer {
        let sh = self.resolve(statement);
        let Some(stmt) = self.stmts.get_mut(&sh) else {
            return err(Status::code(gds::DSQL_STMT_HANDLE));
        };
        match option {
            1 => {
                stmt.cursor = None;
                Ok(packets::ok(sh, &[]))
            }
            4 => {
                self.unprepare(sh).await;
                Ok(packets::ok(sh, &[]))
            }
            _ => {
                self.unprepare(sh).await;
                self.stmts.remove(&sh);
                Ok(packets::ok(LAST_OBJECT, &[]))
            }
        }
    }

    /// Converts the client's parameters to engine values.
    fn parameters(
        &self,
        wire: Vec<Option<Wire>>,
        types_: &[DataType],
    ) -> Result<Vec<Value>, Status> {
        let load = |id: &[u8; 8]| self.store.get(id).map(|s| s.data.clone());
        wire.into_iter()
            .enumerate()
            .map(|(i, w)| types::from_wire(w, types_.get(i), &load))
            .collect()
    }

    async fn execute<B: Backend + ?Sized>(&mut self, exec: Execute, backend: &B) -> Answer {
        let sh = self.resolve(exec.statement);
        let th = self.resolve(exec.transaction);
        let Some(prepared) = self.stmts.get(&sh).and_then(|s| s.prepared.as_ref()) else {
            return err(if self.stmts.contains_key(&sh) {
                Status::code(gds::UNPREPARED_STMT)
            } else {
                Status::code(gds::DSQL_STMT_HANDLE)
            });
        };
        let statement = prepared.statement.clone();
        let param_types = prepared.params.clone();
        let program = prepared.program.clone();
        let known = prepared.handles.clone();
        let before = prepared.before.clone();
        let retain = prepared.retain;
        let unprepared = !before.is_empty() || runs_unprepared(&statement);
        let with_output = exec.out_items.is_some();
        let sql_response_none = || {
            let mut w = Writer::new();
            w.int(op::SQL_RESPONSE).int(0);
            w.into_bytes()
        };
        let fail = |status: Status| -> Answer {
            let mut out = if with_output {
                sql_response_none()
            } else {
                Vec::new()
            };
            out.extend(packets::error(&status));
            Ok(out)
        };
        match statement {
            Statement::Commit | Statement::Rollback => {
                let commit = matches!(statement, Statement::Commit);
                let mut answer = self.end(th, commit, retain).await?;
                if retain && self.txns.contains_key(&th) {
                    // The transaction goes on: the answer names it.
                    answer = packets::ok(th, &[]);
                }
                return Ok(if with_output {
                    [sql_response_none(), answer].concat()
                } else {
                    answer
                });
            }
            Statement::Begin(ref mode) | Statement::SetTransaction(ref mode) => {
                // A prepared SET TRANSACTION starts a new transaction; the answer's
                // object is its handle.
                let answer = self.start(mode.clone(), backend).await?;
                return Ok(if with_output {
                    [sql_response_none(), answer].concat()
                } else {
                    answer
                });
            }
            _ => {}
        }
        // A failed execution reports zero rows (isql prints "Records affected: 0").
        if let Some(p) = self.stmts.get_mut(&sh).and_then(|s| s.prepared.as_mut()) {
            p.described.records = (0, 0, 0, 0);
            p.described.has_records = p.described.stmt_type != 5;
        }
        let values = match self.parameters(exec.params, &param_types) {
            Ok(v) => v,
            Err(status) => return fail(status),
        };
        let Some(txn) = self.txns.get_mut(&th) else {
            return fail(Status::code(gds::BAD_TRANS_HANDLE));
        };
        if unprepared {
            let session = match txn.begun().await {
                Ok(s) => s,
                Err(e) => return fail(engine_status(&e, "")?),
            };
            for p in before {
                if let Err(e) = session.run(p, Vec::new()).await {
                    return fail(engine_status(&e, "")?);
                }
            }
            let outcome = match session.run(program, values).await {
                Ok(o) => o,
                Err(e) => return fail(engine_status(&e, "")?),
            };
            return self.after_execute(sh, th, outcome, exec.out_items);
        }
        let serial = txn.serial;
        let handle = match known.iter().find(|(s, _)| *s == serial) {
            Some((_, h)) => *h,
            None => match txn.session.prepare(program).await {
                Ok(info) => {
                    if let Some(p) = self.stmts.get_mut(&sh).and_then(|s| s.prepared.as_mut()) {
                        p.handles.push((serial, info.handle));
                    }
                    info.handle
                }
                Err(e) => return fail(engine_status(&e, "")?),
            },
        };
        let Some(txn) = self.txns.get_mut(&th) else {
            return fail(Status::code(gds::BAD_TRANS_HANDLE));
        };
        let session = match txn.begun().await {
            Ok(s) => s,
            Err(e) => return fail(engine_status(&e, "")?),
        };
        let outcome = match session.run_prepared(handle, values).await {
            Ok(o) => o,
            Err(e) => return fail(engine_status(&e, "")?),
        };
        self.after_execute(sh, th, outcome, exec.out_items)
    }

    fn after_execute(
        &mut self,
        sh: u16,
        th: u16,
        outcome: Outcome,
        out_items: Option<Vec<Item>>,
    ) -> Answer {
        let rows_affected = outcome.completion.as_ref().map(|c| c.rows).unwrap_or(0) as u32;
        let Some(stmt) = self.stmts.get_mut(&sh) else {
            return err(Status::code(gds::DSQL_STMT_HANDLE));
        };
        let Some(prepared) = stmt.prepared.as_mut() else {
            return err(Status::code(gds::UNPREPARED_STMT));
        };
        prepared.described.has_records = true;
        prepared.described.records = match &prepared.statement {
            Statement::Insert(_) => (0, rows_affected, 0, 0),
            Statement::Update(_) => (0, 0, rows_affected, 0),
            Statement::Delete(_) => (0, 0, 0, rows_affected),
            _ => (0, 0, 0, 0),
        };
        if matches!(prepared.described.stmt_type, 5) {
            prepared.described.has_records = false;
        }
        let cursor = prepared.described.stmt_type == 1 && out_items.is_none();
        if cursor {
            stmt.cursor = Some(Cursor {
                rows: outcome.rows.into(),
                txn: th,
            });
            return Ok(packets::ok(th, &[]));
        }
        let mut out = Vec::new();
        if let Some(items) = out_items {
            let mut w = Writer::new();
            w.int(op::SQL_RESPONSE);
            match outcome.rows.first() {
                Some(row) if !items.is_empty() => match self.encode_row(row, &items, th) {
                    Ok(values) => {
                        w.int(1);
                        write_message(&mut w, &items, &values);
                    }
                    Err(status) => {
                        w.int(0);
                        out.extend(w.into_bytes());
                        out.extend(packets::error(&status));
                        return Ok(out);
                    }
                },
                _ => {
                    w.int(0);
                }
            }
            out.extend(w.into_bytes());
        }
        out.extend(packets::ok(th, &[]));
        Ok(out)
    }

    fn encode_row(
        &mut self,
        row: &[Value],
        items: &[Item],
        txn: u16,
    ) -> Result<Vec<Option<Wire>>, Status> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let value = row.get(i).unwrap_or(&Value::Null);
            let mut store = |data: Vec<u8>| self.store_blob(data, txn);
            out.push(types::to_wire(value, item, &mut store)?);
        }
        Ok(out)
    }

    /// `op_exec_immediate` and `op_exec_immediate2`: the latter also sends the first
    /// result row (or none) in an `op_sql_response` before the `op_response`.
    async fn exec_immediate<B: Backend + ?Sized>(
        &mut self,
        exec: ExecImmediate,
        backend: &B,
    ) -> Answer {
        let out_items = exec.out_items.clone();
        let transaction = exec.transaction;
        let (answer, outcome) = match self.immediate(exec, backend).await? {
            Ok(done) => done,
            Err(status) => {
                let mut out = sql_response_none(out_items.is_some());
                out.extend(packets::error(&status));
                return Ok(out);
            }
        };
        let Some(items) = out_items else {
            return Ok(answer);
        };
        let row = outcome.as_ref().and_then(|o| o.rows.first());
        let th = self.resolve(transaction);
        let mut w = Writer::new();
        w.int(op::SQL_RESPONSE);
        match row {
            Some(row) if !items.is_empty() => match self.encode_row(row, &items, th) {
                Ok(values) => {
                    w.int(1);
                    write_message(&mut w, &items, &values);
                }
                Err(status) => {
                    w.int(0);
                    let mut out = w.into_bytes();
                    out.extend(packets::error(&status));
                    return Ok(out);
                }
            },
            _ => {
                w.int(0);
            }
        }
        let mut out = w.into_bytes();
        out.extend(answer);
        Ok(out)
    }

    /// Runs one immediate statement: the success answer and the last program's outcome
    /// (for a result row), or the error status.
    async fn immediate<B: Backend + ?Sized>(
        &mut self,
        exec: ExecImmediate,
        backend: &B,
    ) -> Result<Result<(Vec<u8>, Option<Outcome>), Status>, Fatal> {
        let transaction = exec.transaction;
        let Ok(sql) = std::str::from_utf8(&exec.sql) else {
            return Ok(Err(Status::text(
                gds::RANDOM,
                "SQL text is not valid UTF-8",
            )));
        };
        if sql
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("CREATE DATABASE")
        {
            // isql echoes CREATE DATABASE after op_create; the database exists already.
            return Ok(Ok((packets::ok(transaction, &[]), None)));
        }
        let Unit {
            program,
            statement,
            before,
            retain,
        } = match Self::compile(backend, sql).await {
            Ok(p) => p,
            Err(status) => return Ok(Err(status)),
        };
        let th = self.resolve(transaction);
        match statement {
            Statement::Begin(mode) | Statement::SetTransaction(mode) => {
                return Ok(Ok((self.start(mode, backend).await?, None)));
            }
            Statement::Commit | Statement::Rollback => {
                let commit = matches!(statement, Statement::Commit);
                let answer = self.end(th, commit, retain).await?;
                let answer = if retain && self.txns.contains_key(&th) {
                    packets::ok(th, &[])
                } else {
                    answer
                };
                return Ok(Ok((answer, None)));
            }
            _ => {}
        }
        let values = match self.parameters(exec.params, &[]) {
            Ok(v) => v,
            Err(status) => return Ok(Err(status)),
        };
        let mut programs: Vec<Vec<u8>> = before;
        let result = match self.txns.get_mut(&th) {
            Some(txn) => match txn.begun().await {
                Ok(session) => {
                    run_with(session, std::mem::take(&mut programs), program, values).await
                }
                Err(e) => Err(e),
            },
            None if transaction == 0 => {
                // No transaction: the statement runs on its own (autocommit).
                let (serial, mut session) = match self.session(backend).await {
                    Ok(s) => s,
                    Err(e) => return Ok(Err(engine_status(&e, sql)?)),
                };
                let r = run_with(&mut session, programs, program, values).await;
                self.release(serial, session).await;
                r
            }
            None => return Ok(Err(Status::code(gds::BAD_TRANS_HANDLE))),
        };
        match result {
            Ok(outcome) => Ok(Ok((packets::ok(transaction, &[]), Some(outcome)))),
            Err(e) => Ok(Err(engine_status(&e, sql)?)),
        }
    }

    fn fetch(&mut self, statement: u16, out_items: Option<Vec<Item>>, count: u32) -> Vec<u8> {
        let sh = self.resolve(statement);
        let Some(stmt) = self.stmts.get_mut(&sh) else {
            return packets::error(&Status::code(gds::DSQL_STMT_HANDLE));
        };
        if let Some(items) = out_items {
            stmt.fetch_items = Some(items);
        }
        let Some(items) = stmt.fetch_items.clone() else {
            return packets::error(&Status::text(
                gds::RANDOM,
                "fetch without a message description",
            ));
        };
        let Some(cursor) = stmt.cursor.as_mut() else {
            return packets::error(&Status::code(gds::DSQL_CURSOR_ERR));
        };
        let txn = cursor.txn;
        let mut batch = Vec::new();
        for _ in 0..count.max(1) {
            match cursor.rows.pop_front() {
                Some(row) => batch.push(row),
                None => break,
            }
        }
        let exhausted = cursor.rows.is_empty();
        let sent = batch.len() as u32;
        if let Some(p) = stmt.prepared.as_mut() {
            p.described.records.0 = p.described.records.0.saturating_add(sent);
        }
        let mut w = Writer::new();
        for row in &batch {
            match self.encode_row(row, &items, txn) {
                Ok(values) => {
                    w.int(op::FETCH_RESPONSE).int(0).int(1);
                    write_message(&mut w, &items, &values);
                }
                Err(status) => {
                    if let Some(stmt) = self.stmts.get_mut(&sh) {
                        stmt.cursor = None;
                    }
                    let mut out = w.into_bytes();
                    out.extend(packets::error(&status));
                    return out;
                }
            }
        }
        w.int(op::FETCH_RESPONSE)
            .int(if exhausted { 100 } else { 0 })
            .int(0);
        w.into_bytes()
    }
}

/// For the runner's log line.
pub fn describe_hello(hello: &ClientHello) -> String {
    format!(
        "login={} plugin={} crypt={}",
        hello.login, hello.plugin, hello.client_crypt
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpb_maps_onto_transaction_modes() {
        // isql's metadata transaction: v1, write, read_committed, wait, no_rec_version.
        let m = parse_tpb(&[1, 9, 15, 6, 18]);
        assert_eq!(m.isolation, Some(IsolationLevel::ReadCommitted));
        assert_eq!(m.wait, Some(true));
        assert_eq!(m.read_only, Some(false));
        // Empty TPB: concurrency, write, wait.
        let m = parse_tpb(&[]);
        assert_eq!(m.isolation, Some(IsolationLevel::RepeatableRead));
        // consistency, nowait, read, lock timeout 5 s.
        let m = parse_tpb(&[3, 1, 7, 8, 21, 4, 5, 0, 0, 0]);
        assert_eq!(m.isolation, Some(IsolationLevel::Serializable));
        assert_eq!(m.wait, Some(false));
        assert_eq!(m.read_only, Some(true));
        assert_eq!(m.lock_timeout_ms, Some(5000));
        // Truncated or hostile TPBs never panic.
        let _ = parse_tpb(&[3, 21, 200]);
        let _ = parse_tpb(&[3, 10]);
    }

    #[test]
    fn database_names_from_attach_strings() {
        assert_eq!(database_name("rosetta"), "rosetta");
        assert_eq!(database_name("/srv/db/rosetta.fdb"), "rosetta");
        assert_eq!(database_name("C:\\db\\x.FDB"), "x");
    }
}
