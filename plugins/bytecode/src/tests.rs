use super::*;
use proptest::prelude::*;

fn select_one() -> Program {
    Program::new(
        Dialect::Postgres,
        Statement::Query(Box::new(Query {
            with: vec![],
            body: SetExpr::Select(Box::new(Select {
                distinct: false,
                projection: vec![SelectItem::Expr {
                    expr: Expr::Literal(Literal::Integer(1)),
                    alias: None,
                }],
                from: vec![],
                filter: None,
                group_by: vec![],
                having: None,
            })),
            order_by: vec![],
            limit: None,
            offset: None,
        })),
    )
}

#[test]
fn round_trip() {
    let p = select_one();
    let bytes = encode(&p);
    assert_eq!(decode(&bytes, &Limits::default()).unwrap(), p);
}

#[test]
fn golden_v1_select_one() {
    // The v1 encoding of `SELECT 1` is frozen: if this changes, old plugins break.
    let golden = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/v1_select_one.msgpack"
    ))
    .unwrap();
    assert_eq!(decode(&golden, &Limits::default()).unwrap(), select_one());
}

#[test]
fn future_version_is_refused_by_version() {
    let mut p = select_one();
    p.version = VERSION + 1;
    let err = decode(&encode(&p), &Limits::default()).unwrap_err();
    assert!(
        matches!(err, DecodeError::UnsupportedVersion { .. }),
        "{err}"
    );
}

#[test]
fn deep_nesting_is_refused() {
    let mut e = Expr::Literal(Literal::Integer(1));
    for _ in 0..10_000 {
        e = Expr::Unary {
            op: UnaryOp::Neg,
            expr: Box::new(e),
        };
    }
    let mut p = select_one();
    if let Statement::Query(q) = &mut p.statement {
        if let SetExpr::Select(s) = &mut q.body {
            s.projection = vec![SelectItem::Expr {
                expr: e,
                alias: None,
            }];
        }
    }
    // Encoding itself recurses; run it on a big stack like the engine would.
    let bytes = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || encode(&p))
        .unwrap()
        .join()
        .unwrap();
    assert!(decode(&bytes, &Limits::default()).is_err());
}

#[test]
fn out_of_range_param_is_refused() {
    let mut p = select_one();
    if let Statement::Query(q) = &mut p.statement {
        q.limit = Some(Expr::Param(3));
    }
    p.param_count = 1;
    assert!(matches!(
        decode(&encode(&p), &Limits::default()),
        Err(DecodeError::Invalid(ValidationError::BadParam { .. }))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Arbitrary bytes never panic the decoder.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes, &Limits::default());
    }

    /// Mutating a valid program's bytes never panics the decoder.
    #[test]
    fn mutated_programs_never_panic(idx in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = encode(&select_one());
        let i = idx.index(bytes.len());
        bytes[i] = byte;
        let _ = decode(&bytes, &Limits::default());
    }
}

/// Writes the golden fixtures; run by hand (`--ignored`) only when a new version is cut.
#[test]
#[ignore]
fn bless_golden() {
    std::fs::write(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/v1_select_one.msgpack"
        ),
        encode(&select_one()),
    )
    .unwrap();
}

fn select_items(projection: Vec<Expr>, from: Vec<FromItem>) -> Program {
    Program::new(
        Dialect::Postgres,
        Statement::Query(Box::new(Query {
            with: vec![],
            body: SetExpr::Select(Box::new(Select {
                distinct: false,
                projection: projection
                    .into_iter()
                    .map(|expr| SelectItem::Expr { expr, alias: None })
                    .collect(),
                from,
                filter: None,
                group_by: vec![],
                having: None,
            })),
            order_by: vec![],
            limit: None,
            offset: None,
        })),
    )
}

fn int(i: i64) -> Expr {
    Expr::Literal(Literal::Integer(i))
}

#[test]
fn array_nodes_round_trip_and_validate() {
    let array = Expr::Array(vec![int(1), int(2)]);
    let p = select_items(
        vec![
            array.clone(),
            Expr::AnyAll {
                left: Box::new(int(1)),
                op: BinaryOp::Eq,
                right: Box::new(array.clone()),
                all: false,
            },
            Expr::Subscript {
                expr: Box::new(array),
                index: Box::new(Expr::Column(vec![Ident::new("s")])),
            },
            Expr::ArraySubquery(Box::new(Query {
                with: vec![],
                body: SetExpr::Values(vec![vec![int(1)]]),
                order_by: vec![],
                limit: None,
                offset: None,
            })),
            Expr::Cast {
                expr: Box::new(Expr::Literal(Literal::String("{1,2}".into()))),
                data_type: DataType::Array(ElementType::SmallInt),
            },
        ],
        vec![FromItem::Function {
            function: Function {
                namespace: "pg".into(),
                name: "generate_series".into(),
                args: vec![int(1), int(3)],
                distinct: false,
                star: false,
            },
            alias: Some(TableAlias {
                name: Ident::new("s"),
                columns: vec![],
            }),
        }],
    );
    let bytes = encode(&p);
    assert_eq!(decode(&bytes, &Limits::default()).unwrap(), p);
}

#[test]
fn any_with_a_non_comparison_operator_is_refused() {
    let p = select_items(
        vec![Expr::AnyAll {
            left: Box::new(int(1)),
            op: BinaryOp::Add,
            right: Box::new(Expr::Array(vec![int(1)])),
            all: true,
        }],
        vec![],
    );
    let err = decode(&encode(&p), &Limits::default()).unwrap_err();
    assert!(err.to_string().contains("ANY/ALL"), "{err}");
}

#[test]
fn element_types_map_to_array_types() {
    assert_eq!(
        DataType::Integer.array_of(),
        Some(DataType::Array(ElementType::Integer))
    );
    assert_eq!(DataType::Array(ElementType::Text).array_of(), None);
    assert_eq!(
        DataType::Array(ElementType::Varchar).element(),
        Some(DataType::Varchar(None))
    );
}
