//! The engine's one error type. Every variant knows its SQLSTATE (the gateways map that
//! onto their protocol's codes) and whether a client may retry.

use rosetta_types::TypeError;

/// Anything that can fail a statement.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not serialize access due to concurrent update")]
    SerializationFailure,
    /// A row lock could not be taken: the transaction does not wait (`NO WAIT`) or its
    /// lock timeout passed.
    #[error("could not obtain lock on row")]
    LockNotAvailable,
    #[error("deadlock detected")]
    Deadlock,
    /// A prepared statement's result columns changed with the catalog since the client
    /// was told them.
    #[error("cached plan must not change result type")]
    PlanChanged,
    /// `KILL` of a session that does not exist or belongs to someone else.
    #[error("{0}")]
    Kill(#[from] crate::engine::KillError),
    #[error("current transaction is aborted, commands ignored until end of transaction block")]
    InFailedTransaction,
    #[error("relation \"{0}\" does not exist")]
    UndefinedTable(String),
    #[error("relation \"{0}\" already exists")]
    DuplicateTable(String),
    /// `DROP TABLE`/`DROP VIEW` of a missing object (`kind` is "table" or "view").
    #[error("{kind} \"{name}\" does not exist")]
    UndefinedRelation { kind: &'static str, name: String },
    #[error("column \"{0}\" does not exist")]
    UndefinedColumn(String),
    #[error("column reference \"{0}\" is ambiguous")]
    AmbiguousColumn(String),
    #[error("column \"{0}\" specified more than once")]
    DuplicateColumn(String),
    #[error("database \"{0}\" does not exist")]
    UndefinedDatabase(String),
    #[error("database \"{0}\" already exists")]
    DuplicateDatabase(String),
    #[error("function {0} does not exist")]
    UndefinedFunction(String),
    #[error("prepared statement \"{0}\" does not exist")]
    UndefinedPrepared(String),
    #[error("prepared statement \"{0}\" already exists")]
    DuplicatePrepared(String),
    #[error("index \"{0}\" does not exist")]
    UndefinedIndex(String),
    #[error("duplicate key value violates unique constraint \"{constraint}\"")]
    UniqueViolation { constraint: String, detail: String },
    #[error(
        "null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"
    )]
    NotNullViolation { table: String, column: String },
    #[error("{0}")]
    Type(#[from] TypeError),
    #[error("{0}")]
    Syntax(String),
    #[error("{0}")]
    Grouping(String),
    #[error("{0}")]
    DatatypeMismatch(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0} is not supported yet")]
    Unsupported(String),
    #[error("invalid bytecode: {0}")]
    InvalidProgram(String),
    #[error("more than one row returned by a subquery used as an expression")]
    CardinalityViolation,
    #[error("canceling statement due to user request")]
    Canceled,
    #[error("cannot execute {0} in a read-only transaction")]
    ReadOnly(String),
    #[error("{0} cannot run inside a transaction block")]
    NoActiveBlockAllowed(String),
    #[error("database \"{0}\" is being accessed by other users")]
    ObjectInUse(String),
    /// A statement named an object of the wrong kind (`DROP TABLE` on a view, …).
    #[error("{message}")]
    WrongObjectType {
        message: String,
        hint: Option<String>,
    },
    /// DROP refused because other objects (views) depend on the object.
    #[error("{message}")]
    DependentObjects { message: String, detail: String },
    /// `CREATE OR REPLACE VIEW` would change the view's existing columns.
    #[error("{0}")]
    InvalidTableDefinition(String),
    /// A `$n` where the statement has no parameters (a view's query).
    #[error("there is no parameter ${0}")]
    UndefinedParameter(u16),
    /// INSERT/UPDATE/DELETE naming a view (views are read-only in Rosetta).
    #[error("cannot {verb} view \"{view}\"")]
    ViewNotUpdatable { verb: &'static str, view: String },
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

impl Error {
    /// The SQLSTATE reported to clients.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            Error::SerializationFailure => "40001",
            Error::LockNotAvailable => "55P03",
            Error::Deadlock => "40P01",
            Error::PlanChanged => "0A000",
            Error::Kill(crate::engine::KillError::NoSuchSession(_)) => "HY000",
            Error::Kill(crate::engine::KillError::NotOwner(_)) => "42501",
            Error::InFailedTransaction => "25P02",
            Error::UndefinedTable(_) => "42P01",
            Error::DuplicateTable(_) => "42P07",
            Error::UndefinedRelation { .. } => "42P01",
            Error::UndefinedColumn(_) => "42703",
            Error::AmbiguousColumn(_) => "42702",
            Error::DuplicateColumn(_) => "42701",
            Error::UndefinedDatabase(_) => "3D000",
            Error::DuplicateDatabase(_) => "42P04",
            Error::UndefinedFunction(_) => "42883",
            Error::UndefinedPrepared(_) => "26000",
            Error::DuplicatePrepared(_) => "42P05",
            Error::UndefinedIndex(_) => "42704",
            Error::UniqueViolation { .. } => "23505",
            Error::NotNullViolation { .. } => "23502",
            Error::Type(e) => e.sqlstate(),
            Error::Syntax(_) => "42601",
            Error::Grouping(_) => "42803",
            Error::DatatypeMismatch(_) => "42804",
            Error::InvalidParameter(_) => "22023",
            Error::Unsupported(_) => "0A000",
            Error::InvalidProgram(_) => "XX000",
            Error::CardinalityViolation => "21000",
            Error::Canceled => "57014",
            Error::ReadOnly(_) => "25006",
            Error::NoActiveBlockAllowed(_) => "25001",
            Error::ObjectInUse(_) => "55006",
            Error::WrongObjectType { .. } => "42809",
            Error::DependentObjects { .. } => "2BP01",
            Error::InvalidTableDefinition(_) => "42P16",
            Error::UndefinedParameter(_) => "42P02",
            Error::ViewNotUpdatable { .. } => "0A000",
            Error::Internal(_) => "XX000",
            Error::Storage(_) => "58030",
        }
    }

    /// Extra detail for the client, when there is one.
    pub fn detail(&self) -> Option<String> {
        match self {
            Error::UniqueViolation { detail, .. } | Error::DependentObjects { detail, .. } => {
                Some(detail.clone())
            }
            Error::ViewNotUpdatable { .. } => Some(
                "Views are not automatically updatable in Rosetta yet; write to the underlying table."
                    .into(),
            ),
            _ => None,
        }
    }

    /// A hint for the client, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::WrongObjectType { hint, .. } => hint.clone(),
            Error::DependentObjects { .. } => {
                Some("Use DROP ... CASCADE to drop the dependent objects too.".into())
            }
            _ => None,
        }
    }
}

impl From<rmp_serde::decode::Error> for Error {
    fn from(e: rmp_serde::decode::Error) -> Self {
        Error::Internal(format!("corrupt stored value: {e}"))
    }
}

/// Result alias for the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;
