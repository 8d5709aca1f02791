//! Golden tests: SQL corpora in, compact bytecode out.
//!
//! `tests/golden/<area>.sql` holds cases separated by blank lines; the expected output is
//! `tests/golden/<area>.out`. `tests/psql/<command>_<n>.sql` are the catalog queries psql
//! 15 sends for `\dt`, `\d t`, `\di`, `\dn`, `\du`, `\l`, `\d` (captured with `psql -E`),
//! expected in `tests/psql/<command>_<n>.out`. Run with `UPDATE_GOLDEN=1` to rewrite the
//! expected files after reviewing a change.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rosetta_plugin_postgres::compile;

/// The compact rendering of one compilation: each program's statement as one-line
/// `Debug` (plus the parameter count when non-zero), or the error.
fn render(sql: &str) -> String {
    match compile(sql) {
        Ok(programs) => {
            let mut out = String::new();
            for p in programs {
                if p.param_count > 0 {
                    let _ = write!(out, "params={} ", p.param_count);
                }
                let _ = writeln!(out, "{:?}", p.statement);
            }
            out
        }
        Err(e) => format!(
            "ERROR {} {}{}\n",
            e.sqlstate,
            e.message,
            e.position
                .map(|p| format!(" (position {p})"))
                .unwrap_or_default()
        ),
    }
}

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

/// Compares `actual` with the file at `expected_path` (or rewrites it).
fn check(expected_path: &Path, actual: &str) -> Result<(), String> {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(expected_path, actual).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(expected_path).unwrap_or_default();
    if expected == actual {
        return Ok(());
    }
    let first_diff = expected
        .lines()
        .zip(actual.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(expected.lines().count().min(actual.lines().count()));
    Err(format!(
        "{} differs at line {}:\n  expected: {}\n  actual:   {}",
        expected_path.display(),
        first_diff + 1,
        expected.lines().nth(first_diff).unwrap_or("<eof>"),
        actual.lines().nth(first_diff).unwrap_or("<eof>"),
    ))
}

fn sql_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    files
}

#[test]
fn golden_corpus() {
    let mut failures = Vec::new();
    for file in sql_files(&dir("golden")) {
        let text = std::fs::read_to_string(&file).expect("corpus file");
        let mut actual = String::new();
        for case in text.split("\n\n").map(str::trim).filter(|c| !c.is_empty()) {
            let _ = write!(actual, "=== {case}\n{}\n", render(case));
        }
        if let Err(e) = check(&file.with_extension("out"), &actual) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn psql_catalog_queries() {
    let mut failures = Vec::new();
    for file in sql_files(&dir("psql")) {
        let sql = std::fs::read_to_string(&file).expect("psql query");
        if let Err(e) = check(&file.with_extension("out"), &render(&sql)) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
