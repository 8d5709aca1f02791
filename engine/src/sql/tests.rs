//! Binder and executor tests for arrays, `ANY`/`ALL`, subscripts, `ARRAY(subquery)`
//! and set-returning functions in FROM, run against a real (temporary) store.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use rosetta_bytecode::{self as bc, BinaryOp, DataType, ElementType, Expr, Literal};
use rosetta_types::Value;

use super::bind::Binder;
use super::exec::{self, ExecCtx, Row};
use crate::catalog::DatabaseDef;
use crate::mvcc::Mvcc;
use crate::storage::RocksStore;

fn int(i: i64) -> Expr {
    Expr::Literal(Literal::Integer(i))
}

fn text(s: &str) -> Expr {
    Expr::Literal(Literal::String(s.into()))
}

fn col(name: &str) -> Expr {
    Expr::Column(vec![bc::Ident::new(name)])
}

fn call(name: &str, args: Vec<Expr>) -> bc::Function {
    bc::Function {
        namespace: "std".into(),
        name: name.into(),
        args,
        distinct: false,
        star: false,
    }
}

fn query(projection: Vec<Expr>, from: Vec<bc::FromItem>) -> bc::Query {
    bc::Query {
        with: vec![],
        body: bc::SetExpr::Select(Box::new(bc::Select {
            distinct: false,
            projection: projection
                .into_iter()
                .map(|expr| bc::SelectItem::Expr { expr, alias: None })
                .collect(),
            from,
            filter: None,
            group_by: vec![],
            having: None,
        })),
        order_by: vec![],
        limit: None,
        offset: None,
    }
}

fn series(args: Vec<Expr>, alias: &str) -> bc::FromItem {
    bc::FromItem::Function {
        function: call("generate_series", args),
        alias: Some(bc::TableAlias {
            name: bc::Ident::new(alias),
            columns: vec![],
        }),
    }
}

/// Binds and runs `q` in a fresh store, returning the result types and rows.
fn run(q: &bc::Query) -> crate::error::Result<(Vec<DataType>, Vec<Row>)> {
    let dir = tempfile::tempdir().map_err(|e| crate::error::Error::Internal(e.to_string()))?;
    let gc_horizon = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let store = Arc::new(RocksStore::open(dir.path(), gc_horizon.clone())?);
    let mvcc = Mvcc::open(store, 1, gc_horizon)?;
    let txn = mvcc.begin();
    let db = DatabaseDef {
        id: 1,
        name: "rosetta".into(),
        owner: "admin".into(),
    };
    let (plan, cols) = Binder::new(&txn, &db, vec![]).query(q)?;
    let sem = bc::Semantics::for_dialect(bc::Dialect::Postgres);
    let cancel = AtomicBool::new(false);
    let ctx = ExecCtx::new(&txn, &[], &sem, &db, "admin", &cancel);
    let rows = exec::run(&plan, &ctx)?;
    Ok((cols.into_iter().map(|c| c.ty).collect(), rows))
}

fn one_row(projection: Vec<Expr>) -> (Vec<DataType>, Row) {
    let (types, mut rows) = run(&query(projection, vec![])).expect("query runs");
    assert_eq!(rows.len(), 1);
    (types, rows.remove(0))
}

fn ints(v: &[i32]) -> Value {
    Value::Array(v.iter().map(|i| Value::Int32(*i)).collect())
}

fn any(left: Expr, op: BinaryOp, right: Expr, all: bool) -> Expr {
    Expr::AnyAll {
        left: Box::new(left),
        op,
        right: Box::new(right),
        all,
    }
}

#[test]
fn array_constructor_and_literal_casts() {
    let (types, row) = one_row(vec![
        Expr::Array(vec![int(1), int(2)]),
        Expr::Array(vec![text("a"), Expr::Literal(Literal::Null)]),
        Expr::Cast {
            expr: Box::new(text("{3,4}")),
            data_type: DataType::Array(ElementType::SmallInt),
        },
    ]);
    assert_eq!(
        types,
        vec![
            DataType::Array(ElementType::Integer),
            DataType::Array(ElementType::Text),
            DataType::Array(ElementType::SmallInt),
        ]
    );
    assert_eq!(row[0], ints(&[1, 2]));
    assert_eq!(
        row[1],
        Value::Array(vec![Value::Text("a".into()), Value::Null])
    );
    assert_eq!(row[2], Value::Array(vec![Value::Int16(3), Value::Int16(4)]));
}

#[test]
fn any_all_follow_three_valued_logic() {
    let arr = |items: Vec<Expr>| Expr::Array(items);
    let null = || Expr::Literal(Literal::Null);
    let (_, row) = one_row(vec![
        any(int(1), BinaryOp::Eq, arr(vec![int(1), int(2)]), false),
        any(int(3), BinaryOp::Eq, text("{1,2}"), false),
        any(int(3), BinaryOp::Eq, arr(vec![int(1), null()]), false),
        any(int(1), BinaryOp::NotEq, arr(vec![int(2), int(3)]), true),
        any(int(1), BinaryOp::NotEq, arr(vec![int(2), null()]), true),
        any(int(1), BinaryOp::Lt, arr(vec![int(0), int(1)]), true),
        any(
            int(1),
            BinaryOp::Eq,
            Expr::Cast {
                expr: Box::new(text("{}")),
                data_type: DataType::Array(ElementType::Integer),
            },
            false,
        ),
    ]);
    assert_eq!(
        row,
        vec![
            Value::Bool(true),
            Value::Bool(false),
            Value::Null,
            Value::Bool(true),
            Value::Null,
            Value::Bool(false),
            Value::Bool(false),
        ]
    );
}

#[test]
fn any_needs_an_array() {
    let q = query(vec![any(int(1), BinaryOp::Eq, int(1), false)], vec![]);
    assert!(run(&q).is_err());
}

#[test]
fn subscripts_are_one_based_and_null_out_of_range() {
    let arr = || Expr::Array(vec![int(10), int(20)]);
    let sub = |i: i64| Expr::Subscript {
        expr: Box::new(arr()),
        index: Box::new(int(i)),
    };
    let (types, row) = one_row(vec![sub(1), sub(2), sub(0), sub(3)]);
    assert_eq!(types[0], DataType::Integer);
    assert_eq!(
        row,
        vec![Value::Int32(10), Value::Int32(20), Value::Null, Value::Null]
    );
    // Subscripting a scalar is a type error.
    let q = query(
        vec![Expr::Subscript {
            expr: Box::new(int(1)),
            index: Box::new(int(1)),
        }],
        vec![],
    );
    assert!(run(&q).is_err());
}

#[test]
fn generate_series_and_unnest_in_from() {
    let (types, rows) = run(&query(
        vec![col("s")],
        vec![series(vec![int(1), int(7), int(3)], "s")],
    ))
    .expect("series");
    assert_eq!(types, vec![DataType::Integer]);
    assert_eq!(
        rows,
        vec![
            vec![Value::Int32(1)],
            vec![Value::Int32(4)],
            vec![Value::Int32(7)]
        ]
    );
    let (_, rows) = run(&query(
        vec![col("s")],
        vec![series(vec![int(3), int(1)], "s")],
    ))
    .expect("empty series");
    assert!(rows.is_empty());
    assert!(run(&query(
        vec![col("s")],
        vec![series(vec![int(1), int(3), int(0)], "s")]
    ))
    .is_err());
    let (types, rows) = run(&query(
        vec![col("x")],
        vec![bc::FromItem::Function {
            function: call("unnest", vec![Expr::Array(vec![text("a"), text("b")])]),
            alias: Some(bc::TableAlias {
                name: bc::Ident::new("u"),
                columns: vec![bc::Ident::new("x")],
            }),
        }],
    ))
    .expect("unnest");
    assert_eq!(types, vec![DataType::Text]);
    assert_eq!(
        rows,
        vec![vec![Value::Text("a".into())], vec![Value::Text("b".into())]]
    );
}

#[test]
fn array_subquery_collects_rows_and_correlates() {
    // ARRAY(SELECT s FROM generate_series(1, 3) s)
    let sub = query(vec![col("s")], vec![series(vec![int(1), int(3)], "s")]);
    let (types, row) = one_row(vec![Expr::ArraySubquery(Box::new(sub))]);
    assert_eq!(types, vec![DataType::Array(ElementType::Integer)]);
    assert_eq!(row, vec![ints(&[1, 2, 3])]);
    // SELECT ARRAY(SELECT s FROM generate_series(1, n) s) FROM generate_series(0, 2) n:
    // the function's arguments refer to the enclosing row.
    let inner = query(vec![col("s")], vec![series(vec![int(1), col("n")], "s")]);
    let (_, rows) = run(&query(
        vec![Expr::ArraySubquery(Box::new(inner))],
        vec![series(vec![int(0), int(2)], "n")],
    ))
    .expect("correlated");
    assert_eq!(
        rows,
        vec![vec![ints(&[])], vec![ints(&[1])], vec![ints(&[1, 2])]]
    );
}

#[test]
fn array_functions_and_concatenation() {
    let arr = || Expr::Array(vec![int(1), Expr::Literal(Literal::Null), int(3)]);
    let f = |name: &str, args: Vec<Expr>| Expr::Function(call(name, args));
    let (_, row) = one_row(vec![
        f("array_to_string", vec![arr(), text(",")]),
        f("array_to_string", vec![arr(), text(","), text("*")]),
        f("array_upper", vec![arr(), int(1)]),
        f("array_upper", vec![arr(), int(2)]),
        f("cardinality", vec![arr()]),
        Expr::Binary {
            op: BinaryOp::Concat,
            left: Box::new(Expr::Array(vec![int(1)])),
            right: Box::new(Expr::Array(vec![int(2)])),
        },
    ]);
    assert_eq!(
        row,
        vec![
            Value::Text("1,3".into()),
            Value::Text("1,*,3".into()),
            Value::Int32(3),
            Value::Null,
            Value::Int32(3),
            ints(&[1, 2]),
        ]
    );
}

#[test]
fn string_agg_joins_with_separators() {
    let q = bc::Query {
        body: bc::SetExpr::Select(Box::new(bc::Select {
            distinct: false,
            projection: vec![bc::SelectItem::Expr {
                expr: Expr::Function(call(
                    "string_agg",
                    vec![
                        Expr::Cast {
                            expr: Box::new(col("s")),
                            data_type: DataType::Text,
                        },
                        text(", "),
                    ],
                )),
                alias: None,
            }],
            from: vec![series(vec![int(1), int(3)], "s")],
            filter: None,
            group_by: vec![],
            having: None,
        })),
        ..query(vec![], vec![])
    };
    let (_, rows) = run(&q).expect("string_agg");
    assert_eq!(rows, vec![vec![Value::Text("1, 2, 3".into())]]);
}
