//! The runtime value.

use rosetta_bytecode::DataType;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// One SQL value. Integers keep their width so that results describe themselves with the
/// right type on every protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Null,
    Bool(bool),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Numeric(Decimal),
    Text(String),
    Bytes(#[serde(with = "serde_bytes")] Vec<u8>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01 00:00:00 (no time zone).
    Timestamp(i64),
    /// A one-dimensional array, lower bound 1; elements are scalar values or NULL (see
    /// [`crate::array`]).
    Array(Vec<Value>),
    /// Time of day: microseconds since midnight, `0 ≤ t < 86_400_000_000`. Last, so that
    /// the encodings of the older variants do not move.
    Time(i64),
}

impl Value {
    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The natural type of this value (`None` for NULL, whose type comes from context).
    pub fn data_type(&self) -> Option<DataType> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(_) => DataType::Boolean,
            Value::Int16(_) => DataType::SmallInt,
            Value::Int32(_) => DataType::Integer,
            Value::Int64(_) => DataType::BigInt,
            Value::Float32(_) => DataType::Real,
            Value::Float64(_) => DataType::Double,
            Value::Numeric(_) => DataType::Numeric {
                precision: None,
                scale: None,
            },
            Value::Text(_) => DataType::Text,
            Value::Bytes(_) => DataType::Bytea,
            Value::Date(_) => DataType::Date,
            Value::Timestamp(_) => DataType::Timestamp,
            Value::Time(_) => DataType::Time,
            Value::Array(items) => DataType::Array(
                items
                    .iter()
                    .find_map(|v| v.data_type())
                    .and_then(rosetta_bytecode::ElementType::of)
                    .unwrap_or(rosetta_bytecode::ElementType::Text),
            ),
        })
    }

    /// SQL truth value: `Some(b)` for booleans, `None` for NULL (unknown).
    pub fn truth(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value as an i64 if it is an integer of any width.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int16(v) => Some(*v as i64),
            Value::Int32(v) => Some(*v as i64),
            Value::Int64(v) => Some(*v),
            _ => None,
        }
    }
}
