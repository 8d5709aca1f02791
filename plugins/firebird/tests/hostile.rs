//! Hostile SQL never panics the plugin: token soups built from the words the Firebird
//! rewrites and the front dispatcher react to, and random text.

use proptest::prelude::*;
use rosetta_plugin_firebird::compile;

const WORDS: &[&str] = &[
    "SELECT",
    "FIRST",
    "SKIP",
    "ROWS",
    "TO",
    "FROM",
    "T",
    "WHERE",
    "UNION",
    "ALL",
    "ORDER",
    "BY",
    "OFFSET",
    "FETCH",
    "NEXT",
    "ONLY",
    "(",
    ")",
    "?",
    "1",
    "-",
    "+",
    ",",
    ";",
    "BLOB",
    "SUB_TYPE",
    "TEXT",
    "SEGMENT",
    "SIZE",
    "CHARACTER",
    "SET",
    "UTF8",
    "UPDATE",
    "OR",
    "INSERT",
    "INTO",
    "VALUES",
    "MATCHING",
    "RETURNING",
    "RECREATE",
    "TABLE",
    "CREATE",
    "SEQUENCE",
    "GENERATOR",
    "START",
    "WITH",
    "INCREMENT",
    "ALTER",
    "RESTART",
    "DROP",
    "TRANSACTION",
    "READ",
    "WRITE",
    "COMMITTED",
    "NO",
    "WAIT",
    "LOCK",
    "TIMEOUT",
    "SNAPSHOT",
    "COMMIT",
    "ROLLBACK",
    "RETAIN",
    "WORK",
    "VALUE",
    "FOR",
    "GEN_ID",
    "IIF",
    "EXECUTE",
    "PROCEDURE",
    "\"q\"",
    "'s'",
    "RDB$DATABASE",
    "INTEGER",
    "VARCHAR",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn token_soup_never_panics(words in proptest::collection::vec(0usize..WORDS.len(), 0..40)) {
        let sql = words.iter().map(|&i| WORDS[i]).collect::<Vec<_>>().join(" ");
        let _ = compile(&sql);
    }

    #[test]
    fn random_text_never_panics(sql in "\\PC{0,200}") {
        let _ = compile(&sql);
    }
}

#[test]
fn deep_nesting_is_refused() {
    let sql = format!(
        "SELECT {}1{} FROM RDB$DATABASE",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    assert!(compile(&sql).is_err());
    let sql = format!(
        "SELECT FIRST {}1{} 1 FROM RDB$DATABASE",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    assert!(compile(&sql).is_err());
}
