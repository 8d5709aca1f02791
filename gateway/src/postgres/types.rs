//! Rosetta types on PostgreSQL's wire: type OIDs, and values in PostgreSQL's text and
//! binary formats.
//!
//! * [`oid`], [`type_size`], [`type_modifier`] describe a [`DataType`] in RowDescription
//!   and ParameterDescription; [`data_type_from_oid`] maps the parameter types a client
//!   declares in Parse back (`0` / `unknown` = let the engine infer).
//! * [`encode_text`] / [`encode_binary`] write result values; [`decode_text`] /
//!   [`decode_binary`] read Bind parameters. Text forms are the engine's own
//!   (`rosetta_types::text` for output, `rosetta_types::cast` for input), so a value
//!   reads and prints the same on every path. Decoding is total: bad input is a
//!   [`WireTypeError`] carrying the SQLSTATE PostgreSQL uses (22P02, 22P03, 22003, 22007,
//!   22021), never a panic.
//!
//! Binary formats follow PostgreSQL's `*send`/`*recv` functions: big-endian integers and
//! floats, dates as days and timestamps as microseconds since 2000-01-01, numeric in
//! base-10000 digits.

use std::str::FromStr;

use rosetta_bytecode::{DataType, ElementType};
use rosetta_types::cast::{cast, CastMode};
use rosetta_types::{Decimal, Value};

/// OID of `bool`.
pub const BOOL: u32 = 16;
/// OID of `bytea`.
pub const BYTEA: u32 = 17;
/// OID of `int8`.
pub const INT8: u32 = 20;
/// OID of `int2`.
pub const INT2: u32 = 21;
/// OID of `int4`.
pub const INT4: u32 = 23;
/// OID of `text`.
pub const TEXT: u32 = 25;
/// OID of `float4`.
pub const FLOAT4: u32 = 700;
/// OID of `float8`.
pub const FLOAT8: u32 = 701;
/// OID of `unknown` (untyped literals and parameters).
pub const UNKNOWN: u32 = 705;
/// OID of `bpchar` (`CHAR(n)`).
pub const BPCHAR: u32 = 1042;
/// OID of `varchar`.
pub const VARCHAR: u32 = 1043;
/// OID of `date`.
pub const DATE: u32 = 1082;
/// OID of `timestamp` (without time zone).
pub const TIMESTAMP: u32 = 1114;
/// OID of `time` (without time zone).
pub const TIME: u32 = 1083;
/// OID of `numeric`.
pub const NUMERIC: u32 = 1700;

/// Days from 1970-01-01 (Rosetta's epoch) to 2000-01-01 (PostgreSQL's).
const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// A value that cannot be converted, with PostgreSQL's SQLSTATE for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct WireTypeError {
    /// SQLSTATE to report.
    pub sqlstate: &'static str,
    /// Message in PostgreSQL's words.
    pub message: String,
}

impl WireTypeError {
    fn new(sqlstate: &'static str, message: impl Into<String>) -> Self {
        Self {
            sqlstate,
            message: message.into(),
        }
    }

    fn binary(ty: &DataType) -> Self {
        Self::new(
            "22P03",
            format!("incorrect binary data format for type {}", short_name(ty)),
        )
    }
}

/// The short PostgreSQL name used in input error messages.
fn short_name(ty: &DataType) -> String {
    match ty {
        DataType::Boolean => "boolean".into(),
        DataType::SmallInt => "smallint".into(),
        DataType::Integer => "integer".into(),
        DataType::BigInt => "bigint".into(),
        DataType::Numeric { .. } => "numeric".into(),
        DataType::Real => "real".into(),
        DataType::Double => "double precision".into(),
        DataType::Text => "text".into(),
        DataType::Varchar(_) => "character varying".into(),
        DataType::Char(_) => "character".into(),
        DataType::Bytea => "bytea".into(),
        DataType::Date => "date".into(),
        DataType::Timestamp => "timestamp".into(),
        DataType::Time => "time".into(),
        DataType::Array(e) => format!("{}[]", short_name(&e.data_type())),
    }
}

/// The PostgreSQL type OID of a Rosetta type.
pub fn oid(ty: &DataType) -> u32 {
    match ty {
        DataType::Boolean => BOOL,
        DataType::SmallInt => INT2,
        DataType::Integer => INT4,
        DataType::BigInt => INT8,
        DataType::Numeric { .. } => NUMERIC,
        DataType::Real => FLOAT4,
        DataType::Double => FLOAT8,
        DataType::Text => TEXT,
        DataType::Varchar(_) => VARCHAR,
        DataType::Char(_) => BPCHAR,
        DataType::Bytea => BYTEA,
        DataType::Date => DATE,
        DataType::Timestamp => TIMESTAMP,
        DataType::Time => TIME,
        DataType::Array(e) => array_oid(e),
    }
}

/// Every element type, for the reverse lookup of array OIDs.
const ALL_ELEMENTS: [ElementType; 14] = [
    ElementType::Boolean,
    ElementType::Bytea,
    ElementType::SmallInt,
    ElementType::Integer,
    ElementType::Text,
    ElementType::Char,
    ElementType::Varchar,
    ElementType::BigInt,
    ElementType::Real,
    ElementType::Double,
    ElementType::Timestamp,
    ElementType::Date,
    ElementType::Numeric,
    ElementType::Time,
];

/// The OID of PostgreSQL's array type over `element` (`_int4` = 1007, `_text` = 1009 …).
fn array_oid(element: &ElementType) -> u32 {
    match element {
        ElementType::Boolean => 1000,
        ElementType::Bytea => 1001,
        ElementType::SmallInt => 1005,
        ElementType::Integer => 1007,
        ElementType::Text => 1009,
        ElementType::Char => 1014,
        ElementType::Varchar => 1015,
        ElementType::BigInt => 1016,
        ElementType::Real => 1021,
        ElementType::Double => 1022,
        ElementType::Timestamp => 1115,
        ElementType::Date => 1182,
        ElementType::Time => 1183,
        ElementType::Numeric => 1231,
    }
}

/// `pg_type.typlen`: the fixed size, or -1 for variable-length types.
pub fn type_size(ty: &DataType) -> i16 {
    match ty {
        DataType::Boolean => 1,
        DataType::SmallInt => 2,
        DataType::Integer | DataType::Real | DataType::Date => 4,
        DataType::BigInt | DataType::Double | DataType::Timestamp | DataType::Time => 8,
        _ => -1,
    }
}

/// The `atttypmod` PostgreSQL reports: length + 4 for `varchar(n)`/`char(n)`,
/// `((precision << 16) | scale) + 4` for `numeric(p,s)`, -1 otherwise.
pub fn type_modifier(ty: &DataType) -> i32 {
    match ty {
        DataType::Varchar(Some(n)) => (*n as i32).saturating_add(4),
        DataType::Char(n) => (n.unwrap_or(1) as i32).saturating_add(4),
        DataType::Numeric {
            precision: Some(p),
            scale,
        } => (((*p as i32) << 16) | scale.unwrap_or(0) as i32) + 4,
        _ => -1,
    }
}

/// The Rosetta type for a parameter type OID declared in Parse: `Ok(None)` for `0` and
/// `unknown` (the engine infers it), an error (0A000) for types Rosetta does not have.
pub fn data_type_from_oid(oid: u32) -> Result<Option<DataType>, WireTypeError> {
    Ok(Some(match oid {
        0 | UNKNOWN => return Ok(None),
        BOOL => DataType::Boolean,
        BYTEA => DataType::Bytea,
        INT8 => DataType::BigInt,
        INT2 => DataType::SmallInt,
        INT4 => DataType::Integer,
        TEXT => DataType::Text,
        FLOAT4 => DataType::Real,
        FLOAT8 => DataType::Double,
        BPCHAR => DataType::Char(None),
        VARCHAR => DataType::Varchar(None),
        DATE => DataType::Date,
        TIMESTAMP => DataType::Timestamp,
        TIME => DataType::Time,
        NUMERIC => DataType::Numeric {
            precision: None,
            scale: None,
        },
        // `name` and `"char"` are text to every client that sends them.
        19 => DataType::Text,
        18 => DataType::Char(Some(1)),
        other => {
            if let Some(e) = ALL_ELEMENTS.iter().find(|e| array_oid(e) == other) {
                return Ok(Some(DataType::Array(*e)));
            }
            return Err(WireTypeError::new(
                "0A000",
                format!("parameter type with OID {other} is not supported"),
            ));
        }
    }))
}

// ---------------------------------------------------------------------------------------
// Text format
// ---------------------------------------------------------------------------------------

/// A value in PostgreSQL's text output format (`None` for NULL).
pub fn encode_text(value: &Value) -> Option<String> {
    rosetta_types::text::to_text(value)
}

/// The same type without length, precision or scale: parameters are read with the type's
/// input function alone; modifiers apply later, where the value is stored (as in
/// PostgreSQL). Character types stay text (`CHAR` without a length would be `CHAR(1)`).
fn unconstrained(ty: &DataType) -> DataType {
    match ty {
        DataType::Numeric { .. } => DataType::Numeric {
            precision: None,
            scale: None,
        },
        DataType::Varchar(_) | DataType::Char(_) => DataType::Text,
        other => *other,
    }
}

/// Reads a text-format parameter of type `ty` with PostgreSQL's input rules (the
/// engine's own casts from text).
pub fn decode_text(ty: &DataType, text: &str) -> Result<Value, WireTypeError> {
    cast(
        &Value::Text(text.to_string()),
        &unconstrained(ty),
        CastMode::Explicit,
    )
    .map_err(|e| WireTypeError::new(e.sqlstate(), e.to_string()))
}

// ---------------------------------------------------------------------------------------
// Binary format
// ---------------------------------------------------------------------------------------

/// A value of column type `ty` in PostgreSQL's binary format (`None` for NULL). The value
/// is converted to the column's width where the engine used a different one (an `Int64`
/// in an `integer` column); a value that cannot be is an error (XX000: an engine bug).
pub fn encode_binary(ty: &DataType, value: &Value) -> Result<Option<Vec<u8>>, WireTypeError> {
    let mismatch = || {
        WireTypeError::new(
            "XX000",
            format!(
                "engine returned {value:?} for a column of type {}",
                short_name(ty)
            ),
        )
    };
    Ok(Some(match (ty, value) {
        (_, Value::Null) => return Ok(None),
        (DataType::Boolean, Value::Bool(b)) => vec![*b as u8],
        (DataType::SmallInt, v) => i16::try_from(v.as_i64().ok_or_else(mismatch)?)
            .map_err(|_| mismatch())?
            .to_be_bytes()
            .to_vec(),
        (DataType::Integer, v) => i32::try_from(v.as_i64().ok_or_else(mismatch)?)
            .map_err(|_| mismatch())?
            .to_be_bytes()
            .to_vec(),
        (DataType::BigInt, v) => v.as_i64().ok_or_else(mismatch)?.to_be_bytes().to_vec(),
        (DataType::Real, Value::Float32(f)) => f.to_be_bytes().to_vec(),
        (DataType::Real, Value::Float64(f)) => (*f as f32).to_be_bytes().to_vec(),
        (DataType::Double, Value::Float64(f)) => f.to_be_bytes().to_vec(),
        (DataType::Double, Value::Float32(f)) => (*f as f64).to_be_bytes().to_vec(),
        (DataType::Numeric { .. }, Value::Numeric(d)) => numeric_send(d),
        (DataType::Numeric { .. }, v) => {
            numeric_send(&Decimal::from(v.as_i64().ok_or_else(mismatch)?))
        }
        (DataType::Text | DataType::Varchar(_) | DataType::Char(_), Value::Text(s)) => {
            s.as_bytes().to_vec()
        }
        (DataType::Bytea, Value::Bytes(b)) => b.clone(),
        (DataType::Date, Value::Date(d)) => (d - PG_EPOCH_DAYS).to_be_bytes().to_vec(),
        (DataType::Timestamp, Value::Timestamp(t)) => (t - PG_EPOCH_MICROS).to_be_bytes().to_vec(),
        (DataType::Time, Value::Time(t)) => t.to_be_bytes().to_vec(),
        (DataType::Array(e), Value::Array(items)) => array_send(e, items)?,
        _ => return Err(mismatch()),
    }))
}

/// Reads a binary-format parameter of type `ty`.
pub fn decode_binary(ty: &DataType, data: &[u8]) -> Result<Value, WireTypeError> {
    let err = || WireTypeError::binary(ty);
    Ok(match ty {
        // `time_send`: microseconds since midnight, as an int8.
        DataType::Time => {
            let t = i64::from_be_bytes(data.try_into().map_err(|_| err())?);
            if !(0..86_400_000_000).contains(&t) {
                return Err(WireTypeError::new("22008", "time out of range"));
            }
            Value::Time(t)
        }
        DataType::Boolean => match data {
            [b] => Value::Bool(*b != 0),
            _ => return Err(err()),
        },
        DataType::SmallInt => Value::Int16(i16::from_be_bytes(data.try_into().map_err(|_| err())?)),
        DataType::Integer => Value::Int32(i32::from_be_bytes(data.try_into().map_err(|_| err())?)),
        DataType::BigInt => Value::Int64(i64::from_be_bytes(data.try_into().map_err(|_| err())?)),
        DataType::Real => Value::Float32(f32::from_be_bytes(data.try_into().map_err(|_| err())?)),
        DataType::Double => Value::Float64(f64::from_be_bytes(data.try_into().map_err(|_| err())?)),
        DataType::Numeric { .. } => Value::Numeric(numeric_recv(data)?),
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => {
            Value::Text(String::from_utf8(data.to_vec()).map_err(|_| {
                WireTypeError::new("22021", "invalid byte sequence for encoding \"UTF8\"")
            })?)
        }
        DataType::Bytea => Value::Bytes(data.to_vec()),
        DataType::Date => {
            let d = i32::from_be_bytes(data.try_into().map_err(|_| err())?);
            Value::Date(
                d.checked_add(PG_EPOCH_DAYS)
                    .ok_or_else(|| WireTypeError::new("22008", "date out of range"))?,
            )
        }
        DataType::Timestamp => {
            let t = i64::from_be_bytes(data.try_into().map_err(|_| err())?);
            Value::Timestamp(
                t.checked_add(PG_EPOCH_MICROS)
                    .ok_or_else(|| WireTypeError::new("22008", "timestamp out of range"))?,
            )
        }
        DataType::Array(e) => Value::Array(array_recv(e, data)?),
    })
}

/// `array_send` for a one-dimensional array: ndim, has-nulls flag, element OID, then
/// (length, lower bound 1), then each element as length + bytes (-1 for NULL).
fn array_send(element: &ElementType, items: &[Value]) -> Result<Vec<u8>, WireTypeError> {
    let ty = element.data_type();
    let has_null = items.iter().any(Value::is_null);
    let mut out = Vec::with_capacity(20 + items.len() * 8);
    let ndim: i32 = if items.is_empty() { 0 } else { 1 };
    out.extend_from_slice(&ndim.to_be_bytes());
    out.extend_from_slice(&(has_null as i32).to_be_bytes());
    out.extend_from_slice(&oid(&ty).to_be_bytes());
    if ndim == 1 {
        let len = i32::try_from(items.len())
            .map_err(|_| WireTypeError::new("54000", "array too large"))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
    }
    for item in items {
        match encode_binary(&ty, item)? {
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(bytes) => {
                let len = i32::try_from(bytes.len())
                    .map_err(|_| WireTypeError::new("54000", "array element too large"))?;
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&bytes);
            }
        }
    }
    Ok(out)
}

/// `array_recv` for zero- or one-dimensional arrays of `element`.
fn array_recv(element: &ElementType, data: &[u8]) -> Result<Vec<Value>, WireTypeError> {
    let ty = element.data_type();
    let err = || WireTypeError::binary(&DataType::Array(*element));
    let int = |pos: &mut usize| -> Result<i32, WireTypeError> {
        let b = data.get(*pos..*pos + 4).ok_or_else(err)?;
        *pos += 4;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let mut pos = 0usize;
    let ndim = int(&mut pos)?;
    let _has_null = int(&mut pos)?;
    let elem_oid = int(&mut pos)? as u32;
    if elem_oid != oid(&ty) {
        return Err(WireTypeError::new(
            "42804",
            format!(
                "wrong element type in binary array (expected OID {}, got {elem_oid})",
                oid(&ty)
            ),
        ));
    }
    match ndim {
        0 if pos == data.len() => return Ok(Vec::new()),
        1 => {}
        n if n > 1 => {
            return Err(WireTypeError::new(
                "0A000",
                "multidimensional arrays are not supported",
            ))
        }
        _ => return Err(err()),
    }
    let len = usize::try_from(int(&mut pos)?).map_err(|_| err())?;
    let _lower_bound = int(&mut pos)?;
    // Each element takes at least its 4-byte length: refuse counts the data cannot hold
    // before reserving memory for them.
    if len > (data.len() - pos) / 4 {
        return Err(err());
    }
    let mut items = Vec::with_capacity(len);
    for _ in 0..len {
        let n = int(&mut pos)?;
        if n < 0 {
            items.push(Value::Null);
            continue;
        }
        let n = n as usize;
        let bytes = data.get(pos..pos + n).ok_or_else(err)?;
        pos += n;
        items.push(decode_binary(&ty, bytes)?);
    }
    if pos != data.len() {
        return Err(err());
    }
    Ok(items)
}

const NUMERIC_POS: u16 = 0x0000;
const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;

/// `numeric_send`: ndigits, weight, sign, dscale, then base-10000 digits.
fn numeric_send(d: &Decimal) -> Vec<u8> {
    let scale = d.scale() as usize;
    let abs = d.abs().to_string();
    let (int_part, frac_part) = match abs.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (abs.clone(), String::new()),
    };
    let int_part = int_part.trim_start_matches('0');
    // Pad the integer part on the left and the fraction on the right to groups of 4.
    let int_pad = (4 - int_part.len() % 4) % 4;
    let int_digits = format!("{}{}", "0".repeat(int_pad), int_part);
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let frac_digits = format!("{}{}", frac_part, "0".repeat(frac_pad));
    let group = |s: &str| -> Vec<i16> {
        s.as_bytes()
            .chunks(4)
            .map(|c| c.iter().fold(0i16, |acc, b| acc * 10 + (b - b'0') as i16))
            .collect()
    };
    let mut digits = group(&int_digits);
    let mut weight = digits.len() as i32 - 1;
    digits.extend(group(&frac_digits));
    // Strip leading and trailing zero groups.
    let lead = digits.iter().take_while(|g| **g == 0).count();
    digits.drain(..lead);
    weight -= lead as i32;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    let sign = if d.is_sign_negative() && !d.is_zero() {
        NUMERIC_NEG
    } else {
        NUMERIC_POS
    };
    let mut out = Vec::with_capacity(8 + digits.len() * 2);
    out.extend_from_slice(&(digits.len() as i16).to_be_bytes());
    out.extend_from_slice(&(weight as i16).to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as u16).to_be_bytes());
    for g in digits {
        out.extend_from_slice(&g.to_be_bytes());
    }
    out
}

/// `numeric_recv`, into a `Decimal` (28 significant digits): larger values are 22003.
fn numeric_recv(data: &[u8]) -> Result<Decimal, WireTypeError> {
    let ty = DataType::Numeric {
        precision: None,
        scale: None,
    };
    let err = || WireTypeError::binary(&ty);
    let field = |i: usize| -> Result<u16, WireTypeError> {
        data.get(i..i + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(err)
    };
    let ndigits = field(0)? as usize;
    let weight = field(2)? as i16 as i32;
    let sign = field(4)?;
    let dscale = field(6)? as usize;
    if data.len() != 8 + ndigits * 2 {
        return Err(err());
    }
    if sign == NUMERIC_NAN {
        return Err(WireTypeError::new("0A000", "numeric NaN is not supported"));
    }
    if sign != NUMERIC_POS && sign != NUMERIC_NEG {
        return Err(err());
    }
    let out_of_range = || WireTypeError::new("22003", "numeric value out of range");
    if dscale > 28 || !(-8..=8).contains(&weight) {
        return Err(out_of_range());
    }
    let mut digits = Vec::with_capacity(ndigits);
    for i in 0..ndigits {
        let g = field(8 + i * 2)?;
        if g > 9999 {
            return Err(err());
        }
        digits.push(g);
    }
    // Build the decimal string: groups at exponents weight, weight-1, ….
    let mut int_part = String::new();
    let mut frac_part = String::new();
    let last_exp = weight - ndigits as i32 + 1;
    for exp in (last_exp.min(0)..=weight.max(0)).rev() {
        let idx = weight - exp;
        let g = if idx >= 0 && (idx as usize) < digits.len() {
            digits[idx as usize]
        } else {
            0
        };
        if exp >= 0 {
            int_part.push_str(&format!("{g:04}"));
        } else {
            frac_part.push_str(&format!("{g:04}"));
        }
    }
    while frac_part.len() < dscale {
        frac_part.push('0');
    }
    frac_part.truncate(dscale);
    let int_part = int_part.trim_start_matches('0');
    let text = format!(
        "{}{}{}{}",
        if sign == NUMERIC_NEG { "-" } else { "" },
        if int_part.is_empty() { "0" } else { int_part },
        if frac_part.is_empty() { "" } else { "." },
        frac_part
    );
    Decimal::from_str(&text).map_err(|_| out_of_range())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal")
    }

    #[test]
    fn oids_round_trip() {
        for ty in [
            DataType::Boolean,
            DataType::SmallInt,
            DataType::Integer,
            DataType::BigInt,
            DataType::Real,
            DataType::Double,
            DataType::Text,
            DataType::Bytea,
            DataType::Date,
            DataType::Timestamp,
        ] {
            assert_eq!(data_type_from_oid(oid(&ty)), Ok(Some(ty)));
        }
        assert_eq!(data_type_from_oid(0), Ok(None));
        assert_eq!(data_type_from_oid(UNKNOWN), Ok(None));
        assert_eq!(oid(&DataType::Varchar(Some(3))), 1043);
        assert_eq!(type_modifier(&DataType::Varchar(Some(3))), 7);
        assert_eq!(
            type_modifier(&DataType::Numeric {
                precision: Some(10),
                scale: Some(2)
            }),
            (10 << 16 | 2) + 4
        );
        assert!(data_type_from_oid(114).is_err());
    }

    #[test]
    fn text_output_matches_postgres() {
        let cases: Vec<(Value, &str)> = vec![
            (Value::Bool(true), "t"),
            (Value::Int64(-5), "-5"),
            (Value::Float64(1.5), "1.5"),
            (Value::Float64(0.1), "0.1"),
            (Value::Float64(1e20), "1e+20"),
            (Value::Float64(1e15), "1e+15"),
            (Value::Float64(123456789012345.0), "123456789012345"),
            (Value::Float64(0.0001), "0.0001"),
            (Value::Float64(0.00001), "1e-05"),
            (Value::Float64(-0.0), "-0"),
            (Value::Float64(f64::INFINITY), "Infinity"),
            (Value::Float64(f64::NAN), "NaN"),
            (Value::Float32(1.1), "1.1"),
            (Value::Float32(1234567.0), "1.234567e+06"),
            (Value::Numeric(dec("1.50")), "1.50"),
            (Value::Bytes(vec![0xde, 0xad]), "\\xdead"),
            (Value::Date(0), "1970-01-01"),
            (Value::Date(19_000), "2022-01-08"),
            (Value::Timestamp(1_500_000), "1970-01-01 00:00:01.5"),
            (Value::Timestamp(-1), "1969-12-31 23:59:59.999999"),
        ];
        for (v, want) in cases {
            assert_eq!(encode_text(&v).as_deref(), Some(want), "{v:?}");
        }
        assert_eq!(encode_text(&Value::Null), None);
    }

    #[test]
    fn text_input_round_trips() {
        let cases: Vec<(DataType, Value)> = vec![
            (DataType::Boolean, Value::Bool(false)),
            (DataType::SmallInt, Value::Int16(-32768)),
            (DataType::Integer, Value::Int32(123)),
            (DataType::BigInt, Value::Int64(i64::MAX)),
            (DataType::Double, Value::Float64(2.5e-10)),
            (DataType::Real, Value::Float32(3.25)),
            (
                DataType::Numeric {
                    precision: None,
                    scale: None,
                },
                Value::Numeric(dec("-12345.6789")),
            ),
            (DataType::Text, Value::Text("héllo".into())),
            (DataType::Bytea, Value::Bytes(vec![0, 1, 255])),
            (DataType::Date, Value::Date(-1000)),
            (DataType::Timestamp, Value::Timestamp(1_700_000_000_123_456)),
            (DataType::Time, Value::Time(45_296_500_000)),
        ];
        for (ty, v) in cases {
            let text = encode_text(&v).expect("not null");
            assert_eq!(decode_text(&ty, &text), Ok(v.clone()), "{ty:?} {text}");
        }
    }

    #[test]
    fn bad_text_input_is_an_error() {
        let int = DataType::Integer;
        assert_eq!(
            decode_text(&int, "12x").map_err(|e| e.sqlstate),
            Err("22P02")
        );
        assert_eq!(
            decode_text(&int, "99999999999").map_err(|e| e.sqlstate),
            Err("22003")
        );
        assert_eq!(
            decode_text(&DataType::Boolean, "maybe").map_err(|e| e.sqlstate),
            Err("22P02")
        );
        assert_eq!(
            decode_text(&DataType::Date, "2020-13-01").map_err(|e| e.sqlstate),
            Err("22008")
        );
        assert_eq!(
            decode_text(&DataType::Bytea, "\\xZZ").map_err(|e| e.sqlstate),
            Err("22P02")
        );
        assert!(decode_text(&DataType::Bytea, r"a\1").is_err());
        assert_eq!(
            decode_text(&DataType::Bytea, "a\\\\b\\001"),
            Ok(Value::Bytes(b"a\\b\x01".to_vec()))
        );
        assert_eq!(
            decode_text(&DataType::Boolean, " yes "),
            Ok(Value::Bool(true))
        );
        assert_eq!(
            decode_text(&DataType::Double, "-Infinity"),
            Ok(Value::Float64(f64::NEG_INFINITY))
        );
        assert_eq!(
            decode_text(&DataType::Double, "1e999").map_err(|e| e.sqlstate),
            Err("22003")
        );
    }

    #[test]
    fn binary_round_trips() {
        let cases: Vec<(DataType, Value)> = vec![
            (DataType::Boolean, Value::Bool(true)),
            (DataType::SmallInt, Value::Int16(-2)),
            (DataType::Integer, Value::Int32(70_000)),
            (DataType::BigInt, Value::Int64(-1)),
            (DataType::Real, Value::Float32(1.5)),
            (DataType::Double, Value::Float64(-2.75)),
            (DataType::Text, Value::Text("ü".into())),
            (DataType::Bytea, Value::Bytes(vec![1, 2, 3])),
            (DataType::Date, Value::Date(19_000)),
            (DataType::Timestamp, Value::Timestamp(-123_456_789)),
            (DataType::Time, Value::Time(86_399_999_999)),
        ];
        for (ty, v) in cases {
            let bytes = encode_binary(&ty, &v).expect("encode").expect("not null");
            assert_eq!(decode_binary(&ty, &bytes), Ok(v.clone()), "{ty:?}");
        }
        assert_eq!(encode_binary(&DataType::Integer, &Value::Null), Ok(None));
        // Width conversion for integers, refusal for nonsense.
        assert_eq!(
            encode_binary(&DataType::Integer, &Value::Int64(7)),
            Ok(Some(vec![0, 0, 0, 7]))
        );
        assert!(encode_binary(&DataType::Integer, &Value::Text("x".into())).is_err());
        // PostgreSQL epoch: 2000-01-01 is day 0.
        assert_eq!(
            encode_binary(&DataType::Date, &Value::Date(PG_EPOCH_DAYS)),
            Ok(Some(vec![0, 0, 0, 0]))
        );
    }

    #[test]
    fn numeric_binary_matches_postgres() {
        let num = DataType::Numeric {
            precision: None,
            scale: None,
        };
        // SELECT numeric_send(12345.678) = 0003 0001 0000 0003 0001 0929 1a7c
        let bytes = encode_binary(&num, &Value::Numeric(dec("12345.678")))
            .expect("encode")
            .expect("not null");
        assert_eq!(
            bytes,
            vec![0, 3, 0, 1, 0, 0, 0, 3, 0, 1, 0x09, 0x29, 0x1a, 0x7c]
        );
        // 0.00 = ndigits 0, weight 0, sign 0, dscale 2.
        let zero = encode_binary(&num, &Value::Numeric(dec("0.00")))
            .expect("encode")
            .expect("not null");
        assert_eq!(zero, vec![0, 0, 0, 0, 0, 0, 0, 2]);
        for s in [
            "0",
            "0.00",
            "1",
            "-1",
            "10000",
            "-0.0001",
            "123456789.123456789",
            "0.5",
            "99999999999999999999",
            "-7.000",
            "100000000.00000001",
        ] {
            let v = Value::Numeric(dec(s));
            let bytes = encode_binary(&num, &v).expect("encode").expect("not null");
            let back = decode_binary(&num, &bytes).expect("decode");
            assert_eq!(back, v, "{s}");
            if let (Value::Numeric(a), Value::Numeric(b)) = (&back, &v) {
                assert_eq!(a.to_string(), b.to_string(), "scale of {s}");
            }
        }
    }

    #[test]
    fn arrays_round_trip() {
        let ty = DataType::Array(ElementType::Integer);
        assert_eq!(oid(&ty), 1007);
        assert_eq!(data_type_from_oid(1007), Ok(Some(ty)));
        assert_eq!(
            data_type_from_oid(1231),
            Ok(Some(DataType::Array(ElementType::Numeric)))
        );
        let v = Value::Array(vec![Value::Int32(1), Value::Null, Value::Int32(-3)]);
        assert_eq!(encode_text(&v).as_deref(), Some("{1,NULL,-3}"));
        assert_eq!(decode_text(&ty, "{1,NULL,-3}"), Ok(v.clone()));
        let bytes = encode_binary(&ty, &v).expect("encode").expect("not null");
        assert_eq!(decode_binary(&ty, &bytes), Ok(v));
        let empty = Value::Array(vec![]);
        let bytes = encode_binary(&ty, &empty)
            .expect("encode")
            .expect("not null");
        assert_eq!(bytes.len(), 12);
        assert_eq!(decode_binary(&ty, &bytes), Ok(empty));
        let texts = Value::Array(vec![Value::Text("a b".into()), Value::Text("".into())]);
        assert_eq!(encode_text(&texts).as_deref(), Some("{\"a b\",\"\"}"));
        // Hostile element counts and truncations are errors, not allocations or panics.
        let mut bad = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23];
        bad.extend_from_slice(&i32::MAX.to_be_bytes());
        bad.extend_from_slice(&1i32.to_be_bytes());
        assert!(decode_binary(&ty, &bad).is_err());
        let mut wrong_elem = vec![0, 0, 0, 0, 0, 0, 0, 0];
        wrong_elem.extend_from_slice(&25u32.to_be_bytes());
        assert!(decode_binary(&ty, &wrong_elem).is_err());
        assert!(decode_binary(&ty, &[0, 0, 0]).is_err());
    }

    #[test]
    fn bad_binary_input_is_an_error() {
        let num = DataType::Numeric {
            precision: None,
            scale: None,
        };
        assert!(decode_binary(&DataType::Integer, &[1, 2]).is_err());
        assert!(decode_binary(&DataType::Text, &[0xff]).is_err());
        assert!(decode_binary(&num, &[0, 1]).is_err());
        assert!(decode_binary(&num, &[0, 1, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(decode_binary(&num, &[0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10]).is_err());
        assert!(decode_binary(&num, &[0, 0, 0, 0, 0xC0, 0, 0, 0]).is_err());
        assert!(decode_binary(&num, &[0, 1, 0x7f, 0xff, 0, 0, 0, 0, 0, 1]).is_err());
        assert!(decode_binary(&DataType::Date, &i32::MAX.to_be_bytes()).is_err());
    }
}
