//! The MySQL dialect rules the plugin owns, checked on the bytecode it emits.

use rosetta_bytecode::{self as bc, BinaryOp, DataType, Dialect, Expr, IdentFold, Statement};
use rosetta_plugin_mysql::compile;

fn one(sql: &str) -> bc::Program {
    let mut programs = compile(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    assert_eq!(programs.len(), 1, "{sql}");
    programs.remove(0)
}

fn query(sql: &str) -> bc::Query {
    match one(sql).statement {
        Statement::Query(q) => *q,
        other => panic!("{sql}: not a query: {other:?}"),
    }
}

#[test]
fn programs_carry_mysql_semantics() {
    let p = one("SELECT 1");
    assert_eq!(p.dialect, Dialect::Mysql);
    assert_eq!(p.semantics.ident_fold, IdentFold::Preserve);
}

#[test]
fn identifiers_keep_their_case_and_backticks_quote() {
    let q = query("SELECT Col FROM `MyTable`");
    let bc::SetExpr::Select(select) = q.body else {
        panic!("not a select")
    };
    assert_eq!(
        select.from[0],
        bc::FromItem::Table {
            name: vec![bc::Ident::quoted("MyTable")],
            alias: None
        }
    );
    assert_eq!(
        select.projection[0],
        bc::SelectItem::Expr {
            expr: Expr::Column(vec![bc::Ident::new("Col")]),
            alias: None
        }
    );
}

#[test]
fn question_marks_are_numbered_left_to_right() {
    let p = one("SELECT a FROM t WHERE a = ? AND b = ?");
    assert_eq!(p.param_count, 2);
}

#[test]
fn limit_offset_comma_count() {
    let q = query("SELECT a FROM t LIMIT 5, 10");
    assert_eq!(q.limit, Some(Expr::Literal(bc::Literal::Integer(10))));
    assert_eq!(q.offset, Some(Expr::Literal(bc::Literal::Integer(5))));
}

#[test]
fn pipes_mean_or() {
    let q = query("SELECT a || b FROM t");
    let bc::SetExpr::Select(select) = q.body else {
        panic!("not a select")
    };
    let bc::SelectItem::Expr { expr, .. } = &select.projection[0] else {
        panic!("not an expression")
    };
    assert!(matches!(
        expr,
        Expr::Binary {
            op: BinaryOp::Or,
            ..
        }
    ));
}

#[test]
fn mysql_types_map_onto_rosetta_types() {
    let Statement::CreateTable(t) = one(
        "CREATE TABLE t (a TINYINT(1), b TINYINT, c INT UNSIGNED, d BIGINT UNSIGNED, \
         e FLOAT, f DOUBLE, g DATETIME, h TIMESTAMP, i BLOB, j DECIMAL, k MEDIUMTEXT)",
    )
    .statement
    else {
        panic!("not CREATE TABLE")
    };
    let types: Vec<DataType> = t.columns.iter().map(|c| c.data_type).collect();
    assert_eq!(
        types,
        vec![
            DataType::Boolean,
            DataType::SmallInt,
            DataType::BigInt,
            DataType::Numeric {
                precision: Some(20),
                scale: Some(0)
            },
            DataType::Real,
            DataType::Double,
            DataType::Timestamp,
            DataType::Timestamp,
            DataType::Bytea,
            DataType::Numeric {
                precision: Some(10),
                scale: Some(0)
            },
            DataType::Text,
        ]
    );
}

#[test]
fn system_variables_are_engine_function_calls() {
    let q = query("SELECT @@version_comment, @@session.autocommit");
    let bc::SetExpr::Select(select) = q.body else {
        panic!("not a select")
    };
    for (item, name, alias) in [
        (
            &select.projection[0],
            "version_comment",
            "@@version_comment",
        ),
        (&select.projection[1], "autocommit", "@@session.autocommit"),
    ] {
        let bc::SelectItem::Expr {
            expr: Expr::Function(f),
            alias: Some(a),
        } = item
        else {
            panic!("not a call: {item:?}")
        };
        assert_eq!(
            (f.namespace.as_str(), f.name.as_str()),
            ("mysql", "variable")
        );
        assert_eq!(
            f.args,
            vec![Expr::Literal(bc::Literal::String(name.into()))]
        );
        assert_eq!(a.value, alias);
    }
}

#[test]
fn show_and_describe_are_catalog_queries() {
    for sql in [
        "SHOW TABLES",
        "SHOW DATABASES",
        "DESCRIBE t",
        "SHOW COLUMNS FROM t",
        "SHOW VARIABLES LIKE 'version%'",
    ] {
        assert!(matches!(one(sql).statement, Statement::Query(_)), "{sql}");
    }
}

#[test]
fn session_settings() {
    assert!(matches!(
        one("SET NAMES utf8mb4").statement,
        Statement::SetVariable { .. }
    ));
    let Statement::SetVariable { name, .. } = one("SET autocommit = 0").statement else {
        panic!("not SET")
    };
    assert_eq!(name, "autocommit");
}

#[test]
fn unsupported_is_refused_not_dropped() {
    for sql in [
        "CREATE TABLE t (a VARCHAR(3) AUTO_INCREMENT PRIMARY KEY)",
        "CREATE TABLE t (a INT AUTO_INCREMENT, b INT AUTO_INCREMENT)",
        "CREATE TABLE t (a INT) DEFAULT CHARSET=latin1",
        "CREATE TABLE t (a INT) AUTO_INCREMENT=5",
        "CREATE TABLE t (a ENUM('x'))",
        "SET NAMES latin1",
        "SELECT @x",
        "SET GLOBAL sql_mode = ''",
    ] {
        let err = compile(sql).expect_err(sql);
        assert_eq!(err.sqlstate, "0A000", "{sql}: {err:?}");
    }
}

#[test]
fn auto_increment_and_table_options() {
    let p = one(
        "CREATE TABLE sbtest1 (id INTEGER NOT NULL AUTO_INCREMENT, k INTEGER DEFAULT '0' NOT NULL, \
         PRIMARY KEY (id)) ENGINE = innodb DEFAULT CHARSET=utf8mb4 COLLATE utf8mb4_general_ci",
    );
    let Statement::CreateTable(t) = p.statement else {
        panic!("not CREATE TABLE")
    };
    assert!(t.columns[0].auto_increment && t.columns[0].not_null);
    assert!(!t.columns[1].auto_increment);
}

#[test]
fn kill_and_session_functions() {
    assert_eq!(
        one("KILL QUERY 42").statement,
        Statement::Kill {
            session_id: 42,
            query_only: true
        }
    );
    assert_eq!(
        one("KILL 7").statement,
        Statement::Kill {
            session_id: 7,
            query_only: false
        }
    );
    let q = query("SELECT LAST_INSERT_ID(), CONNECTION_ID()");
    let bc::SetExpr::Select(select) = q.body else {
        panic!("not a select")
    };
    let bc::SelectItem::Expr {
        expr: Expr::Function(f),
        ..
    } = &select.projection[0]
    else {
        panic!("not a call")
    };
    assert_eq!(
        (f.namespace.as_str(), f.name.as_str()),
        ("mysql", "last_insert_id")
    );
}
