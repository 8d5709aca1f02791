//! Parsing Firebird text: the shared bounded parser of `rosetta_sql_lower` with the
//! [`FirebirdDialect`], the token rewrites of [`crate::rewrite`] and the statement
//! dispatch of [`crate::front`].

use rosetta_bytecode::CompileError;
use sqlparser::tokenizer::TokenWithSpan;

use crate::dialect::FirebirdDialect;
use crate::front::{self, Parsed};
use crate::rewrite;

pub use rosetta_sql_lower::parse::{MAX_NESTING, MAX_OPERATOR_CHAIN, MAX_SQL_BYTES};

/// Parses `sql` into the statements it holds.
pub(crate) fn parse(sql: &str) -> Result<Vec<Parsed>, CompileError> {
    let mut rewrite_error = None;
    let parsed = rosetta_sql_lower::parse::parse_with(
        sql,
        &FirebirdDialect,
        |tokens| match rewrite::rewrite(tokens) {
            Ok(tokens) => tokens,
            Err(e) => {
                rewrite_error = Some(e);
                vec![TokenWithSpan::new_eof()]
            }
        },
        front::statements,
    );
    match rewrite_error {
        Some(e) => Err(e),
        None => parsed,
    }
}
