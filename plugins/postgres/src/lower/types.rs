//! SQL type names: PostgreSQL's spellings of the types Rosetta has, and the catalog
//! types (`regclass`, `oid`, `name`, …) that only appear as cast targets.

use rosetta_bytecode::{CompileError, DataType};
use sqlparser::ast;

use super::{unsupported, Result};

/// Largest `NUMERIC` precision the bytecode can carry.
const MAX_NUMERIC_PRECISION: u64 = u8::MAX as u64;

pub(crate) use rosetta_sql_lower::CastTarget;

/// Catalog "object identifier" types whose casts are lookups by name.
const REG_TYPES: &[&str] = &["regclass", "regtype", "regproc", "regnamespace", "regrole"];

/// The meaning of a cast to `data_type`.
pub(crate) fn cast_target(data_type: &ast::DataType) -> Result<CastTarget> {
    match data_type {
        ast::DataType::Array(ast::ArrayElemTypeDef::SquareBracket(element, None)) => {
            match cast_target(element)? {
                CastTarget::Type(t) => t
                    .array_of()
                    .map(CastTarget::Type)
                    .ok_or_else(|| unsupported("multidimensional arrays")),
                CastTarget::Function(f) => Err(unsupported(format!("type {f}[]"))),
            }
        }
        ast::DataType::Array(_) => Err(unsupported(format!("type {data_type}"))),
        ast::DataType::Regclass => Ok(CastTarget::Function("regclass")),
        ast::DataType::Custom(name, modifiers) if modifiers.is_empty() => {
            let Some((quoted, last)) = custom_name(name) else {
                return data_type_of(data_type).map(CastTarget::Type);
            };
            if quoted && last == "char" {
                // PostgreSQL's one-byte "char" (as in pg_class.relkind): text here.
                return Ok(CastTarget::Type(DataType::Text));
            }
            if let Some(reg) = REG_TYPES.iter().find(|r| **r == last) {
                return Ok(CastTarget::Function(reg));
            }
            match last.as_str() {
                "oid" => Ok(CastTarget::Type(DataType::BigInt)),
                "name" => Ok(CastTarget::Type(DataType::Text)),
                _ => data_type_of(data_type).map(CastTarget::Type),
            }
        }
        other => data_type_of(other).map(CastTarget::Type),
    }
}

/// Lowers a type name of DDL, `PREPARE` or a cast.
pub(crate) fn data_type(data_type: &ast::DataType) -> Result<DataType> {
    data_type_of(data_type)
}

fn data_type_of(data_type: &ast::DataType) -> Result<DataType> {
    use ast::DataType as T;
    Ok(match data_type {
        T::SmallInt(None) | T::Int2(None) => DataType::SmallInt,
        T::Int(None) | T::Integer(None) | T::Int4(None) => DataType::Integer,
        T::BigInt(None) | T::Int8(None) => DataType::BigInt,
        T::Numeric(info) | T::Decimal(info) | T::Dec(info) => numeric(info)?,
        T::Real | T::Float4 => DataType::Real,
        T::DoublePrecision | T::Float8 | T::Double(ast::ExactNumberInfo::None) => DataType::Double,
        T::Float(info) => match info {
            ast::ExactNumberInfo::None => DataType::Double,
            ast::ExactNumberInfo::Precision(1..=24) => DataType::Real,
            ast::ExactNumberInfo::Precision(25..=53) => DataType::Double,
            _ => {
                return Err(invalid(
                    "precision for type float must be between 1 and 53 bits",
                ))
            }
        },
        T::Bool | T::Boolean => DataType::Boolean,
        T::Text => DataType::Text,
        T::Varchar(len) | T::CharacterVarying(len) | T::CharVarying(len) => {
            DataType::Varchar(char_length(len)?)
        }
        T::Char(len) | T::Character(len) => DataType::Char(char_length(len)?),
        T::Date => DataType::Date,
        T::Timestamp(precision, tz) => {
            match tz {
                ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone => {}
                ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz => {
                    return Err(unsupported("TIMESTAMP WITH TIME ZONE"))
                }
            }
            match precision {
                None | Some(6) => DataType::Timestamp,
                Some(p) => return Err(unsupported(format!("TIMESTAMP({p})"))),
            }
        }
        T::Time(precision, tz) => {
            match tz {
                ast::TimezoneInfo::None | ast::TimezoneInfo::WithoutTimeZone => {}
                ast::TimezoneInfo::WithTimeZone | ast::TimezoneInfo::Tz => {
                    return Err(unsupported("TIME WITH TIME ZONE"))
                }
            }
            match precision {
                None | Some(6) => DataType::Time,
                Some(p) => return Err(unsupported(format!("TIME({p})"))),
            }
        }
        T::Bytea => DataType::Bytea,
        T::Custom(name, modifiers) => custom(name, modifiers)?,
        other => return Err(unsupported(format!("type {other}"))),
    })
}

/// `NUMERIC[(p[, s])]`.
fn numeric(info: &ast::ExactNumberInfo) -> Result<DataType> {
    let (precision, scale) = match info {
        ast::ExactNumberInfo::None => {
            return Ok(DataType::Numeric {
                precision: None,
                scale: None,
            })
        }
        ast::ExactNumberInfo::Precision(p) => (*p, 0),
        ast::ExactNumberInfo::PrecisionAndScale(p, s) => (*p, *s),
    };
    if precision == 0 || precision > 1000 {
        return Err(invalid(&format!(
            "NUMERIC precision {precision} must be between 1 and 1000"
        )));
    }
    if precision > MAX_NUMERIC_PRECISION {
        return Err(unsupported(format!("NUMERIC precision {precision}")));
    }
    if scale < 0 || scale as u64 > precision {
        return Err(unsupported(format!(
            "NUMERIC scale {scale} outside 0..=precision"
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
                Ok(n) if (1..=10_485_760).contains(&n) => Ok(Some(n)),
                _ => Err(invalid(&format!(
                    "length for type varchar must be between 1 and 10485760 (got {length})"
                ))),
            }
        }
        Some(ast::CharacterLength::IntegerLength { unit: Some(_), .. }) => {
            Err(unsupported("CHARACTERS/OCTETS length units"))
        }
        Some(ast::CharacterLength::Max) => Err(unsupported("VARCHAR(MAX)")),
    }
}

/// Types `sqlparser` leaves as names: PostgreSQL's internal spellings (`int4`, `bpchar`,
/// `pg_catalog.text`, …).
fn custom(name: &ast::ObjectName, modifiers: &[ast::TypeModifier]) -> Result<DataType> {
    let Some((quoted, last)) = custom_name(name) else {
        return Err(unsupported(format!("type {name}")));
    };
    let ty = match (last.as_str(), modifiers) {
        (_, _) if quoted && last != last.to_ascii_lowercase() => None,
        ("int2" | "smallint", []) => Some(DataType::SmallInt),
        ("int4" | "int" | "integer", []) => Some(DataType::Integer),
        ("int8" | "bigint", []) => Some(DataType::BigInt),
        ("float4" | "real", []) => Some(DataType::Real),
        ("float8", []) => Some(DataType::Double),
        ("bool" | "boolean", []) => Some(DataType::Boolean),
        ("text", []) => Some(DataType::Text),
        ("bytea", []) => Some(DataType::Bytea),
        ("date", []) => Some(DataType::Date),
        ("timestamp", []) => Some(DataType::Timestamp),
        ("time", []) => Some(DataType::Time),
        ("numeric" | "decimal", []) => Some(DataType::Numeric {
            precision: None,
            scale: None,
        }),
        ("varchar", []) => Some(DataType::Varchar(None)),
        ("bpchar", []) => Some(DataType::Char(None)),
        _ => None,
    };
    ty.ok_or_else(|| unsupported(format!("type {name}")))
}

/// The last part of a type name (after an optional `pg_catalog.`), folded, and whether
/// it was quoted.
fn custom_name(name: &ast::ObjectName) -> Option<(bool, String)> {
    let parts = super::object_name(name).ok()?;
    let last = match parts.as_slice() {
        [last] => last,
        [schema, last] if schema.value == "pg_catalog" => last,
        _ => return None,
    };
    Some((last.quoted, last.value.clone()))
}

/// A `22023` invalid-parameter error (bad type modifiers).
fn invalid(message: &str) -> CompileError {
    CompileError {
        sqlstate: "22023".into(),
        message: message.into(),
        position: None,
    }
}
