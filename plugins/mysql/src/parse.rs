//! Parsing MySQL text: the shared parser ([`rosetta_sql_lower::parse`]) with
//! `MySqlDialect`.

use rosetta_bytecode::CompileError;
use sqlparser::ast::Statement;
use sqlparser::dialect::MySqlDialect;

pub use rosetta_sql_lower::parse::{MAX_NESTING, MAX_OPERATOR_CHAIN, MAX_SQL_BYTES};

/// Parses `sql` into `sqlparser` statements.
pub(crate) fn parse(sql: &str) -> Result<Vec<Statement>, CompileError> {
    rosetta_sql_lower::parse::parse(sql, &MySqlDialect {}, |tokens| tokens)
}
