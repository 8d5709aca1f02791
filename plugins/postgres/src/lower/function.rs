//! PostgreSQL's function names: the niladic keywords, the `pg_catalog.` namespace and
//! catalog calls. Function calls themselves are lowered by the shared
//! [`rosetta_sql_lower::LowerFunction`].

use rosetta_bytecode as bc;
use rosetta_sql_lower::{call, unsupported, Result, STD};
use sqlparser::ast;

/// Namespace of PostgreSQL-specific (`pg_catalog.`) functions.
const PG: &str = "pg";

/// Functions PostgreSQL lets you call without parentheses (SQL keywords), with the
/// name each one is called by.
const NILADIC: &[(&str, &str)] = &[
    ("current_date", "current_date"),
    ("current_time", "current_time"),
    ("current_timestamp", "current_timestamp"),
    ("localtime", "localtime"),
    ("localtimestamp", "localtimestamp"),
    ("current_user", "current_user"),
    ("current_role", "current_user"),
    ("user", "current_user"),
    ("session_user", "session_user"),
    ("current_catalog", "current_database"),
    ("current_schema", "current_schema"),
];

/// The standard function a niladic keyword such as `current_schema` or `session_user`
/// calls (PostgreSQL reserves these words, so they are never column names unquoted).
pub(crate) fn niladic_name(word: &str) -> Option<&'static str> {
    NILADIC
        .iter()
        .find(|(n, _)| *n == word)
        .map(|(_, canonical)| *canonical)
}

/// A call of a PostgreSQL-specific function.
pub(crate) fn pg_call(name: &str, args: Vec<bc::Expr>) -> bc::Expr {
    call(PG, name, args)
}

/// The namespace and lower-case name of a called function.
pub(crate) fn function_name(name: &ast::ObjectName) -> Result<(&'static str, String)> {
    let parts = super::object_name(name)?;
    match parts.as_slice() {
        [f] => Ok((STD, f.value.clone())),
        [schema, f] if schema.value == "pg_catalog" => Ok((PG, f.value.clone())),
        _ => Err(unsupported(format!("function schema in {name}"))),
    }
}
