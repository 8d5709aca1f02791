//! Firebird's type names and the Rosetta types they stand for.
//!
//! | Firebird | Rosetta |
//! |---|---|
//! | `SMALLINT`, `INTEGER`/`INT`, `BIGINT` | same |
//! | `NUMERIC`/`DECIMAL[(p[,s])]`, p ≤ 18 (default 9,0) | `NUMERIC(p,s)` |
//! | `FLOAT` | `REAL` (32-bit) |
//! | `DOUBLE PRECISION` | `DOUBLE PRECISION` |
//! | `CHAR[(n)]`, `VARCHAR(n)` | same (UTF-8) |
//! | `BOOLEAN`, `DATE`, `TIME`, `TIMESTAMP` | same (no time zone) |
//! | `BLOB SUB_TYPE TEXT` / `1` | `TEXT` |
//! | `BLOB [SUB_TYPE BINARY / 0]` | `BYTEA` |
//!
//! Everything else (`WITH TIME ZONE`, `NCHAR`, arrays, `DECFLOAT`, `INT128`, domains)
//! is refused with `0A000`.

use rosetta_bytecode::{CompileError, DataType};
use sqlparser::ast;

use super::{unsupported, Result};
use crate::dialect::MARKER_QUOTE;
use crate::rewrite::{BLOB_BINARY, BLOB_TEXT};

/// Largest `NUMERIC`/`DECIMAL` precision of Firebird 3.
const MAX_PRECISION: u64 = 18;
/// Longest `CHAR`/`VARCHAR`, in characters.
const MAX_LENGTH: u64 = 32_765;

/// Lowers a type name of DDL or a cast.
pub(crate) fn data_type(data_type: &ast::DataType) -> Result<DataType> {
    use ast::DataType as T;
    Ok(match data_type {
        T::SmallInt(None) => DataType::SmallInt,
        T::Int(None) | T::Integer(None) => DataType::Integer,
        T::BigInt(None) => DataType::BigInt,
        T::Numeric(info) | T::Decimal(info) | T::Dec(info) => decimal(info)?,
        T::Float(info) => match info {
            ast::ExactNumberInfo::None | ast::ExactNumberInfo::Precision(1..=24) => DataType::Real,
            ast::ExactNumberInfo::Precision(25..=53) => DataType::Double,
            _ => return Err(unsupported(format!("type {data_type}"))),
        },
        T::Real => DataType::Real,
        T::DoublePrecision | T::Double(ast::ExactNumberInfo::None) => DataType::Double,
        T::Char(len) | T::Character(len) => DataType::Char(Some(match len {
            None => 1,
            Some(len) => length(len)?,
        })),
        T::Varchar(len) | T::CharacterVarying(len) | T::CharVarying(len) => match len {
            Some(len) => DataType::Varchar(Some(length(len)?)),
            None => {
                return Err(CompileError::syntax(
                    "Dynamic SQL Error: VARCHAR needs a length, as in VARCHAR(20)",
                ))
            }
        },
        T::Boolean | T::Bool => DataType::Boolean,
        T::Date => DataType::Date,
        T::Time(_, ast::TimezoneInfo::None) => DataType::Time,
        T::Timestamp(_, ast::TimezoneInfo::None) => DataType::Timestamp,
        T::Custom(name, modifiers) if modifiers.is_empty() => marker_type(name)?,
        other => return Err(unsupported(format!("type {other}"))),
    })
}

/// The BLOB types (written as marker words by the token rewrite).
fn marker_type(name: &ast::ObjectName) -> Result<DataType> {
    let marker = match name.0.as_slice() {
        [ast::ObjectNamePart::Identifier(id)] if id.quote_style == Some(MARKER_QUOTE) => {
            id.value.as_str()
        }
        _ => {
            return Err(unsupported(format!(
                "type {name} (domains are not supported)"
            )))
        }
    };
    match marker {
        BLOB_TEXT => Ok(DataType::Text),
        BLOB_BINARY => Ok(DataType::Bytea),
        other => Err(unsupported(format!("type {other}"))),
    }
}

/// `NUMERIC[(p[, s])]`; Firebird's default is `(9, 0)`.
fn decimal(info: &ast::ExactNumberInfo) -> Result<DataType> {
    let (precision, scale) = match info {
        ast::ExactNumberInfo::None => (9, 0),
        ast::ExactNumberInfo::Precision(p) => (*p, 0),
        ast::ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
    };
    if precision == 0 || precision > MAX_PRECISION {
        return Err(CompileError::syntax(format!(
            "Dynamic SQL Error: Precision must be from 1 to {MAX_PRECISION} (got {precision})"
        )));
    }
    if scale < 0 || scale as u64 > precision {
        return Err(CompileError::syntax(format!(
            "Dynamic SQL Error: Scale must be between zero and precision (got {scale})"
        )));
    }
    Ok(DataType::Numeric {
        precision: u8::try_from(precision).ok(),
        scale: u8::try_from(scale).ok(),
    })
}

/// The `n` of `CHAR(n)` / `VARCHAR(n)`.
fn length(len: &ast::CharacterLength) -> Result<u32> {
    match len {
        ast::CharacterLength::IntegerLength { length, unit: None }
            if (1..=MAX_LENGTH).contains(length) =>
        {
            u32::try_from(*length).map_err(|_| unsupported("this length"))
        }
        ast::CharacterLength::IntegerLength { length, unit: None } => Err(CompileError::syntax(
            format!("Dynamic SQL Error: length {length} is out of range 1..{MAX_LENGTH}"),
        )),
        _ => Err(unsupported("this length specification")),
    }
}
