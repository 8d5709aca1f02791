//! Order-preserving ("memcomparable") key encoding.
//!
//! Storage keys are compared as raw bytes, so a value's encoding must sort the way the
//! value sorts. For two values of the same column type, `encode(a) < encode(b)` exactly
//! when [`sort_cmp`](crate::ops::sort_cmp) says `a < b`, and equal values (`1.0` and
//! `1.00`, `Int16(5)` and `Int64(5)`, `-0.0` and `0.0`) encode identically, which makes
//! the encoding usable as a GROUP BY / DISTINCT equality key too. Every encoding is
//! self-delimiting, so concatenated encodings compare like tuples.
//!
//! Each value starts with a tag byte per type class, ordered like `sort_cmp`'s type rank;
//! NULL has the greatest tag and so sorts last, as in PostgreSQL's ascending order.
//! Integers, numerics and floats have distinct tags: within one column they never mix.

use crate::Value;
use rust_decimal::Decimal;

const TAG_BOOL: u8 = 0x10;
const TAG_INT: u8 = 0x20;
const TAG_NUMERIC: u8 = 0x21;
const TAG_FLOAT: u8 = 0x22;
const TAG_TEXT: u8 = 0x30;
const TAG_BYTES: u8 = 0x40;
const TAG_DATE: u8 = 0x50;
const TAG_TIMESTAMP: u8 = 0x51;
const TAG_TIME: u8 = 0x52;
const TAG_ARRAY: u8 = 0x60;
/// Within an array: marks "another element follows" (the end marker is 0x00, so that a
/// shorter array sorts before a longer one with the same prefix).
const ARRAY_MORE: u8 = 0x01;
const ARRAY_END: u8 = 0x00;
const TAG_NULL: u8 = 0xFF;

/// Numeric sign bytes: negatives before zero before positives.
const NUM_NEG: u8 = 0x01;
const NUM_ZERO: u8 = 0x02;
const NUM_POS: u8 = 0x03;

/// Appends the encoding of one value.
pub fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => out.push(TAG_NULL),
        Value::Bool(b) => out.extend_from_slice(&[TAG_BOOL, u8::from(*b)]),
        Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => {
            let i = v.as_i64().unwrap_or_default();
            out.push(TAG_INT);
            out.extend_from_slice(&((i as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::Numeric(d) => encode_numeric(d, out),
        Value::Float32(f) => encode_float(f64::from(*f), out),
        Value::Float64(f) => encode_float(*f, out),
        Value::Text(s) => encode_bytes(TAG_TEXT, s.as_bytes(), out),
        Value::Bytes(b) => encode_bytes(TAG_BYTES, b, out),
        Value::Date(d) => {
            out.push(TAG_DATE);
            out.extend_from_slice(&((*d as u32) ^ (1 << 31)).to_be_bytes());
        }
        Value::Timestamp(t) => {
            out.push(TAG_TIMESTAMP);
            out.extend_from_slice(&((*t as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::Time(t) => {
            out.push(TAG_TIME);
            out.extend_from_slice(&((*t as u64) ^ (1 << 63)).to_be_bytes());
        }
        Value::Array(items) => {
            out.push(TAG_ARRAY);
            for item in items {
                out.push(ARRAY_MORE);
                encode(item, out);
            }
            out.push(ARRAY_END);
        }
    }
}

/// The encoding of a tuple: the concatenation of its values' encodings.
pub fn encode_all(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 9);
    for v in values {
        encode(v, &mut out);
    }
    out
}

/// Floats: the sign-flip trick (positive: flip the sign bit; negative: flip all bits), with
/// -0.0 folded onto 0.0 and every NaN onto one NaN, which then sorts above +Infinity.
fn encode_float(f: f64, out: &mut Vec<u8>) {
    let f = if f == 0.0 {
        0.0
    } else if f.is_nan() {
        f64::NAN
    } else {
        f
    };
    let bits = f.to_bits();
    let bits = if bits >> 63 == 0 {
        bits ^ (1 << 63)
    } else {
        !bits
    };
    out.push(TAG_FLOAT);
    out.extend_from_slice(&bits.to_be_bytes());
}

/// Numerics as sign, decimal exponent and significant digits. A nonzero value is
/// `0.d1d2…dn × 10^e` with `d1 ≠ 0` and `dn ≠ 0` (normalized: scale does not matter).
/// Positives encode `e + 128`, then each digit as `d + 1`, then `0`: a larger exponent
/// wins, then digit order, and a shorter digit string (a prefix) sorts first. Negatives
/// encode the same bytes inverted, which reverses the order.
fn encode_numeric(d: &Decimal, out: &mut Vec<u8>) {
    out.push(TAG_NUMERIC);
    let m = d.mantissa();
    if m == 0 {
        out.push(NUM_ZERO);
        return;
    }
    let neg = m < 0;
    out.push(if neg { NUM_NEG } else { NUM_POS });
    let mut abs = m.unsigned_abs();
    let mut scale = i64::from(d.scale());
    while abs.is_multiple_of(10) {
        abs /= 10;
        scale -= 1;
    }
    let digits = abs.to_string();
    let exp = digits.len() as i64 - scale;
    let flip = |b: u8| if neg { !b } else { b };
    // |exp| <= 29 for any Decimal, so the biased exponent fits a byte.
    out.push(flip((exp + 128).clamp(0, 255) as u8));
    out.extend(digits.bytes().map(|c| flip(c - b'0' + 1)));
    out.push(flip(0));
}

/// Text and bytes: `0x00` escaped as `0x00 0xFF` and `0x00 0x01` as terminator, so that a
/// string sorts before its extensions and no byte value is ambiguous.
fn encode_bytes(tag: u8, bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len() + 3);
    out.push(tag);
    for chunk in bytes.split_inclusive(|b| *b == 0) {
        out.extend_from_slice(chunk);
        if chunk.last() == Some(&0) {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

/// Why a key could not be decoded (corrupt or truncated storage, never user error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The input ended inside a value.
    #[error("key truncated")]
    Truncated,
    /// A leading byte that starts no encoding.
    #[error("unknown key tag 0x{0:02x}")]
    UnknownTag(u8),
    /// A byte that cannot appear at its position.
    #[error("invalid byte 0x{0:02x} in key")]
    InvalidByte(u8),
    /// Text bytes that are not UTF-8.
    #[error("key text is not UTF-8")]
    InvalidUtf8,
    /// Numeric digits that do not fit a Decimal.
    #[error("key numeric out of range")]
    InvalidNumeric,
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], KeyError> {
    if input.len() < n {
        return Err(KeyError::Truncated);
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn take_array<const N: usize>(input: &mut &[u8]) -> Result<[u8; N], KeyError> {
    let mut a = [0u8; N];
    a.copy_from_slice(take(input, N)?);
    Ok(a)
}

fn take_byte(input: &mut &[u8]) -> Result<u8, KeyError> {
    let [b] = take_array::<1>(input)?;
    Ok(b)
}

/// Decodes one value from the front of `input`, advancing it; used to turn index keys
/// back into rows. Integers of every width come back as `Int64`, floats as `Float64` and
/// numerics normalized (`1.50` → `1.5`), since the encoding deliberately forgets them.
pub fn decode(input: &mut &[u8]) -> Result<Value, KeyError> {
    Ok(match take_byte(input)? {
        TAG_NULL => Value::Null,
        TAG_BOOL => Value::Bool(take_byte(input)? != 0),
        TAG_INT => Value::Int64((u64::from_be_bytes(take_array(input)?) ^ (1 << 63)) as i64),
        TAG_FLOAT => {
            let bits = u64::from_be_bytes(take_array(input)?);
            let bits = if bits >> 63 == 1 {
                bits ^ (1 << 63)
            } else {
                !bits
            };
            Value::Float64(f64::from_bits(bits))
        }
        TAG_NUMERIC => Value::Numeric(decode_numeric(input)?),
        TAG_TEXT => {
            let bytes = decode_bytes(input)?;
            Value::Text(String::from_utf8(bytes).map_err(|_| KeyError::InvalidUtf8)?)
        }
        TAG_BYTES => Value::Bytes(decode_bytes(input)?),
        TAG_DATE => Value::Date((u32::from_be_bytes(take_array(input)?) ^ (1 << 31)) as i32),
        TAG_TIMESTAMP => {
            Value::Timestamp((u64::from_be_bytes(take_array(input)?) ^ (1 << 63)) as i64)
        }
        TAG_TIME => Value::Time((u64::from_be_bytes(take_array(input)?) ^ (1 << 63)) as i64),
        TAG_ARRAY => {
            let mut items = Vec::new();
            loop {
                match take_byte(input)? {
                    ARRAY_END => break,
                    // Arrays have one dimension: refusing nested array tags also bounds
                    // the recursion on corrupt input.
                    ARRAY_MORE if input.first() == Some(&TAG_ARRAY) => {
                        return Err(KeyError::InvalidByte(TAG_ARRAY))
                    }
                    ARRAY_MORE => items.push(decode(input)?),
                    b => return Err(KeyError::InvalidByte(b)),
                }
            }
            Value::Array(items)
        }
        tag => return Err(KeyError::UnknownTag(tag)),
    })
}

fn decode_numeric(input: &mut &[u8]) -> Result<Decimal, KeyError> {
    let neg = match take_byte(input)? {
        NUM_ZERO => return Ok(Decimal::ZERO),
        NUM_NEG => true,
        NUM_POS => false,
        b => return Err(KeyError::InvalidByte(b)),
    };
    let flip = |b: u8| if neg { !b } else { b };
    let exp = i64::from(flip(take_byte(input)?)) - 128;
    let mut mantissa: i128 = 0;
    let mut count: i64 = 0;
    loop {
        match flip(take_byte(input)?) {
            0 => break,
            b @ 1..=10 => {
                mantissa = mantissa
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(i128::from(b - 1)))
                    .ok_or(KeyError::InvalidNumeric)?;
                count += 1;
            }
            b => return Err(KeyError::InvalidByte(b)),
        }
    }
    let mut scale = count - exp;
    while scale < 0 {
        mantissa = mantissa.checked_mul(10).ok_or(KeyError::InvalidNumeric)?;
        scale += 1;
    }
    let scale = u32::try_from(scale).map_err(|_| KeyError::InvalidNumeric)?;
    let mantissa = if neg { -mantissa } else { mantissa };
    Decimal::try_from_i128_with_scale(mantissa, scale).map_err(|_| KeyError::InvalidNumeric)
}

fn decode_bytes(input: &mut &[u8]) -> Result<Vec<u8>, KeyError> {
    let mut out = Vec::new();
    loop {
        let zero = input
            .iter()
            .position(|b| *b == 0)
            .ok_or(KeyError::Truncated)?;
        out.extend_from_slice(take(input, zero)?);
        take_byte(input)?;
        match take_byte(input)? {
            0x01 => return Ok(out),
            0xFF => out.push(0),
            b => return Err(KeyError::InvalidByte(b)),
        }
    }
}

#[cfg(test)]
mod tests;
