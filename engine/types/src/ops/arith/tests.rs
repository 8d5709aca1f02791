use super::*;
use rosetta_bytecode::Dialect;
use std::str::FromStr;

fn pg() -> Semantics {
    Semantics::for_dialect(Dialect::Postgres)
}
fn my() -> Semantics {
    Semantics::for_dialect(Dialect::Mysql)
}
fn dec(s: &str) -> Value {
    Value::Numeric(Decimal::from_str(s).unwrap_or_default())
}
fn text(v: Result<Value>) -> String {
    match v {
        Ok(v) => to_text(&v).unwrap_or_else(|| "NULL".into()),
        Err(e) => format!("ERROR: {e}"),
    }
}

#[test]
fn integer_promotion_and_overflow() {
    use ArithOp::*;
    let s = pg();
    assert_eq!(
        arith(Add, &Value::Int16(1), &Value::Int16(2), &s),
        Ok(Value::Int16(3))
    );
    assert_eq!(
        arith(Add, &Value::Int16(1), &Value::Int32(2), &s),
        Ok(Value::Int32(3))
    );
    assert_eq!(
        arith(Mul, &Value::Int32(2), &Value::Int64(3), &s),
        Ok(Value::Int64(6))
    );
    let e = arith(Add, &Value::Int32(i32::MAX), &Value::Int32(1), &s);
    assert_eq!(text(e), "ERROR: integer out of range");
    let e = arith(Mul, &Value::Int16(300), &Value::Int16(300), &s);
    assert_eq!(text(e), "ERROR: smallint out of range");
    let e = arith(Div, &Value::Int64(i64::MIN), &Value::Int64(-1), &s);
    assert_eq!(text(e), "ERROR: bigint out of range");
    assert_eq!(
        arith(Mod, &Value::Int64(i64::MIN), &Value::Int64(-1), &s),
        Ok(Value::Int64(0))
    );
    assert_eq!(
        arith(Div, &Value::Int32(-7), &Value::Int32(2), &s),
        Ok(Value::Int32(-3))
    );
    assert_eq!(
        arith(Mod, &Value::Int32(-7), &Value::Int32(2), &s),
        Ok(Value::Int32(-1))
    );
    assert_eq!(
        arith(Add, &Value::Null, &Value::Int32(1), &s),
        Ok(Value::Null)
    );
}

#[test]
fn division_by_zero_follows_dialect() {
    use ArithOp::*;
    for op in [Div, Mod] {
        for z in [Value::Int32(0), dec("0.0"), Value::Float64(0.0)] {
            assert_eq!(
                arith(op, &Value::Int32(1), &z, &pg()),
                Err(TypeError::DivisionByZero)
            );
            assert_eq!(arith(op, &Value::Int32(1), &z, &my()), Ok(Value::Null));
        }
    }
}

#[test]
fn numeric_division_scales() {
    use ArithOp::*;
    assert_eq!(
        text(arith(Div, &dec("1"), &dec("3"), &pg())),
        "0.33333333333333333333"
    );
    assert_eq!(
        text(arith(Div, &dec("10"), &Value::Int32(4), &pg())),
        "2.5000000000000000"
    );
    assert_eq!(
        text(arith(Div, &dec("1.0"), &dec("3"), &pg())),
        "0.33333333333333333333"
    );
    assert_eq!(
        text(arith(Div, &dec("2"), &dec("3"), &pg())),
        "0.66666666666666666667"
    );
    assert_eq!(
        text(arith(Div, &dec("100000"), &dec("3"), &pg())),
        "33333.333333333333"
    );
    assert_eq!(
        text(arith(Div, &Value::Int32(1), &Value::Int32(2), &my())),
        "0.5000"
    );
    assert_eq!(
        text(arith(Div, &Value::Int32(2), &Value::Int32(3), &my())),
        "0.6667"
    );
    assert_eq!(text(arith(Mul, &dec("1.5"), &dec("2.25"), &pg())), "3.375");
    assert_eq!(
        text(arith(Add, &dec("1.5"), &Value::Int64(2), &pg())),
        "3.5"
    );
    assert_eq!(text(arith(Mod, &dec("7.5"), &dec("2"), &pg())), "1.5");
    let big = dec("79228162514264337593543950335");
    assert_eq!(
        text(arith(Add, &big, &big, &pg())),
        "ERROR: numeric out of range"
    );
    let tiny = dec("0.0000000000000000000000000001");
    assert!(arith(Div, &big, &tiny, &pg()).is_err());
    assert!(arith(Div, &tiny, &big, &pg()).is_ok());
}

#[test]
fn floats() {
    use ArithOp::*;
    let s = pg();
    assert_eq!(
        arith(Add, &Value::Float32(1.5), &Value::Float32(1.0), &s),
        Ok(Value::Float32(2.5))
    );
    assert_eq!(
        arith(Add, &Value::Float32(1.5), &Value::Int32(1), &s),
        Ok(Value::Float64(2.5))
    );
    assert_eq!(
        arith(Mul, &dec("0.5"), &Value::Float64(3.0), &s),
        Ok(Value::Float64(1.5))
    );
    assert_eq!(
        text(arith(
            Mul,
            &Value::Float64(1e300),
            &Value::Float64(1e300),
            &s
        )),
        "ERROR: value out of range: overflow"
    );
    assert_eq!(
        text(arith(Mul, &Value::Float32(1e30), &Value::Float32(1e30), &s)),
        "ERROR: value out of range: overflow"
    );
    assert_eq!(
        text(arith(
            Div,
            &Value::Float64(1e-300),
            &Value::Float64(1e300),
            &s
        )),
        "ERROR: value out of range: underflow"
    );
}

#[test]
fn dates() {
    use ArithOp::*;
    let s = pg();
    assert_eq!(
        arith(Add, &Value::Date(10), &Value::Int32(5), &s),
        Ok(Value::Date(15))
    );
    assert_eq!(
        arith(Add, &Value::Int16(5), &Value::Date(10), &s),
        Ok(Value::Date(15))
    );
    assert_eq!(
        arith(Sub, &Value::Date(10), &Value::Int64(15), &s),
        Ok(Value::Date(-5))
    );
    assert_eq!(
        arith(Sub, &Value::Date(10), &Value::Date(15), &s),
        Ok(Value::Int32(-5))
    );
    assert!(arith(Add, &Value::Date(10), &Value::Int64(i64::MAX), &s).is_err());
    assert!(matches!(
        arith(Sub, &Value::Timestamp(1), &Value::Timestamp(0), &s),
        Err(TypeError::NoOperator(_))
    ));
    assert!(
        matches!(arith(Add, &Value::Int32(1), &Value::Text("1".into()), &s), Err(TypeError::NoOperator(m)) if m == "integer + text")
    );
}

#[test]
fn negation() {
    assert_eq!(negate(&Value::Int16(5)), Ok(Value::Int16(-5)));
    assert_eq!(
        text(negate(&Value::Int16(i16::MIN))),
        "ERROR: smallint out of range"
    );
    assert_eq!(negate(&dec("1.5")), Ok(dec("-1.5")));
    assert_eq!(negate(&Value::Null), Ok(Value::Null));
    assert!(negate(&Value::Text("a".into())).is_err());
}

#[test]
fn concatenation() {
    let t = |s: &str| Value::Text(s.into());
    assert_eq!(concat(&t("a"), &t("b"), &pg()), Ok(t("ab")));
    assert_eq!(concat(&t("a"), &Value::Int32(1), &pg()), Ok(t("a1")));
    assert_eq!(concat(&t("a"), &Value::Bool(true), &pg()), Ok(t("at")));
    assert_eq!(concat(&t("a"), &Value::Null, &pg()), Ok(Value::Null));
    let lax = Semantics {
        null_concat_is_null: false,
        ..pg()
    };
    assert_eq!(concat(&t("a"), &Value::Null, &lax), Ok(t("a")));
    assert_eq!(concat(&Value::Null, &Value::Int32(2), &lax), Ok(t("2")));
    assert_eq!(
        concat(&Value::Bytes(vec![1]), &Value::Bytes(vec![2]), &pg()),
        Ok(Value::Bytes(vec![1, 2]))
    );
}
