//! Parsing PostgreSQL text: the shared parser ([`rosetta_sql_lower::parse`]) with
//! `PostgreSqlDialect` and PostgreSQL's `COPY` option spellings.

use rosetta_bytecode::CompileError;
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan};

pub use rosetta_sql_lower::parse::{MAX_NESTING, MAX_OPERATOR_CHAIN, MAX_SQL_BYTES};

/// Parses `sql` into `sqlparser` statements.
pub(crate) fn parse(sql: &str) -> Result<Vec<Statement>, CompileError> {
    rosetta_sql_lower::parse::parse(sql, &PostgreSqlDialect {}, copy_boolean_options)
}

/// In a `COPY`, PostgreSQL's boolean options accept `on`/`off` (`WITH (freeze on)`, as
/// pgbench sends); `sqlparser` knows only `true`/`false`, so those two words are rewritten
/// after `FREEZE` and `HEADER`.
fn copy_boolean_options(mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    let is_copy = tokens
        .iter()
        .find(|t| !matches!(t.token, Token::Whitespace(_)))
        .is_some_and(|t| matches!(&t.token, Token::Word(w) if w.keyword == Keyword::COPY));
    if !is_copy {
        return tokens;
    }
    let mut previous: Option<Keyword> = None;
    for t in tokens.iter_mut() {
        if let Token::Whitespace(_) = t.token {
            continue;
        }
        if let Token::Word(w) = &mut t.token {
            if matches!(previous, Some(Keyword::FREEZE | Keyword::HEADER))
                && w.quote_style.is_none()
                && matches!(w.keyword, Keyword::ON | Keyword::OFF)
            {
                let on = w.keyword == Keyword::ON;
                w.value = if on { "TRUE" } else { "FALSE" }.into();
                w.keyword = if on { Keyword::TRUE } else { Keyword::FALSE };
            }
            previous = Some(w.keyword);
        } else {
            previous = None;
        }
    }
    tokens
}
