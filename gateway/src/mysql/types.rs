//! Rosetta values ⇄ MySQL column types, for the text and the binary protocol.
//!
//! | Rosetta | MySQL column type | charset |
//! |---|---|---|
//! | boolean | `TINY` (0/1, like `TINYINT(1)`) | binary (63) |
//! | smallint / integer / bigint | `SHORT` / `LONG` / `LONGLONG` | binary |
//! | numeric | `NEWDECIMAL` (exact text) | binary |
//! | real / double | `FLOAT` / `DOUBLE` | binary |
//! | text, varchar / char | `VAR_STRING` / `STRING` | utf8mb4 (45) |
//! | bytea | `BLOB` with the binary flag | binary |
//! | date / timestamp / time | `DATE` / `DATETIME` / `TIME` | binary |
//! | arrays | `VAR_STRING` (PostgreSQL's text form) | utf8mb4 |
//!
//! Charset 63 on binary columns is what tells drivers (PyMySQL, Connector/J) to hand
//! out bytes rather than decode text.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rosetta_bytecode::DataType;
use rosetta_proto::Column;
use rosetta_types::cast::{cast, CastMode};
use rosetta_types::Value;

use super::handshake::UTF8MB4_GENERAL_CI;
use super::wire::{put_lenenc_bytes, Cursor, WireError};

/// MySQL column type codes (`enum_field_types`).
#[allow(missing_docs)]
pub mod code {
    pub const DECIMAL: u8 = 0x00;
    pub const TINY: u8 = 0x01;
    pub const SHORT: u8 = 0x02;
    pub const LONG: u8 = 0x03;
    pub const FLOAT: u8 = 0x04;
    pub const DOUBLE: u8 = 0x05;
    pub const NULL: u8 = 0x06;
    pub const TIMESTAMP: u8 = 0x07;
    pub const LONGLONG: u8 = 0x08;
    pub const INT24: u8 = 0x09;
    pub const DATE: u8 = 0x0a;
    pub const TIME: u8 = 0x0b;
    pub const DATETIME: u8 = 0x0c;
    pub const YEAR: u8 = 0x0d;
    pub const VARCHAR: u8 = 0x0f;
    pub const BIT: u8 = 0x10;
    pub const JSON: u8 = 0xf5;
    pub const NEWDECIMAL: u8 = 0xf6;
    pub const ENUM: u8 = 0xf7;
    pub const SET: u8 = 0xf8;
    pub const TINY_BLOB: u8 = 0xf9;
    pub const MEDIUM_BLOB: u8 = 0xfa;
    pub const LONG_BLOB: u8 = 0xfb;
    pub const BLOB: u8 = 0xfc;
    pub const VAR_STRING: u8 = 0xfd;
    pub const STRING: u8 = 0xfe;
    pub const GEOMETRY: u8 = 0xff;
}

/// Column flags (`NOT_NULL_FLAG` …) used in column definitions.
pub mod flag {
    /// The column is binary data.
    pub const BLOB: u16 = 16;
    /// Unsigned integer.
    pub const UNSIGNED: u16 = 32;
    /// Binary collation.
    pub const BINARY: u16 = 128;
    /// A numeric column.
    pub const NUM: u16 = 32768;
}

/// The `binary` character set.
pub const BINARY_CHARSET: u16 = 63;

/// Days from 0001-01-01 (chrono's "CE" day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS_CE: i32 = 719_163;

/// The MySQL column type for a Rosetta type.
pub fn column_type(t: &DataType) -> u8 {
    match t {
        DataType::Boolean => code::TINY,
        DataType::SmallInt => code::SHORT,
        DataType::Integer => code::LONG,
        DataType::BigInt => code::LONGLONG,
        DataType::Numeric { .. } => code::NEWDECIMAL,
        DataType::Real => code::FLOAT,
        DataType::Double => code::DOUBLE,
        DataType::Char(_) => code::STRING,
        DataType::Text | DataType::Varchar(_) | DataType::Array(_) => code::VAR_STRING,
        DataType::Bytea => code::BLOB,
        DataType::Date => code::DATE,
        DataType::Timestamp => code::DATETIME,
        DataType::Time => code::TIME,
    }
}

/// What a column definition packet says about one column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    /// Column (or alias) name.
    pub name: String,
    /// MySQL type code.
    pub coltype: u8,
    /// Column flags.
    pub flags: u16,
    /// Character set number.
    pub charset: u16,
    /// Maximum display length.
    pub length: u32,
    /// Digits after the point (31 = not fixed, for floats).
    pub decimals: u8,
}

/// The MySQL description of a Rosetta type under `name`.
pub fn column_def(name: &str, t: &DataType) -> ColumnDef {
    let text = |chars: u32| (UTF8MB4_GENERAL_CI.into(), chars.saturating_mul(4), 0);
    let (charset, length, decimals): (u16, u32, u8) = match t {
        DataType::Boolean => (BINARY_CHARSET, 1, 0),
        DataType::SmallInt => (BINARY_CHARSET, 6, 0),
        DataType::Integer => (BINARY_CHARSET, 11, 0),
        DataType::BigInt => (BINARY_CHARSET, 20, 0),
        DataType::Numeric { precision, scale } => {
            let p = u32::from(precision.unwrap_or(65));
            let s = scale.unwrap_or(30).clamp(0, 30);
            (BINARY_CHARSET, p + 2, s)
        }
        DataType::Real => (BINARY_CHARSET, 12, 31),
        DataType::Double => (BINARY_CHARSET, 22, 31),
        DataType::Char(Some(n)) | DataType::Varchar(Some(n)) => text(*n),
        DataType::Char(None) => text(1),
        DataType::Varchar(None) | DataType::Text | DataType::Array(_) => text(65_535),
        DataType::Bytea => (BINARY_CHARSET, 65_535, 0),
        DataType::Date => (BINARY_CHARSET, 10, 0),
        DataType::Timestamp => (BINARY_CHARSET, 26, 6),
        DataType::Time => (BINARY_CHARSET, 17, 6),
    };
    let mut flags = 0;
    if matches!(t, DataType::Bytea) {
        flags |= flag::BINARY | flag::BLOB;
    }
    if matches!(
        t,
        DataType::Boolean
            | DataType::SmallInt
            | DataType::Integer
            | DataType::BigInt
            | DataType::Numeric { .. }
            | DataType::Real
            | DataType::Double
    ) {
        flags |= flag::NUM;
    }
    if matches!(t, DataType::Date | DataType::Timestamp | DataType::Time) {
        flags |= flag::BINARY;
    }
    ColumnDef {
        name: name.to_string(),
        coltype: column_type(t),
        flags,
        charset,
        length,
        decimals,
    }
}

/// The column definition for a result column.
pub fn column(c: &Column) -> ColumnDef {
    column_def(&c.name, &c.data_type)
}

/// Encodes a column definition (Protocol::ColumnDefinition41). `field_list` adds the
/// default-value field COM_FIELD_LIST answers carry.
pub fn encode_column(def: &ColumnDef, schema: &str, table: &str, field_list: bool) -> Vec<u8> {
    let mut p = Vec::with_capacity(64 + def.name.len());
    put_lenenc_bytes(&mut p, b"def");
    put_lenenc_bytes(&mut p, schema.as_bytes());
    put_lenenc_bytes(&mut p, table.as_bytes());
    put_lenenc_bytes(&mut p, table.as_bytes());
    put_lenenc_bytes(&mut p, def.name.as_bytes());
    put_lenenc_bytes(&mut p, def.name.as_bytes());
    p.push(0x0c);
    p.extend_from_slice(&def.charset.to_le_bytes());
    p.extend_from_slice(&def.length.to_le_bytes());
    p.push(def.coltype);
    p.extend_from_slice(&def.flags.to_le_bytes());
    p.push(def.decimals);
    p.extend_from_slice(&[0, 0]);
    if field_list {
        p.push(0xfb);
    }
    p
}

/// Why a value could not be sent or a parameter not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The value cannot be represented in MySQL's encoding of its type.
    #[error("cannot send value: {0}")]
    Unsendable(String),
    /// A parameter of COM_STMT_EXECUTE is malformed or cannot take the needed type.
    #[error("{0}")]
    Param(String),
    /// The packet itself is malformed.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// `value` converted to the column type `ty`, so that its encoding matches the
/// column definition.
fn conform<'v>(
    ty: &DataType,
    value: &'v Value,
    scratch: &'v mut Option<Value>,
) -> Result<&'v Value, ValueError> {
    if same_kind(ty, value) {
        return Ok(value);
    }
    let v =
        cast(value, ty, CastMode::Explicit).map_err(|e| ValueError::Unsendable(e.to_string()))?;
    Ok(scratch.insert(v))
}

/// True when `value` already has the shape the column type `ty` is encoded from.
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
            | (DataType::Time, Value::Time(_))
            | (DataType::Array(_), Value::Array(_))
    )
}

/// A Rosetta date (days since 1970-01-01) as a chrono date.
pub fn date(days: i32) -> Result<NaiveDate, ValueError> {
    days.checked_add(UNIX_EPOCH_DAYS_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| ValueError::Unsendable("date out of MySQL's range".into()))
}

/// A Rosetta timestamp (µs since 1970-01-01 00:00:00) as a chrono date-time.
pub fn timestamp(us: i64) -> Result<NaiveDateTime, ValueError> {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|d| d.naive_utc())
        .ok_or_else(|| ValueError::Unsendable("timestamp out of MySQL's range".into()))
}

/// The text form MySQL uses for a value (NULL → `None`).
pub fn text_value(ty: &DataType, value: &Value) -> Result<Option<Vec<u8>>, ValueError> {
    let mut scratch = None;
    let value = conform(ty, value, &mut scratch)?;
    Ok(Some(match value {
        Value::Null => return Ok(None),
        Value::Bool(b) => {
            if *b {
                b"1".to_vec()
            } else {
                b"0".to_vec()
            }
        }
        Value::Int16(i) => i.to_string().into_bytes(),
        Value::Int32(i) => i.to_string().into_bytes(),
        Value::Int64(i) => i.to_string().into_bytes(),
        Value::Float32(f) => f.to_string().into_bytes(),
        Value::Float64(f) => f.to_string().into_bytes(),
        Value::Numeric(d) => d.to_string().into_bytes(),
        Value::Text(s) => s.as_bytes().to_vec(),
        Value::Bytes(b) => b.clone(),
        Value::Date(d) => date(*d)?.format("%Y-%m-%d").to_string().into_bytes(),
        Value::Timestamp(us) => {
            let t = timestamp(*us)?;
            if t.nanosecond() == 0 {
                t.format("%Y-%m-%d %H:%M:%S").to_string().into_bytes()
            } else {
                t.format("%Y-%m-%d %H:%M:%S%.6f").to_string().into_bytes()
            }
        }
        Value::Time(_) | Value::Array(_) => rosetta_types::text::to_text(value)
            .unwrap_or_default()
            .into_bytes(),
    }))
}

/// Appends a text-protocol row.
pub fn encode_text_row(
    out: &mut Vec<u8>,
    columns: &[Column],
    row: &[Value],
) -> Result<(), ValueError> {
    for (value, column) in row.iter().zip(columns) {
        match text_value(&column.data_type, value)? {
            None => out.push(0xfb),
            Some(b) => put_lenenc_bytes(out, &b),
        }
    }
    Ok(())
}

/// Appends a binary-protocol row (ProtocolBinary::ResultsetRow).
pub fn encode_binary_row(
    out: &mut Vec<u8>,
    columns: &[Column],
    row: &[Value],
) -> Result<(), ValueError> {
    out.push(0);
    let bitmap_at = out.len();
    let bitmap_len = (columns.len() + 7 + 2) / 8;
    out.resize(bitmap_at + bitmap_len, 0);
    for (i, (value, column)) in row.iter().zip(columns).enumerate() {
        let mut scratch = None;
        let value = conform(&column.data_type, value, &mut scratch)?;
        match value {
            Value::Null => {
                let bit = i + 2;
                if let Some(b) = out.get_mut(bitmap_at + bit / 8) {
                    *b |= 1 << (bit % 8);
                }
            }
            Value::Bool(b) => out.push(u8::from(*b)),
            Value::Int16(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::Int32(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::Int64(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::Float32(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::Float64(v) => out.extend_from_slice(&v.to_le_bytes()),
            Value::Date(d) => {
                let d = date(*d)?;
                out.push(4);
                put_ymd(out, &d)?;
            }
            Value::Timestamp(us) => {
                let t = timestamp(*us)?;
                let micros = t.nanosecond() / 1000;
                out.push(if micros == 0 { 7 } else { 11 });
                put_ymd(out, &t.date())?;
                out.extend_from_slice(&[t.hour() as u8, t.minute() as u8, t.second() as u8]);
                if micros != 0 {
                    out.extend_from_slice(&micros.to_le_bytes());
                }
            }
            Value::Time(us) => {
                let us = (*us).clamp(0, 86_400_000_000 - 1);
                let secs = us / 1_000_000;
                let micros = (us % 1_000_000) as u32;
                out.push(if micros == 0 { 8 } else { 12 });
                out.push(0); // not negative
                out.extend_from_slice(&0u32.to_le_bytes()); // days
                out.extend_from_slice(&[
                    (secs / 3600) as u8,
                    (secs / 60 % 60) as u8,
                    (secs % 60) as u8,
                ]);
                if micros != 0 {
                    out.extend_from_slice(&micros.to_le_bytes());
                }
            }
            other => match text_value(&column.data_type, other)? {
                Some(b) => put_lenenc_bytes(out, &b),
                None => out.push(0xfb),
            },
        }
    }
    Ok(())
}

fn put_ymd(out: &mut Vec<u8>, d: &NaiveDate) -> Result<(), ValueError> {
    let year = u16::try_from(d.year())
        .map_err(|_| ValueError::Unsendable("year out of MySQL's range".into()))?;
    out.extend_from_slice(&year.to_le_bytes());
    out.extend_from_slice(&[d.month() as u8, d.day() as u8]);
    Ok(())
}

/// One COM_STMT_EXECUTE parameter as sent, before conversion to the inferred type.
#[derive(Debug, Clone, PartialEq)]
pub enum RawParam<'a> {
    /// SQL NULL.
    Null,
    /// A signed integer type.
    Int(i64),
    /// An integer type with the unsigned flag.
    UInt(u64),
    /// FLOAT or DOUBLE.
    Double(f64),
    /// Strings, decimals, blobs (and long data).
    Bytes(&'a [u8]),
    /// DATE / DATETIME / TIMESTAMP in binary form (0, 4, 7 or 11 bytes).
    DateTime(&'a [u8]),
    /// TIME in binary form (0, 8 or 12 bytes).
    Time(&'a [u8]),
}

/// Reads one binary parameter value of MySQL type `ty` (with `unsigned`).
pub fn read_param<'a>(
    c: &mut Cursor<'a>,
    ty: u8,
    unsigned: bool,
) -> Result<RawParam<'a>, ValueError> {
    let int = |v: i64, u: u64| {
        if unsigned {
            RawParam::UInt(u)
        } else {
            RawParam::Int(v)
        }
    };
    Ok(match ty {
        code::NULL => RawParam::Null,
        code::TINY => {
            let b = c.u8("TINY parameter")?;
            int(i64::from(b as i8), u64::from(b))
        }
        code::SHORT | code::YEAR => {
            let v = c.u16("SHORT parameter")?;
            int(i64::from(v as i16), u64::from(v))
        }
        code::LONG | code::INT24 => {
            let v = c.u32("LONG parameter")?;
            int(i64::from(v as i32), u64::from(v))
        }
        code::LONGLONG => {
            let v = c.u64("LONGLONG parameter")?;
            int(v as i64, v)
        }
        code::FLOAT => {
            let v = c.u32("FLOAT parameter")?;
            RawParam::Double(f64::from(f32::from_bits(v)))
        }
        code::DOUBLE => RawParam::Double(f64::from_bits(c.u64("DOUBLE parameter")?)),
        code::DATE | code::DATETIME | code::TIMESTAMP => {
            let n = c.u8("date length")?;
            RawParam::DateTime(c.take(usize::from(n), "date parameter")?)
        }
        code::TIME => {
            let n = c.u8("time length")?;
            RawParam::Time(c.take(usize::from(n), "time parameter")?)
        }
        code::DECIMAL
        | code::NEWDECIMAL
        | code::VARCHAR
        | code::VAR_STRING
        | code::STRING
        | code::BLOB
        | code::TINY_BLOB
        | code::MEDIUM_BLOB
        | code::LONG_BLOB
        | code::JSON
        | code::ENUM
        | code::SET
        | code::BIT
        | code::GEOMETRY => RawParam::Bytes(c.lenenc_bytes("string parameter")?),
        other => {
            return Err(ValueError::Param(format!(
                "unknown parameter type 0x{other:02x}"
            )))
        }
    })
}

/// A parameter as a Rosetta value of the type the engine inferred (`None`: as sent).
pub fn param_value(raw: RawParam<'_>, ty: Option<&DataType>) -> Result<Value, ValueError> {
    let value = match raw {
        RawParam::Null => return Ok(Value::Null),
        RawParam::Int(i) => Value::Int64(i),
        RawParam::UInt(u) => match i64::try_from(u) {
            Ok(i) => Value::Int64(i),
            Err(_) => Value::Numeric(u.into()),
        },
        RawParam::Double(f) => Value::Float64(f),
        RawParam::Bytes(b) => match (ty, std::str::from_utf8(b)) {
            (Some(DataType::Bytea), _) | (_, Err(_)) => Value::Bytes(b.to_vec()),
            (_, Ok(s)) => Value::Text(s.to_string()),
        },
        RawParam::DateTime(b) => binary_datetime(b)?,
        RawParam::Time(b) => binary_time(b)?,
    };
    match ty {
        None => Ok(value),
        Some(t) if same_kind(t, &value) => Ok(value),
        Some(t) => {
            cast(&value, t, CastMode::Explicit).map_err(|e| ValueError::Param(e.to_string()))
        }
    }
}

/// Decodes MySQL's binary DATE/DATETIME/TIMESTAMP (0, 4, 7 or 11 bytes).
fn binary_datetime(b: &[u8]) -> Result<Value, ValueError> {
    let bad = || ValueError::Param("invalid binary date/time parameter".into());
    if b.is_empty() {
        return Err(ValueError::Param(
            "zero dates (0000-00-00) are not supported".into(),
        ));
    }
    let mut c = Cursor::new(b);
    let year = i32::from(c.u16("year")?);
    let month = u32::from(c.u8("month")?);
    let day = u32::from(c.u8("day")?);
    let day = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(bad)?;
    if b.len() == 4 {
        let days = day.signed_duration_since(NaiveDate::default()).num_days();
        // Dates stay dates when the client bound a DATE.
        return i32::try_from(days).map(Value::Date).map_err(|_| bad());
    }
    if !matches!(b.len(), 7 | 11) {
        return Err(bad());
    }
    let (h, m, s) = (c.u8("hour")?, c.u8("minute")?, c.u8("second")?);
    let micros = if b.len() == 11 { c.u32("micros")? } else { 0 };
    let time =
        NaiveTime::from_hms_micro_opt(h.into(), m.into(), s.into(), micros).ok_or_else(bad)?;
    Ok(Value::Timestamp(
        day.and_time(time).and_utc().timestamp_micros(),
    ))
}

/// Decodes MySQL's binary TIME (0, 8 or 12 bytes) as a time of day.
fn binary_time(b: &[u8]) -> Result<Value, ValueError> {
    let bad = || ValueError::Param("TIME parameter out of range (a time of day is needed)".into());
    if b.is_empty() {
        return Ok(Value::Time(0));
    }
    if !matches!(b.len(), 8 | 12) {
        return Err(bad());
    }
    let mut c = Cursor::new(b);
    let negative = c.u8("sign")? != 0;
    let days = c.u32("days")?;
    let (h, m, s) = (c.u8("hour")?, c.u8("minute")?, c.u8("second")?);
    let micros = if b.len() == 12 { c.u32("micros")? } else { 0 };
    if negative || days != 0 || h > 23 || m > 59 || s > 59 || micros > 999_999 {
        return Err(bad());
    }
    let secs = i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s);
    Ok(Value::Time(secs * 1_000_000 + i64::from(micros)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn col(t: DataType) -> Column {
        Column {
            name: "c".into(),
            data_type: t,
            table_id: 0,
            column_number: 0,
        }
    }

    #[test]
    fn dates_round_trip() {
        assert_eq!(date(0).unwrap().to_string(), "1970-01-01");
        assert_eq!(
            text_value(&DataType::Timestamp, &Value::Timestamp(1_000_000)).unwrap(),
            Some(b"1970-01-01 00:00:01".to_vec())
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
        assert!(binary_datetime(&[0xb2, 0x07, 13, 1]).is_err());
        assert!(binary_datetime(&[0xb2, 0x07]).is_err());
        assert_eq!(
            binary_time(&[0, 0, 0, 0, 0, 1, 2, 3]).unwrap(),
            Value::Time(3_723_000_000)
        );
    }

    #[test]
    fn params_take_the_inferred_type() {
        let v = param_value(
            RawParam::Bytes(b"1.50"),
            Some(&DataType::Numeric {
                precision: None,
                scale: None,
            }),
        )
        .unwrap();
        assert_eq!(rosetta_types::text::to_text(&v).unwrap(), "1.50");
        let v = param_value(RawParam::Int(7), Some(&DataType::Integer)).unwrap();
        assert_eq!(v, Value::Int32(7));
    }

    #[test]
    fn binary_rows_mark_nulls() {
        let cols = vec![col(DataType::Integer), col(DataType::Text)];
        let mut out = Vec::new();
        encode_binary_row(&mut out, &cols, &[Value::Null, Value::Text("x".into())]).unwrap();
        assert_eq!(out, vec![0, 0b100, 1, b'x']);
    }

    #[test]
    fn blobs_are_binary_charset() {
        let d = column_def("b", &DataType::Bytea);
        assert_eq!(d.charset, BINARY_CHARSET);
        assert_eq!(d.coltype, code::BLOB);
        assert_eq!(column_def("t", &DataType::Text).charset, 45);
    }

    proptest! {
        #[test]
        fn param_decoding_never_panics(ty in any::<u8>(), unsigned in any::<bool>(),
                                       bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            let mut c = Cursor::new(&bytes);
            if let Ok(raw) = read_param(&mut c, ty, unsigned) {
                let _ = param_value(raw.clone(), None);
                let _ = param_value(raw, Some(&DataType::Integer));
            }
        }
    }
}
