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

/// Runs `select <columns> from <table>` and returns the rows with text trimmed of the
/// blank padding Firebird's `CHAR` names carry.
fn rdb(f: &Fixture, txn: &mut Txn, table: &str, columns: &[&str]) -> Vec<Vec<Value>> {
    let q = select(columns.iter().map(|c| col(c)).collect(), Some(table), None);
    query(f, txn, q)
        .unwrap_or_else(|e| panic!("select from {table}: {e}"))
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| match v {
                    Value::Text(s) => Value::Text(s.trim_end().to_string()),
                    v => v,
                })
                .collect()
        })
        .collect()
}

fn t(s: &str) -> Value {
    Value::Text(s.into())
}

#[test]
fn firebird_system_tables_have_every_column_isql_reads() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    for (table, columns) in crate::sql::rdb::TABLES {
        let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
        rdb(&f, &mut txn, &table.to_ascii_uppercase(), &names);
    }
    let sets = rdb(
        &f,
        &mut txn,
        "RDB$CHARACTER_SETS",
        &[
            "RDB$CHARACTER_SET_NAME",
            "RDB$CHARACTER_SET_ID",
            "RDB$BYTES_PER_CHARACTER",
        ],
    );
    for (name, id, bytes) in [
        ("NONE", 0, 1),
        ("OCTETS", 1, 1),
        ("ASCII", 2, 1),
        ("UTF8", 4, 4),
    ] {
        assert!(
            sets.contains(&vec![t(name), Value::Int16(id), Value::Int16(bytes)]),
            "{name} missing from {sets:?}"
        );
    }
    let utf8_collations = rdb(
        &f,
        &mut txn,
        "RDB$COLLATIONS",
        &[
            "RDB$COLLATION_NAME",
            "RDB$COLLATION_ID",
            "RDB$CHARACTER_SET_ID",
        ],
    );
    assert!(utf8_collations.contains(&vec![t("UTF8"), Value::Int16(0), Value::Int16(4)]));
    assert_eq!(
        rdb(&f, &mut txn, "RDB$DATABASE", &["RDB$CHARACTER_SET_NAME"]),
        vec![vec![t("UTF8")]]
    );
    assert!(rdb(&f, &mut txn, "RDB$TRIGGERS", &["RDB$TRIGGER_NAME"]).is_empty());
}

#[test]
fn firebird_system_tables_describe_user_tables_as_firebird_does() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    setup(&f, &mut txn);
    let column = |n: &str, data_type, not_null| bc::ColumnDef {
        name: id(n),
        data_type,
        not_null,
        default: None,
        primary_key: false,
        unique: false,
        auto_increment: false,
    };
    f.exec(
        &mut txn,
        bc::Statement::CreateTable(Box::new(bc::CreateTable {
            name: vec![id("emp")],
            if_not_exists: false,
            columns: vec![
                column("name", bc::DataType::Varchar(Some(20)), true),
                column("born", bc::DataType::Date, false),
            ],
            constraints: vec![],
        })),
    )
    .expect("create table");

    let relations = rdb(
        &f,
        &mut txn,
        "RDB$RELATIONS",
        &[
            "RDB$RELATION_NAME",
            "RDB$SYSTEM_FLAG",
            "RDB$VIEW_BLR",
            "RDB$EXTERNAL_FILE",
        ],
    );
    for name in ["T", "EMP"] {
        assert!(
            relations.contains(&vec![t(name), Value::Int16(0), Value::Null, Value::Null]),
            "{name} missing from {relations:?}"
        );
    }

    let fields = rdb(
        &f,
        &mut txn,
        "RDB$RELATION_FIELDS",
        &[
            "RDB$RELATION_NAME",
            "RDB$FIELD_NAME",
            "RDB$FIELD_SOURCE",
            "RDB$NULL_FLAG",
        ],
    );
    let source = |table: &str, column: &str| {
        fields
            .iter()
            .find(|r| r[0] == t(table) && r[1] == t(column))
            .map(|r| (r[2].clone(), r[3].clone()))
            .unwrap_or_else(|| panic!("{table}.{column} missing from {fields:?}"))
    };
    let (name_domain, name_null) = source("EMP", "NAME");
    assert_eq!(name_null, Value::Int16(1));
    let (born_domain, born_null) = source("EMP", "BORN");
    assert_eq!(born_null, Value::Null);

    // Both domains in RDB$FIELDS, with Firebird 3's type description.
    let domains = rdb(
        &f,
        &mut txn,
        "RDB$FIELDS",
        &[
            "RDB$FIELD_NAME",
            "RDB$FIELD_TYPE",
            "RDB$FIELD_SUB_TYPE",
            "RDB$FIELD_LENGTH",
            "RDB$CHARACTER_LENGTH",
            "RDB$CHARACTER_SET_ID",
            "RDB$COLLATION_ID",
        ],
    );
    let domain = |name: &Value| {
        domains
            .iter()
            .find(|r| &r[0] == name)
            .map(|r| r[1..].to_vec())
            .unwrap_or_else(|| panic!("{name:?} missing from {domains:?}"))
    };
    let i2 = Value::Int16;
    assert_eq!(
        domain(&name_domain),
        vec![i2(37), i2(0), i2(80), i2(20), i2(4), i2(0)]
    );
    assert_eq!(
        domain(&born_domain),
        vec![
            i2(12),
            Value::Null,
            i2(4),
            Value::Null,
            Value::Null,
            Value::Null
        ]
    );

    // NOT NULL columns get Firebird's INTEG_<n> constraints, tied to the column.
    let constraints = rdb(
        &f,
        &mut txn,
        "RDB$RELATION_CONSTRAINTS",
        &[
            "RDB$CONSTRAINT_NAME",
            "RDB$CONSTRAINT_TYPE",
            "RDB$RELATION_NAME",
            "RDB$INDEX_NAME",
        ],
    );
    let not_null: Vec<_> = constraints
        .iter()
        .filter(|r| r[1] == t("NOT NULL") && r[2] == t("EMP"))
        .collect();
    assert_eq!(not_null.len(), 1, "{constraints:?}");
    assert_eq!(not_null[0][3], Value::Null);
    let checks = rdb(
        &f,
        &mut txn,
        "RDB$CHECK_CONSTRAINTS",
        &["RDB$CONSTRAINT_NAME", "RDB$TRIGGER_NAME"],
    );
    assert!(
        checks.contains(&vec![not_null[0][0].clone(), t("NAME")]),
        "{checks:?}"
    );
    // The primary key of `t` is listed under its index.
    assert!(constraints
        .iter()
        .any(|r| r[1] == t("PRIMARY KEY") && r[2] == t("T") && r[0] == r[3]));
}

/// `setval('s', n)`: the counter part of Firebird's `SET GENERATOR s TO n`, which is
/// not transactional — every transaction sees it at once, and a rollback keeps it.
fn setval(seq: &str, value: i64) -> Expr {
    Expr::Function(bc::Function {
        namespace: "std".into(),
        name: "setval".into(),
        args: vec![text(seq), int(value)],
        distinct: false,
        star: false,
    })
}

#[test]
fn setting_a_counter_takes_effect_at_once_for_every_transaction() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    f.exec(&mut txn, create_sequence("g", 1, 1))
        .expect("create");
    txn.commit().expect("commit");

    let mut setter = f.mvcc.begin();
    let mut other = f.mvcc.begin();
    assert_eq!(one(&f, &mut setter, setval("g", 41)), Value::Int64(41));
    // Another transaction, whose snapshot is older than the set, already sees it.
    assert_eq!(one(&f, &mut other, next_value("g", None)), Value::Int64(42));
    setter.rollback();
    let mut later = f.mvcc.begin();
    assert_eq!(
        one(&f, &mut later, next_value("g", Some(0))),
        Value::Int64(42)
    );
}
