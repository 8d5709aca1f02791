//! The Firebird dialect rules the plugin owns, checked on the bytecode it emits.

use rosetta_bytecode::{
    self as bc, BinaryOp, DataType, Dialect, Expr, IdentFold, IsolationLevel, Literal, Statement,
    TransactionMode,
};
use rosetta_plugin_firebird::compile;

fn all(sql: &str) -> Vec<bc::Program> {
    compile(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"))
}

fn one(sql: &str) -> bc::Program {
    let mut programs = all(sql);
    assert_eq!(programs.len(), 1, "{sql}");
    programs.remove(0)
}

fn query(sql: &str) -> bc::Query {
    match one(sql).statement {
        Statement::Query(q) => *q,
        other => panic!("{sql}: not a query: {other:?}"),
    }
}

fn select(sql: &str) -> bc::Select {
    match query(sql).body {
        bc::SetExpr::Select(s) => *s,
        other => panic!("{sql}: {other:?}"),
    }
}

fn err(sql: &str) -> bc::CompileError {
    compile(sql).expect_err(sql)
}

fn int(n: i64) -> Expr {
    Expr::Literal(Literal::Integer(n))
}

fn call(name: &str, args: Vec<Expr>) -> Expr {
    Expr::Function(bc::Function {
        namespace: "std".into(),
        name: name.into(),
        args,
        distinct: false,
        star: false,
    })
}

fn setval(name: &str, value: i64) -> Expr {
    call(
        "setval",
        vec![Expr::Literal(Literal::String(name.into())), int(value)],
    )
}

fn col(name: &str) -> Expr {
    Expr::Column(vec![bc::Ident::new(name)])
}

#[test]
fn programs_carry_firebird_semantics() {
    let p = one("SELECT 1 FROM RDB$DATABASE");
    assert_eq!(p.dialect, Dialect::Firebird);
    assert_eq!(p.semantics.ident_fold, IdentFold::Upper);
    assert!(p.semantics.null_concat_is_null);
    assert!(p.semantics.integer_division_truncates);
}

#[test]
fn unquoted_identifiers_fold_to_upper_case_and_quoted_ones_stay() {
    let s = select("select id, \"Mixed\" from rdb$database, \"Tab\"");
    assert_eq!(
        s.from[0],
        bc::FromItem::Table {
            name: vec![bc::Ident::new("RDB$DATABASE")],
            alias: None
        }
    );
    assert_eq!(
        s.from[1],
        bc::FromItem::Table {
            name: vec![bc::Ident::quoted("Tab")],
            alias: None
        }
    );
    assert_eq!(
        s.projection[1],
        bc::SelectItem::Expr {
            expr: Expr::Column(vec![bc::Ident::quoted("Mixed")]),
            alias: None
        }
    );
}

#[test]
fn unaliased_expressions_are_named_as_firebird_names_them() {
    let s = select("SELECT COUNT(*), 1 + 1, 'a' || 'b', 'x', ID FROM T");
    let names: Vec<Option<String>> = s
        .projection
        .iter()
        .map(|p| match p {
            bc::SelectItem::Expr { alias, .. } => alias.as_ref().map(|a| a.value.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        [
            Some("COUNT".into()),
            Some("ADD".into()),
            Some("CONCATENATION".into()),
            Some("CONSTANT".into()),
            None
        ]
    );
}

#[test]
fn first_skip_rows_and_fetch_become_one_limit() {
    let q = query("SELECT FIRST 2 SKIP 1 ID FROM T ORDER BY ID");
    assert_eq!((q.limit, q.offset), (Some(int(2)), Some(int(1))));
    assert_eq!(q.order_by.len(), 1);
    let q = query("SELECT ID FROM T ROWS 3");
    assert_eq!((q.limit, q.offset), (Some(int(3)), None));
    let q = query("SELECT ID FROM T ROWS 2 TO 4");
    let bigint = |e| Expr::Cast {
        expr: Box::new(e),
        data_type: DataType::BigInt,
    };
    let expected_limit = Expr::Binary {
        op: BinaryOp::Add,
        left: Box::new(Expr::Binary {
            op: BinaryOp::Sub,
            left: Box::new(bigint(int(4))),
            right: Box::new(bigint(int(2))),
        }),
        right: Box::new(int(1)),
    };
    assert_eq!(q.limit, Some(expected_limit));
    let q = query("SELECT ID FROM T OFFSET 1 ROWS FETCH NEXT 2 ROWS ONLY");
    assert_eq!((q.limit, q.offset), (Some(int(2)), Some(int(1))));
    assert_eq!(
        err("SELECT FIRST 1 A FROM T UNION SELECT B FROM U").sqlstate,
        "0A000"
    );
    assert!(compile("SELECT FIRST 1 ID FROM T ROWS 2").is_err());
}

#[test]
fn parameters_are_numbered_by_their_place_in_the_text() {
    // FIRST ? comes first in the text, so it is parameter 1 although the limit is
    // lowered last.
    let p = one("SELECT FIRST ? ID FROM T WHERE ID > ?");
    assert_eq!(p.param_count, 2);
    let Statement::Query(q) = p.statement else {
        panic!()
    };
    assert_eq!(q.limit, Some(Expr::Param(1)));
    assert_eq!(err("SELECT $1 FROM T").sqlstate, "42601");
}

#[test]
fn concatenation_and_returning() {
    let p = one("INSERT INTO T (A, B) VALUES (?, 'x' || ?) RETURNING A");
    assert_eq!(p.param_count, 2);
    let Statement::Insert(i) = p.statement else {
        panic!()
    };
    assert_eq!(i.returning.len(), 1);
    let bc::InsertSource::Values(rows) = &i.source else {
        panic!()
    };
    assert!(matches!(
        rows[0][1],
        Expr::Binary {
            op: BinaryOp::Concat,
            ..
        }
    ));
}

#[test]
fn firebird_types() {
    let Statement::CreateTable(t) = one(
        "CREATE TABLE T1 (ID INTEGER NOT NULL PRIMARY KEY, S SMALLINT, B BIGINT, \
         N NUMERIC(9,2), D DECIMAL(18,4), N0 NUMERIC, F FLOAT, DP DOUBLE PRECISION, \
         C CHAR(4), C1 CHAR, V VARCHAR(20) CHARACTER SET UTF8, FLAG BOOLEAN, DT DATE, \
         TM TIME, TS TIMESTAMP, NOTE BLOB SUB_TYPE TEXT, NOTE1 BLOB SUB_TYPE 1 SEGMENT SIZE 80, \
         BIN BLOB, BIN0 BLOB SUB_TYPE BINARY)",
    )
    .statement
    else {
        panic!()
    };
    let types: Vec<DataType> = t.columns.iter().map(|c| c.data_type).collect();
    let numeric = |p, s| DataType::Numeric {
        precision: Some(p),
        scale: Some(s),
    };
    assert_eq!(
        types,
        [
            DataType::Integer,
            DataType::SmallInt,
            DataType::BigInt,
            numeric(9, 2),
            numeric(18, 4),
            numeric(9, 0),
            DataType::Real,
            DataType::Double,
            DataType::Char(Some(4)),
            DataType::Char(Some(1)),
            DataType::Varchar(Some(20)),
            DataType::Boolean,
            DataType::Date,
            DataType::Time,
            DataType::Timestamp,
            DataType::Text,
            DataType::Text,
            DataType::Bytea,
            DataType::Bytea,
        ]
    );
    assert_eq!(err("CREATE TABLE T (A NUMERIC(19,2))").sqlstate, "42601");
    assert_eq!(err("CREATE TABLE T (A VARCHAR)").sqlstate, "42601");
    assert_eq!(err("CREATE TABLE T (A BLOB SUB_TYPE 5)").sqlstate, "0A000");
    assert_eq!(
        err("CREATE TABLE T (A VARCHAR(5) CHARACTER SET WIN1252)").sqlstate,
        "0A000"
    );
    assert_eq!(
        err("CREATE TABLE T (A TIMESTAMP WITH TIME ZONE)").sqlstate,
        "0A000"
    );
}

#[test]
fn update_or_insert_is_an_upsert() {
    let Statement::Insert(i) =
        one("UPDATE OR INSERT INTO T (ID, NAME) VALUES (1, 'a') MATCHING (ID) RETURNING NAME")
            .statement
    else {
        panic!()
    };
    let upsert = i.upsert.expect("upsert");
    assert_eq!(upsert.match_columns, vec![bc::Ident::new("ID")]);
    assert_eq!(
        upsert.action,
        bc::UpsertAction::Update {
            assignments: vec![bc::Assignment {
                column: bc::Ident::new("NAME"),
                value: Expr::Column(vec![bc::Ident::new("excluded"), bc::Ident::new("NAME")]),
            }],
            filter: None
        }
    );
    assert_eq!(i.returning.len(), 1);
    // Without MATCHING: the primary key decides (empty match columns).
    let Statement::Insert(i) = one("UPDATE OR INSERT INTO T (ID, NAME) VALUES (?, ?)").statement
    else {
        panic!()
    };
    assert_eq!(i.upsert.map(|u| u.match_columns), Some(vec![]));
    assert_eq!(err("UPDATE OR INSERT INTO T VALUES (1)").sqlstate, "0A000");
    assert_eq!(
        err("UPDATE OR INSERT INTO T (A) VALUES (1) MATCHING (B)").sqlstate,
        "42601"
    );
}

#[test]
fn recreate_table_is_drop_if_exists_then_create() {
    let p = all("RECREATE TABLE T (A INTEGER)");
    assert_eq!(p.len(), 2);
    assert_eq!(
        p[0].statement,
        Statement::DropTable {
            names: vec![vec![bc::Ident::new("T")]],
            if_exists: true,
            cascade: false
        }
    );
    assert!(matches!(p[1].statement, Statement::CreateTable(_)));
    assert_eq!(err("RECREATE VIEW V AS SELECT 1 FROM T").sqlstate, "0A000");
}

#[test]
fn create_or_alter_and_psql_are_refused_clearly() {
    for sql in [
        "CREATE OR ALTER TABLE T (A INTEGER)",
        "CREATE OR ALTER PROCEDURE P AS BEGIN END",
        "EXECUTE PROCEDURE P",
        "EXECUTE BLOCK AS BEGIN END",
        "CREATE TRIGGER TR FOR T BEFORE INSERT AS BEGIN END",
    ] {
        assert_eq!(err(sql).sqlstate, "0A000", "{sql}");
    }
}

#[test]
fn sequences_follow_firebird_3_conventions() {
    // START WITH n is the current value: the first NEXT VALUE FOR returns n + increment.
    assert_eq!(
        one("CREATE SEQUENCE S START WITH 10 INCREMENT BY 5").statement,
        Statement::CreateSequence(Box::new(bc::CreateSequence {
            name: vec![bc::Ident::new("S")],
            if_not_exists: false,
            first: 15,
            increment: 5
        }))
    );
    assert_eq!(
        one("CREATE GENERATOR G").statement,
        Statement::CreateSequence(Box::new(bc::CreateSequence {
            name: vec![bc::Ident::new("G")],
            if_not_exists: false,
            first: 1,
            increment: 1
        }))
    );
    // SET GENERATOR / RESTART WITH set the current value at once (setval); a new
    // increment is transactional DDL run first.
    assert_eq!(
        select("SET GENERATOR G TO 100").projection,
        vec![bc::SelectItem::Expr {
            expr: setval("G", 100),
            alias: None
        }]
    );
    let both = all("ALTER SEQUENCE S RESTART WITH 0 INCREMENT BY 2");
    assert_eq!(both.len(), 2);
    assert_eq!(
        both[0].statement,
        Statement::AlterSequence {
            name: vec![bc::Ident::new("S")],
            restart: None,
            increment: Some(2)
        }
    );
    let Statement::Query(q) = &both[1].statement else {
        panic!("{:?}", both[1].statement);
    };
    let bc::SetExpr::Select(s) = &q.body else {
        panic!("{q:?}");
    };
    assert_eq!(
        s.projection,
        vec![bc::SelectItem::Expr {
            expr: setval("S", 0),
            alias: None
        }]
    );
    assert_eq!(
        one("ALTER SEQUENCE S INCREMENT BY 3").statement,
        Statement::AlterSequence {
            name: vec![bc::Ident::new("S")],
            restart: None,
            increment: Some(3)
        }
    );
    assert_eq!(
        one("DROP SEQUENCE S").statement,
        Statement::DropSequence {
            names: vec![vec![bc::Ident::new("S")]],
            if_exists: false
        }
    );
    let s = select("SELECT NEXT VALUE FOR S, GEN_ID(G, 0) FROM RDB$DATABASE");
    assert_eq!(
        s.projection[0],
        bc::SelectItem::Expr {
            expr: Expr::NextValue {
                sequence: vec![bc::Ident::new("S")],
                step: None
            },
            alias: Some(bc::Ident::quoted("NEXT_VALUE"))
        }
    );
    assert_eq!(
        s.projection[1],
        bc::SelectItem::Expr {
            expr: Expr::NextValue {
                sequence: vec![bc::Ident::new("G")],
                step: Some(Box::new(int(0)))
            },
            alias: Some(bc::Ident::quoted("GEN_ID"))
        }
    );
    assert_eq!(err("CREATE SEQUENCE S INCREMENT BY 0").sqlstate, "42601");
    assert_eq!(
        err("CREATE SEQUENCE S START WITH 9223372036854775807").sqlstate,
        "22003"
    );
}

#[test]
fn set_transaction_maps_firebird_options() {
    let begin = |sql: &str| match one(sql).statement {
        Statement::Begin(mode) => mode,
        other => panic!("{sql}: {other:?}"),
    };
    assert_eq!(
        begin("SET TRANSACTION"),
        TransactionMode {
            isolation: Some(IsolationLevel::RepeatableRead),
            read_only: Some(false),
            wait: Some(true),
            lock_timeout_ms: None
        }
    );
    assert_eq!(
        begin("SET TRANSACTION READ ONLY NO WAIT ISOLATION LEVEL READ COMMITTED NO RECORD_VERSION"),
        TransactionMode {
            isolation: Some(IsolationLevel::ReadCommitted),
            read_only: Some(true),
            wait: Some(false),
            lock_timeout_ms: None
        }
    );
    assert_eq!(
        begin("SET TRANSACTION WAIT SNAPSHOT TABLE STABILITY LOCK TIMEOUT 5"),
        TransactionMode {
            isolation: Some(IsolationLevel::Serializable),
            read_only: Some(false),
            wait: Some(true),
            lock_timeout_ms: Some(5000)
        }
    );
    assert_eq!(
        err("SET TRANSACTION NO WAIT LOCK TIMEOUT 5").sqlstate,
        "42601"
    );
    assert_eq!(
        err("SET TRANSACTION READ ONLY READ WRITE").sqlstate,
        "42601"
    );
    assert_eq!(
        err("SET TRANSACTION RESERVING T FOR WRITE").sqlstate,
        "42601"
    );
}

#[test]
fn commit_and_rollback_retain() {
    let kinds = |sql: &str| {
        all(sql)
            .into_iter()
            .map(|p| p.statement)
            .collect::<Vec<_>>()
    };
    let begin = Statement::Begin(TransactionMode::default());
    assert_eq!(kinds("COMMIT"), [Statement::Commit]);
    assert_eq!(kinds("COMMIT WORK"), [Statement::Commit]);
    assert_eq!(kinds("COMMIT RETAIN"), [Statement::Commit, begin.clone()]);
    assert_eq!(kinds("ROLLBACK WORK RETAIN"), [Statement::Rollback, begin]);
    assert_eq!(err("ROLLBACK TO SAVEPOINT X").sqlstate, "0A000");
}

#[test]
fn functions_and_context_variables() {
    let s = select("SELECT IIF(A > 1, 'x', 'y'), CURRENT_TIMESTAMP FROM T");
    assert!(matches!(
        &s.projection[0],
        bc::SelectItem::Expr {
            expr: Expr::Case { .. },
            ..
        }
    ));
    assert!(matches!(
        &s.projection[1],
        bc::SelectItem::Expr { expr: Expr::Function(f), .. } if f.name == "current_timestamp"
    ));
    let s = select("SELECT A FROM T WHERE A = 1");
    assert_eq!(
        s.filter,
        Some(Expr::Binary {
            op: BinaryOp::Eq,
            left: Box::new(col("A")),
            right: Box::new(int(1))
        })
    );
}

#[test]
fn syntax_errors_name_the_token() {
    let e = err("SELEC 1 FROM RDB$DATABASE");
    assert_eq!(e.sqlstate, "42601");
    assert_eq!(e.position, Some(1));
    assert!(compile("SELECT 1 FROM RDB$DATABASE; SELECT 2 FROM RDB$DATABASE").is_ok());
    assert_eq!(one(";").statement, Statement::Empty);
}

#[test]
fn starting_with_and_containing() {
    let prefix = |value: Expr, pattern: Expr| Expr::Binary {
        op: BinaryOp::Eq,
        left: Box::new(call(
            "left",
            vec![value, call("char_length", vec![pattern.clone()])],
        )),
        right: Box::new(pattern),
    };
    let text = |s: &str| Expr::Literal(Literal::String(s.into()));
    assert_eq!(
        select("SELECT 1 FROM T WHERE N STARTING WITH 'a%'").filter,
        Some(prefix(col("N"), text("a%")))
    );
    // `WITH` is optional; a parameter works as the prefix.
    assert_eq!(
        select("SELECT 1 FROM T WHERE N STARTING ?").filter,
        Some(prefix(col("N"), Expr::Param(1)))
    );
    let contains = Expr::Binary {
        op: BinaryOp::Gt,
        left: Box::new(call(
            "strpos",
            vec![
                call("upper", vec![col("N")]),
                call("upper", vec![text("x")]),
            ],
        )),
        right: Box::new(int(0)),
    };
    assert_eq!(
        select("SELECT 1 FROM T WHERE N CONTAINING 'x'").filter,
        Some(contains.clone())
    );
    // NOT binds to the predicate; AND binds looser than it.
    let Some(Expr::Binary {
        op: BinaryOp::And,
        left,
        ..
    }) = select("SELECT 1 FROM T WHERE N NOT CONTAINING 'x' AND ID = 1").filter
    else {
        panic!("not an AND");
    };
    assert!(
        matches!(*left, Expr::Unary { ref expr, .. } if **expr == contains),
        "{left:?}"
    );
    assert_eq!(
        err("SELECT 1 FROM T WHERE N STARTING WITH").sqlstate,
        "42601"
    );
}

#[test]
fn views_are_created_and_dropped() {
    let Statement::CreateView(v) = one("CREATE VIEW V (A, b) AS SELECT ID, N FROM T").statement
    else {
        panic!("not a view");
    };
    assert_eq!(v.name, vec![bc::Ident::new("V")]);
    assert_eq!(v.columns, vec![bc::Ident::new("A"), bc::Ident::new("B")]);
    assert!(!v.or_replace);
    assert_eq!(
        one("DROP VIEW V").statement,
        Statement::DropView {
            names: vec![vec![bc::Ident::new("V")]],
            if_exists: false,
            cascade: false
        }
    );
    assert_eq!(err("CREATE VIEW V AS SELECT ? FROM T").sqlstate, "42601");
    assert_eq!(
        err("CREATE OR REPLACE VIEW V AS SELECT 1 FROM T").sqlstate,
        "0A000"
    );
}
