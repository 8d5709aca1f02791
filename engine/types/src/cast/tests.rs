use super::*;
use proptest::prelude::*;
use std::str::FromStr;

fn num(p: Option<u8>, s: Option<u8>) -> DataType {
    DataType::Numeric {
        precision: p,
        scale: s,
    }
}

fn show(r: Result<Value>) -> String {
    match r {
        Ok(v) => to_text(&v).unwrap_or_else(|| "NULL".into()),
        Err(e) => format!("ERROR: {e}"),
    }
}

fn lit(text: &str, to: DataType) -> String {
    show(parse_literal(text, &to))
}

fn ex(v: Value, to: DataType) -> String {
    show(cast(&v, &to, CastMode::Explicit))
}

#[test]
fn text_to_integers() {
    assert_eq!(lit(" 42 ", DataType::Integer), "42");
    assert_eq!(lit("+7", DataType::SmallInt), "7");
    assert_eq!(
        lit("-9223372036854775808", DataType::BigInt),
        "-9223372036854775808"
    );
    assert_eq!(
        lit("1.5", DataType::Integer),
        "ERROR: invalid input syntax for type integer: \"1.5\""
    );
    assert_eq!(
        lit("40000", DataType::SmallInt),
        "ERROR: smallint out of range"
    );
    assert_eq!(
        lit("99999999999999999999999", DataType::BigInt),
        "ERROR: bigint out of range"
    );
    assert!(lit("", DataType::Integer).starts_with("ERROR: invalid input"));
    assert!(lit("-", DataType::Integer).starts_with("ERROR: invalid input"));
    let e = parse_literal("x", &DataType::Integer).err();
    assert_eq!(e.map(|e| e.sqlstate()), Some("22P02"));
}

#[test]
fn booleans() {
    for t in ["t", "TRUE", " yes ", "on", "1", "tr", "y"] {
        assert_eq!(lit(t, DataType::Boolean), "t", "{t}");
    }
    for f in ["f", "False", "no", "off", "0", "of", "n"] {
        assert_eq!(lit(f, DataType::Boolean), "f", "{f}");
    }
    for bad in ["o", "2", "", "truex"] {
        assert!(lit(bad, DataType::Boolean).starts_with("ERROR"), "{bad}");
    }
    assert_eq!(ex(Value::Int32(5), DataType::Boolean), "t");
    assert_eq!(ex(Value::Bool(true), DataType::Integer), "1");
    assert_eq!(ex(Value::Bool(true), DataType::Text), "true");
}

#[test]
fn numbers_to_integers_round() {
    let d = |s: &str| Value::Numeric(Decimal::from_str(s).unwrap_or_default());
    assert_eq!(ex(d("2.5"), DataType::Integer), "3");
    assert_eq!(ex(d("-2.5"), DataType::Integer), "-3");
    assert_eq!(ex(Value::Float64(2.5), DataType::Integer), "2");
    assert_eq!(ex(Value::Float64(3.5), DataType::Integer), "4");
    assert_eq!(ex(Value::Float64(-0.5), DataType::Integer), "0");
    assert_eq!(
        ex(Value::Float64(f64::NAN), DataType::Integer),
        "ERROR: integer out of range"
    );
    assert_eq!(
        ex(Value::Float64(9.3e18), DataType::BigInt),
        "ERROR: bigint out of range"
    );
    assert_eq!(
        ex(Value::Int64(70000), DataType::SmallInt),
        "ERROR: smallint out of range"
    );
    assert_eq!(
        ex(d("1e20"), DataType::BigInt),
        "ERROR: bigint out of range"
    );
}

#[test]
fn numerics() {
    assert_eq!(lit("1e3", num(None, None)), "1000");
    assert_eq!(lit(" -1.50 ", num(None, None)), "-1.50");
    assert_eq!(lit(".5", num(None, None)), "0.5");
    assert_eq!(lit("1.5e-3", num(None, None)), "0.0015");
    assert_eq!(lit("0.00", num(None, None)), "0.00");
    assert!(lit("NaN", num(None, None)).starts_with("ERROR: invalid input syntax for type numeric"));
    assert!(lit("1e", num(None, None)).starts_with("ERROR: invalid input"));
    assert!(lit(".", num(None, None)).starts_with("ERROR: invalid input"));
    assert_eq!(lit("1e100", num(None, None)), "ERROR: numeric out of range");
    assert_eq!(
        lit("0.123456789012345678901234567890123", num(None, None)),
        "0.1234567890123456789012345679"
    );
    assert_eq!(lit("1.005", num(Some(5), Some(2))), "1.01");
    assert_eq!(lit("-1.005", num(Some(5), Some(2))), "-1.01");
    assert_eq!(lit("1.5", num(Some(5), Some(2))), "1.50");
    assert_eq!(
        lit("999.995", num(Some(5), Some(2))),
        "ERROR: numeric field overflow"
    );
    assert_eq!(lit("999.99", num(Some(5), Some(2))), "999.99");
    assert_eq!(lit("12.5", num(Some(2), None)), "13");
    assert_eq!(
        lit("123", num(Some(2), None)),
        "ERROR: numeric field overflow"
    );
    assert_eq!(lit("0.05", num(Some(2), Some(3))), "0.050");
    assert_eq!(
        lit("0.5", num(Some(2), Some(3))),
        "ERROR: numeric field overflow"
    );
    assert_eq!(ex(Value::Float64(0.1), num(None, None)), "0.1");
    assert_eq!(ex(Value::Float32(0.1), num(None, None)), "0.1");
    assert_eq!(
        ex(Value::Float64(1e20), num(None, None)),
        "100000000000000000000"
    );
    assert_eq!(ex(Value::Float64(1e-40), num(None, None)), "0");
    assert_eq!(
        ex(Value::Float64(1e40), num(None, None)),
        "ERROR: numeric out of range"
    );
    assert_eq!(
        ex(Value::Float64(f64::NAN), num(None, None)),
        "ERROR: numeric out of range"
    );
    assert_eq!(ex(Value::Int32(7), num(Some(5), Some(2))), "7.00");
}

#[test]
fn floats() {
    assert_eq!(lit("1.5", DataType::Double), "1.5");
    assert_eq!(lit(" Infinity ", DataType::Double), "Infinity");
    assert_eq!(lit("-inf", DataType::Double), "-Infinity");
    assert_eq!(lit("nan", DataType::Real), "NaN");
    assert_eq!(
        lit("1e400", DataType::Double),
        "ERROR: double precision out of range"
    );
    assert_eq!(
        lit("1e-400", DataType::Double),
        "ERROR: double precision out of range"
    );
    assert_eq!(lit("1e39", DataType::Real), "ERROR: real out of range");
    assert!(lit("abc", DataType::Double).starts_with("ERROR: invalid input"));
    assert!(lit("-nan", DataType::Double).starts_with("ERROR: invalid input"));
    assert_eq!(
        ex(Value::Float64(1e300), DataType::Real),
        "ERROR: value out of range: overflow"
    );
    assert_eq!(ex(Value::Int32(3), DataType::Real), "3");
    assert!(ex(Value::Bool(true), DataType::Double).starts_with("ERROR: cannot cast type boolean"));
}

#[test]
fn strings() {
    let vc = |n| DataType::Varchar(Some(n));
    assert_eq!(lit("héllo", vc(5)), "héllo");
    assert_eq!(
        lit("hello!", vc(5)),
        "ERROR: value too long for type character varying(5)"
    );
    assert_eq!(lit("hello   ", vc(5)), "hello");
    assert_eq!(ex(Value::Text("hello!".into()), vc(5)), "hello");
    assert_eq!(lit("ab", DataType::Char(Some(4))), "ab  ");
    assert_eq!(
        lit("abc", DataType::Char(None)),
        "ERROR: value too long for type character(1)"
    );
    assert_eq!(ex(Value::Text("abc".into()), DataType::Char(None)), "a");
    assert_eq!(ex(Value::Int32(12345), vc(3)), "123");
    assert_eq!(ex(Value::Float64(0.1), DataType::Text), "0.1");
    assert_eq!(ex(Value::Date(0), DataType::Text), "1970-01-01");
}

#[test]
fn bytea() {
    let b = |s: &str| parse_literal(s, &DataType::Bytea);
    assert_eq!(b("\\x48656C6c6f"), Ok(Value::Bytes(b"Hello".to_vec())));
    assert_eq!(b("\\x48 65"), Ok(Value::Bytes(b"He".to_vec())));
    assert_eq!(b("abc"), Ok(Value::Bytes(b"abc".to_vec())));
    assert_eq!(b("a\\\\b\\001"), Ok(Value::Bytes(b"a\\b\x01".to_vec())));
    assert!(b("\\x123").is_err());
    assert!(b("\\xzz").is_err());
    assert!(b("a\\9").is_err());
    assert!(ex(Value::Int32(1), DataType::Bytea)
        .starts_with("ERROR: cannot cast type integer to bytea"));
}

#[test]
fn dates_and_timestamps() {
    assert_eq!(lit("2024-02-29", DataType::Date), "2024-02-29");
    assert_eq!(lit(" 2024-2-9 ", DataType::Date), "2024-02-09");
    assert_eq!(lit("2024-02-29 13:14:15", DataType::Date), "2024-02-29");
    assert_eq!(
        lit("2023-02-29", DataType::Date),
        "ERROR: date/time field value out of range: \"2023-02-29\""
    );
    assert!(
        lit("2023-13-01", DataType::Date).starts_with("ERROR: date/time field value out of range")
    );
    assert!(
        lit("0000-01-01", DataType::Date).starts_with("ERROR: date/time field value out of range")
    );
    let e = parse_literal("yesterday-ish", &DataType::Date).err();
    assert_eq!(e.map(|e| e.sqlstate()), Some("22007"));
    assert_eq!(
        lit("2024-01-02T03:04", DataType::Timestamp),
        "2024-01-02 03:04:00"
    );
    assert_eq!(
        lit("2024-01-02 03:04:05.25", DataType::Timestamp),
        "2024-01-02 03:04:05.25"
    );
    assert_eq!(
        lit("2024-01-02 03:04:05.1234567", DataType::Timestamp),
        "2024-01-02 03:04:05.123457"
    );
    assert_eq!(
        lit("2024-01-02 03:04:05+02", DataType::Timestamp),
        "2024-01-02 03:04:05"
    );
    assert_eq!(
        lit("2024-01-02", DataType::Timestamp),
        "2024-01-02 00:00:00"
    );
    assert_eq!(
        lit("1969-12-31 23:59:59.5", DataType::Timestamp),
        "1969-12-31 23:59:59.5"
    );
    assert!(lit("2024-01-02 25:00", DataType::Timestamp).starts_with("ERROR: date/time field"));
    assert!(lit("2024-01-02 10:00 junk", DataType::Timestamp).starts_with("ERROR: invalid input"));
    assert_eq!(ex(Value::Timestamp(-1), DataType::Date), "1969-12-31");
    assert_eq!(
        ex(Value::Date(1), DataType::Timestamp),
        "1970-01-02 00:00:00"
    );
    assert!(ex(Value::Int32(1), DataType::Date).starts_with("ERROR: cannot cast"));
}

#[test]
fn times() {
    assert_eq!(lit("13:14", DataType::Time), "13:14:00");
    assert_eq!(lit(" 01:02:03.25 ", DataType::Time), "01:02:03.25");
    assert_eq!(lit("23:59:59.9999994", DataType::Time), "23:59:59.999999");
    assert_eq!(lit("04:05:06+02", DataType::Time), "04:05:06");
    assert_eq!(lit("2024-01-02 03:04:05", DataType::Time), "03:04:05");
    assert_eq!(lit("allballs", DataType::Time), "00:00:00");
    assert!(lit("24:00:00", DataType::Time).starts_with("ERROR: date/time field"));
    assert!(lit("12:61", DataType::Time).starts_with("ERROR: date/time field"));
    let e = parse_literal("noon", &DataType::Time).err();
    assert_eq!(e.map(|e| e.sqlstate()), Some("22007"));
    assert_eq!(ex(Value::Timestamp(-1), DataType::Time), "23:59:59.999999");
    assert_eq!(ex(Value::Time(1_000_000), DataType::Text), "00:00:01");
    assert!(ex(Value::Int32(1), DataType::Time).starts_with("ERROR: cannot cast"));
    assert!(ex(Value::Time(-1), DataType::Time).starts_with("ERROR: time out of range"));
}

#[test]
fn null_casts_to_null() {
    for t in [
        DataType::Integer,
        DataType::Text,
        DataType::Date,
        DataType::Bytea,
    ] {
        assert_eq!(
            cast(&Value::Null, &t, CastMode::Assignment),
            Ok(Value::Null)
        );
    }
}

/// A value, its type, and the text round trip: `cast(to_text(v)) == v`.
fn round_trip(v: Value) -> std::result::Result<(), TestCaseError> {
    let Some(ty) = v.data_type() else {
        return Ok(());
    };
    let text = to_text(&v).unwrap_or_default();
    let back = parse_literal(&text, &ty);
    match (&v, &back) {
        (Value::Float64(a), Ok(Value::Float64(b))) if a.is_nan() => prop_assert!(b.is_nan()),
        (Value::Float32(a), Ok(Value::Float32(b))) if a.is_nan() => prop_assert!(b.is_nan()),
        _ => prop_assert_eq!(back, Ok(v.clone()), "text {}", text),
    }
    Ok(())
}

proptest! {
    #[test]
    fn ints_round_trip(i in any::<i64>(), j in any::<i32>(), k in any::<i16>()) {
        round_trip(Value::Int64(i))?;
        round_trip(Value::Int32(j))?;
        round_trip(Value::Int16(k))?;
    }

    #[test]
    fn floats_round_trip(bits in any::<u64>(), bits32 in any::<u32>()) {
        round_trip(Value::Float64(f64::from_bits(bits)))?;
        round_trip(Value::Float32(f32::from_bits(bits32)))?;
    }

    #[test]
    fn numerics_round_trip(m in any::<i64>(), hi in any::<i32>(), scale in 0u32..=28) {
        let mantissa = (i128::from(hi) << 64) | i128::from(m as u64);
        if let Ok(d) = Decimal::try_from_i128_with_scale(mantissa, scale) {
            round_trip(Value::Numeric(d))?;
        }
    }

    #[test]
    fn temporal_round_trip(d in -700_000i32..2_900_000, t in -60_000_000_000_000_000i64..200_000_000_000_000_000) {
        round_trip(Value::Date(d))?;
        round_trip(Value::Timestamp(t))?;
        round_trip(Value::Time(t.rem_euclid(86_400_000_000)))?;
    }

    #[test]
    fn text_and_bytes_round_trip(s in "\\PC*", b in proptest::collection::vec(any::<u8>(), 0..32)) {
        round_trip(Value::Text(s))?;
        round_trip(Value::Bytes(b))?;
        round_trip(Value::Bool(true))?;
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,12}") {
        for t in [DataType::Boolean, DataType::SmallInt, DataType::BigInt, num(Some(5), Some(2)),
                  num(None, None), DataType::Real, DataType::Double, DataType::Bytea,
                  DataType::Date, DataType::Timestamp, DataType::Time, DataType::Char(Some(3))] {
            let _ = parse_literal(&s, &t);
        }
    }
}
