//! Rosetta types on PostgreSQL's wire: type OIDs, and values in PostgreSQL's text and
//! binary formats.
//!
//! * [`oid`], [`type_size`], [`type_modifier`] describe a [`DataType`] in RowDescription
//!   and ParameterDescription; [`data_type_from_oid`] maps the parameter types a client
//!   declares in Parse back (`0` / `unknown` = let the engine infer).
//! * [`encode_text`] / [`encode_binary`] write result values; [`decode_text`] /
//!   [`decode_binary`] read Bind parameters. Decoding is total: bad input is a
//!   [`WireTypeError`] carrying the SQLSTATE PostgreSQL uses (22P02, 22P03, 22003, 22007,
//!   22021), never a panic.
//!
//! Binary formats follow PostgreSQL's `*send`/`*recv` functions: big-endian integers and
//! floats, dates as days and timestamps as microseconds since 2000-01-01, numeric in
//! base-10000 digits.

use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rosetta_bytecode::DataType;
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

    fn syntax(ty: &DataType, text: &str) -> Self {
        let code = match ty {
            DataType::Date | DataType::Timestamp => "22007",
            _ => "22P02",
        };
        Self::new(
            code,
            format!(
                "invalid input syntax for type {}: \"{}\"",
                short_name(ty),
                truncate(text)
            ),
        )
    }

    fn range(ty: &DataType, text: &str) -> Self {
        Self::new(
            "22003",
            format!(
                "value \"{}\" is out of range for type {}",
                truncate(text),
                short_name(ty)
            ),
        )
    }

    fn binary(ty: &DataType) -> Self {
        Self::new(
            "22P03",
            format!("incorrect binary data format for type {}", short_name(ty)),
        )
    }
}

/// Keeps error messages about huge inputs small.
fn truncate(text: &str) -> String {
    if text.len() <= 64 {
        return text.to_string();
    }
    let mut end = 64;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// The short PostgreSQL name used in input error messages.
fn short_name(ty: &DataType) -> &'static str {
    match ty {
        DataType::Boolean => "boolean",
        DataType::SmallInt => "smallint",
        DataType::Integer => "integer",
        DataType::BigInt => "bigint",
        DataType::Numeric { .. } => "numeric",
        DataType::Real => "real",
        DataType::Double => "double precision",
        DataType::Text => "text",
        DataType::Varchar(_) => "character varying",
        DataType::Char(_) => "character",
        DataType::Bytea => "bytea",
        DataType::Date => "date",
        DataType::Timestamp => "timestamp",
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
    }
}

/// `pg_type.typlen`: the fixed size, or -1 for variable-length types.
pub fn type_size(ty: &DataType) -> i16 {
    match ty {
        DataType::Boolean => 1,
        DataType::SmallInt => 2,
        DataType::Integer | DataType::Real | DataType::Date => 4,
        DataType::BigInt | DataType::Double | DataType::Timestamp => 8,
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
        NUMERIC => DataType::Numeric {
            precision: None,
            scale: None,
        },
        // `name` and `"char"` are text to every client that sends them.
        19 => DataType::Text,
        18 => DataType::Char(Some(1)),
        other => {
            return Err(WireTypeError::new(
                "0A000",
                format!("parameter type with OID {other} is not supported"),
            ))
        }
    }))
}

// ---------------------------------------------------------------------------------------
// Text format
// ---------------------------------------------------------------------------------------

/// A value in PostgreSQL's text output format (`None` for NULL).
pub fn encode_text(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => if *b { "t" } else { "f" }.to_string(),
        Value::Int16(v) => v.to_string(),
        Value::Int32(v) => v.to_string(),
        Value::Int64(v) => v.to_string(),
        Value::Float32(v) => float_text(*v as f64, format!("{v:e}"), 6),
        Value::Float64(v) => float_text(*v, format!("{v:e}"), 15),
        Value::Numeric(d) => d.to_string(),
        Value::Text(s) => s.clone(),
        Value::Bytes(b) => {
            let mut s = String::with_capacity(2 + b.len() * 2);
            s.push_str("\\x");
            for byte in b {
                s.push_str(&format!("{byte:02x}"));
            }
            s
        }
        Value::Date(days) => date_text(*days),
        Value::Timestamp(micros) => timestamp_text(*micros),
    })
}

/// PostgreSQL's shortest-exact float output (`extra_float_digits = 1`): fixed notation
/// when the decimal exponent is in `-4..max_exp`, else `d.ddde+XX`.
fn float_text(v: f64, sci: String, max_exp: i32) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // `sci` is Rust's shortest round-trip form: "-1.2345e-7".
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => return sci,
    };
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if v == 0.0 {
        return format!("{sign}0");
    }
    if (-4..max_exp).contains(&exp) {
        let n = digits.len() as i32;
        if exp >= n - 1 {
            // Integer: digits followed by zeros.
            format!("{sign}{digits}{}", "0".repeat((exp - (n - 1)) as usize))
        } else if exp >= 0 {
            let split = (exp + 1) as usize;
            format!("{sign}{}.{}", &digits[..split], &digits[split..])
        } else {
            format!("{sign}0.{}{digits}", "0".repeat((-exp - 1) as usize))
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    }
}

fn date_from_days(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(days as i64))
}

fn date_text(days: i32) -> String {
    match date_from_days(days) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => days.to_string(),
    }
}

fn timestamp_text(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    let Some(dt) = chrono::DateTime::from_timestamp(secs, 0) else {
        return micros.to_string();
    };
    let mut s = dt.naive_utc().format("%Y-%m-%d %H:%M:%S").to_string();
    if frac != 0 {
        let f = format!("{frac:06}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s
}

/// Reads a text-format parameter of type `ty`.
pub fn decode_text(ty: &DataType, text: &str) -> Result<Value, WireTypeError> {
    let t = text.trim();
    match ty {
        DataType::Boolean => parse_bool(t)
            .map(Value::Bool)
            .ok_or_else(|| WireTypeError::syntax(ty, text)),
        DataType::SmallInt => parse_int::<i16>(ty, t).map(Value::Int16),
        DataType::Integer => parse_int::<i32>(ty, t).map(Value::Int32),
        DataType::BigInt => parse_int::<i64>(ty, t).map(Value::Int64),
        DataType::Real => parse_float(ty, t).and_then(|v| {
            let f = v as f32;
            if f.is_infinite() && v.is_finite() {
                Err(WireTypeError::range(ty, text))
            } else {
                Ok(Value::Float32(f))
            }
        }),
        DataType::Double => parse_float(ty, t).map(Value::Float64),
        DataType::Numeric { .. } => Decimal::from_str(t)
            .or_else(|_| Decimal::from_scientific(t))
            .map(Value::Numeric)
            .map_err(|_| {
                if !t.is_empty()
                    && t.bytes()
                        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
                {
                    WireTypeError::range(ty, text)
                } else {
                    WireTypeError::syntax(ty, text)
                }
            }),
        DataType::Text | DataType::Varchar(_) | DataType::Char(_) => Ok(Value::Text(text.into())),
        DataType::Bytea => parse_bytea(text)
            .map(Value::Bytes)
            .ok_or_else(|| WireTypeError::syntax(ty, text)),
        DataType::Date => parse_date(t)
            .map(Value::Date)
            .ok_or_else(|| WireTypeError::syntax(ty, text)),
        DataType::Timestamp => parse_timestamp(t)
            .map(Value::Timestamp)
            .ok_or_else(|| WireTypeError::syntax(ty, text)),
    }
}

fn parse_bool(t: &str) -> Option<bool> {
    let l = t.to_ascii_lowercase();
    if l.is_empty() {
        return None;
    }
    let is_prefix = |word: &str| word.starts_with(l.as_str());
    match l.as_str() {
        "1" => Some(true),
        "0" => Some(false),
        "o" => None, // ambiguous between "on" and "off"
        "on" => Some(true),
        "of" | "off" => Some(false),
        _ if is_prefix("true") || is_prefix("yes") => Some(true),
        _ if is_prefix("false") || is_prefix("no") => Some(false),
        _ => None,
    }
}

fn parse_int<T: FromStr>(ty: &DataType, t: &str) -> Result<T, WireTypeError> {
    t.parse::<T>().map_err(|_| {
        let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            WireTypeError::range(ty, t)
        } else {
            WireTypeError::syntax(ty, t)
        }
    })
}

fn parse_float(ty: &DataType, t: &str) -> Result<f64, WireTypeError> {
    let v: f64 = t.parse().map_err(|_| WireTypeError::syntax(ty, t))?;
    let lower = t.to_ascii_lowercase();
    if v.is_infinite() && !lower.contains("inf") {
        return Err(WireTypeError::range(ty, t));
    }
    Ok(v)
}

fn parse_bytea(text: &str) -> Option<Vec<u8>> {
    if let Some(hex) = text.strip_prefix("\\x") {
        let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if digits.len() % 2 != 0 {
            return None;
        }
        digits
            .chunks(2)
            .map(|pair| {
                let hi = (pair[0] as char).to_digit(16)?;
                let lo = (pair[1] as char).to_digit(16)?;
                Some((hi * 16 + lo) as u8)
            })
            .collect()
    } else {
        // Escape format: `\\` is a backslash, `\ooo` an octal byte.
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'\\' {
                out.push(bytes[i]);
                i += 1;
            } else if bytes.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
            } else {
                let oct = bytes.get(i + 1..i + 4)?;
                if !oct.iter().all(|b| (b'0'..=b'7').contains(b)) || oct[0] > b'3' {
                    return None;
                }
                out.push((oct[0] - b'0') * 64 + (oct[1] - b'0') * 8 + (oct[2] - b'0'));
                i += 4;
            }
        }
        Some(out)
    }
}

fn parse_date(t: &str) -> Option<i32> {
    let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from(d.signed_duration_since(epoch).num_days()).ok()
}

fn parse_timestamp(t: &str) -> Option<i64> {
    let dt = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M"))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .map(|d| d.and_time(NaiveTime::MIN))
        })?;
    // PostgreSQL keeps microseconds (rounding); chrono parsed up to nanoseconds.
    let micros = dt.and_utc().timestamp_micros();
    let nanos_rest = dt.and_utc().timestamp_subsec_nanos() % 1000;
    Some(if nanos_rest >= 500 {
        micros + 1
    } else {
        micros
    })
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
        _ => return Err(mismatch()),
    }))
}

/// Reads a binary-format parameter of type `ty`.
pub fn decode_binary(ty: &DataType, data: &[u8]) -> Result<Value, WireTypeError> {
    let err = || WireTypeError::binary(ty);
    Ok(match ty {
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
    })
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
    if dscale > 28 || weight > 8 || weight < -8 {
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
            assert_eq!(data_type_from_oid(oid(&ty)), Ok(Some(ty.clone())));
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
            Err("22007")
        );
        assert_eq!(
            decode_text(&DataType::Bytea, "\\xZZ").map_err(|e| e.sqlstate),
            Err("22P02")
        );
        assert_eq!(
            decode_text(&DataType::Bytea, "a\\1"),
            Err(WireTypeError::syntax(&DataType::Bytea, "a\\1"))
        );
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
