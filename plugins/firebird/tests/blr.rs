//! isql's BLR requests (captured from isql-fb 3.0.11 running `SHOW TABLES`, `SHOW TABLE
//! T1` and `SHOW TABLE T2` against a real Firebird 3 server) compile to queries over the
//! `RDB$` tables; hostile bytes are refused, never a panic.

use proptest::prelude::*;
use rosetta_bytecode::{self as bc, Expr, Statement};
use rosetta_plugin_abi::blr::{BlrItemSource, BlrRequest};
use rosetta_plugin_firebird::blr::{compile_blr, decode};

fn hex(line: &str) -> Vec<u8> {
    (0..line.len() / 2)
        .filter_map(|i| u8::from_str_radix(line.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn captured() -> Vec<Vec<u8>> {
    include_str!("fixtures/isql_show_blr.hex")
        .lines()
        .filter(|l| !l.is_empty())
        .map(hex)
        .collect()
}

fn select(request: &BlrRequest) -> (&bc::Query, &bc::Select) {
    let Statement::Query(q) = &request.program.statement else {
        panic!("not a query: {:?}", request.program.statement)
    };
    let bc::SetExpr::Select(s) = &q.body else {
        panic!("not a select")
    };
    (q, s)
}

fn tables(s: &bc::Select) -> Vec<String> {
    s.from
        .iter()
        .map(|f| match f {
            bc::FromItem::Table { name, .. } => name[0].value.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn every_captured_request_compiles_and_validates() {
    let requests = captured();
    assert_eq!(requests.len(), 15);
    for (i, bytes) in requests.iter().enumerate() {
        let request = compile_blr(bytes).unwrap_or_else(|e| panic!("request {i}: {e:?}"));
        bc::decode(&bc::encode(&request.program), &bc::Limits::default())
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        let out = request
            .messages
            .iter()
            .find(|m| m.number == request.output)
            .expect("output message declared");
        assert_eq!(request.row.len(), out.items.len(), "request {i}");
        assert_eq!(request.end.len(), out.items.len(), "request {i}");
        // Exactly one item is the end-of-data flag: 1 per row, 0 at the end.
        let flag = request
            .row
            .iter()
            .position(|s| *s == BlrItemSource::Integer(1))
            .expect("flag");
        assert_eq!(request.end[flag], BlrItemSource::Integer(0), "request {i}");
    }
}

#[test]
fn show_tables_lists_user_relations_by_name() {
    let request = compile_blr(&captured()[0]).expect("compiles");
    assert_eq!(request.input, Some(0));
    assert_eq!(request.output, 1);
    assert_eq!(
        request.row,
        vec![BlrItemSource::Integer(1), BlrItemSource::Column(0)]
    );
    assert_eq!(request.program.param_count, 1);
    let (q, s) = select(&request);
    assert_eq!(tables(s), ["RDB$RELATIONS"]);
    let ctx = bc::Ident::new("CTX0");
    assert_eq!(
        s.projection,
        vec![bc::SelectItem::Expr {
            expr: Expr::Column(vec![ctx.clone(), bc::Ident::new("RDB$RELATION_NAME")]),
            alias: None
        }]
    );
    assert_eq!(
        s.filter,
        Some(Expr::Binary {
            op: bc::BinaryOp::And,
            left: Box::new(Expr::Binary {
                op: bc::BinaryOp::Eq,
                left: Box::new(Expr::Column(vec![
                    ctx.clone(),
                    bc::Ident::new("RDB$SYSTEM_FLAG")
                ])),
                right: Box::new(Expr::Param(1)),
            }),
            right: Box::new(Expr::IsNull {
                expr: Box::new(Expr::Column(vec![ctx, bc::Ident::new("RDB$VIEW_BLR")])),
                negated: false
            }),
        })
    );
    assert_eq!(q.order_by.len(), 1);
}

#[test]
fn show_table_joins_relation_fields_with_fields() {
    let request = compile_blr(&captured()[2]).expect("compiles");
    let (q, s) = select(&request);
    assert_eq!(tables(s), ["RDB$RELATION_FIELDS", "RDB$FIELDS"]);
    assert_eq!(q.order_by.len(), 2);
    assert!(request.row.contains(&BlrItemSource::NullFlag(0)));
}

#[test]
fn the_database_request_takes_first_and_no_input() {
    let request = compile_blr(&captured()[5]).expect("compiles");
    assert_eq!(request.input, None);
    assert_eq!(request.program.param_count, 0);
    let (q, s) = select(&request);
    assert_eq!(tables(s), ["RDB$DATABASE"]);
    assert_eq!(q.limit, Some(Expr::Literal(bc::Literal::Integer(1))));
}

#[test]
fn malformed_requests_are_refused_with_0a000() {
    for bytes in [
        &[][..],
        &[0x06, 0x02, 0xff, 0x4c],
        &[0x05, 0x02],
        &[0x05, 0x02, 0xff],
        &[0x05, 0x02, 0x63, 0xff, 0x4c],
        &[0x05, 0x02, 0x04, 0x00, 0xff, 0xff],
        &[0x05, 0x02, 0xff, 0x4c],
    ] {
        let err = compile_blr(bytes).expect_err("refused");
        assert_eq!(err.sqlstate, "0A000", "{bytes:?}: {}", err.message);
    }
    // Deep nesting is bounded.
    let mut deep = vec![0x05];
    deep.extend(std::iter::repeat_n(0x02, 10_000));
    assert_eq!(
        decode::decode(&deep).unwrap_err(),
        decode::BlrError::TooDeep
    );
    let mut not = vec![0x05, 0x02, 0x07, 0x43, 0x01, 0x4a, 0x01, b'T', 0x00, 0x47];
    not.extend(std::iter::repeat_n(0x3b, 10_000));
    assert_eq!(decode::decode(&not).unwrap_err(), decode::BlrError::TooDeep);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Random bytes never panic.
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = compile_blr(&bytes);
    }

    /// Mutations of real requests (byte flips, truncation) never panic.
    #[test]
    fn mutated_requests_never_panic(
        which in 0usize..15,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        cut in any::<usize>(),
    ) {
        let requests = captured();
        let mut bytes = requests[which % requests.len()].clone();
        for (at, b) in edits {
            let len = bytes.len();
            bytes[at % len] = b;
        }
        let len = bytes.len();
        bytes.truncate(cut % (len + 1));
        let _ = compile_blr(&bytes);
    }
}
