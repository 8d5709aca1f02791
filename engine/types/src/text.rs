//! The canonical text form of a value: PostgreSQL's output functions, as psql prints them.
//!
//! Every protocol that sends text, `||` with non-text operands and casts to text all go
//! through here, so that a value prints the same way everywhere.

use crate::datetime::{format_date, format_time, format_timestamp};
use crate::Value;
use std::fmt::Write;

/// The text form of a value, `None` for NULL (which has no text form; protocols send their
/// own NULL marker).
pub fn to_text(v: &Value) -> Option<String> {
    let mut out = String::new();
    write_text(v, &mut out).then_some(out)
}

/// Appends the text form of `v` to `out`, returning false (and appending nothing) for NULL.
/// Lets row encoders reuse one buffer instead of allocating a string per value.
pub fn write_text(v: &Value, out: &mut String) -> bool {
    match v {
        Value::Null => return false,
        Value::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        Value::Int16(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Int32(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Int64(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float32(f) => out.push_str(&float4_text(*f)),
        Value::Float64(f) => out.push_str(&float8_text(*f)),
        Value::Numeric(d) => {
            let mut d = *d;
            // A negative zero would print as "-0"; PostgreSQL has no such numeric.
            if d.is_zero() {
                d.set_sign_positive(true);
            }
            let _ = write!(out, "{d}");
        }
        Value::Text(s) => out.push_str(s),
        Value::Bytes(b) => {
            out.reserve(2 + 2 * b.len());
            out.push_str("\\x");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
        }
        Value::Date(d) => format_date(i64::from(*d), out),
        Value::Timestamp(t) => format_timestamp(*t, out),
        Value::Time(t) => format_time(*t, out),
        Value::Array(items) => crate::array::write_array_text(items, out, &mut to_text),
    }
    true
}

/// `float8out`: the shortest representation that round-trips, in exponent form when the
/// decimal exponent is below -4 or at least 15 (PostgreSQL 12+).
pub fn float8_text(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    shortest(format!("{f:e}"), || format!("{f}"), 15)
}

/// `float4out`: as [`float8_text`] with single precision; exponent form from 1e6 up.
pub fn float4_text(f: f32) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    shortest(format!("{f:e}"), || format!("{f}"), 6)
}

/// Chooses between Rust's shortest scientific form (`sci`, like `1.5e-7`) and its shortest
/// fixed form, reformatting the exponent the C way (`e-07`, `e+20`).
fn shortest(sci: String, fixed: impl FnOnce() -> String, upper: i32) -> String {
    let Some((mantissa, exp)) = sci.split_once('e') else {
        return fixed();
    };
    let Ok(exp) = exp.parse::<i32>() else {
        return fixed();
    };
    if (-4..upper).contains(&exp) {
        fixed()
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;
    use std::str::FromStr;

    fn t(v: Value) -> String {
        to_text(&v).unwrap_or_else(|| "<null>".into())
    }

    #[test]
    fn float8_matches_postgres() {
        let cases = [
            (0.1, "0.1"),
            (1e20, "1e+20"),
            (1.5e-7, "1.5e-07"),
            (100.0, "100"),
            (1e15, "1e+15"),
            (123456789012345.0, "123456789012345"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (0.0, "0"),
            (-0.0, "-0"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e300, "1e+300"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
            (f64::NAN, "NaN"),
        ];
        for (f, s) in cases {
            assert_eq!(t(Value::Float64(f)), s, "{f}");
        }
    }

    #[test]
    fn float4_matches_postgres() {
        assert_eq!(t(Value::Float32(1e7)), "1e+07");
        assert_eq!(t(Value::Float32(100000.0)), "100000");
        assert_eq!(t(Value::Float32(1000000.0)), "1e+06");
        assert_eq!(t(Value::Float32(0.1)), "0.1");
        assert_eq!(t(Value::Float32(1.0 / 3.0)), "0.33333334");
    }

    #[test]
    fn scalars() {
        assert_eq!(to_text(&Value::Null), None);
        assert_eq!(t(Value::Bool(true)), "t");
        assert_eq!(t(Value::Bool(false)), "f");
        assert_eq!(t(Value::Int16(-5)), "-5");
        assert_eq!(t(Value::Int64(i64::MIN)), "-9223372036854775808");
        let d = Decimal::from_str("1.50").unwrap_or_default();
        assert_eq!(t(Value::Numeric(d)), "1.50");
        assert_eq!(t(Value::Numeric(-Decimal::ZERO)), "0");
        assert_eq!(t(Value::Text("héllo".into())), "héllo");
        assert_eq!(t(Value::Bytes(b"Hello".to_vec())), "\\x48656c6c6f");
        assert_eq!(t(Value::Date(0)), "1970-01-01");
        assert_eq!(t(Value::Timestamp(1_000_000 * 3661)), "1970-01-01 01:01:01");
        assert_eq!(t(Value::Timestamp(120_000)), "1970-01-01 00:00:00.12");
    }
}
