//! Rosetta types and values ⇄ Firebird SQL types and wire values (guide §11.3, §12).
//!
//! * [`describe`]: the Firebird SQL type (code, sub type, scale, length) a column or
//!   parameter of a Rosetta type is described as. Text columns are described in UTF8
//!   (charset 4, 4 bytes per character); `TEXT` is a text blob, `BYTEA` a binary blob;
//!   NUMERIC(p,s) is a scaled SMALLINT/INTEGER/BIGINT as in Firebird.
//! * [`to_wire`]: a result value encoded as the item the client's BLR asks for — which
//!   need not be the described type: any number converts to any numeric item, anything
//!   to text, text to dates, and so on, as Firebird converts.
//! * [`from_wire`]: a parameter value as the client sent it, then cast to the type the
//!   engine expects.

use rosetta_bytecode::DataType;
use rosetta_types::cast::{cast, CastMode};
use rosetta_types::{Decimal, Value};
use rust_decimal::prelude::ToPrimitive;

use super::blr::{Item, Wire};
use super::status::{gds, Arg, Status};

/// Firebird SQL type codes (without the +1 "nullable" bit).
#[allow(missing_docs)]
pub mod sqltype {
    pub const TEXT: i32 = 452;
    pub const VARYING: i32 = 448;
    pub const SHORT: i32 = 500;
    pub const LONG: i32 = 496;
    pub const FLOAT: i32 = 482;
    pub const DOUBLE: i32 = 480;
    pub const TIMESTAMP: i32 = 510;
    pub const BLOB: i32 = 520;
    pub const TIME: i32 = 560;
    pub const DATE: i32 = 570;
    pub const INT64: i32 = 580;
    pub const BOOLEAN: i32 = 32764;
}

/// Character set id of UTF8.
pub const UTF8: i32 = 4;
/// Days from Firebird's epoch (1858-11-17) to 1970-01-01.
const EPOCH_DAYS: i32 = 40_587;
const MICROS_PER_DAY: i64 = 86_400_000_000;
/// Longest VARCHAR a Firebird 3 client can hold, in characters of UTF8.
const MAX_VARCHAR_CHARS: u32 = 8191;

/// How a column or parameter is described to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlType {
    /// SQL type code (without the nullable bit).
    pub code: i32,
    /// Sub type: charset for text, 1 NUMERIC / 2 DECIMAL for scaled integers, blob sub type.
    pub sub_type: i32,
    /// Decimal scale (negative), or the charset of a text blob.
    pub scale: i32,
    /// Length in bytes.
    pub length: i32,
}

/// The Firebird description of a Rosetta type.
pub fn describe(ty: &DataType) -> SqlType {
    let t = |code, sub_type, scale, length| SqlType {
        code,
        sub_type,
        scale,
        length,
    };
    match ty {
        DataType::Boolean => t(sqltype::BOOLEAN, 0, 0, 1),
        DataType::SmallInt => t(sqltype::SHORT, 0, 0, 2),
        DataType::Integer => t(sqltype::LONG, 0, 0, 4),
        DataType::BigInt => t(sqltype::INT64, 0, 0, 8),
        DataType::Numeric { precision, scale } => {
            let scale = scale.unwrap_or(0) as i32;
            match precision {
                Some(p) if *p <= 4 => t(sqltype::SHORT, 1, -scale, 2),
                Some(p) if *p <= 9 => t(sqltype::LONG, 1, -scale, 4),
                Some(p) if *p <= 18 => t(sqltype::INT64, 1, -scale, 8),
                // Wider or unconstrained numerics have no exact Firebird 3 type.
                _ => t(sqltype::DOUBLE, 0, 0, 8),
            }
        }
        DataType::Real => t(sqltype::FLOAT, 0, 0, 4),
        DataType::Double => t(sqltype::DOUBLE, 0, 0, 8),
        DataType::Text => t(sqltype::BLOB, 1, UTF8, 8),
        DataType::Varchar(n) => {
            let n = n.unwrap_or(MAX_VARCHAR_CHARS).clamp(1, MAX_VARCHAR_CHARS);
            t(sqltype::VARYING, UTF8, 0, (n * 4) as i32)
        }
        DataType::Char(n) => {
            let n = n.unwrap_or(1).clamp(1, 8191);
            t(sqltype::TEXT, UTF8, 0, (n * 4) as i32)
        }
        DataType::Bytea => t(sqltype::BLOB, 0, 0, 8),
        DataType::Date => t(sqltype::DATE, 0, 0, 4),
        DataType::Time => t(sqltype::TIME, 0, 0, 4),
        DataType::Timestamp => t(sqltype::TIMESTAMP, 0, 0, 8),
        DataType::Array(_) => t(sqltype::VARYING, UTF8, 0, (MAX_VARCHAR_CHARS * 4) as i32),
    }
}

fn convert_error(text: impl Into<String>) -> Status {
    Status(vec![Arg::Gds(gds::CONVERT_ERROR), Arg::Str(text.into())])
}

fn out_of_range() -> Status {
    Status(vec![
        Arg::Gds(gds::ARITH_EXCEPT),
        Arg::Gds(gds::NUMERIC_OUT_OF_RANGE),
    ])
}

/// The text form Firebird would show for a value.
fn text_of(v: &Value) -> String {
    match v {
        Value::Bool(true) => "TRUE".into(),
        Value::Bool(false) => "FALSE".into(),
        Value::Text(s) => s.clone(),
        other => rosetta_types::text::to_text(other).unwrap_or_default(),
    }
}

fn decimal_of(v: &Value) -> Result<Decimal, Status> {
    Ok(match v {
        Value::Int16(i) => Decimal::from(*i),
        Value::Int32(i) => Decimal::from(*i),
        Value::Int64(i) => Decimal::from(*i),
        Value::Numeric(d) => *d,
        Value::Bool(b) => Decimal::from(*b as i32),
        Value::Float32(f) => Decimal::try_from(*f as f64).map_err(|_| out_of_range())?,
        Value::Float64(f) => Decimal::try_from(*f).map_err(|_| out_of_range())?,
        Value::Text(s) => s
            .trim()
            .parse::<Decimal>()
            .or_else(|_| Decimal::from_scientific(s.trim()))
            .map_err(|_| convert_error(s.clone()))?,
        other => return Err(convert_error(text_of(other))),
    })
}

fn f64_of(v: &Value) -> Result<f64, Status> {
    Ok(match v {
        Value::Float32(f) => *f as f64,
        Value::Float64(f) => *f,
        Value::Text(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| convert_error(s.clone()))?,
        other => decimal_of(other)?.to_f64().ok_or_else(out_of_range)?,
    })
}

fn scaled(v: &Value, scale: i8) -> Result<i128, Status> {
    let mut d = decimal_of(v)?;
    if scale < 0 {
        for _ in 0..(-scale as i32) {
            d = d.checked_mul(Decimal::TEN).ok_or_else(out_of_range)?;
        }
    } else {
        for _ in 0..scale {
            d = d.checked_div(Decimal::TEN).ok_or_else(out_of_range)?;
        }
    }
    d.round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .to_i128()
        .ok_or_else(out_of_range)
}

fn typed(v: &Value, ty: DataType) -> Result<Value, Status> {
    cast(v, &ty, CastMode::Explicit).map_err(|_| convert_error(text_of(v)))
}

fn date_days(v: &Value) -> Result<i32, Status> {
    match typed(v, DataType::Date)? {
        Value::Date(d) => Ok(d + EPOCH_DAYS),
        other => Err(convert_error(text_of(&other))),
    }
}

fn time_units(v: &Value) -> Result<u32, Status> {
    match typed(v, DataType::Time)? {
        Value::Time(t) => Ok((t / 100) as u32),
        other => Err(convert_error(text_of(&other))),
    }
}

fn timestamp_parts(v: &Value) -> Result<(i32, u32), Status> {
    match typed(v, DataType::Timestamp)? {
        Value::Timestamp(us) => {
            let days = us.div_euclid(MICROS_PER_DAY);
            let rest = us.rem_euclid(MICROS_PER_DAY);
            Ok((days as i32 + EPOCH_DAYS, (rest / 100) as u32))
        }
        other => Err(convert_error(text_of(&other))),
    }
}

/// Encodes a result value as the client's BLR item asks. `store_blob` keeps blob
/// contents for a later `op_open_blob` and returns their id.
pub fn to_wire(
    v: &Value,
    item: &Item,
    store_blob: &mut dyn FnMut(Vec<u8>) -> Result<[u8; 8], Status>,
) -> Result<Option<Wire>, Status> {
    if v.is_null() {
        return Ok(None);
    }
    let bytes = |v: &Value| match v {
        Value::Bytes(b) => b.clone(),
        other => text_of(other).into_bytes(),
    };
    Ok(Some(match *item {
        Item::Text { len, .. } => {
            let mut b = bytes(v);
            if b.len() > len as usize {
                // Over-long text for the client's buffer: cut at a character boundary.
                let mut cut = len as usize;
                while cut > 0 && (b[cut] & 0xC0) == 0x80 {
                    cut -= 1;
                }
                b.truncate(cut);
            }
            Wire::Bytes(b)
        }
        Item::Varying { max, .. } | Item::CString { max, .. } => {
            let b = bytes(v);
            if b.len() > max as usize {
                return Err(Status(vec![
                    Arg::Gds(gds::ARITH_EXCEPT),
                    Arg::Gds(gds::STRING_TRUNCATION),
                ]));
            }
            Wire::Bytes(b)
        }
        Item::Short(s) => {
            let n = scaled(v, s)?;
            i16::try_from(n).map_err(|_| out_of_range())?;
            Wire::Scaled(n, s)
        }
        Item::Long(s) => {
            let n = scaled(v, s)?;
            i32::try_from(n).map_err(|_| out_of_range())?;
            Wire::Scaled(n, s)
        }
        Item::Int64(s) => {
            let n = scaled(v, s)?;
            i64::try_from(n).map_err(|_| out_of_range())?;
            Wire::Scaled(n, s)
        }
        Item::Int128(s) => Wire::Scaled(scaled(v, s)?, s),
        Item::Quad(_) | Item::Blob { .. } => Wire::BlobId(store_blob(bytes(v))?),
        Item::Float => Wire::Float(f64_of(v)? as f32),
        Item::Double => Wire::Double(f64_of(v)?),
        Item::Date => Wire::Date(date_days(v)?),
        Item::Time => Wire::Time(time_units(v)?),
        Item::Timestamp => {
            let (d, t) = timestamp_parts(v)?;
            Wire::Timestamp(d, t)
        }
        Item::Bool => Wire::Bool(match typed(v, DataType::Boolean)? {
            Value::Bool(b) => b,
            other => return Err(convert_error(text_of(&other))),
        }),
    }))
}

/// Decodes a parameter the client sent and casts it to the type the engine wants
/// (`None`: keep the natural type). `load_blob` returns the contents of a blob id.
pub fn from_wire(
    w: Option<Wire>,
    target: Option<&DataType>,
    load_blob: &dyn Fn(&[u8; 8]) -> Option<Vec<u8>>,
) -> Result<Value, Status> {
    let Some(w) = w else {
        return Ok(Value::Null);
    };
    let binary = matches!(target, Some(DataType::Bytea));
    let text_or_bytes = |b: Vec<u8>| -> Result<Value, Status> {
        if binary {
            return Ok(Value::Bytes(b));
        }
        String::from_utf8(b)
            .map(Value::Text)
            .map_err(|e| convert_error(String::from_utf8_lossy(e.as_bytes()).into_owned()))
    };
    let natural = match w {
        Wire::Bytes(b) => text_or_bytes(b)?,
        Wire::Scaled(n, 0) => match i64::try_from(n) {
            Ok(i) => Value::Int64(i),
            Err(_) => {
                Value::Numeric(Decimal::try_from_i128_with_scale(n, 0).map_err(|_| out_of_range())?)
            }
        },
        Wire::Scaled(n, s) if s < 0 => Value::Numeric(
            Decimal::try_from_i128_with_scale(n, (-s) as u32).map_err(|_| out_of_range())?,
        ),
        Wire::Scaled(n, s) => {
            let mut d = Decimal::try_from_i128_with_scale(n, 0).map_err(|_| out_of_range())?;
            for _ in 0..s {
                d = d.checked_mul(Decimal::TEN).ok_or_else(out_of_range)?;
            }
            Value::Numeric(d)
        }
        Wire::BlobId(id) => {
            let data = load_blob(&id).ok_or_else(|| Status::code(gds::BAD_SEGSTR_ID))?;
            text_or_bytes(data)?
        }
        Wire::Float(f) => Value::Float32(f),
        Wire::Double(f) => Value::Float64(f),
        Wire::Date(d) => Value::Date(d - EPOCH_DAYS),
        Wire::Time(t) => Value::Time(t as i64 * 100),
        Wire::Timestamp(d, t) => {
            Value::Timestamp((d - EPOCH_DAYS) as i64 * MICROS_PER_DAY + t as i64 * 100)
        }
        Wire::Bool(b) => Value::Bool(b),
    };
    match target {
        None => Ok(natural),
        Some(ty) => cast(&natural, ty, CastMode::Assignment)
            .map_err(|e| super::status::from_sqlstate(e.sqlstate(), &e.to_string(), None, "")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_blobs(_: Vec<u8>) -> Result<[u8; 8], Status> {
        Ok([0, 0, 0, 1, 0, 0, 0, 0])
    }

    #[test]
    fn dates_and_times_use_firebird_epochs() {
        // 2024-02-29 is day 60369; 13:45:30.1234 is 495301234 (guide §12.1).
        let date = Value::Date(60369 - EPOCH_DAYS);
        assert_eq!(
            to_wire(&date, &Item::Date, &mut no_blobs),
            Ok(Some(Wire::Date(60369)))
        );
        let time = Value::Time(((13 * 3600 + 45 * 60 + 30) * 1_000_000) + 123_400);
        assert_eq!(
            to_wire(&time, &Item::Time, &mut no_blobs),
            Ok(Some(Wire::Time(495301234)))
        );
        let back = from_wire(Some(Wire::Time(495301234)), Some(&DataType::Time), &|_| {
            None
        });
        assert_eq!(back, Ok(time));
    }

    #[test]
    fn numerics_are_scaled_integers() {
        let v = Value::Numeric("12.34".parse().expect("decimal"));
        assert_eq!(
            to_wire(&v, &Item::Long(-2), &mut no_blobs),
            Ok(Some(Wire::Scaled(1234, -2)))
        );
        // firebirdsql sends DOUBLE 3.5 as int64 scale -1.
        let p = from_wire(Some(Wire::Scaled(35, -1)), Some(&DataType::Double), &|_| {
            None
        });
        assert_eq!(p, Ok(Value::Float64(3.5)));
        assert!(to_wire(&Value::Int64(1 << 40), &Item::Short(0), &mut no_blobs).is_err());
    }

    #[test]
    fn text_parameters_convert_to_the_target_type() {
        let p = from_wire(
            Some(Wire::Bytes(b"2024-02-29".to_vec())),
            Some(&DataType::Date),
            &|_| None,
        );
        assert_eq!(p, Ok(Value::Date(60369 - EPOCH_DAYS)));
        let p = from_wire(
            Some(Wire::Bytes(vec![0xFF])),
            Some(&DataType::Text),
            &|_| None,
        );
        assert!(p.is_err());
        let blob = from_wire(Some(Wire::BlobId([1; 8])), Some(&DataType::Text), &|_| {
            Some(b"hi".to_vec())
        });
        assert_eq!(blob, Ok(Value::Text("hi".into())));
    }

    #[test]
    fn describes_numeric_like_firebird() {
        let t = describe(&DataType::Numeric {
            precision: Some(9),
            scale: Some(2),
        });
        assert_eq!((t.code, t.sub_type, t.scale, t.length), (496, 1, -2, 4));
        assert_eq!(describe(&DataType::Text).code, 520);
    }
}
