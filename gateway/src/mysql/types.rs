//! Rosetta values ⇄ MySQL column types, for the text and the binary protocol.
//!
//! | Rosetta | MySQL column type |
//! |---|---|
//! | boolean | `TINY` (0/1, like `TINYINT(1)`) |
//! | smallint / integer / bigint | `SHORT` / `LONG` / `LONGLONG` |
//! | numeric | `NEWDECIMAL` (exact text) |
//! | real / double | `FLOAT` / `DOUBLE` |
//! | text, varchar / char | `VAR_STRING` / `STRING` |
//! | bytea | `BLOB` |
//! | date / timestamp | `DATE` / `DATETIME` |
//! | arrays | `VAR_STRING` (PostgreSQL's text form) |

use std::io;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use opensrv_mysql::{Column as MyColumn, ColumnFlags, ColumnType, RowWriter, ValueInner};
use rosetta_bytecode::DataType;
use rosetta_proto::Column;
use rosetta_types::cast::{cast, CastMode};
use rosetta_types::Value;
use tokio::io::AsyncWrite;

/// Days from 0001-01-01 (chrono's "CE" day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_CE: i32 = 719_163;

/// The MySQL column type for a Rosetta type.
pub fn column_type(t: &DataType) -> ColumnType {
    match t {
        DataType::Boolean => ColumnType::MYSQL_TYPE_TINY,
        DataType::SmallInt => ColumnType::MYSQL_TYPE_SHORT,
        DataType::Integer => ColumnType::MYSQL_TYPE_LONG,
        DataType::BigInt => ColumnType::MYSQL_TYPE_LONGLONG,
        DataType::Numeric { .. } => ColumnType::MYSQL_TYPE_NEWDECIMAL,
        DataType::Real => ColumnType::MYSQL_TYPE_FLOAT,
        DataType::Double => ColumnType::MYSQL_TYPE_DOUBLE,
        DataType::Char(_) => ColumnType::MYSQL_TYPE_STRING,
        DataType::Text | DataType::Varchar(_) | DataType::Array(_) => {
            ColumnType::MYSQL_TYPE_VAR_STRING
        }
        DataType::Bytea => ColumnType::MYSQL_TYPE_BLOB,
        DataType::Date => ColumnType::MYSQL_TYPE_DATE,
        DataType::Timestamp => ColumnType::MYSQL_TYPE_DATETIME,
        DataType::Time => ColumnType::MYSQL_TYPE_TIME,
    }
}

/// The MySQL description of a result column.
pub fn column(c: &Column) -> MyColumn {
    let mut colflags = ColumnFlags::empty();
    if matches!(c.data_type, DataType::Bytea) {
        colflags |= ColumnFlags::BINARY_FLAG | ColumnFlags::BLOB_FLAG;
    }
    MyColumn {
        table: String::new(),
        column: c.name.clone(),
        coltype: column_type(&c.data_type),
        colflags,
    }
}

/// The MySQL description of a prepared statement's parameter.
pub fn param_column(t: &DataType) -> MyColumn {
    MyColumn {
        table: String::new(),
        column: "?".into(),
        coltype: column_type(t),
        colflags: ColumnFlags::empty(),
    }
}

/// Writes one value of a column declared with type `ty` (values of another type are
/// first converted to it, so that the binary encoding always matches the declaration).
pub fn write_value<W: AsyncWrite + Unpin>(
    row: &mut RowWriter<'_, W>,
    ty: &DataType,
    value: &Value,
) -> io::Result<()> {
    let converted;
    let value = if same_kind(ty, value) {
        value
    } else {
        converted = cast(value, ty, CastMode::Explicit).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("cannot send value: {e}"),
            )
        })?;
        &converted
    };
    match value {
        Value::Null => row.write_col(None::<i64>),
        Value::Bool(b) => row.write_col(i8::from(*b)),
        Value::Int16(i) => row.write_col(*i),
        Value::Int32(i) => row.write_col(*i),
        Value::Int64(i) => row.write_col(*i),
        Value::Float32(f) => row.write_col(*f),
        Value::Float64(f) => row.write_col(*f),
        Value::Numeric(d) => row.write_col(d.to_string()),
        Value::Text(s) => row.write_col(s.as_str()),
        Value::Bytes(b) => row.write_col(b.as_slice()),
        Value::Date(days) => row.write_col(date(*days)?),
        Value::Timestamp(us) => row.write_col(timestamp(*us)?),
        Value::Array(_) => row.write_col(rosetta_types::text::to_text(value).unwrap_or_default()),
    }
}

/// True when `value` already has the Rust shape the column type `ty` is encoded from.
fn same_kind(ty: &DataType, value: &Value) -> bool {
    matches!(
        (ty, value),
        (_, Value::Null)
            | (DataType::Boolean, Value::Bool(_))
            | (DataType::SmallInt, Value::Int16(_))
            | (DataType::Integer, Value::Int32(_))
            | (DataType::BigInt, Value::Int64(_))
            | (DataType::Numeric { .. }, Value::Numeric(_))
            | (DataType::Real, Value::Float32(_))
            | (DataType::Double, Value::Float64(_))
            | (
                DataType::Text | DataType::Varchar(_) | DataType::Char(_),
                Value::Text(_)
            )
            | (DataType::Bytea, Value::Bytes(_))
            | (DataType::Date, Value::Date(_))
            | (DataType::Timestamp, Value::Timestamp(_))
            | (DataType::Array(_), Value::Array(_))
    )
}

fn out_of_range() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "date out of MySQL's range")
}

/// A Rosetta date (days since 1970-01-01) as a chrono date.
pub fn date(days: i32) -> io::Result<NaiveDate> {
    days.checked_add(UNIX_EPOCH_DAYS_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(out_of_range)
}

/// A Rosetta timestamp (µs since 1970-01-01 00:00:00) as a chrono date-time.
pub fn timestamp(us: i64) -> io::Result<NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.naive_utc())
        .ok_or_else(out_of_range)
}

/// Why a bound parameter could not be turned into a value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ParamError(pub String);

/// A parameter of COM_STMT_EXECUTE as a Rosetta value of the type the engine inferred
/// for it (`None`: leave it as sent).
pub fn param_value(v: ValueInner<'_>, ty: Option<&DataType>) -> Result<Value, ParamError> {
    let raw = match v {
        ValueInner::NULL => return Ok(Value::Null),
        ValueInner::Int(i) => Value::Int64(i),
        ValueInner::UInt(u) => match i64::try_from(u) {
            Ok(i) => Value::Int64(i),
            Err(_) => Value::Numeric(u.into()),
        },
        ValueInner::Double(f) => Value::Float64(f),
        ValueInner::Bytes(b) => match (ty, std::str::from_utf8(b)) {
            (Some(DataType::Bytea), _) | (_, Err(_)) => Value::Bytes(b.to_vec()),
            (_, Ok(s)) => Value::Text(s.to_string()),
        },
        ValueInner::Date(b) | ValueInner::Datetime(b) => binary_datetime(b)?,
        ValueInner::Time(_) => {
            return Err(ParamError("TIME parameters are not supported".into()));
        }
    };
    match ty {
        None => Ok(raw),
        Some(t) if same_kind(t, &raw) => Ok(raw),
        Some(t) => cast(&raw, t, CastMode::Explicit).map_err(|e| ParamError(e.to_string())),
    }
}

/// Decodes MySQL's binary DATE/DATETIME/TIMESTAMP (0, 4, 7 or 11 bytes).
fn binary_datetime(b: &[u8]) -> Result<Value, ParamError> {
    let bad = || ParamError("invalid binary date/time parameter".into());
    if b.is_empty() {
        return Err(ParamError(
            "zero dates (0000-00-00) are not supported".into(),
        ));
    }
    if !matches!(b.len(), 4 | 7 | 11) {
        return Err(bad());
    }
    let year = i32::from(u16::from_le_bytes([b[0], b[1]]));
    let day = NaiveDate::from_ymd_opt(year, u32::from(b[2]), u32::from(b[3])).ok_or_else(bad)?;
    let (h, m, s) = match b.len() {
        4 => {
            let days = day.signed_duration_since(NaiveDate::default()).num_days();
            // Dates stay dates when the client bound a DATE.
            return i32::try_from(days).map(Value::Date).map_err(|_| bad());
        }
        _ => (u32::from(b[4]), u32::from(b[5]), u32::from(b[6])),
    };
    let micros = if b.len() == 11 {
        u32::from_le_bytes([b[7], b[8], b[9], b[10]])
    } else {
        0
    };
    let time = NaiveTime::from_hms_micro_opt(h, m, s, micros).ok_or_else(bad)?;
    Ok(Value::Timestamp(
        day.and_time(time).and_utc().timestamp_micros(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        assert_eq!(date(0).unwrap().to_string(), "1970-01-01");
        assert_eq!(
            timestamp(1_000_000).unwrap().to_string(),
            "1970-01-01 00:00:01"
        );
    }

    #[test]
    fn binary_datetimes_decode() {
        let v = binary_datetime(&[0xe8, 0x07, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(v, Value::Timestamp(1_704_164_645_000_000));
        assert_eq!(
            binary_datetime(&[0xb2, 0x07, 1, 1]).unwrap(),
            Value::Date(0)
        );
        assert!(binary_datetime(&[]).is_err());
    }

    #[test]
    fn params_take_the_inferred_type() {
        let v = param_value(
            ValueInner::Bytes(b"1.50"),
            Some(&DataType::Numeric {
                precision: None,
                scale: None,
            }),
        )
        .unwrap();
        assert_eq!(rosetta_types::text::to_text(&v).unwrap(), "1.50");
        let v = param_value(ValueInner::Int(7), Some(&DataType::Integer)).unwrap();
        assert_eq!(v, Value::Int32(7));
    }
}
