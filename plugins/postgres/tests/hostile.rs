//! Hostile input: garbage, garbled SQL and worst-case nesting never panic, never
//! overflow a small (tokio-sized) stack and always end in `Ok` or a clean error.

use proptest::prelude::*;
use rosetta_plugin_postgres::{compile, MAX_NESTING, MAX_OPERATOR_CHAIN};

/// Statements the garbler starts from.
const SEEDS: &[&str] = &[
    "SELECT a, b AS c FROM t JOIN s ON t.id = s.id WHERE a > $1 ORDER BY 1 LIMIT 10",
    "INSERT INTO t (a, b) VALUES (1, DEFAULT), (2, 'x') RETURNING *",
    "UPDATE t SET a = a + 1 WHERE b IS NOT NULL",
    "CREATE TABLE t (a int PRIMARY KEY, b varchar(10) NOT NULL DEFAULT 'x')",
    "SELECT CASE WHEN a THEN 1 ELSE 2 END, CAST(x AS numeric(5,2)), '\\x00'::bytea",
    "WITH x AS (SELECT 1) SELECT * FROM x UNION ALL SELECT 2",
    "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(t)$' COLLATE pg_catalog.default",
    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE",
    "SELECT SUBSTRING(a FROM 1 FOR 2), TRIM(LEADING 'x' FROM b), EXTRACT(YEAR FROM d)",
];

/// Fragments the garbler splices in.
const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "'",
    "\"",
    "$",
    "$1",
    "$$",
    "::",
    ",",
    ";",
    "--",
    "/*",
    "*/",
    "E'\\",
    "U&'",
    " SELECT ",
    " FROM ",
    " WHERE ",
    " AND ",
    " OR ",
    " NOT ",
    " CASE ",
    " END ",
    " JOIN ",
    " ON ",
    " DEFAULT ",
    " NULL ",
    " 1e999 ",
    " 99999999999999999999999 ",
    "[",
    "]",
    "\0",
    "é",
    "\u{feff}",
    " OPERATOR(",
    " COLLATE ",
    " ARRAY[",
    " ANY(",
    "::regclass",
];

/// Stack size of the test threads: a quarter of tokio's default worker stack (2 MiB), for margin.
const STACK: usize = 512 << 10;

/// Runs `f` on a thread with a [`STACK`]-sized stack.
fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("compile must not panic or overflow")
}

fn garble(seed: usize, edits: Vec<(usize, usize, bool)>) -> String {
    let mut chars: Vec<char> = SEEDS[seed % SEEDS.len()].chars().collect();
    for (pos, frag, delete) in edits {
        let at = pos % (chars.len() + 1);
        if delete && at < chars.len() {
            let end = (at + frag % 5 + 1).min(chars.len());
            chars.drain(at..end);
        } else {
            let insert: Vec<char> = FRAGMENTS[frag % FRAGMENTS.len()].chars().collect();
            chars.splice(at..at, insert);
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(sql in "\\PC{0,200}") {
        let _ = compile(&sql);
    }

    #[test]
    fn garbled_sql_never_panics(
        seed in 0usize..64,
        edits in proptest::collection::vec((0usize..400, 0usize..64, any::<bool>()), 0..8),
    ) {
        let sql = garble(seed, edits);
        if let Err(e) = compile(&sql) {
            prop_assert!(["42601", "0A000", "42P02", "22023", "22003", "54000", "54001"]
                .contains(&e.sqlstate.as_str()), "{sql:?}: {e:?}");
        }
    }
}

#[test]
fn worst_case_nesting_fits_a_small_stack() {
    let depth = MAX_NESTING - 5;
    let cases = vec![
        format!("SELECT {}1{}", "(".repeat(depth), ")".repeat(depth)),
        format!(
            "SELECT {}1{}",
            "(SELECT ".repeat(depth / 2),
            ")".repeat(depth / 2)
        ),
        format!("SELECT {}1", "NOT ".repeat(depth)),
        format!("SELECT {}1", "- ".repeat(depth)),
        format!("SELECT 1{}", "::int".repeat(MAX_OPERATOR_CHAIN / 2 - 5)),
        format!("SELECT 1{}", " + 1".repeat(MAX_OPERATOR_CHAIN - 5)),
        format!(
            "SELECT a FROM t WHERE {}",
            vec!["a = 1"; MAX_OPERATOR_CHAIN / 2 - 5].join(" AND ")
        ),
        format!(
            "SELECT {}1{}",
            "(1 + ".repeat(depth / 2),
            ")".repeat(depth / 2)
        ),
        format!(
            "SELECT {}",
            "CASE WHEN 1 THEN ".repeat(depth / 2) + "1" + &" END".repeat(depth / 2)
        ),
        // Chains inside every nesting level: the operator budget is shared along a path.
        format!(
            "SELECT {}1{}",
            "(1 + 1 + 1 + 1 + 1 + ".repeat(depth / 2),
            ")".repeat(depth / 2)
        ),
    ];
    for sql in cases {
        let preview: String = sql.chars().take(40).collect();
        let outcome = on_small_stack(move || compile(&sql).map(|_| ()));
        if let Err(e) = outcome {
            assert!(e.sqlstate == "54001", "{preview}…: {e:?}");
        }
    }
}

#[test]
fn oversized_input_is_refused_without_parsing() {
    let sql = "SELECT 1 + ".repeat(rosetta_plugin_postgres::MAX_SQL_BYTES / 10);
    let e = compile(&sql).unwrap_err();
    assert_eq!(e.sqlstate, "54000");
}
