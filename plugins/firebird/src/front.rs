//! The front dispatcher: Firebird-only statements that `sqlparser` does not parse (or
//! would misparse) are recognised by their leading words and parsed here with
//! `sqlparser`'s public parser pieces (`parse_expr`, `parse_object_name`,
//! `parse_select_item`, `parse_create` …); everything else goes to
//! `Parser::parse_statement`.
//!
//! ```text
//!  tokens ──▶ leading words ──┬─ UPDATE OR INSERT … MATCHING     ─▶ Parsed::UpdateOrInsert
//!                             ├─ RECREATE TABLE                 ─▶ Parsed::Recreate
//!                             ├─ CREATE/DROP/ALTER SEQUENCE|GENERATOR, SET GENERATOR
//!                             ├─ SET TRANSACTION …, COMMIT/ROLLBACK [WORK] [RETAIN]
//!                             ├─ CREATE OR ALTER, EXECUTE …, PSQL objects ─▶ Parsed::Refused
//!                             └─ anything else                  ─▶ Parsed::Sql (sqlparser)
//! ```

use rosetta_bytecode::CompileError;
use sqlparser::ast;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{IsOptional, Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::rewrite::is_word;

/// One statement, as the front dispatcher understood it.
#[derive(Debug)]
pub(crate) enum Parsed {
    /// A statement `sqlparser` parsed.
    Sql(Box<ast::Statement>),
    /// `UPDATE OR INSERT INTO …`.
    UpdateOrInsert(Box<UpdateOrInsert>),
    /// `RECREATE TABLE …` (the `CREATE TABLE` it re-creates).
    Recreate(Box<ast::Statement>),
    /// `CREATE SEQUENCE|GENERATOR name [START WITH n] [INCREMENT [BY] n]`.
    CreateSequence {
        name: ast::ObjectName,
        start: Option<i64>,
        increment: Option<i64>,
    },
    /// `DROP SEQUENCE|GENERATOR name`.
    DropSequence { name: ast::ObjectName },
    /// `ALTER SEQUENCE name [RESTART WITH n] [INCREMENT [BY] n]`, and `SET GENERATOR
    /// name TO n` (a restart).
    AlterSequence {
        name: ast::ObjectName,
        restart: Option<i64>,
        increment: Option<i64>,
    },
    /// `SET TRANSACTION …`.
    SetTransaction(TransactionOptions),
    /// `COMMIT [WORK] [RETAIN [SNAPSHOT]]`.
    Commit { retain: bool },
    /// `ROLLBACK [WORK] [RETAIN [SNAPSHOT]]`.
    Rollback { retain: bool },
    /// A recognised statement Rosetta cannot honour; lowering returns the error.
    Refused(CompileError),
}

/// `UPDATE OR INSERT INTO table [(columns)] VALUES (…) [MATCHING (…)] [RETURNING …]`.
#[derive(Debug)]
pub(crate) struct UpdateOrInsert {
    pub table: ast::ObjectName,
    pub columns: Vec<ast::Ident>,
    pub values: Vec<ast::Expr>,
    pub matching: Vec<ast::Ident>,
    pub returning: Vec<ast::SelectItem>,
}

/// Firebird's isolation levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FbIsolation {
    /// `SNAPSHOT` (concurrency).
    Snapshot,
    /// `SNAPSHOT TABLE STABILITY` (consistency).
    TableStability,
    /// `READ COMMITTED [[NO] RECORD_VERSION]`.
    ReadCommitted,
}

/// The options of `SET TRANSACTION`; `None` = Firebird's default.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct TransactionOptions {
    pub read_only: Option<bool>,
    pub wait: Option<bool>,
    pub isolation: Option<FbIsolation>,
    /// `LOCK TIMEOUT n`, in seconds.
    pub lock_timeout: Option<i64>,
}

/// Parses every statement of the token stream.
pub(crate) fn statements(parser: &mut Parser<'_>) -> Result<Vec<Parsed>, ParserError> {
    let mut out = Vec::new();
    let mut expecting_end = false;
    loop {
        while parser.consume_token(&Token::SemiColon) {
            expecting_end = false;
        }
        if parser.peek_token_ref().token == Token::EOF {
            return Ok(out);
        }
        if expecting_end {
            return parser.expected("end of statement", parser.peek_token());
        }
        out.push(statement(parser)?);
        expecting_end = true;
    }
}

fn refused(what: &str) -> Parsed {
    Parsed::Refused(CompileError::unsupported(format!(
        "{what} is not supported"
    )))
}

/// Whether the next significant tokens are the unquoted words `words`.
fn peek_words(parser: &Parser<'_>, words: &[&str]) -> bool {
    words
        .iter()
        .enumerate()
        .all(|(n, w)| is_word(&parser.peek_nth_token_ref(n).token, w))
}

/// Consumes the unquoted words `words` if they come next.
fn take_words(parser: &mut Parser<'_>, words: &[&str]) -> bool {
    if peek_words(parser, words) {
        for _ in words {
            parser.next_token();
        }
        true
    } else {
        false
    }
}

/// Skips the rest of a statement (up to `;` or the end) after it has been refused.
fn skip_statement(parser: &mut Parser<'_>) {
    let mut depth = 0usize;
    loop {
        match parser.peek_token_ref().token {
            Token::EOF => return,
            Token::SemiColon if depth == 0 => return,
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        parser.next_token();
    }
}

/// One statement.
fn statement(parser: &mut Parser<'_>) -> Result<Parsed, ParserError> {
    if take_words(parser, &["UPDATE", "OR", "INSERT"]) {
        return update_or_insert(parser);
    }
    if take_words(parser, &["RECREATE"]) {
        if !peek_words(parser, &["TABLE"]) {
            skip_statement(parser);
            return Ok(refused("RECREATE of anything but a table"));
        }
        return Ok(Parsed::Recreate(Box::new(parser.parse_create()?)));
    }
    if peek_words(parser, &["CREATE", "OR", "ALTER"]) {
        skip_statement(parser);
        return Ok(Parsed::Refused(CompileError::unsupported(
            "CREATE OR ALTER is not supported (use CREATE, or RECREATE TABLE)",
        )));
    }
    for psql in [
        "PROCEDURE",
        "TRIGGER",
        "FUNCTION",
        "PACKAGE",
        "EXCEPTION",
        "DOMAIN",
        "ROLE",
    ] {
        for verb in ["CREATE", "ALTER", "DROP"] {
            if peek_words(parser, &[verb, psql]) {
                skip_statement(parser);
                return Ok(refused(&format!("{verb} {psql}")));
            }
        }
    }
    if peek_words(parser, &["EXECUTE"]) {
        skip_statement(parser);
        return Ok(refused(
            "EXECUTE PROCEDURE / EXECUTE BLOCK / EXECUTE STATEMENT",
        ));
    }
    if take_words(parser, &["CREATE", "SEQUENCE"]) || take_words(parser, &["CREATE", "GENERATOR"]) {
        return create_sequence(parser);
    }
    if take_words(parser, &["DROP", "SEQUENCE"]) || take_words(parser, &["DROP", "GENERATOR"]) {
        let name = parser.parse_object_name(false)?;
        return Ok(Parsed::DropSequence { name });
    }
    if take_words(parser, &["ALTER", "SEQUENCE"]) || take_words(parser, &["ALTER", "GENERATOR"]) {
        return alter_sequence(parser);
    }
    if take_words(parser, &["SET", "GENERATOR"]) {
        let name = parser.parse_object_name(false)?;
        parser.expect_keyword_is(Keyword::TO)?;
        let value = signed_integer(parser)?;
        return Ok(Parsed::AlterSequence {
            name,
            restart: Some(value),
            increment: None,
        });
    }
    if take_words(parser, &["SET", "TRANSACTION"]) {
        return Ok(Parsed::SetTransaction(transaction_options(parser)?));
    }
    let commit = peek_words(parser, &["COMMIT"]);
    if commit || peek_words(parser, &["ROLLBACK"]) {
        // `ROLLBACK [WORK] TO SAVEPOINT` is left to sqlparser (and refused there).
        let work = usize::from(is_word(&parser.peek_nth_token_ref(1).token, "WORK"));
        if !is_word(&parser.peek_nth_token_ref(1 + work).token, "TO") {
            parser.next_token();
            take_words(parser, &["WORK"]);
            let retain = take_words(parser, &["RETAIN"]);
            if retain {
                take_words(parser, &["SNAPSHOT"]);
            }
            return Ok(if commit {
                Parsed::Commit { retain }
            } else {
                Parsed::Rollback { retain }
            });
        }
    }
    Ok(Parsed::Sql(Box::new(parser.parse_statement()?)))
}

/// An integer literal with an optional sign, as `i64`.
fn signed_integer(parser: &mut Parser<'_>) -> Result<i64, ParserError> {
    let negative = if parser.consume_token(&Token::Minus) {
        true
    } else {
        let _ = parser.consume_token(&Token::Plus);
        false
    };
    let token = parser.next_token();
    let Token::Number(text, _) = &token.token else {
        return parser.expected("an integer", token);
    };
    let text = if negative {
        format!("-{text}")
    } else {
        text.clone()
    };
    match text.parse::<i64>() {
        Ok(n) => Ok(n),
        Err(_) => parser.expected("an integer in the range of BIGINT", token),
    }
}

/// `[INCREMENT [BY] n]`.
fn increment(parser: &mut Parser<'_>) -> Result<Option<i64>, ParserError> {
    if parser.parse_keyword(Keyword::INCREMENT) {
        let _ = parser.parse_keyword(Keyword::BY);
        return Ok(Some(signed_integer(parser)?));
    }
    Ok(None)
}

fn create_sequence(parser: &mut Parser<'_>) -> Result<Parsed, ParserError> {
    let name = parser.parse_object_name(false)?;
    let mut start = None;
    let mut inc = None;
    loop {
        if start.is_none() && parser.parse_keywords(&[Keyword::START, Keyword::WITH]) {
            start = Some(signed_integer(parser)?);
        } else if let (None, Some(n)) = (inc, increment(parser)?) {
            inc = Some(n);
        } else {
            return Ok(Parsed::CreateSequence {
                name,
                start,
                increment: inc,
            });
        }
    }
}

fn alter_sequence(parser: &mut Parser<'_>) -> Result<Parsed, ParserError> {
    let name = parser.parse_object_name(false)?;
    let mut restart = None;
    let mut inc = None;
    loop {
        if restart.is_none() && parser.parse_keyword(Keyword::RESTART) {
            if !parser.parse_keyword(Keyword::WITH) {
                skip_statement(parser);
                return Ok(refused("ALTER SEQUENCE … RESTART without WITH"));
            }
            restart = Some(signed_integer(parser)?);
        } else if let (None, Some(n)) = (inc, increment(parser)?) {
            inc = Some(n);
        } else if restart.is_none() && inc.is_none() {
            return parser.expected("RESTART WITH or INCREMENT BY", parser.peek_token());
        } else {
            return Ok(Parsed::AlterSequence {
                name,
                restart,
                increment: inc,
            });
        }
    }
}

/// The options of `SET TRANSACTION`, in any order; a repeated or conflicting option is
/// a syntax error, as in Firebird.
fn transaction_options(parser: &mut Parser<'_>) -> Result<TransactionOptions, ParserError> {
    let mut o = TransactionOptions::default();
    loop {
        let at = parser.peek_token();
        if matches!(at.token, Token::SemiColon | Token::EOF) {
            return Ok(o);
        }
        if take_words(parser, &["READ", "WRITE"]) || take_words(parser, &["READ", "ONLY"]) {
            if o.read_only.is_some() {
                return parser.expected("a transaction option not given twice", at);
            }
            let only =
                matches!(&parser_prev_word(parser), Some(w) if w.eq_ignore_ascii_case("ONLY"));
            o.read_only = Some(only);
        } else if take_words(parser, &["WAIT"]) || take_words(parser, &["NO", "WAIT"]) {
            if o.wait.is_some() {
                return parser.expected("a transaction option not given twice", at);
            }
            o.wait = Some(!is_word(&at.token, "NO"));
        } else if take_words(parser, &["ISOLATION", "LEVEL"])
            || peek_words(parser, &["SNAPSHOT"])
            || peek_words(parser, &["READ", "COMMITTED"])
        {
            if o.isolation.is_some() {
                return parser.expected("a transaction option not given twice", at);
            }
            o.isolation = Some(isolation(parser)?);
        } else if take_words(parser, &["LOCK", "TIMEOUT"]) {
            if o.lock_timeout.is_some() {
                return parser.expected("a transaction option not given twice", at);
            }
            o.lock_timeout = Some(signed_integer(parser)?);
        } else if take_words(parser, &["NO", "AUTO", "UNDO"])
            || take_words(parser, &["IGNORE", "LIMBO"])
        {
            // Hints about undo-log bookkeeping and two-phase-commit limbo transactions:
            // neither changes what a transaction sees or does in Rosetta.
        } else {
            return parser.expected("a SET TRANSACTION option", at);
        }
    }
}

/// The value of the token just consumed, if it was a word.
fn parser_prev_word(parser: &mut Parser<'_>) -> Option<String> {
    parser.prev_token();
    let t = parser.next_token();
    match t.token {
        Token::Word(w) => Some(w.value),
        _ => None,
    }
}

/// `SNAPSHOT [TABLE STABILITY] | READ COMMITTED [[NO] RECORD_VERSION] | CONSISTENCY |
/// CONCURRENCY`.
fn isolation(parser: &mut Parser<'_>) -> Result<FbIsolation, ParserError> {
    if take_words(parser, &["SNAPSHOT"]) {
        if take_words(parser, &["TABLE", "STABILITY"]) {
            return Ok(FbIsolation::TableStability);
        }
        return Ok(FbIsolation::Snapshot);
    }
    if take_words(parser, &["READ", "COMMITTED"]) {
        // RECORD_VERSION / NO RECORD_VERSION choose between reading the newest committed
        // version and waiting for an uncommitted one; with WAIT/NO WAIT honoured by the
        // engine's lock waits, both read committed data.
        if !take_words(parser, &["RECORD_VERSION"]) {
            take_words(parser, &["NO", "RECORD_VERSION"]);
        }
        return Ok(FbIsolation::ReadCommitted);
    }
    if take_words(parser, &["CONSISTENCY"]) {
        return Ok(FbIsolation::TableStability);
    }
    if take_words(parser, &["CONCURRENCY"]) {
        return Ok(FbIsolation::Snapshot);
    }
    parser.expected(
        "SNAPSHOT, SNAPSHOT TABLE STABILITY or READ COMMITTED",
        parser.peek_token(),
    )
}

fn update_or_insert(parser: &mut Parser<'_>) -> Result<Parsed, ParserError> {
    parser.expect_keyword_is(Keyword::INTO)?;
    let table = parser.parse_object_name(false)?;
    let columns = parser.parse_parenthesized_column_list(IsOptional::Optional, false)?;
    parser.expect_keyword_is(Keyword::VALUES)?;
    parser.expect_token(&Token::LParen)?;
    let values = parser.parse_comma_separated(Parser::parse_expr)?;
    parser.expect_token(&Token::RParen)?;
    let matching = if take_words(parser, &["MATCHING"]) {
        parser.parse_parenthesized_column_list(IsOptional::Mandatory, false)?
    } else {
        Vec::new()
    };
    let returning = if parser.parse_keyword(Keyword::RETURNING) {
        parser.parse_comma_separated(Parser::parse_select_item)?
    } else {
        Vec::new()
    };
    if parser.peek_keyword(Keyword::INTO) {
        return parser.expected(
            "end of statement (RETURNING … INTO is PSQL only)",
            parser.peek_token(),
        );
    }
    Ok(Parsed::UpdateOrInsert(Box::new(UpdateOrInsert {
        table,
        columns,
        values,
        matching,
        returning,
    })))
}
