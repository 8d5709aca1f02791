//! Static result types: what [`arith`](super::arith) returns and what mixed branches
//! unify to, known before any row is computed.

use super::arith::Width;
use super::ArithOp;
use rosetta_bytecode::{DataType, Semantics};

const NUMERIC: DataType = DataType::Numeric {
    precision: None,
    scale: None,
};

/// The arithmetic class of a type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    Int(Width),
    Numeric,
    Real,
    Double,
}

fn class(t: &DataType) -> Option<Class> {
    Some(match t {
        DataType::SmallInt => Class::Int(Width::W16),
        DataType::Integer => Class::Int(Width::W32),
        DataType::BigInt => Class::Int(Width::W64),
        DataType::Numeric { .. } => Class::Numeric,
        DataType::Real => Class::Real,
        DataType::Double => Class::Double,
        _ => return None,
    })
}

fn int_type(w: Width) -> DataType {
    match w {
        Width::W16 => DataType::SmallInt,
        Width::W32 => DataType::Integer,
        Width::W64 => DataType::BigInt,
    }
}

fn is_int(t: &DataType) -> bool {
    matches!(class(t), Some(Class::Int(_)))
}

/// The type [`arith`](super::arith) produces for these operand types, `None` when there is
/// no such operator; lets the engine describe result columns before executing.
pub fn arith_result_type(
    op: ArithOp,
    l: &DataType,
    r: &DataType,
    sem: &Semantics,
) -> Option<DataType> {
    match (op, l, r) {
        (ArithOp::Add, DataType::Date, t) | (ArithOp::Add, t, DataType::Date) if is_int(t) => {
            return Some(DataType::Date)
        }
        (ArithOp::Sub, DataType::Date, t) if is_int(t) => return Some(DataType::Date),
        (ArithOp::Sub, DataType::Date, DataType::Date) => return Some(DataType::Integer),
        _ => {}
    }
    Some(match (class(l)?, class(r)?) {
        (Class::Int(_), Class::Int(_)) if op == ArithOp::Div && !sem.integer_division_truncates => {
            NUMERIC
        }
        (Class::Int(a), Class::Int(b)) => int_type(a.max(b)),
        (Class::Real, Class::Real) => DataType::Real,
        (Class::Real | Class::Double, _) | (_, Class::Real | Class::Double) => DataType::Double,
        _ => NUMERIC,
    })
}

/// The type that both branches of a CASE / COALESCE / UNION / IN list convert to: integers
/// widen, integers with numerics become numeric, anything numeric with a float becomes
/// double, character types become text, a date with a timestamp becomes a timestamp.
/// `None` when the types cannot be unified.
pub fn common_type(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(*a);
    }
    if let (Some(x), Some(y)) = (class(a), class(b)) {
        return Some(match (x, y) {
            (Class::Int(x), Class::Int(y)) => int_type(x.max(y)),
            (Class::Numeric, Class::Numeric | Class::Int(_)) | (Class::Int(_), Class::Numeric) => {
                NUMERIC
            }
            (Class::Real, Class::Real) => Real,
            _ => Double,
        });
    }
    match (a, b) {
        (Varchar(_), Varchar(_)) => Some(Varchar(None)),
        (Text | Varchar(_) | Char(_), Text | Varchar(_) | Char(_)) => Some(Text),
        (Date | Timestamp, Date | Timestamp) => Some(Timestamp),
        (Array(x), Array(y)) => common_type(&x.data_type(), &y.data_type())?.array_of(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::arith;
    use crate::Value;
    use rosetta_bytecode::Dialect;
    use DataType::*;

    #[test]
    fn result_types_match_arith() {
        let samples = [
            Value::Int16(3),
            Value::Int32(3),
            Value::Int64(3),
            Value::Numeric(rust_decimal::Decimal::new(15, 1)),
            Value::Float32(1.5),
            Value::Float64(1.5),
            Value::Date(3),
            Value::Text("x".into()),
        ];
        for dialect in [Dialect::Postgres, Dialect::Mysql] {
            let sem = Semantics::for_dialect(dialect);
            for op in [
                ArithOp::Add,
                ArithOp::Sub,
                ArithOp::Mul,
                ArithOp::Div,
                ArithOp::Mod,
            ] {
                for a in &samples {
                    for b in &samples {
                        let (Some(ta), Some(tb)) = (a.data_type(), b.data_type()) else {
                            continue;
                        };
                        let got = arith(op, a, b, &sem).ok().and_then(|v| v.data_type());
                        let want = arith_result_type(op, &ta, &tb, &sem);
                        assert_eq!(got, want, "{a:?} {op:?} {b:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn unification() {
        assert_eq!(common_type(&SmallInt, &BigInt), Some(BigInt));
        assert_eq!(common_type(&Integer, &NUMERIC), Some(NUMERIC));
        assert_eq!(common_type(&Integer, &Real), Some(Double));
        assert_eq!(common_type(&Real, &Real), Some(Real));
        assert_eq!(common_type(&Varchar(Some(3)), &Text), Some(Text));
        assert_eq!(
            common_type(&Varchar(Some(3)), &Varchar(Some(5))),
            Some(Varchar(None))
        );
        assert_eq!(common_type(&Date, &Timestamp), Some(Timestamp));
        assert_eq!(common_type(&Integer, &Text), None);
        assert_eq!(common_type(&Boolean, &Boolean), Some(Boolean));
    }
}
