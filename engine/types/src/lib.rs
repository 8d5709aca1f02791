//! Rosetta's one type system at run time.
//!
//! Every protocol maps its native types onto these values (PostgreSQL OIDs, MySQL column
//! types, Firebird SQL types) and every operator of the engine works on them. The SQL types
//! themselves are [`DataType`] from the bytecode contract.
//!
//! * [`Value`] — a runtime value; what rows are made of, what travels to the gateways.
//! * [`ops`] — comparison, arithmetic, concatenation, LIKE: SQL semantics, NULL rules and
//!   SQLSTATE-carrying errors.
//! * [`cast`] — conversions between types, including parsing text input the way
//!   PostgreSQL does (`22P02` on bad input) and applying type modifiers
//!   (`NUMERIC(p,s)`, `VARCHAR(n)`, `CHAR(n)`).
//! * [`text`] — the canonical text form of a value (PostgreSQL's output format).
//! * [`key`] — an order-preserving (memcomparable) byte encoding of values, used for
//!   primary keys, index keys, and as a hash/equality key for GROUP BY and DISTINCT.

pub mod array;
pub mod cast;
pub mod key;
pub mod ops;
pub mod text;

mod datetime;
mod value;

pub use rosetta_bytecode::DataType;
pub use rust_decimal::Decimal;
pub use value::Value;

/// A value-level error. Each variant knows its SQLSTATE so that every protocol can report
/// it in its own words.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TypeError {
    /// Text that is not a valid literal of the target type (22P02 / 22007 for dates).
    #[error("invalid input syntax for type {type_name}: \"{text}\"")]
    InvalidText { type_name: String, text: String },
    /// A date/time text that is not valid (22007 / 22008).
    #[error("date/time field value out of range: \"{0}\"")]
    DateTimeOutOfRange(String),
    /// A numeric result that does not fit its type (22003).
    #[error("{0} out of range")]
    OutOfRange(String),
    /// `NUMERIC(p,s)` overflow (22003).
    #[error("numeric field overflow")]
    NumericOverflow,
    /// Division or modulo by zero (22012).
    #[error("division by zero")]
    DivisionByZero,
    /// A string longer than `VARCHAR(n)` / `CHAR(n)` allows (22001).
    #[error("value too long for type {0}")]
    StringTooLong(String),
    /// No operator for these operand types (42883).
    #[error("operator does not exist: {0}")]
    NoOperator(String),
    /// A cast that is not defined between two types (42846).
    #[error("cannot cast type {from} to {to}")]
    CannotCast { from: String, to: String },
    /// An invalid escape sequence or pattern (22025).
    #[error("invalid escape string")]
    InvalidEscape,
    /// A regular expression that does not compile (2201B).
    #[error("invalid regular expression: {0}")]
    InvalidRegex(String),
    /// A floating-point result that overflows or underflows its type (22003); the payload is
    /// `"overflow"` or `"underflow"`, as in PostgreSQL's "value out of range: overflow".
    #[error("value out of range: {0}")]
    FloatOutOfRange(&'static str),
}

impl TypeError {
    /// The SQLSTATE PostgreSQL reports for this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            TypeError::InvalidText { type_name, .. }
                if type_name == "date" || type_name == "timestamp" || type_name == "time" =>
            {
                "22007"
            }
            TypeError::InvalidText { .. } => "22P02",
            TypeError::DateTimeOutOfRange(_) => "22008",
            TypeError::OutOfRange(_)
            | TypeError::NumericOverflow
            | TypeError::FloatOutOfRange(_) => "22003",
            TypeError::DivisionByZero => "22012",
            TypeError::StringTooLong(_) => "22001",
            TypeError::NoOperator(_) => "42883",
            TypeError::CannotCast { .. } => "42846",
            TypeError::InvalidEscape => "22025",
            TypeError::InvalidRegex(_) => "2201B",
        }
    }
}

/// Result alias for value operations.
pub type Result<T, E = TypeError> = std::result::Result<T, E>;

/// The PostgreSQL-style name of a type, for messages and `format_type`.
pub fn type_name(ty: &DataType) -> String {
    match ty {
        DataType::Boolean => "boolean".into(),
        DataType::SmallInt => "smallint".into(),
        DataType::Integer => "integer".into(),
        DataType::BigInt => "bigint".into(),
        DataType::Numeric {
            precision: Some(p),
            scale,
        } => format!("numeric({},{})", p, scale.unwrap_or(0)),
        DataType::Numeric { .. } => "numeric".into(),
        DataType::Real => "real".into(),
        DataType::Double => "double precision".into(),
        DataType::Text => "text".into(),
        DataType::Varchar(Some(n)) => format!("character varying({n})"),
        DataType::Varchar(None) => "character varying".into(),
        DataType::Char(n) => format!("character({})", n.unwrap_or(1)),
        DataType::Bytea => "bytea".into(),
        DataType::Date => "date".into(),
        DataType::Timestamp => "timestamp without time zone".into(),
        DataType::Time => "time without time zone".into(),
        DataType::Array(e) => match e.data_type() {
            DataType::Char(_) => "character[]".into(),
            t => format!("{}[]", type_name(&t)),
        },
    }
}
