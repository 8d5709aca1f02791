//! Conversions between types, PostgreSQL's way: text input parses with the type's input
//! function, numbers convert with range checks and rounding, and type modifiers
//! (`NUMERIC(p,s)`, `VARCHAR(n)`, `CHAR(n)`) are applied on the way.

mod parse;

use crate::datetime::{checked_date, split_timestamp, MICROS_PER_DAY};
use crate::ops::Width;
use crate::text::to_text;
use crate::{type_name, DataType, Result, TypeError, Value};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

/// Why a value is being converted: the rules differ for over-long strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CastMode {
    /// `CAST(x AS t)` / `x::t`: over-long strings are silently truncated.
    Explicit,
    /// Storing into a column (INSERT/UPDATE): over-long strings are an error unless the
    /// excess is only spaces.
    Assignment,
}

/// PostgreSQL's longest `CHAR(n)`; bounds the padding a type modifier can ask for.
const MAX_CHAR_LENGTH: usize = 10_485_760;

/// Converts a value to a type. NULL stays NULL; an impossible pair of types is
/// `CannotCast`, bad text is `InvalidText` (22P02), values that do not fit are
/// `OutOfRange` / `NumericOverflow` / `StringTooLong`.
pub fn cast(v: &Value, to: &DataType, mode: CastMode) -> Result<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let cannot = || cannot_cast(v, to);
    Ok(match to {
        DataType::Time => Value::Time(match v {
            // Values from outside (a gateway's binary input) are checked too.
            Value::Time(t) if (0..MICROS_PER_DAY).contains(t) => *t,
            Value::Time(_) => return Err(TypeError::OutOfRange("time".into())),
            Value::Timestamp(t) => split_timestamp(*t).1,
            Value::Text(s) => parse::parse_time(s)?,
            _ => return Err(cannot()),
        }),
        DataType::Boolean => Value::Bool(match v {
            Value::Bool(b) => *b,
            Value::Text(s) => parse::parse_bool(s)?,
            other => other.as_i64().ok_or_else(cannot)? != 0,
        }),
        DataType::SmallInt => to_int(v, Width::W16).ok_or_else(cannot)??,
        DataType::Integer => to_int(v, Width::W32).ok_or_else(cannot)??,
        DataType::BigInt => to_int(v, Width::W64).ok_or_else(cannot)??,
        DataType::Numeric { precision, scale } => {
            let d = to_decimal(v).ok_or_else(cannot)??;
            Value::Numeric(apply_numeric_typmod(d, *precision, *scale)?)
        }
        DataType::Double => Value::Float64(to_double(v).ok_or_else(cannot)??),
        DataType::Real => Value::Float32(match v {
            Value::Float32(f) => *f,
            Value::Text(s) => parse::parse_real(s)?,
            other => double_to_real(to_double(other).ok_or_else(cannot)??)?,
        }),
        DataType::Text => Value::Text(cast_text(v)),
        DataType::Varchar(n) => Value::Text(fit_string(
            cast_text(v),
            n.map(|n| n as usize),
            false,
            mode,
            to,
        )?),
        DataType::Char(n) => {
            let n = n.map_or(1, |n| n as usize);
            Value::Text(fit_string(cast_text(v), Some(n), true, mode, to)?)
        }
        DataType::Bytea => match v {
            Value::Bytes(b) => Value::Bytes(b.clone()),
            Value::Text(s) => Value::Bytes(parse::parse_bytea(s)?),
            _ => return Err(cannot()),
        },
        DataType::Date => Value::Date(match v {
            Value::Date(d) => *d,
            Value::Timestamp(t) => checked_date(split_timestamp(*t).0)
                .ok_or_else(|| TypeError::OutOfRange("date".into()))?,
            Value::Text(s) => parse::parse_date(s)?,
            _ => return Err(cannot()),
        }),
        DataType::Timestamp => Value::Timestamp(match v {
            Value::Timestamp(t) => *t,
            Value::Date(d) => i64::from(*d)
                .checked_mul(MICROS_PER_DAY)
                .ok_or_else(|| TypeError::OutOfRange("timestamp".into()))?,
            Value::Text(s) => parse::parse_timestamp(s)?,
            _ => return Err(cannot()),
        }),
        DataType::Array(e) => {
            let element = e.data_type();
            match v {
                Value::Text(s) => Value::Array(crate::array::parse_array(s, &element)?),
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|x| cast(x, &element, mode))
                        .collect::<Result<_>>()?,
                ),
                _ => return Err(cannot()),
            }
        }
    })
}

/// Parses a literal for a target type: an explicit cast of text, except that character
/// types apply the assignment rule (an over-long literal is an error, as when inserting).
pub fn parse_literal(text: &str, to: &DataType) -> Result<Value> {
    let mode = match to {
        DataType::Varchar(_) | DataType::Char(_) => CastMode::Assignment,
        _ => CastMode::Explicit,
    };
    cast(&Value::Text(text.to_string()), to, mode)
}

fn cannot_cast(v: &Value, to: &DataType) -> TypeError {
    TypeError::CannotCast {
        from: v
            .data_type()
            .map(|t| type_name(&t))
            .unwrap_or_else(|| "unknown".into()),
        to: type_name(to),
    }
}

/// The text a value casts to: its output form, except booleans, which cast to
/// `true`/`false` (PostgreSQL's `bool::text`) although they print as `t`/`f`.
fn cast_text(v: &Value) -> String {
    match v {
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        other => to_text(other).unwrap_or_default(),
    }
}

/// A float rounded to an integer the way PostgreSQL's `rint` does (half to even).
fn float_to_int(f: f64, width: Width) -> Result<Value> {
    let out = || TypeError::OutOfRange(width.name().into());
    let r = f.round_ties_even();
    // 2^63 is exact in f64; NaN fails both comparisons.
    if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&r) {
        return Err(out());
    }
    width.fit(i128::from(r as i64))
}

/// Integer conversion; `None` when the source type has no cast to integers.
fn to_int(v: &Value, width: Width) -> Option<Result<Value>> {
    Some(match v {
        Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => {
            width.fit(i128::from(v.as_i64().unwrap_or_default()))
        }
        Value::Bool(b) => width.fit(i128::from(*b)),
        Value::Numeric(d) => d
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            .to_i128()
            .ok_or_else(|| TypeError::OutOfRange(width.name().into()))
            .and_then(|i| width.fit(i)),
        Value::Float32(f) => float_to_int(f64::from(*f), width),
        Value::Float64(f) => float_to_int(*f, width),
        Value::Text(s) => parse::parse_int(s, width),
        _ => return None,
    })
}

/// A float as numeric through its text with the type's guaranteed digits (15 for double,
/// 6 for real), as PostgreSQL does, so that `0.1::float8::numeric` is `0.1`.
fn float_to_decimal(f: f64, digits: usize) -> Result<Decimal> {
    if !f.is_finite() {
        return Err(TypeError::OutOfRange("numeric".into()));
    }
    let text = format!("{:.*e}", digits - 1, f);
    match Decimal::from_scientific(&text) {
        Ok(d) => Ok(d.normalize()),
        Err(_) if f.abs() < 1.0 => Ok(Decimal::from_scientific_lossy(&text)
            .map(|d| d.normalize())
            .unwrap_or(Decimal::ZERO)),
        Err(_) => Err(TypeError::OutOfRange("numeric".into())),
    }
}

/// Numeric conversion (before the type modifier); `None` when there is no cast.
fn to_decimal(v: &Value) -> Option<Result<Decimal>> {
    Some(match v {
        Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => {
            Ok(Decimal::from(v.as_i64().unwrap_or_default()))
        }
        Value::Numeric(d) => Ok(*d),
        Value::Float32(f) => float_to_decimal(f64::from(*f), 6),
        Value::Float64(f) => float_to_decimal(*f, 15),
        Value::Text(s) => parse::parse_numeric(s),
        _ => return None,
    })
}

/// `10^exp` as a Decimal, `None` when beyond its range (then nothing reaches it).
fn pow10(exp: i64) -> Option<Decimal> {
    match exp {
        e if (0..=28).contains(&e) => {
            Decimal::try_from_i128_with_scale(10i128.pow(e as u32), 0).ok()
        }
        e if (-28..0).contains(&e) => Decimal::try_from_i128_with_scale(1, (-e) as u32).ok(),
        _ => None,
    }
}

/// Applies `NUMERIC(p,s)`: rounds half away from zero to scale `s` (shown with exactly `s`
/// decimals), then rejects values with more than `p - s` integer digits. Unconstrained
/// numerics pass through unchanged.
pub fn apply_numeric_typmod(
    d: Decimal,
    precision: Option<u8>,
    scale: Option<u8>,
) -> Result<Decimal> {
    let Some(p) = precision else {
        return Ok(d);
    };
    let s = u32::from(scale.unwrap_or(0));
    let mut r = d.round_dp_with_strategy(s, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(s.min(Decimal::MAX_SCALE));
    let limit_exp = i64::from(p) - i64::from(s);
    let overflow = match pow10(limit_exp) {
        Some(limit) => r.abs() >= limit,
        None => limit_exp < 0 && !r.is_zero(),
    };
    if overflow {
        return Err(TypeError::NumericOverflow);
    }
    Ok(r)
}

/// Double conversion; `None` when there is no cast.
fn to_double(v: &Value) -> Option<Result<f64>> {
    Some(match v {
        Value::Int16(_) | Value::Int32(_) | Value::Int64(_) => {
            Ok(v.as_i64().unwrap_or_default() as f64)
        }
        Value::Numeric(d) => d
            .to_f64()
            .ok_or_else(|| TypeError::OutOfRange("double precision".into())),
        Value::Float32(f) => Ok(f64::from(*f)),
        Value::Float64(f) => Ok(*f),
        Value::Text(s) => parse::parse_double(s),
        _ => return None,
    })
}

/// Narrows a double to real with PostgreSQL's overflow/underflow errors.
fn double_to_real(f: f64) -> Result<f32> {
    let r = f as f32;
    if r.is_infinite() && f.is_finite() {
        return Err(TypeError::FloatOutOfRange("overflow"));
    }
    if r == 0.0 && f != 0.0 {
        return Err(TypeError::FloatOutOfRange("underflow"));
    }
    Ok(r)
}

/// Applies a length limit (and blank padding for `CHAR`): over-long strings truncate in
/// explicit casts and fail on assignment unless only spaces would be lost.
fn fit_string(
    mut s: String,
    limit: Option<usize>,
    pad: bool,
    mode: CastMode,
    ty: &DataType,
) -> Result<String> {
    let Some(n) = limit else {
        return Ok(s);
    };
    let len = s.chars().count();
    if len > n {
        let cut = s.char_indices().nth(n).map_or(s.len(), |(i, _)| i);
        let excess_is_blank = s
            .get(cut..)
            .is_some_and(|rest| rest.bytes().all(|b| b == b' '));
        if mode == CastMode::Assignment && !excess_is_blank {
            return Err(TypeError::StringTooLong(type_name(ty)));
        }
        s.truncate(cut);
    } else if pad && len < n {
        let padding = n.min(MAX_CHAR_LENGTH).saturating_sub(len);
        s.extend(std::iter::repeat_n(' ', padding));
    }
    Ok(s)
}

#[cfg(test)]
mod tests;
