//! SQL type names: MySQL's spellings of the types Rosetta has.
//!
//! MySQL has types Rosetta lacks; they map as follows (documented in
//! `docs/sql/mysql.md`):
//! * `TINYINT(1)` and `BOOL`/`BOOLEAN` are `BOOLEAN`; other `TINYINT`s are `SMALLINT`.
//! * `UNSIGNED` integers are *widened* to the next signed type that holds their whole
//!   range (`TINYINT UNSIGNED` → `SMALLINT`, `SMALLINT`/`MEDIUMINT`/`INT UNSIGNED` →
//!   `INTEGER`/`BIGINT`, `BIGINT UNSIGNED` → `NUMERIC(20,0)`); negative values are not
//!   refused yet.
//! * `FLOAT` is `REAL`, `DOUBLE`/`REAL` are `DOUBLE PRECISION`.
//! * `TEXT` of every size is `TEXT`; `BLOB` of every size and `VARBINARY(n)` are `BYTEA`.
//! * `DATETIME` and `TIMESTAMP` are `TIMESTAMP` (microseconds, no time zone).
//!
//! Everything else (`ENUM`, `SET`, `JSON`, `TIME`, `YEAR`, `BIT`, `BINARY(n)`,
//! `FLOAT(m,d)`, …) is refused with `0A000`.

use rosetta_bytecode::{CompileError, DataType};
use sqlparser::ast;

use super::{unsupported, Result};

/// Largest `DECIMAL` precision MySQL allows.
const MAX_DECIMAL_PRECISION: u64 = 65;

pub(crate) use rosetta_sql_lower::CastTarget;

/// The meaning of `CAST(x AS type)`: MySQL's cast targets differ from column types
/// (`CHAR` without a length is unbounded text, `SIGNED` is a 64-bit integer).
pub(crate) fn cast_target(data_type: &ast::DataType) -> Result<CastTarget> {
    use ast::DataType as T;
    Ok(CastTarget::Type(match data_type {
        T::Char(None) | T::Character(None) => DataType::Text,
        T::Signed | T::SignedInteger => DataType::BigInt,
        T::Unsigned | T::UnsignedInteger => DataType::Numeric {
            precision: Some(20),
            scale: Some(0),
        },
        other => data_type_of(other)?,
    }))
}

/// Lowers a type name of DDL or a cast.
pub(crate) fn data_type(data_type: &ast::DataType) -> Result<DataType> {
    data_type_of(data_type)
}

fn data_type_of(data_type: &ast::DataType) -> Result<DataType> {
    use ast::DataType as T;
    Ok(match data_type {
        T::TinyInt(Some(1)) | T::Bool | T::Boolean => DataType::Boolean,
        T::TinyInt(_) | T::TinyIntUnsigned(_) | T::SmallInt(_) => DataType::SmallInt,
        T::SmallIntUnsigned(_) | T::MediumInt(_) | T::MediumIntUnsigned(_) => DataType::Integer,
        T::Int(_) | T::Integer(_) => DataType::Integer,
        T::IntUnsigned(_) | T::IntegerUnsigned(_) | T::BigInt(_) => DataType::BigInt,
        T::BigIntUnsigned(_) => DataType::Numeric {
            precision: Some(20),
            scale: Some(0),
        },
        T::Numeric(info)
        | T::Decimal(info)
        | T::Dec(info)
        | T::DecimalUnsigned(info)
        | T::DecUnsigned(info) => decimal(info)?,
        T::Float(info) | T::FloatUnsigned(info) => match info {
            ast::ExactNumberInfo::None | ast::ExactNumberInfo::Precision(0..=24) => DataType::Real,
            ast::ExactNumberInfo::Precision(25..=53) => DataType::Double,
            ast::ExactNumberInfo::Precision(_) => {
                return Err(invalid("FLOAT precision must be between 0 and 53"))
            }
            ast::ExactNumberInfo::PrecisionAndScale(..) => return Err(unsupported("FLOAT(M,D)")),
        },
        T::Double(ast::ExactNumberInfo::None)
        | T::DoubleUnsigned(ast::ExactNumberInfo::None)
        | T::DoublePrecision
        | T::DoublePrecisionUnsigned
        | T::Real
        | T::RealUnsigned => DataType::Double,
        T::Text | T::TinyText | T::MediumText | T::LongText => DataType::Text,
        T::Varchar(len) | T::CharacterVarying(len) | T::CharVarying(len) => {
            DataType::Varchar(char_length(len)?)
        }
        T::Char(len) | T::Character(len) => DataType::Char(char_length(len)?),
        T::Blob(_) | T::TinyBlob | T::MediumBlob | T::LongBlob | T::Varbinary(_) => DataType::Bytea,
        T::Date => DataType::Date,
        T::Datetime(precision) | T::Timestamp(precision, ast::TimezoneInfo::None) => {
            match precision {
                None | Some(0..=6) => DataType::Timestamp,
                Some(p) => {
                    return Err(invalid(&format!(
                        "too big precision {p} specified; maximum is 6"
                    )))
                }
            }
        }
        T::Custom(name, modifiers) if modifiers.is_empty() => custom(name)?,
        other => return Err(unsupported(format!("type {other}"))),
    })
}

/// `DECIMAL[(p[, s])]`; MySQL's default is `DECIMAL(10, 0)`.
fn decimal(info: &ast::ExactNumberInfo) -> Result<DataType> {
    let (precision, scale) = match info {
        ast::ExactNumberInfo::None => (10, 0),
        ast::ExactNumberInfo::Precision(p) => (*p, 0),
        ast::ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
    };
    if precision == 0 || precision > MAX_DECIMAL_PRECISION {
        return Err(invalid(&format!(
            "too big precision {precision} specified; maximum is {MAX_DECIMAL_PRECISION}"
        )));
    }
    if scale < 0 || scale as u64 > precision {
        return Err(invalid(&format!(
            "DECIMAL scale {scale} must be between 0 and the precision {precision}"
        )));
    }
    Ok(DataType::Numeric {
        precision: u8::try_from(precision).ok(),
        scale: u8::try_from(scale).ok(),
    })
}

/// The `n` of `VARCHAR(n)` / `CHAR(n)`.
fn char_length(len: &Option<ast::CharacterLength>) -> Result<Option<u32>> {
    match len {
        None => Ok(None),
        Some(ast::CharacterLength::IntegerLength { length, unit: None }) => {
            match u32::try_from(*length) {
                Ok(n) if (1..=16_777_215).contains(&n) => Ok(Some(n)),
                _ => Err(invalid(&format!("column length {length} is out of range"))),
            }
        }
        Some(ast::CharacterLength::IntegerLength { unit: Some(_), .. }) => {
            Err(unsupported("CHARACTERS/OCTETS length units"))
        }
        Some(ast::CharacterLength::Max) => Err(unsupported("VARCHAR(MAX)")),
    }
}

/// Type names `sqlparser` leaves as plain names.
fn custom(name: &ast::ObjectName) -> Result<DataType> {
    let parts = super::object_name(name)?;
    let ty = match parts.as_slice() {
        [last] => match last.value.to_ascii_lowercase().as_str() {
            "bytea" => Some(DataType::Bytea),
            "int4" => Some(DataType::Integer),
            "int8" => Some(DataType::BigInt),
            _ => None,
        },
        _ => None,
    };
    ty.ok_or_else(|| unsupported(format!("type {name}")))
}

/// A `22023` invalid-parameter error (bad type modifiers).
fn invalid(message: &str) -> CompileError {
    CompileError {
        sqlstate: "22023".into(),
        message: message.into(),
        position: None,
    }
}
