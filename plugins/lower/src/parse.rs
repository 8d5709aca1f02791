//! Parsing SQL text with `sqlparser` (in a dialect the plugin chooses), with the input
//! bounds a plugin must enforce and syntax errors naming the offending token.
//!
//! Hostile input is bounded three ways before or while parsing:
//! * the text may not exceed [`MAX_SQL_BYTES`];
//! * the parser's recursion (parentheses, subqueries, prefix operators) may not exceed
//!   [`MAX_NESTING`];
//! * chains of infix operators, which `sqlparser` builds iteratively and therefore do not
//!   count against its recursion limit but still produce deep trees (whose recursive
//!   drop could overflow the stack), may not exceed [`MAX_OPERATOR_CHAIN`] operator
//!   tokens along any nesting path. This is checked on the token stream before parsing.

use rosetta_bytecode::CompileError;
use sqlparser::ast::Statement;
use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

/// Longest SQL text accepted, in bytes (16 MiB).
pub const MAX_SQL_BYTES: usize = 16 << 20;
/// Deepest parser recursion accepted (parentheses, subqueries, prefix operators).
pub const MAX_NESTING: usize = 200;
/// Most operator tokens accepted along one nesting path of an expression.
pub const MAX_OPERATOR_CHAIN: usize = 2000;

/// Parses `sql` into `sqlparser` statements of `dialect`; `rewrite` may adjust the token
/// stream (after the bounds are checked, before parsing).
pub fn parse(
    sql: &str,
    dialect: &dyn Dialect,
    rewrite: impl FnOnce(Vec<TokenWithSpan>) -> Vec<TokenWithSpan>,
) -> Result<Vec<Statement>, CompileError> {
    parse_with(sql, dialect, rewrite, |parser| parser.parse_statements())
}

/// Like [`parse`], but hands the bounded, rewritten token stream to `drive`, which runs
/// `sqlparser`'s public parser pieces itself (a dialect with statements `sqlparser` does
/// not know, such as Firebird's, dispatches those before falling back to
/// `Parser::parse_statement`). Parser errors are reported as by [`parse`].
pub fn parse_with<T>(
    sql: &str,
    dialect: &dyn Dialect,
    rewrite: impl FnOnce(Vec<TokenWithSpan>) -> Vec<TokenWithSpan>,
    drive: impl FnOnce(&mut Parser<'_>) -> Result<T, ParserError>,
) -> Result<T, CompileError> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(CompileError {
            sqlstate: "54000".into(),
            message: format!(
                "statement is too long ({} bytes; the limit is {MAX_SQL_BYTES} bytes)",
                sql.len()
            ),
            position: None,
        });
    }
    let tokens = Tokenizer::new(dialect, sql)
        .tokenize_with_location()
        .map_err(|e| {
            let position = char_position(sql, e.location);
            let mut err = CompileError::syntax(match position {
                Some(p) => format!(
                    "{} at or near \"{}\"",
                    e.message.to_lowercase(),
                    sql.chars()
                        .skip(p as usize - 1)
                        .take(20)
                        .collect::<String>()
                ),
                None => e.message.to_lowercase(),
            });
            err.position = position;
            err
        })?;
    check_operator_chains(&tokens)?;
    let tokens = rewrite(tokens);
    let mut parser = Parser::new(dialect)
        .with_recursion_limit(MAX_NESTING)
        .with_tokens_with_locations(tokens);
    drive(&mut parser).map_err(|e| {
        // Tokenizing succeeded once, so it succeeds again; the tokens are only needed
        // to name the offending one.
        let tokens = Tokenizer::new(dialect, sql)
            .tokenize_with_location()
            .unwrap_or_default();
        parser_error(sql, &tokens, e)
    })
}

/// Rejects token streams whose infix-operator chains would build trees deeper than
/// [`MAX_OPERATOR_CHAIN`]. Parentheses and `CASE … END` open a nesting level; commas,
/// semicolons and `WHEN`/`THEN`/`ELSE` start a new expression at the current level.
fn check_operator_chains(tokens: &[TokenWithSpan]) -> Result<(), CompileError> {
    let mut levels: Vec<usize> = vec![0];
    let mut total = 0usize;
    for t in tokens {
        match &t.token {
            Token::Whitespace(_) | Token::EOF => {}
            Token::LParen => levels.push(0),
            Token::RParen => {
                if levels.len() > 1 {
                    total -= levels.pop().unwrap_or(0);
                }
            }
            Token::Comma | Token::SemiColon => {
                if let Some(level) = levels.last_mut() {
                    total -= *level;
                    *level = 0;
                }
            }
            Token::Word(w) if w.quote_style.is_some() || w.keyword == Keyword::NoKeyword => {}
            Token::Word(w) if w.keyword == Keyword::CASE => levels.push(0),
            Token::Word(w) if w.keyword == Keyword::END => {
                if levels.len() > 1 {
                    total -= levels.pop().unwrap_or(0);
                }
            }
            Token::Word(w)
                if matches!(w.keyword, Keyword::WHEN | Keyword::THEN | Keyword::ELSE) =>
            {
                if let Some(level) = levels.last_mut() {
                    total -= *level;
                    *level = 0;
                }
            }
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::DollarQuotedString(_)
            | Token::NationalStringLiteral(_)
            | Token::HexStringLiteral(_)
            | Token::Placeholder(_) => {}
            _ => {
                if let Some(level) = levels.last_mut() {
                    *level += 1;
                    total += 1;
                }
                if total > MAX_OPERATOR_CHAIN {
                    return Err(CompileError {
                        sqlstate: "54001".into(),
                        message: format!(
                            "statement is too complex (more than {MAX_OPERATOR_CHAIN} chained operators)"
                        ),
                        position: None,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Turns a parser error into a syntax error naming the offending token.
fn parser_error(sql: &str, tokens: &[TokenWithSpan], e: ParserError) -> CompileError {
    match e {
        ParserError::RecursionLimitExceeded => CompileError {
            sqlstate: "54001".into(),
            message: format!("statement is too deeply nested (more than {MAX_NESTING} levels)"),
            position: None,
        },
        ParserError::TokenizerError(message) => CompileError::syntax(message),
        ParserError::ParserError(message) => {
            if message.ends_with("found: EOF") {
                let mut err = CompileError::syntax("syntax error at end of input");
                err.position = u32::try_from(sql.chars().count() + 1).ok();
                return err;
            }
            let Some(location) = error_location(&message) else {
                return CompileError::syntax(format!("syntax error: {message}"));
            };
            let token = tokens
                .iter()
                .find(|t| t.span.start == location && !matches!(t.token, Token::EOF));
            let mut err = match token {
                Some(t) => CompileError::syntax(format!(
                    "syntax error at or near \"{}\"",
                    token_text(sql, t)
                )),
                None => CompileError::syntax("syntax error at end of input"),
            };
            err.position = char_position(sql, location);
            err
        }
    }
}

/// The `Line: L, Column: C` location sqlparser appends to its messages.
fn error_location(message: &str) -> Option<Location> {
    let at = message.rfind(" at Line: ")?;
    let rest = &message[at + " at Line: ".len()..];
    let (line, column) = rest.split_once(", Column: ")?;
    Some(Location {
        line: line.trim().parse().ok()?,
        column: column.trim().parse().ok()?,
    })
}

/// The source text of a token (quoted in the message).
fn token_text(sql: &str, token: &TokenWithSpan) -> String {
    let start = char_position(sql, token.span.start).map(|p| p as usize - 1);
    let end = char_position(sql, token.span.end).map(|p| p as usize - 1);
    match (start, end) {
        (Some(s), Some(e)) if e > s => sql.chars().skip(s).take(e - s).collect(),
        _ => token.token.to_string(),
    }
}

/// Converts a 1-based line/column location into a 1-based character offset.
fn char_position(sql: &str, location: Location) -> Option<u32> {
    if location.line == 0 || location.column == 0 {
        return None;
    }
    let (mut line, mut column, mut offset) = (1u64, 1u64, 1u64);
    for ch in sql.chars() {
        if line == location.line && column == location.column {
            return u32::try_from(offset).ok();
        }
        if ch == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
        offset += 1;
    }
    (line == location.line && column == location.column)
        .then(|| u32::try_from(offset).ok())
        .flatten()
}
