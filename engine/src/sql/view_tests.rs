//! Views in the engine: CREATE/DROP VIEW through [`super::execute`], expansion by the
//! binder, dependencies, recursion, and the numeric promotion of CASE/COALESCE results
//! that sqllogictest relies on.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use rosetta_bytecode::{self as bc, Expr, Literal};
use rosetta_types::Value;

use super::{execute, Env, Outcome};
use crate::catalog::{DatabaseDef, IdAllocator};
use crate::error::{Error, Result};
use crate::mvcc::{Mvcc, Txn};
use crate::storage::RocksStore;

pub(super) struct Fixture {
    _dir: tempfile::TempDir,
    pub(super) mvcc: Arc<Mvcc>,
    ids: IdAllocator,
    db: DatabaseDef,
    cancel: AtomicBool,
    pub(super) last_insert_id: std::sync::atomic::AtomicU64,
}

impl Fixture {
    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let gc_horizon = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let store = Arc::new(RocksStore::open(dir.path(), gc_horizon.clone()).expect("store"));
        let ids = IdAllocator::open(store.clone()).expect("ids");
        let mvcc = Mvcc::open(store, 1, gc_horizon).expect("mvcc");
        Self {
            _dir: dir,
            mvcc,
            ids,
            db: DatabaseDef {
                id: 1,
                name: "rosetta".into(),
                owner: "admin".into(),
            },
            cancel: AtomicBool::new(false),
            last_insert_id: Default::default(),
        }
    }

    /// Runs one statement in `txn`.
    pub(super) fn exec(&self, txn: &mut Txn, stmt: bc::Statement) -> Result<Outcome> {
        let program = bc::Program::new(bc::Dialect::Postgres, stmt);
        let env = Env {
            database: &self.db,
            user: "admin",
            semantics: &program.semantics,
            cancel: &self.cancel,
            ids: &self.ids,
            last_insert_id: &self.last_insert_id,
            session_id: 1,
        };
        execute(&program, &program.statement, txn, &env, &[], vec![])
    }
}

pub(super) fn id(n: &str) -> bc::Ident {
    bc::Ident::new(n)
}

pub(super) fn col(n: &str) -> Expr {
    Expr::Column(vec![id(n)])
}

pub(super) fn int(i: i64) -> Expr {
    Expr::Literal(Literal::Integer(i))
}

pub(super) fn select(projection: Vec<Expr>, from: Option<&str>, filter: Option<Expr>) -> bc::Query {
    bc::Query {
        with: vec![],
        body: bc::SetExpr::Select(Box::new(bc::Select {
            distinct: false,
            projection: projection
                .into_iter()
                .map(|expr| bc::SelectItem::Expr { expr, alias: None })
                .collect(),
            from: from
                .map(|t| {
                    vec![bc::FromItem::Table {
                        name: vec![id(t)],
                        alias: None,
                    }]
                })
                .unwrap_or_default(),
            filter,
            group_by: vec![],
            having: None,
        })),
        order_by: vec![],
        limit: None,
        offset: None,
    }
}

fn create_view(name: &str, query: bc::Query, or_replace: bool) -> bc::Statement {
    bc::Statement::CreateView(Box::new(bc::CreateView {
        name: vec![id(name)],
        columns: vec![],
        query,
        or_replace,
        definition: None,
    }))
}

fn drop(view: bool, name: &str, cascade: bool) -> bc::Statement {
    let names = vec![vec![id(name)]];
    if view {
        bc::Statement::DropView {
            names,
            if_exists: false,
            cascade,
        }
    } else {
        bc::Statement::DropTable {
            names,
            if_exists: false,
            cascade,
        }
    }
}

/// `t(a int primary key, b int)` holding (1, 10), (2, 20), (3, 30).
pub(super) fn setup(f: &Fixture, txn: &mut Txn) {
    let column = |n: &str, pk: bool| bc::ColumnDef {
        name: id(n),
        data_type: bc::DataType::Integer,
        not_null: false,
        default: None,
        primary_key: pk,
        unique: false,
        auto_increment: false,
    };
    f.exec(
        txn,
        bc::Statement::CreateTable(Box::new(bc::CreateTable {
            name: vec![id("t")],
            if_not_exists: false,
            columns: vec![column("a", true), column("b", false)],
            constraints: vec![],
        })),
    )
    .expect("create table");
    f.exec(
        txn,
        bc::Statement::Insert(Box::new(bc::Insert {
            table: vec![id("t")],
            columns: vec![],
            source: bc::InsertSource::Values((1..=3).map(|i| vec![int(i), int(i * 10)]).collect()),
            returning: vec![],
            upsert: None,
        })),
    )
    .expect("insert");
}

pub(super) fn query(f: &Fixture, txn: &mut Txn, q: bc::Query) -> Result<Vec<Vec<Value>>> {
    Ok(f.exec(txn, bc::Statement::Query(Box::new(q)))?.rows)
}

fn gt(l: Expr, r: Expr) -> Expr {
    Expr::Binary {
        op: bc::BinaryOp::Gt,
        left: Box::new(l),
        right: Box::new(r),
    }
}

#[test]
fn a_view_is_expanded_where_it_is_named() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    setup(&f, &mut txn);
    let q = select(
        vec![col("a"), col("b")],
        Some("t"),
        Some(gt(col("a"), int(1))),
    );
    f.exec(&mut txn, create_view("v", q, false))
        .expect("create view");
    let rows = query(
        &f,
        &mut txn,
        select(vec![col("b")], Some("v"), Some(gt(col("b"), int(25)))),
    )
    .expect("query view");
    assert_eq!(rows, vec![vec![Value::Int32(30)]]);
    // Writes are refused with 0A000.
    let del = bc::Statement::Delete(Box::new(bc::Delete {
        table: vec![id("v")],
        alias: None,
        filter: None,
        returning: vec![],
    }));
    let err = f.exec(&mut txn, del).expect_err("delete from view");
    assert_eq!(err.sqlstate(), "0A000");
    // Wrong object kinds are 42809, name clashes 42P07.
    assert_eq!(
        f.exec(&mut txn, drop(false, "v", false))
            .expect_err("drop table on a view")
            .sqlstate(),
        "42809"
    );
    assert_eq!(
        f.exec(&mut txn, drop(true, "t", false))
            .expect_err("drop view on a table")
            .sqlstate(),
        "42809"
    );
    let clash = create_view("t", select(vec![int(1)], None, None), false);
    assert!(matches!(
        f.exec(&mut txn, clash),
        Err(Error::DuplicateTable(_))
    ));
}

#[test]
fn dependent_views_block_drop_unless_cascade() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    setup(&f, &mut txn);
    f.exec(
        &mut txn,
        create_view("v1", select(vec![col("a")], Some("t"), None), false),
    )
    .expect("v1");
    f.exec(
        &mut txn,
        create_view("v2", select(vec![col("a")], Some("v1"), None), false),
    )
    .expect("v2");
    let err = f
        .exec(&mut txn, drop(false, "t", false))
        .expect_err("drop table with dependent views");
    assert_eq!(err.sqlstate(), "2BP01");
    assert_eq!(
        err.detail().as_deref(),
        Some("view v1 depends on table t\nview v2 depends on view v1")
    );
    let out = f
        .exec(&mut txn, drop(false, "t", true))
        .expect("drop cascade");
    assert_eq!(
        out.notices,
        vec!["drop cascades to view v1", "drop cascades to view v2"]
    );
    assert!(query(&f, &mut txn, select(vec![int(1)], Some("v2"), None)).is_err());
}

#[test]
fn a_view_cannot_reach_itself() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    f.exec(
        &mut txn,
        create_view("v1", select(vec![int(1)], None, None), false),
    )
    .expect("v1");
    f.exec(
        &mut txn,
        create_view("v2", select(vec![col("?column?")], Some("v1"), None), false),
    )
    .expect("v2");
    let cycle = create_view("v1", select(vec![col("?column?")], Some("v2"), None), true);
    let err = f.exec(&mut txn, cycle).expect_err("recursive view");
    assert!(err.to_string().contains("infinite recursion"), "{err}");
}

#[test]
fn case_and_coalesce_results_carry_the_common_numeric_type() {
    let f = Fixture::new();
    let mut txn = f.mvcc.begin();
    let dec = || Expr::Literal(Literal::Decimal("1.5".into()));
    let coalesce = Expr::Function(bc::Function {
        namespace: "std".into(),
        name: "coalesce".into(),
        args: vec![int(2), dec()],
        distinct: false,
        star: false,
    });
    let div = |e: Expr| Expr::Binary {
        op: bc::BinaryOp::Div,
        left: Box::new(int(7)),
        right: Box::new(e),
    };
    let case = Expr::Case {
        operand: None,
        branches: vec![(Expr::Literal(Literal::Boolean(true)), int(2))],
        else_result: Some(Box::new(dec())),
    };
    let rows = query(
        &f,
        &mut txn,
        select(vec![div(coalesce), div(case)], None, None),
    )
    .expect("query");
    let expected = Value::Numeric("3.5".parse().expect("decimal"));
    for v in &rows[0] {
        assert_eq!(
            rosetta_types::ops::compare(v, &expected).ok().flatten(),
            Some(std::cmp::Ordering::Equal),
            "{v:?}"
        );
    }
}
