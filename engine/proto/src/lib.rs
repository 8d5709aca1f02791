//! The gateway ⇄ engine protocol.
//!
//! Each client session of a gateway opens its own Unix-domain-socket connection to the
//! engine; the connection *is* the session (closing it rolls back whatever was open).
//! Over it flow length-prefixed MessagePack frames ([`frame`]): the gateway sends one
//! [`Request`] and reads [`Response`]s until the one that ends the request
//! ([`Response::is_final`]).
//!
//! ```text
//!  gateway                                   engine
//!    Startup{user, database, dialect}  ──▶
//!                                      ◀──  Ready{session_id, secret}
//!    Execute{program, params}          ──▶
//!                                      ◀──  Columns[..]  Rows[..]*  Complete{tag,..}
//!    Prepare{program}                  ──▶
//!                                      ◀──  Prepared{handle, params, columns}
//! ```
//!
//! Out of band, a *second* connection may send [`Request::Cancel`] with a session's id and
//! secret (PostgreSQL's CancelRequest works the same way).

pub mod frame;

use rosetta_bytecode::{DataType, Dialect};
use rosetta_types::Value;
use serde::{Deserialize, Serialize};

pub use frame::{read_frame, write_frame, FrameError, MAX_FRAME};

/// The server version MySQL clients see (handshake, `@@version`, `VERSION()`): MySQL
/// 8.0-compatible, because drivers pick features from it, and naming Rosetta.
pub const MYSQL_SERVER_VERSION: &str = concat!("8.0.36-Rosetta-", env!("CARGO_PKG_VERSION"));

/// Version of this protocol; bumped on any incompatible change.
pub const PROTOCOL_VERSION: u16 = 1;

/// What a gateway asks of the engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Asks for the authentication verifiers of a user (the gateway runs the protocol's
    /// own handshake; the engine never sees a password).
    AuthInfo { user: String },
    /// Opens the session for an authenticated user on a database.
    Startup {
        protocol_version: u16,
        user: String,
        database: String,
        dialect: Dialect,
        /// Free text for logs and `pg_stat_activity`-like views.
        application: String,
    },
    /// Runs one compiled program (raw MessagePack bytes of a `rosetta_bytecode::Program`;
    /// the engine decodes and validates it itself).
    Execute {
        #[serde(with = "serde_bytes")]
        program: Vec<u8>,
        params: Vec<Value>,
        /// Stop after this many rows (0 = all). Used by portals with a row limit.
        #[serde(default)]
        max_rows: u64,
    },
    /// Prepares a program once for repeated execution.
    Prepare {
        #[serde(with = "serde_bytes")]
        program: Vec<u8>,
        /// Parameter types the client declared (`None` = let the engine infer).
        param_types: Vec<Option<DataType>>,
    },
    /// Runs a prepared statement.
    ExecutePrepared {
        handle: u64,
        params: Vec<Value>,
        #[serde(default)]
        max_rows: u64,
    },
    /// Forgets a prepared statement.
    ClosePrepared { handle: u64 },
    /// Cancels whatever the given session is running (sent on its own connection).
    Cancel { session_id: u32, secret: u32 },
    /// Ends the session (the engine rolls back an open transaction).
    Terminate,
    /// Returns the session to the state of a fresh one without closing it (MySQL
    /// COM_RESET_CONNECTION / COM_CHANGE_USER): rolls back, forgets prepared statements,
    /// settings and the last insert id; keeps the session id. With `user` (already
    /// authenticated by the gateway) and/or `database`, the session switches to them.
    /// Answered with `Ready` (new settings) or `Error` (e.g. 3D000; the session is then
    /// unchanged apart from the rollback).
    Reset {
        #[serde(default)]
        user: Option<String>,
        #[serde(default)]
        database: Option<String>,
    },
}

/// What the engine answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// Verifiers of a user, or `None` for an unknown user (the gateway then runs a fake
    /// handshake so user names cannot be probed).
    AuthInfo(Option<AuthInfo>),
    /// The session is open.
    Ready {
        session_id: u32,
        secret: u32,
        /// Server settings to announce at startup (`server_version`, …).
        settings: Vec<(String, String)>,
    },
    /// Result columns of the statement that is running; precedes its rows.
    Columns(Vec<Column>),
    /// A batch of result rows.
    Rows(Vec<Vec<Value>>),
    /// The statement finished.
    Complete(Completion),
    /// A prepared statement's handle and description.
    Prepared(PreparedInfo),
    /// A non-fatal message for the client (PostgreSQL NOTICE).
    Notice { message: String },
    /// The request failed; the session goes on.
    Error(EngineError),
    /// Acknowledges a request that has no other answer (Cancel, ClosePrepared).
    Ok,
}

impl Response {
    /// True for the responses that end a request.
    pub fn is_final(&self) -> bool {
        !matches!(
            self,
            Response::Columns(_) | Response::Rows(_) | Response::Notice { .. }
        )
    }
}

/// SCRAM-SHA-256 verifier, stored as PostgreSQL stores it (never the password).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScramVerifier {
    #[serde(with = "serde_bytes")]
    pub salt: Vec<u8>,
    pub iterations: u32,
    #[serde(with = "serde_bytes")]
    pub stored_key: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub server_key: Vec<u8>,
}

/// Everything a gateway needs to authenticate one user in its protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthInfo {
    pub user: String,
    pub scram_sha256: ScramVerifier,
    /// MySQL `mysql_native_password` hash: SHA1(SHA1(password)).
    #[serde(default, with = "serde_bytes")]
    pub mysql_native: Vec<u8>,
    /// Firebird SRP verifier (plugins `Srp` and `Srp256` share it), `None` for users
    /// created before Firebird support.
    #[serde(default)]
    pub firebird_srp: Option<SrpVerifier>,
}

/// An SRP-6a verifier as Firebird stores it: `v = g^x mod N` with
/// `x = SHA1(salt ‖ SHA1(USER ":" password))` (user name upper-cased).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SrpVerifier {
    #[serde(with = "serde_bytes")]
    pub salt: Vec<u8>,
    /// Big-endian bytes of `v`.
    #[serde(with = "serde_bytes")]
    pub verifier: Vec<u8>,
}

/// One result column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub data_type: DataType,
    /// The table the column comes from, if it is a plain column reference.
    #[serde(default)]
    pub table_id: u32,
    /// 1-based column number within that table (0 if none).
    #[serde(default)]
    pub column_number: u16,
}

/// How a statement ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// The command tag, PostgreSQL-style: `SELECT 3`, `INSERT 0 1`, `BEGIN`, …
    pub tag: String,
    /// Rows returned or affected.
    pub rows: u64,
    /// The session's transaction state after the statement.
    pub txn: TxnState,
    /// True when the row limit of the request stopped the output early (portal
    /// suspended).
    #[serde(default)]
    pub suspended: bool,
    /// The first value an `AUTO_INCREMENT` column took in this statement (0 when none):
    /// MySQL's OK packet and `LAST_INSERT_ID()`.
    #[serde(default)]
    pub last_insert_id: u64,
}

/// Transaction state of a session, as PostgreSQL's ReadyForQuery reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnState {
    /// Not in a transaction block.
    Idle,
    /// In a transaction block.
    InBlock,
    /// In a failed transaction block: statements are refused until ROLLBACK.
    Failed,
}

/// A prepared statement's handle and shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedInfo {
    pub handle: u64,
    pub param_types: Vec<DataType>,
    /// Result columns (empty for statements that return no rows).
    pub columns: Vec<Column>,
    /// Transaction state after preparing (preparing inside a failed block fails).
    pub txn: TxnState,
}

/// An error as the engine reports it: protocol-neutral, SQLSTATE-keyed; each gateway maps
/// it onto its protocol's codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct EngineError {
    pub sqlstate: String,
    pub message: String,
    #[serde(default)]
    pub detail: Option<String>,
    #[serde(default)]
    pub hint: Option<String>,
    /// 1-based character position in the statement, when known.
    #[serde(default)]
    pub position: Option<u32>,
    /// Transaction state after the error (a failed statement inside a block fails it).
    pub txn: TxnState,
    /// True when the whole session is unusable (the gateway then closes it, FATAL).
    #[serde(default)]
    pub fatal: bool,
}

impl EngineError {
    /// True for errors a client may retry as is (serialization failures, deadlocks).
    pub fn is_retryable(&self) -> bool {
        self.sqlstate == "40001" || self.sqlstate == "40P01"
    }
}
