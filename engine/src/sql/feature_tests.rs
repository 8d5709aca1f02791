//! Engine-level tests of sequences, AUTO_INCREMENT, upserts and TIME keys, written as
//! bytecode (the dialect plugins' output) against a real temporary store.

use rosetta_bytecode::{self as bc, Expr, Literal};
use rosetta_types::Value;

use super::view_tests::{col, id, int, query, select, setup, Fixture};
use crate::error::Error;
use crate::mvcc::Txn;

fn text(s: &str) -> Expr {
    Expr::Literal(Literal::String(s.into()))
}

fn next_value(seq: &str, step: Option<i64>) -> Expr {
    Expr::NextValue {
        sequence: vec![id(seq)],
        step: step.map(|s| Box::new(int(s))),
    }
}

fn create_sequence(name: &str, first: i64, increment: i64) -> bc::Statement {
    bc::Statement::CreateSequence(Box::new(bc::CreateSequence {
        name: vec![id(name)],
        if_not_exists: false,
        first,
        increment,
    }))
}

fn one(f: &Fixture, txn: &mut Txn, e: Expr) -> Value {
    let rows = query(f, txn, select(vec![e], None, None)).expect("query");
    rows.into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .unwrap_or(Value::Null)
}

fn insert(
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Expr>>,
    upsert: Option<bc::Upsert>,
) -> bc::Statement {
    bc::Statement::Insert(Box::new(bc::Insert {
        table: vec![id(table)],
        columns: columns.iter().map(|c| id(c)).collect(),
        source: bc::InsertSource::Values(rows),
        returning: vec![],
        upsert,
    }))
}

fn all_rows(f: &Fixture, txn: &mut Txn, table: &str) -> Vec<Vec<Value>> {
    let mut q = select(vec![], Some(table), None);
    if let bc::SetExpr::Select(s) = &mut q.body {
        s.projection = vec![bc::SelectItem::Wildcard];
    }
    q.order_by = vec![bc::OrderItem {
        expr: int(1),
        desc: false,
        nulls_first: None,
    }];
    query(f, txn, q).expect("select *")
}

#[test]
fn sequences_step_and_read_without_advancing() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    f.exec(&mut txn, create_sequence("g", 11, 1))
        .expect("create");
    assert_eq!(one(&f, &mut txn, next_value("G", None)), Value::Int64(11));
    assert_eq!(
        one(&f, &mut txn, next_value("g", Some(10))),
        Value::Int64(21)
    );
    // Firebird's GEN_ID(g, 0): the current value.
    assert_eq!(
        one(&f, &mut txn, next_value("g", Some(0))),
        Value::Int64(21)
    );
    let err = query(
        &f,
        &mut txn,
        select(vec![next_value("nope", None)], None, None),
    );
    assert!(
        matches!(err, Err(Error::UndefinedRelation { .. })),
        "{err:?}"
    );
    // The name is taken for tables too.
    let dup = f.exec(&mut txn, create_sequence("g", 1, 1));
    assert!(matches!(dup, Err(Error::DuplicateTable(_))), "{dup:?}");
}

#[test]
fn sequence_ddl_is_transactional_but_values_are_not() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    f.exec(&mut txn, create_sequence("s", 1, 1))
        .expect("create");
    txn.commit().expect("commit");

    let mut t2 = f.mvcc.begin();
    assert_eq!(one(&f, &mut t2, next_value("s", None)), Value::Int64(1));
    f.exec(
        &mut t2,
        bc::Statement::DropSequence {
            names: vec![vec![id("s")]],
            if_exists: false,
        },
    )
    .expect("drop");
    t2.rollback();

    // The drop never happened; the value taken by the rolled-back transaction is gone.
    let mut t3 = f.mvcc.begin();
    assert_eq!(one(&f, &mut t3, next_value("s", None)), Value::Int64(2));
    f.exec(
        &mut t3,
        bc::Statement::AlterSequence {
            name: vec![id("s")],
            restart: Some(100),
            increment: Some(5),
        },
    )
    .expect("alter");
    assert_eq!(one(&f, &mut t3, next_value("s", None)), Value::Int64(100));
    assert_eq!(one(&f, &mut t3, next_value("s", None)), Value::Int64(105));
}

fn auto_table(f: &Fixture, txn: &mut Txn) {
    let column = |n: &str, pk: bool, ai: bool| bc::ColumnDef {
        name: id(n),
        data_type: bc::DataType::Integer,
        not_null: false,
        default: None,
        primary_key: pk,
        unique: false,
        auto_increment: ai,
    };
    f.exec(
        txn,
        bc::Statement::CreateTable(Box::new(bc::CreateTable {
            name: vec![id("ai")],
            if_not_exists: false,
            columns: vec![column("id", true, true), column("v", false, false)],
            constraints: vec![],
        })),
    )
    .expect("create table");
}

#[test]
fn auto_increment_follows_mysql_rules() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    auto_table(&f, &mut txn);
    let o = f
        .exec(
            &mut txn,
            insert("ai", &["v"], vec![vec![int(1)], vec![int(2)]], None),
        )
        .expect("insert");
    assert_eq!(o.last_insert_id, 1);
    // An explicit larger value moves the counter past it and generates nothing.
    let o = f
        .exec(
            &mut txn,
            insert("ai", &[], vec![vec![int(10), int(3)]], None),
        )
        .expect("insert");
    assert_eq!(o.last_insert_id, 0);
    // NULL and 0 take the next value.
    let null = Expr::Literal(Literal::Null);
    let o = f
        .exec(
            &mut txn,
            insert(
                "ai",
                &[],
                vec![vec![null, int(4)], vec![int(0), int(5)]],
                None,
            ),
        )
        .expect("insert");
    assert_eq!(o.last_insert_id, 11);
    let ids: Vec<Value> = all_rows(&f, &mut txn, "ai")
        .into_iter()
        .filter_map(|r| r.into_iter().next())
        .collect();
    assert_eq!(
        ids,
        [1, 2, 10, 11, 12].map(Value::Int32).to_vec(),
        "generated ids"
    );
    assert_eq!(
        f.last_insert_id.load(std::sync::atomic::Ordering::Relaxed),
        11
    );
}

#[test]
fn upsert_with_match_columns_needs_no_index() {
    // Firebird's UPDATE OR INSERT … MATCHING (b): b has no index.
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    setup(&f, &mut txn);
    let upsert = || bc::Upsert {
        match_columns: vec![id("b")],
        action: bc::UpsertAction::Update {
            assignments: vec![bc::Assignment {
                column: id("a"),
                value: Expr::Binary {
                    op: bc::BinaryOp::Add,
                    left: Box::new(col("a")),
                    right: Box::new(Expr::Column(vec![id("excluded"), id("a")])),
                },
            }],
            filter: None,
        },
    };
    let o = f
        .exec(
            &mut txn,
            insert(
                "t",
                &[],
                vec![vec![int(100), int(20)], vec![int(4), int(40)]],
                Some(upsert()),
            ),
        )
        .expect("upsert");
    assert_eq!(o.affected, 2);
    let rows = all_rows(&f, &mut txn, "t");
    let want: Vec<Vec<Value>> = [(1, 10), (3, 30), (4, 40), (102, 20)]
        .iter()
        .map(|(a, b)| vec![Value::Int32(*a), Value::Int32(*b)])
        .collect();
    assert_eq!(rows, want);
}

#[test]
fn upsert_do_nothing_and_filtered_update() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    setup(&f, &mut txn);
    let nothing = bc::Upsert {
        match_columns: vec![],
        action: bc::UpsertAction::Nothing,
    };
    let o = f
        .exec(
            &mut txn,
            insert("t", &[], vec![vec![int(1), int(99)]], Some(nothing)),
        )
        .expect("do nothing");
    assert_eq!(o.affected, 0);
    let filtered = bc::Upsert {
        match_columns: vec![id("a")],
        action: bc::UpsertAction::Update {
            assignments: vec![bc::Assignment {
                column: id("b"),
                value: Expr::Column(vec![id("excluded"), id("b")]),
            }],
            filter: Some(Expr::Binary {
                op: bc::BinaryOp::Gt,
                left: Box::new(col("b")),
                right: Box::new(int(15)),
            }),
        },
    };
    let o = f
        .exec(
            &mut txn,
            insert(
                "t",
                &[],
                vec![vec![int(1), int(-1)], vec![int(2), int(-2)]],
                Some(filtered),
            ),
        )
        .expect("filtered update");
    assert_eq!(o.affected, 1);
    let rows = all_rows(&f, &mut txn, "t");
    assert_eq!(rows[0], vec![Value::Int32(1), Value::Int32(10)]);
    assert_eq!(rows[1], vec![Value::Int32(2), Value::Int32(-2)]);
}

#[test]
fn time_primary_keys_order_and_look_up() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    let column = |n: &str, ty: bc::DataType, pk: bool| bc::ColumnDef {
        name: id(n),
        data_type: ty,
        not_null: false,
        default: None,
        primary_key: pk,
        unique: false,
        auto_increment: false,
    };
    f.exec(
        &mut txn,
        bc::Statement::CreateTable(Box::new(bc::CreateTable {
            name: vec![id("tk")],
            if_not_exists: false,
            columns: vec![
                column("t", bc::DataType::Time, true),
                column("v", bc::DataType::Integer, false),
            ],
            constraints: vec![],
        })),
    )
    .expect("create");
    f.exec(
        &mut txn,
        insert(
            "tk",
            &[],
            vec![
                vec![text("10:00"), int(1)],
                vec![text("09:00:00.5"), int(2)],
                vec![text("23:59:59.999999"), int(3)],
            ],
            None,
        ),
    )
    .expect("insert");
    let rows = all_rows(&f, &mut txn, "tk");
    let times: Vec<Value> = rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        times,
        vec![
            Value::Time(32_400_500_000),
            Value::Time(36_000_000_000),
            Value::Time(86_399_999_999)
        ]
    );
    let eq = Expr::Binary {
        op: bc::BinaryOp::Eq,
        left: Box::new(col("t")),
        right: Box::new(text("10:00:00")),
    };
    let hit = query(&f, &mut txn, select(vec![col("v")], Some("tk"), Some(eq))).expect("q");
    assert_eq!(hit, vec![vec![Value::Int32(1)]]);
}
