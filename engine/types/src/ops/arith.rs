//! Arithmetic, negation and concatenation.

use super::{no_operator, value_type_name, ArithOp};
use crate::datetime::checked_date;
use crate::text::to_text;
use crate::{Result, TypeError, Value};
use rosetta_bytecode::Semantics;
use rust_decimal::{Decimal, RoundingStrategy};

/// An integer width: the result type of integer arithmetic is the wider operand's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Width {
    W16,
    W32,
    W64,
}

impl Width {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Width::W16 => "smallint",
            Width::W32 => "integer",
            Width::W64 => "bigint",
        }
    }

    /// The value in this width, or the type's "out of range" error.
    pub(crate) fn fit(self, v: i128) -> Result<Value> {
        let out = || TypeError::OutOfRange(self.name().into());
        Ok(match self {
            Width::W16 => Value::Int16(i16::try_from(v).map_err(|_| out())?),
            Width::W32 => Value::Int32(i32::try_from(v).map_err(|_| out())?),
            Width::W64 => Value::Int64(i64::try_from(v).map_err(|_| out())?),
        })
    }
}

/// A numeric operand, classified for promotion.
#[derive(Debug, Clone, Copy)]
enum Operand {
    Int(i64, Width),
    Dec(Decimal),
    F32(f32),
    F64(f64),
}

impl Operand {
    fn of(v: &Value) -> Option<Self> {
        Some(match v {
            Value::Int16(i) => Operand::Int(i64::from(*i), Width::W16),
            Value::Int32(i) => Operand::Int(i64::from(*i), Width::W32),
            Value::Int64(i) => Operand::Int(*i, Width::W64),
            Value::Numeric(d) => Operand::Dec(*d),
            Value::Float32(f) => Operand::F32(*f),
            Value::Float64(f) => Operand::F64(*f),
            _ => return None,
        })
    }

    fn to_f64(self) -> f64 {
        use rust_decimal::prelude::ToPrimitive;
        match self {
            Operand::Int(i, _) => i as f64,
            Operand::Dec(d) => d.to_f64().unwrap_or(f64::NAN),
            Operand::F32(f) => f64::from(f),
            Operand::F64(f) => f,
        }
    }

    fn to_dec(self) -> Decimal {
        match self {
            Operand::Int(i, _) => Decimal::from(i),
            Operand::Dec(d) => d,
            // Not reached: floats take the float path.
            Operand::F32(_) | Operand::F64(_) => Decimal::ZERO,
        }
    }
}

/// What a zero divisor yields: an error (PostgreSQL) or NULL (MySQL).
fn division_by_zero(sem: &Semantics) -> Result<Value> {
    if sem.division_by_zero_errors {
        Err(TypeError::DivisionByZero)
    } else {
        Ok(Value::Null)
    }
}

/// Binary arithmetic with PostgreSQL's type promotion: integers widen to the wider operand
/// and check overflow, integers with numerics compute exactly in numeric, anything with a
/// float computes in double (real op real stays real). Dates move by whole days.
/// Division follows the dialect: truncating or decimal, erroring or NULL on zero.
pub fn arith(op: ArithOp, a: &Value, b: &Value, sem: &Semantics) -> Result<Value> {
    if a.is_null() || b.is_null() {
        return Ok(Value::Null);
    }
    if let Some(v) = date_arith(op, a, b)? {
        return Ok(v);
    }
    let (Some(x), Some(y)) = (Operand::of(a), Operand::of(b)) else {
        return Err(no_operator(a, op.symbol(), b));
    };
    match (x, y) {
        (Operand::Int(x, wx), Operand::Int(y, wy)) => int_arith(op, x, y, wx.max(wy), sem),
        (Operand::F32(x), Operand::F32(y)) => {
            let r = float_arith(op, f64::from(x), f64::from(y), sem)?;
            Ok(match r {
                Some(r) => Value::Float32(check_float32(r as f32, x, y, op)?),
                None => Value::Null,
            })
        }
        (Operand::F32(_) | Operand::F64(_), _) | (_, Operand::F32(_) | Operand::F64(_)) => {
            Ok(float_arith(op, x.to_f64(), y.to_f64(), sem)?.map_or(Value::Null, Value::Float64))
        }
        _ => dec_arith(op, x.to_dec(), y.to_dec(), sem),
    }
}

/// `date ± integer` and `date - date`; `None` when the operands are not dates.
fn date_arith(op: ArithOp, a: &Value, b: &Value) -> Result<Option<Value>> {
    let shift = |d: i32, n: i64| {
        i64::from(d)
            .checked_add(n)
            .and_then(checked_date)
            .map(|d| Some(Value::Date(d)))
            .ok_or_else(|| TypeError::OutOfRange("date".into()))
    };
    match (op, a, b) {
        (ArithOp::Add, Value::Date(d), n) | (ArithOp::Add, n, Value::Date(d)) => match n.as_i64() {
            Some(n) => shift(*d, n),
            None => Err(no_operator(a, op.symbol(), b)),
        },
        (ArithOp::Sub, Value::Date(x), Value::Date(y)) => Ok(Some(Value::Int32(
            i32::try_from(i64::from(*x) - i64::from(*y))
                .map_err(|_| TypeError::OutOfRange("integer".into()))?,
        ))),
        (ArithOp::Sub, Value::Date(d), n) => match n.as_i64().and_then(i64::checked_neg) {
            Some(n) => shift(*d, n),
            None => Err(no_operator(a, op.symbol(), b)),
        },
        (_, Value::Date(_) | Value::Timestamp(_), _)
        | (_, _, Value::Date(_) | Value::Timestamp(_)) => Err(no_operator(a, op.symbol(), b)),
        _ => Ok(None),
    }
}

/// Integer arithmetic in i128 (no intermediate overflow), then fitted to the result width.
fn int_arith(op: ArithOp, x: i64, y: i64, width: Width, sem: &Semantics) -> Result<Value> {
    let (x, y) = (i128::from(x), i128::from(y));
    let r = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div if y == 0 => return division_by_zero(sem),
        ArithOp::Div if !sem.integer_division_truncates => {
            return dec_arith(op, Decimal::from(x as i64), Decimal::from(y as i64), sem)
        }
        ArithOp::Div => x / y,
        ArithOp::Mod if y == 0 => return division_by_zero(sem),
        ArithOp::Mod => x % y,
    };
    width.fit(r)
}

/// Float arithmetic with PostgreSQL's overflow/underflow checks; `None` = NULL result.
fn float_arith(op: ArithOp, x: f64, y: f64, sem: &Semantics) -> Result<Option<f64>> {
    let r = match op {
        ArithOp::Add => x + y,
        ArithOp::Sub => x - y,
        ArithOp::Mul => x * y,
        ArithOp::Div | ArithOp::Mod if y == 0.0 => {
            return division_by_zero(sem).map(|_| None);
        }
        ArithOp::Div => x / y,
        ArithOp::Mod => x % y,
    };
    if r.is_infinite() && x.is_finite() && y.is_finite() {
        return Err(TypeError::FloatOutOfRange("overflow"));
    }
    let underflow = match op {
        ArithOp::Mul => x != 0.0 && y != 0.0,
        ArithOp::Div => x != 0.0 && y.is_finite(),
        _ => false,
    };
    if r == 0.0 && underflow {
        return Err(TypeError::FloatOutOfRange("underflow"));
    }
    Ok(Some(r))
}

/// The single-precision result of a real op real computed in double.
fn check_float32(r: f32, x: f32, y: f32, op: ArithOp) -> Result<f32> {
    if r.is_infinite() && x.is_finite() && y.is_finite() {
        return Err(TypeError::FloatOutOfRange("overflow"));
    }
    let underflow = match op {
        ArithOp::Mul => x != 0.0 && y != 0.0,
        ArithOp::Div => x != 0.0 && y.is_finite(),
        _ => false,
    };
    if r == 0.0 && underflow {
        return Err(TypeError::FloatOutOfRange("underflow"));
    }
    Ok(r)
}

/// Exact decimal arithmetic; overflow of the 96-bit mantissa is "numeric out of range".
fn dec_arith(op: ArithOp, x: Decimal, y: Decimal, sem: &Semantics) -> Result<Value> {
    let out = || TypeError::OutOfRange("numeric".into());
    let r = match op {
        ArithOp::Add => x.checked_add(y),
        ArithOp::Sub => x.checked_sub(y),
        ArithOp::Mul => x.checked_mul(y),
        ArithOp::Div | ArithOp::Mod if y.is_zero() => return division_by_zero(sem),
        ArithOp::Div => {
            let scale = if sem.integer_division_truncates {
                pg_div_scale(&x, &y)
            } else {
                // MySQL: dividend scale + div_precision_increment (4).
                x.scale() + 4
            };
            return dec_div(x, y, scale).map(Value::Numeric);
        }
        ArithOp::Mod => x.checked_rem(y),
    };
    r.map(Value::Numeric).ok_or_else(out)
}

/// Decimal division rounded half away from zero to `scale` digits (capped at what a
/// Decimal holds), then padded to show exactly that scale as PostgreSQL does.
fn dec_div(x: Decimal, y: Decimal, scale: u32) -> Result<Decimal> {
    let q = x
        .checked_div(y)
        .ok_or_else(|| TypeError::OutOfRange("numeric".into()))?;
    let scale = scale.min(Decimal::MAX_SCALE);
    let mut q = q.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    q.rescale(scale);
    Ok(q)
}

/// Base-10000 weight and leading base-10000 digit of a decimal, as PostgreSQL stores it.
fn nbase_weight(d: &Decimal) -> (i64, u128) {
    let m = d.mantissa().unsigned_abs();
    if m == 0 {
        return (0, 0);
    }
    let digits = m.to_string();
    let e10 = digits.len() as i64 - 1 - i64::from(d.scale());
    let weight = e10.div_euclid(4);
    let lead = (e10 - 4 * weight + 1) as usize;
    let first = digits
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(lead)
        .fold(0u128, |acc, c| acc * 10 + u128::from(c - b'0'));
    (weight, first)
}

/// PostgreSQL's `select_div_scale`: at least 16 significant digits, and no less than
/// either input's scale.
fn pg_div_scale(x: &Decimal, y: &Decimal) -> u32 {
    let (w1, f1) = nbase_weight(x);
    let (w2, f2) = nbase_weight(y);
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let rscale = (16 - qweight * 4)
        .max(i64::from(x.scale()))
        .max(i64::from(y.scale()))
        .clamp(0, 1000);
    u32::try_from(rscale).unwrap_or(0)
}

/// Unary minus, with the overflow check that `-(-32768::smallint)` needs.
pub fn negate(v: &Value) -> Result<Value> {
    let out = |t: &str| TypeError::OutOfRange(t.into());
    Ok(match v {
        Value::Null => Value::Null,
        Value::Int16(i) => Value::Int16(i.checked_neg().ok_or_else(|| out("smallint"))?),
        Value::Int32(i) => Value::Int32(i.checked_neg().ok_or_else(|| out("integer"))?),
        Value::Int64(i) => Value::Int64(i.checked_neg().ok_or_else(|| out("bigint"))?),
        Value::Float32(f) => Value::Float32(-f),
        Value::Float64(f) => Value::Float64(-f),
        Value::Numeric(d) => Value::Numeric(-d),
        other => {
            return Err(TypeError::NoOperator(format!(
                "- {}",
                value_type_name(other)
            )))
        }
    })
}

/// `||`: concatenates text forms (bytea with bytea stays bytea). NULL handling follows the
/// dialect: the standard NULL result, or the other operand (NULL as empty string).
pub fn concat(a: &Value, b: &Value, sem: &Semantics) -> Result<Value> {
    match (a, b) {
        (Value::Null, Value::Null) => Ok(Value::Null),
        (Value::Null, _) | (_, Value::Null) if sem.null_concat_is_null => Ok(Value::Null),
        (Value::Null, Value::Bytes(x)) | (Value::Bytes(x), Value::Null) => {
            Ok(Value::Bytes(x.clone()))
        }
        (Value::Bytes(x), Value::Bytes(y)) => {
            let mut out = Vec::with_capacity(x.len() + y.len());
            out.extend_from_slice(x);
            out.extend_from_slice(y);
            Ok(Value::Bytes(out))
        }
        _ => {
            let mut out = to_text(a).unwrap_or_default();
            out.push_str(&to_text(b).unwrap_or_default());
            Ok(Value::Text(out))
        }
    }
}

#[cfg(test)]
mod tests;
