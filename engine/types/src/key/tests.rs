use super::*;
use crate::ops::sort_cmp;
use proptest::prelude::*;
use std::cmp::Ordering;
use std::str::FromStr;

fn enc(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode(v, &mut out);
    out
}

fn dec(s: &str) -> Value {
    Value::Numeric(Decimal::from_str(s).unwrap_or_default())
}

/// Asserts that byte order of the encodings matches `sort_cmp` and that each value
/// decodes back (modulo the documented widening) with nothing left over.
fn check_pair(a: &Value, b: &Value) -> Result<(), TestCaseError> {
    let (ea, eb) = (enc(a), enc(b));
    prop_assert_eq!(ea.cmp(&eb), sort_cmp(a, b), "{:?} vs {:?}", a, b);
    for (v, e) in [(a, &ea), (b, &eb)] {
        let mut input = e.as_slice();
        let back = decode(&mut input);
        prop_assert!(input.is_empty());
        match back {
            Ok(back) => prop_assert_eq!(sort_cmp(&back, v), Ordering::Equal, "{:?}", v),
            Err(e) => prop_assert!(false, "decode {:?}: {}", v, e),
        }
    }
    Ok(())
}

#[test]
fn fixed_cases() {
    let ordered = [
        dec("-100"),
        dec("-99.5"),
        dec("-1"),
        dec("-0.5"),
        dec("-0.05"),
        dec("-0.0000000000000000000000000001"),
        dec("0"),
        dec("0.0000000000000000000000000001"),
        dec("0.05"),
        dec("0.5"),
        dec("1"),
        dec("1.0000001"),
        dec("10"),
        dec("79228162514264337593543950335"),
    ];
    for w in ordered.windows(2) {
        if let [a, b] = w {
            assert!(enc(a) < enc(b), "{a:?} < {b:?}");
        }
    }
    assert_eq!(enc(&dec("1.0")), enc(&dec("1.00")));
    assert_eq!(enc(&dec("0.00")), enc(&dec("-0")));
    assert_eq!(enc(&Value::Int16(5)), enc(&Value::Int64(5)));
    assert_eq!(enc(&Value::Int32(-5)), enc(&Value::Int64(-5)));
    assert_eq!(enc(&Value::Float64(-0.0)), enc(&Value::Float64(0.0)));
    assert_eq!(enc(&Value::Float32(1.5)), enc(&Value::Float64(1.5)));
    assert!(enc(&Value::Float64(f64::NAN)) > enc(&Value::Float64(f64::INFINITY)));
    assert_eq!(
        enc(&Value::Float64(-f64::NAN)),
        enc(&Value::Float64(f64::NAN))
    );
    assert!(enc(&Value::Null) > enc(&Value::Timestamp(i64::MAX)));
    assert!(enc(&Value::Text("a".into())) < enc(&Value::Text("a\0".into())));
    assert!(enc(&Value::Text("a\0".into())) < enc(&Value::Text("a\u{1}".into())));
    let mut bad: &[u8] = &[TAG_TEXT, b'a'];
    assert_eq!(decode(&mut bad), Err(KeyError::Truncated));
    let mut bad: &[u8] = &[0x99];
    assert_eq!(decode(&mut bad), Err(KeyError::UnknownTag(0x99)));
}

fn arb_decimal() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Decimal::new(m, s)),
        (any::<i32>(), 0u32..=6).prop_map(|(m, s)| Decimal::new(i64::from(m % 1000), s)),
        (any::<i128>(), 0u32..=28).prop_map(|(m, s)| {
            Decimal::try_from_i128_with_scale(m >> 32, s).unwrap_or_default()
        }),
    ]
}

fn arb_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        prop_oneof![
            Just(0.0),
            Just(-0.0),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            -10.0f64..10.0,
        ],
    ]
}

fn arb_tuple() -> impl Strategy<Value = Vec<Value>> {
    (
        proptest::option::of(-3i64..3),
        "[ab\\x00]{0,3}",
        proptest::option::of(-2i32..2),
    )
        .prop_map(|(a, b, c)| {
            vec![
                a.map_or(Value::Null, Value::Int64),
                Value::Text(b),
                c.map_or(Value::Null, Value::Date),
            ]
        })
}

proptest! {
    #[test]
    fn ints(a in any::<i64>(), b in any::<i64>(), c in -3i64..3) {
        check_pair(&Value::Int64(a), &Value::Int64(b))?;
        check_pair(&Value::Int64(a), &Value::Int64(c))?;
    }

    #[test]
    fn floats(a in arb_float(), b in arb_float()) {
        check_pair(&Value::Float64(a), &Value::Float64(b))?;
    }

    #[test]
    fn decimals(a in arb_decimal(), b in arb_decimal()) {
        check_pair(&Value::Numeric(a), &Value::Numeric(b))?;
        let normalized = Value::Numeric(a.normalize());
        prop_assert_eq!(enc(&Value::Numeric(a)), enc(&normalized));
    }

    #[test]
    fn strings(a in "\\PC{0,6}|[a\\x00\\x01]{0,4}", b in "\\PC{0,6}|[a\\x00\\x01]{0,4}") {
        check_pair(&Value::Text(a.clone()), &Value::Text(b.clone()))?;
        check_pair(&Value::Bytes(a.into_bytes()), &Value::Bytes(b.into_bytes()))?;
    }

    #[test]
    fn temporal(a in any::<i32>(), b in any::<i32>(), c in any::<i64>(), d in any::<i64>()) {
        check_pair(&Value::Date(a), &Value::Date(b))?;
        check_pair(&Value::Timestamp(c), &Value::Timestamp(d))?;
        check_pair(
            &Value::Time(c.rem_euclid(86_400_000_000)),
            &Value::Time(d.rem_euclid(86_400_000_000)),
        )?;
        check_pair(&Value::Bool(a < b), &Value::Bool(c < d))?;
    }

    #[test]
    fn tuples(a in arb_tuple(), b in arb_tuple()) {
        let want = a
            .iter()
            .zip(&b)
            .map(|(x, y)| sort_cmp(x, y))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal);
        prop_assert_eq!(encode_all(&a).cmp(&encode_all(&b)), want);
        let bytes = encode_all(&a);
        let mut input = bytes.as_slice();
        for v in &a {
            let back = decode(&mut input);
            prop_assert_eq!(back.map(|b| sort_cmp(&b, v)), Ok(Ordering::Equal));
        }
        prop_assert!(input.is_empty());
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
        let mut input = bytes.as_slice();
        while !input.is_empty() && decode(&mut input).is_ok() {}
    }
}
