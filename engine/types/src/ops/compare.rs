//! Comparison: SQL three-valued comparison and the total sort order.

use super::no_operator;
use crate::datetime::MICROS_PER_DAY;
use crate::{Result, Value};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::cmp::Ordering;

/// A number of any width, promoted to the kind in which two numbers compare.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    Int(i64),
    Dec(Decimal),
    Float(f64),
}

impl Num {
    /// The numeric view of a value, `None` for non-numbers.
    pub(crate) fn of(v: &Value) -> Option<Num> {
        Some(match v {
            Value::Int16(i) => Num::Int(i64::from(*i)),
            Value::Int32(i) => Num::Int(i64::from(*i)),
            Value::Int64(i) => Num::Int(*i),
            Value::Numeric(d) => Num::Dec(*d),
            Value::Float32(f) => Num::Float(f64::from(*f)),
            Value::Float64(f) => Num::Float(*f),
            _ => return None,
        })
    }

    fn to_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Dec(d) => d.to_f64().unwrap_or(f64::NAN),
            Num::Float(f) => f,
        }
    }
}

/// PostgreSQL's float order: NaN equals NaN and is greater than everything else; -0 = 0.
pub(crate) fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Compares two numbers: exactly between integers and numerics, through f64 with a float.
fn num_cmp(a: Num, b: Num) -> Ordering {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => x.cmp(&y),
        (Num::Int(x), Num::Dec(y)) => Decimal::from(x).cmp(&y),
        (Num::Dec(x), Num::Int(y)) => x.cmp(&Decimal::from(y)),
        (Num::Dec(x), Num::Dec(y)) => x.cmp(&y),
        (a, b) => float_cmp(a.to_f64(), b.to_f64()),
    }
}

/// A point in time in microseconds, wide enough that no date overflows.
fn instant(v: &Value) -> Option<i128> {
    match v {
        Value::Date(d) => Some(i128::from(*d) * i128::from(MICROS_PER_DAY)),
        Value::Timestamp(t) => Some(i128::from(*t)),
        _ => None,
    }
}

/// Compares two non-null values of comparable types, `None` if there is no operator.
fn cmp_values(a: &Value, b: &Value) -> Option<Ordering> {
    if let (Some(x), Some(y)) = (Num::of(a), Num::of(b)) {
        return Some(num_cmp(x, y));
    }
    if let (Some(x), Some(y)) = (instant(a), instant(b)) {
        return Some(x.cmp(&y));
    }
    match (a, b) {
        // str's Ord is bytewise: the C collation.
        (Value::Text(x), Value::Text(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Time(x), Value::Time(y)) => Some(x.cmp(y)),
        (Value::Array(x), Value::Array(y)) => crate::array::array_cmp(x, y, cmp_values),
        _ => None,
    }
}

/// SQL comparison, the basis of `=`, `<`, … : `Ok(None)` (unknown) when either side is
/// NULL, an error when the types have no comparison operator, so that `1 = 'a'` fails
/// the way PostgreSQL fails instead of silently being false.
pub fn compare(a: &Value, b: &Value) -> Result<Option<Ordering>> {
    if a.is_null() || b.is_null() {
        return Ok(None);
    }
    cmp_values(a, b)
        .map(Some)
        .ok_or_else(|| no_operator(a, "=", b))
}

/// The rank of a type class, to order values that have no comparison between them.
fn rank(v: &Value) -> u8 {
    match v {
        Value::Bool(_) => 0,
        Value::Int16(_)
        | Value::Int32(_)
        | Value::Int64(_)
        | Value::Float32(_)
        | Value::Float64(_)
        | Value::Numeric(_) => 1,
        Value::Text(_) => 2,
        Value::Bytes(_) => 3,
        Value::Date(_) | Value::Timestamp(_) => 4,
        Value::Time(_) => 5,
        Value::Null => 6,
        Value::Array(_) => 7,
    }
}

/// The total order of ORDER BY, DISTINCT and merges: sorting needs an answer for every
/// pair, so NULL sorts after every value (the caller flips it for DESC / NULLS FIRST),
/// NaN after every other number, and values of unrelated types by a fixed type rank.
pub fn sort_cmp(a: &Value, b: &Value) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => cmp_values(a, b).unwrap_or_else(|| rank(a).cmp(&rank(b))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TypeError;
    use std::str::FromStr;

    fn dec(s: &str) -> Value {
        Value::Numeric(Decimal::from_str(s).unwrap_or_default())
    }

    #[test]
    fn numbers_cross_compare() {
        use Ordering::*;
        let c = |a: &Value, b: &Value| compare(a, b).ok().flatten();
        assert_eq!(c(&Value::Int16(5), &Value::Int64(5)), Some(Equal));
        assert_eq!(c(&Value::Int32(5), &dec("5.00")), Some(Equal));
        assert_eq!(c(&dec("5.01"), &Value::Int64(5)), Some(Greater));
        assert_eq!(c(&Value::Float64(0.5), &dec("0.4")), Some(Greater));
        assert_eq!(c(&Value::Float32(1.5), &Value::Int16(2)), Some(Less));
        assert_eq!(
            c(&Value::Float64(f64::NAN), &Value::Float64(1e308)),
            Some(Greater)
        );
        assert_eq!(
            c(&Value::Float64(f64::NAN), &Value::Float64(f64::NAN)),
            Some(Equal)
        );
        assert_eq!(c(&Value::Float64(-0.0), &Value::Float64(0.0)), Some(Equal));
    }

    #[test]
    fn other_types() {
        use Ordering::*;
        let c = |a: &Value, b: &Value| compare(a, b).ok().flatten();
        assert_eq!(
            c(&Value::Text("a".into()), &Value::Text("B".into())),
            Some(Greater)
        );
        assert_eq!(c(&Value::Bool(false), &Value::Bool(true)), Some(Less));
        assert_eq!(
            c(&Value::Date(1), &Value::Timestamp(MICROS_PER_DAY)),
            Some(Equal)
        );
        assert_eq!(
            c(&Value::Date(1), &Value::Timestamp(MICROS_PER_DAY + 1)),
            Some(Less)
        );
        assert_eq!(compare(&Value::Null, &Value::Int32(1)), Ok(None));
        assert_eq!(
            compare(&Value::Int32(1), &Value::Text("1".into())),
            Err(TypeError::NoOperator("integer = text".into()))
        );
    }

    #[test]
    fn sort_order_is_total() {
        use Ordering::*;
        assert_eq!(sort_cmp(&Value::Null, &Value::Int32(i32::MAX)), Greater);
        assert_eq!(sort_cmp(&Value::Null, &Value::Null), Equal);
        assert_eq!(sort_cmp(&Value::Int32(1), &Value::Text("0".into())), Less);
        assert_eq!(
            sort_cmp(&Value::Float64(f64::NAN), &Value::Float64(f64::INFINITY)),
            Greater
        );
    }
}
