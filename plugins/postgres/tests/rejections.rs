//! Every refusal path: unsupported clauses are `0A000` errors (never silently dropped),
//! malformed input is `42601`, limits are `54000`/`54001`.

use rosetta_plugin_postgres::compile;

/// Asserts that `sql` fails with `sqlstate` and a message containing `needle`.
#[track_caller]
fn fails(sql: &str, sqlstate: &str, needle: &str) {
    match compile(sql) {
        Ok(p) => panic!("{sql:?} compiled to {p:?}"),
        Err(e) => {
            assert_eq!(e.sqlstate, sqlstate, "{sql:?}: {e:?}");
            assert!(
                e.message.contains(needle),
                "{sql:?}: {:?} lacks {needle:?}",
                e.message
            );
        }
    }
}

#[track_caller]
fn unsupported(sql: &str, needle: &str) {
    fails(sql, "0A000", needle);
}

#[test]
fn unsupported_query_clauses() {
    for (sql, needle) in [
        (
            "WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r",
            "WITH RECURSIVE",
        ),
        (
            "WITH x AS MATERIALIZED (SELECT 1) SELECT * FROM x",
            "MATERIALIZED",
        ),
        ("SELECT * FROM t FOR UPDATE", "FOR UPDATE"),
        ("SELECT DISTINCT ON (a) a FROM t", "DISTINCT ON"),
        ("SELECT a INTO b FROM t", "SELECT INTO"),
        ("SELECT * FROM t, LATERAL (SELECT 1) x", "LATERAL"),
        // Set-returning functions in FROM are supported; LATERAL and ORDINALITY are not.
        (
            "SELECT * FROM t, LATERAL generate_series(1, a) g",
            "set-returning",
        ),
        (
            "SELECT * FROM generate_series(1, 3) WITH ORDINALITY",
            "WITH ORDINALITY",
        ),
        ("SELECT * FROM unnest(a, b)", "unnest of several arrays"),
        ("SELECT * FROM t TABLESAMPLE SYSTEM (10)", "TABLESAMPLE"),
        ("SELECT a FROM t FETCH FIRST 5 ROWS WITH TIES", "WITH TIES"),
        ("SELECT a FROM t ORDER BY a USING <", "USING"),
        ("SELECT sum(a) OVER () FROM t", "window functions"),
        ("SELECT count(*) FILTER (WHERE a > 1) FROM t", "FILTER"),
        ("SELECT string_agg(a, ',' ORDER BY a) FROM t", "ORDER BY"),
        (
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a) FROM t",
            "WITHIN GROUP",
        ),
        (
            "SELECT * FROM (t JOIN s ON true) AS j",
            "parenthesized join",
        ),
        ("SELECT a FROM t GROUP BY ROLLUP (a)", "ROLLUP"),
        ("SELECT a FROM t WINDOW w AS (ORDER BY a)", "WINDOW"),
        ("SELECT * FROM t AS x(a int)", "column types"),
    ] {
        unsupported(sql, needle);
    }
}

#[test]
fn unsupported_expressions() {
    for (sql, needle) in [
        // One-dimensional arrays, ARRAY(subquery), = ANY / <> ALL and subscripts are
        // supported; what lies beyond them is refused.
        ("SELECT ARRAY[[1, 2], [3, 4]]", "multidimensional arrays"),
        ("SELECT pg_catalog.array(SELECT 1)", "subquery"),
        ("SELECT a < ANY (SELECT b FROM t)", "ANY (subquery)"),
        ("SELECT a = ALL (SELECT b FROM t)", "ALL (subquery)"),
        ("SELECT a[1:2] FROM t", "array slices"),
        ("SELECT INTERVAL '1 day'", "INTERVAL"),
        ("SELECT now() AT TIME ZONE 'UTC'", "AT TIME ZONE"),
        ("SELECT a IS UNKNOWN FROM t", "IS UNKNOWN"),
        ("SELECT a SIMILAR TO 'x' FROM t", "SIMILAR TO"),
        ("SELECT (1, 2)", "row constructors"),
        ("SELECT a COLLATE \"en_US\" FROM t", "collation"),
        ("SELECT a & b FROM t", "operator"),
        ("SELECT a << 1 FROM t", "operator"),
        ("SELECT a OPERATOR(myschema.+) b FROM t", "operator"),
        ("SELECT |/ 4", "prefix operator"),
        ("SELECT X'1F'", "bit-string"),
        ("SELECT myschema.f(1)", "function schema"),
        ("SELECT f(x => 1)", "named function arguments"),
        ("SELECT count(t.*) FROM t", "t.*"),
        ("SELECT TRY_CAST(a AS int) FROM t", "TRY_CAST"),
        ("SELECT a::timestamptz FROM t", "WITH TIME ZONE"),
        ("SELECT a::timestamp(3) FROM t", "TIMESTAMP(3)"),
        ("SELECT a::int[][] FROM t", "multidimensional arrays"),
        ("SELECT a::json[] FROM t", "type"),
        ("SELECT a::json FROM t", "type"),
        ("SELECT a::uuid FROM t", "type"),
        (
            "SELECT TIMESTAMP WITH TIME ZONE '2024-01-01'",
            "WITH TIME ZONE",
        ),
        ("SELECT a::varchar(max) FROM t", "VARCHAR(MAX)"),
        ("SELECT a::numeric(300) FROM t", "NUMERIC precision"),
        ("SELECT a::numeric(5, 7) FROM t", "NUMERIC scale"),
        ("SELECT a LIKE ANY ('x') FROM t", "LIKE ANY"),
    ] {
        unsupported(sql, needle);
    }
}

#[test]
fn unsupported_dml() {
    for (sql, needle) in [
        (
            "INSERT INTO t VALUES (1) ON CONFLICT ON CONSTRAINT t_pkey DO NOTHING",
            "ON CONFLICT ON CONSTRAINT",
        ),
        (
            "INSERT INTO t VALUES (1) ON CONFLICT (a) WHERE a > 0 DO NOTHING",
            "ON CONFLICT (…) WHERE",
        ),
        ("SELECT nextval(a) FROM t", "string constant"),
        ("ALTER SEQUENCE s RESTART", "RESTART without a value"),
        ("CREATE SEQUENCE s CYCLE", "sequence option"),
        ("CREATE TEMPORARY SEQUENCE s", "TEMPORARY"),
        (
            "CREATE TABLE t (a time with time zone)",
            "TIME WITH TIME ZONE",
        ),
        ("INSERT INTO t AS x VALUES (1)", "AS alias"),
        (
            "INSERT INTO t OVERRIDING SYSTEM VALUE VALUES (1)",
            "OVERRIDING",
        ),
        ("UPDATE t SET a = 1 FROM s WHERE t.a = s.a", "UPDATE … FROM"),
        ("UPDATE t SET (a, b) = (1, 2)", "SET (a, b)"),
        ("UPDATE t AS x(a) SET a = 1", "column aliases"),
        ("DELETE FROM t USING s WHERE t.a = s.a", "USING"),
        (
            "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
            "data-modifying",
        ),
    ] {
        unsupported(sql, needle);
    }
}

#[test]
fn unsupported_ddl() {
    for (sql, needle) in [
        ("CREATE TEMPORARY TABLE t (a int)", "temporary"),
        ("CREATE UNLOGGED TABLE t (a int)", "UNLOGGED"),
        ("CREATE TABLE t AS SELECT 1", "AS"),
        ("CREATE TABLE t (a int) INHERITS (s)", "INHERITS"),
        (
            "CREATE TABLE t (a int) PARTITION BY RANGE (a)",
            "partitioned",
        ),
        (
            "CREATE TABLE t (a int) WITH (autovacuum_enabled = false)",
            "storage parameter",
        ),
        (
            "CREATE TABLE t (a int) WITH (fillfactor = 70, toast_tuple_target = 128)",
            "storage parameter",
        ),
        ("SELECT 1::serial", "type serial"),
        ("CREATE TABLE t (a int REFERENCES s (b))", "REFERENCES"),
        ("CREATE TABLE t (a int CHECK (a > 0))", "CHECK"),
        (
            "CREATE TABLE t (a int, FOREIGN KEY (a) REFERENCES s (b))",
            "FOREIGN KEY",
        ),
        ("CREATE TABLE t (a int, CHECK (a > 0))", "CHECK"),
        (
            "CREATE TABLE t (a int GENERATED ALWAYS AS IDENTITY)",
            "identity",
        ),
        ("CREATE TABLE t (a text COLLATE \"C\")", "COLLATE"),
        (
            "CREATE TABLE t (a int PRIMARY KEY DEFERRABLE)",
            "DEFERRABLE",
        ),
        (
            "CREATE TABLE t (a int, UNIQUE NULLS NOT DISTINCT (a))",
            "NULLS",
        ),
        (
            "CREATE TABLE t (a int, PRIMARY KEY (a) INCLUDE (b))",
            "INCLUDE",
        ),
        ("CREATE INDEX i ON t USING hash (a)", "index method"),
        ("CREATE INDEX i ON t USING gin (a)", "index method"),
        ("CREATE INDEX i ON t (lower(a))", "expression indexes"),
        ("CREATE INDEX i ON t (a) WHERE a > 0", "partial indexes"),
        ("CREATE INDEX i ON t (a) INCLUDE (b)", "INCLUDE"),
        ("CREATE INDEX i ON t (a NULLS FIRST)", "NULLS FIRST"),
        (
            "CREATE INDEX i ON t (a text_pattern_ops)",
            "operator classes",
        ),
        (
            "CREATE INDEX i ON t (a) WITH (fillfactor = 70)",
            "storage parameters",
        ),
        ("DROP INDEX i CASCADE", "CASCADE"),
        ("DROP MATERIALIZED VIEW v", "DROP MATERIALIZED VIEW"),
        ("DROP SCHEMA s", "DROP SCHEMA"),
        (
            "CREATE MATERIALIZED VIEW v AS SELECT 1",
            "CREATE MATERIALIZED VIEW",
        ),
        ("CREATE TEMPORARY VIEW v AS SELECT 1", "TEMPORARY VIEW"),
        (
            "CREATE VIEW v WITH (security_barrier) AS SELECT 1",
            "view options",
        ),
        ("ALTER TABLE t ADD COLUMN b int", "ALTER TABLE"),
        ("TRUNCATE t CASCADE", "CASCADE"),
        ("TRUNCATE t RESTART IDENTITY", "RESTART IDENTITY"),
        ("ALTER TABLE t ADD UNIQUE (a)", "ADD UNIQUE"),
        (
            "ALTER TABLE t ADD PRIMARY KEY (a), ADD COLUMN b int",
            "ALTER TABLE",
        ),
        ("CREATE SCHEMA s", "CREATE SCHEMA"),
        ("CREATE SEQUENCE s OWNED BY t.a", "OWNED BY"),
        ("GRANT SELECT ON t TO u", "GRANT"),
    ] {
        unsupported(sql, needle);
    }
}

#[test]
fn view_query_with_a_parameter_is_refused() {
    fails(
        "CREATE VIEW v AS SELECT $1",
        "42P02",
        "there is no parameter $1",
    );
}

#[test]
fn unsupported_session_statements() {
    for (sql, needle) in [
        ("ROLLBACK TO SAVEPOINT s", "SAVEPOINT"),
        ("SAVEPOINT s", "SAVEPOINT"),
        ("COMMIT AND CHAIN", "AND CHAIN"),
        ("ROLLBACK AND CHAIN", "AND CHAIN"),
        ("EXPLAIN VERBOSE SELECT 1", "VERBOSE"),
        ("EXPLAIN (COSTS OFF) SELECT 1", "EXPLAIN option"),
        ("EXPLAIN (FORMAT JSON) SELECT 1", "EXPLAIN"),
        ("SET ROLE admin", "SET ROLE"),
        (
            "SET SESSION AUTHORIZATION admin",
            "SET SESSION AUTHORIZATION",
        ),
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ ONLY",
            "more than one",
        ),
        ("SET TRANSACTION SNAPSHOT '0001'", "SNAPSHOT"),
        ("LISTEN ch", "LISTEN"),
        ("COPY t TO STDOUT", "COPY"),
        ("COPY t FROM '/etc/passwd'", "COPY FROM a file"),
        ("COPY (SELECT 1) TO STDOUT", "COPY"),
        ("COPY t FROM STDIN WITH (FORMAT binary)", "COPY option"),
        ("VACUUM (VERBOSE) t", "VACUUM (options)"),
    ] {
        unsupported(sql, needle);
    }
}

#[test]
fn syntax_errors_name_the_token_and_position() {
    let e = compile("SELECT FROM WHERE").unwrap_err();
    assert_eq!(e.sqlstate, "42601");
    assert_eq!(e.message, "syntax error at or near \"WHERE\"");
    assert_eq!(e.position, Some(13));
    let e = compile("SELECT 1 +").unwrap_err();
    assert_eq!(e.message, "syntax error at end of input");
    assert_eq!(e.position, Some(11));
    let e = compile("SELECT 'é', \n 'x' 'y'").unwrap_err();
    assert_eq!(e.sqlstate, "42601");
    let e = compile("SELECT 'open").unwrap_err();
    assert_eq!((e.sqlstate.as_str(), e.position), ("42601", Some(8)));
    fails("SELECT ?", "42601", "");
    fails("SELECT $0", "42P02", "$0");
    fails("SELECT $70000", "42P02", "$70000");
    fails("SELECT * FROM t JOIN s", "42601", "JOIN requires");
    fails("SELECT * FROM t CROSS JOIN s ON true", "42601", "");
    fails("SELECT default", "42601", "DEFAULT");
    fails(
        "CREATE TABLE t (a int DEFAULT 1 DEFAULT 2)",
        "42601",
        "multiple default",
    );
    fails("DROP DATABASE a, b", "42601", "exactly one");
    fails("SELECT count(DISTINCT *) FROM t", "42601", "");
}

#[test]
fn invalid_values() {
    fails("SELECT '\\x0'::bytea", "22023", "odd number");
    fails("SELECT 1e400", "22003", "out of range");
    fails("SELECT a::numeric(0) FROM t", "22023", "precision");
    fails("SELECT a::float(60) FROM t", "22023", "precision");
    fails("SELECT a::varchar(0) FROM t", "22023", "length");
}

#[test]
fn limits() {
    let long = format!(
        "SELECT '{}'",
        "x".repeat(rosetta_plugin_postgres::MAX_SQL_BYTES)
    );
    fails(&long, "54000", "too long");
    let deep = format!("SELECT {}1{}", "(".repeat(400), ")".repeat(400));
    fails(&deep, "54001", "nested");
    let chain = format!("SELECT 1{}", " + 1".repeat(5000));
    fails(&chain, "54001", "complex");
    // Long but within limits: lowering refuses trees deeper than the engine accepts.
    let chain = format!("SELECT 1{}", " + 1".repeat(500));
    fails(&chain, "54001", "nested");
    // AND/OR chains are balanced, so long generated filters still compile.
    let ors = (0..900)
        .map(|i| format!("a = {i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    compile(&format!("SELECT * FROM t WHERE {ors}")).expect("long OR chain");
    // Many rows are not nesting.
    let rows = (0..20_000)
        .map(|i| format!("({i}, 'v{i}')"))
        .collect::<Vec<_>>()
        .join(", ");
    compile(&format!("INSERT INTO t VALUES {rows}")).expect("big insert");
}

#[test]
fn maintenance_statements_lower() {
    use rosetta_bytecode::{Ident, Statement};
    let one = |sql: &str| {
        let mut programs = compile(sql).unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        assert_eq!(programs.len(), 1, "{sql}");
        programs.remove(0).statement
    };
    assert!(matches!(
        one("CREATE TABLE t (a int) WITH (fillfactor=100)"),
        Statement::CreateTable(_)
    ));
    fails(
        "CREATE TABLE t (a int) WITH (fillfactor=5)",
        "22023",
        "out of bounds",
    );
    assert_eq!(
        one("truncate table a, public.b"),
        Statement::Truncate {
            names: vec![
                vec![Ident::new("a")],
                vec![Ident::new("public"), Ident::new("b")]
            ]
        }
    );
    assert_eq!(
        one("vacuum analyze pgbench_branches"),
        Statement::Maintain {
            vacuum: true,
            analyze: true,
            names: vec![vec![Ident::new("pgbench_branches")]]
        }
    );
    assert_eq!(
        one("VACUUM"),
        Statement::Maintain {
            vacuum: true,
            analyze: false,
            names: vec![]
        }
    );
    assert_eq!(
        one("ANALYZE t"),
        Statement::Maintain {
            vacuum: false,
            analyze: true,
            names: vec![vec![Ident::new("t")]]
        }
    );
    assert_eq!(
        one("alter table t add constraint k primary key (a, b)"),
        Statement::AddPrimaryKey {
            table: vec![Ident::new("t")],
            name: Some(Ident::new("k")),
            columns: vec![Ident::new("a"), Ident::new("b")],
        }
    );
    let Statement::CopyFrom(c) = one("copy pgbench_accounts from stdin with (freeze on)") else {
        panic!("not a COPY");
    };
    assert!(!c.csv && c.delimiter == '\t' && c.null == "\\N" && c.columns.is_empty());
    let Statement::CopyFrom(c) = one("COPY t (a, b) FROM STDIN WITH (FORMAT csv, HEADER true)")
    else {
        panic!("not a COPY");
    };
    assert!(c.csv && c.header && c.delimiter == ',' && c.null.is_empty());
    assert_eq!(c.columns, vec![Ident::new("a"), Ident::new("b")]);
}
