//! Token-stream rewrites that turn Firebird-only syntax inside ordinary statements into
//! syntax `sqlparser` parses, before parsing:
//!
//! * `?` parameters are numbered left to right *by position in the text* (Firebird's
//!   rule) as `?#n` placeholders, so that moving a clause never renumbers them;
//! * `BLOB [SUB_TYPE TEXT|1|BINARY|0] [SEGMENT SIZE n]` becomes one marker type word;
//! * `CHARACTER SET UTF8` after a type is dropped (Rosetta stores UTF-8); any other
//!   character set is refused;
//! * `ROWS m [TO n]` at the end of a query becomes `LIMIT … [OFFSET …]`;
//! * `SELECT FIRST m SKIP n …` becomes `SELECT … LIMIT m OFFSET n` at the end of that
//!   `SELECT` (refused inside a `UNION`, where the meaning would change).
//!
//! Every rewrite either keeps the meaning exactly or fails with an error; nothing is
//! dropped silently.

use rosetta_bytecode::CompileError;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace, Word};

use crate::dialect::MARKER_QUOTE;

/// Prefix of the numbered placeholders this module writes (`?#1`, `?#2`, …); the
/// tokenizer never produces it.
pub(crate) const PARAM_PREFIX: &str = "?#";
/// Marker type name for `BLOB SUB_TYPE TEXT`.
pub(crate) const BLOB_TEXT: &str = "BLOB SUB_TYPE TEXT";
/// Marker type name for `BLOB [SUB_TYPE BINARY]`.
pub(crate) const BLOB_BINARY: &str = "BLOB SUB_TYPE BINARY";

type Result<T> = std::result::Result<T, CompileError>;

/// Applies every rewrite, in an order where each sees the output of the previous one.
pub(crate) fn rewrite(tokens: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>> {
    let tokens = number_params(tokens)?;
    let tokens = blob_types(tokens)?;
    let tokens = character_sets(tokens)?;
    let tokens = rows_clauses(tokens)?;
    first_skip(tokens)
}

fn unsupported(what: &str) -> CompileError {
    CompileError::unsupported(format!("{what} is not supported"))
}

/// Whether `token` is the unquoted word `word` (case-insensitively).
pub(crate) fn is_word(token: &Token, word: &str) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

fn is_keyword(token: &Token, keyword: Keyword) -> bool {
    matches!(token, Token::Word(w) if w.quote_style.is_none() && w.keyword == keyword)
}

fn is_space(token: &Token) -> bool {
    matches!(token, Token::Whitespace(_))
}

/// Index of the next non-whitespace token at or after `from`.
fn next_significant(tokens: &[TokenWithSpan], from: usize) -> Option<usize> {
    (from..tokens.len()).find(|&i| !is_space(&tokens[i].token))
}

/// Index of the previous non-whitespace token before `before`.
fn prev_significant(tokens: &[TokenWithSpan], before: usize) -> Option<usize> {
    (0..before).rev().find(|&i| !is_space(&tokens[i].token))
}

fn token_at(tokens: &[TokenWithSpan], at: Option<usize>) -> Option<&Token> {
    at.and_then(|i| tokens.get(i)).map(|t| &t.token)
}

fn space() -> TokenWithSpan {
    TokenWithSpan::wrap(Token::Whitespace(Whitespace::Space))
}

fn keyword(word: &str) -> TokenWithSpan {
    TokenWithSpan::wrap(Token::make_keyword(word))
}

fn punct(token: Token) -> TokenWithSpan {
    TokenWithSpan::wrap(token)
}

/// Numbers `?` placeholders by their position in the text; refuses other placeholder
/// spellings (`$1`, `?1`, `:name`), which Firebird's DSQL does not have.
fn number_params(mut tokens: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>> {
    let mut n: u32 = 0;
    for t in &mut tokens {
        if t.token == Token::SemiColon {
            // Each statement numbers its own parameters.
            n = 0;
        }
        if let Token::Placeholder(p) = &t.token {
            if p != "?" {
                return Err(CompileError::syntax(format!(
                    "Token unknown - {p} (parameters are written ?)"
                )));
            }
            n += 1;
            if n > u32::from(u16::MAX) {
                return Err(unsupported("more than 65535 parameters"));
            }
            t.token = Token::Placeholder(format!("{PARAM_PREFIX}{n}"));
        }
    }
    Ok(tokens)
}

/// `BLOB [SUB_TYPE x] [SEGMENT SIZE n]` → one marker word naming the type.
fn blob_types(tokens: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        if !is_keyword(&tokens[i].token, Keyword::BLOB) {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        let span = tokens[i].span;
        let mut text = false;
        let mut end = i + 1;
        let mut next = next_significant(&tokens, end);
        if token_at(&tokens, next).is_some_and(|t| is_word(t, "SUB_TYPE")) {
            let sub = next_significant(&tokens, next.unwrap_or(end) + 1);
            text = match token_at(&tokens, sub) {
                Some(t) if is_word(t, "TEXT") => true,
                Some(t) if is_word(t, "BINARY") => false,
                Some(Token::Number(n, _)) if n == "1" => true,
                Some(Token::Number(n, _)) if n == "0" => false,
                _ => {
                    return Err(unsupported(
                        "BLOB sub-types other than TEXT (1) and BINARY (0)",
                    ))
                }
            };
            end = sub.unwrap_or(end) + 1;
            next = next_significant(&tokens, end);
        }
        if token_at(&tokens, next).is_some_and(|t| is_word(t, "SEGMENT")) {
            let size = next_significant(&tokens, next.unwrap_or(end) + 1);
            let n = next_significant(&tokens, size.unwrap_or(end) + 1);
            let ok = token_at(&tokens, size).is_some_and(|t| is_word(t, "SIZE"))
                && matches!(token_at(&tokens, n), Some(Token::Number(..)));
            if !ok {
                return Err(CompileError::syntax(
                    "Token unknown - SEGMENT (expected SEGMENT SIZE n)",
                ));
            }
            // The segment size only affects how a client reads the blob in pieces.
            end = n.unwrap_or(end) + 1;
        }
        let name = if text { BLOB_TEXT } else { BLOB_BINARY };
        out.push(TokenWithSpan::new(
            Token::Word(Word {
                value: name.into(),
                quote_style: Some(MARKER_QUOTE),
                keyword: Keyword::NoKeyword,
            }),
            span,
        ));
        i = end;
    }
    Ok(out)
}

/// Drops `CHARACTER SET UTF8` / `UNICODE_FSS` after a type; refuses other sets.
fn character_sets(tokens: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let set = next_significant(&tokens, i + 1);
        if is_keyword(&tokens[i].token, Keyword::CHARACTER)
            && token_at(&tokens, set).is_some_and(|t| is_keyword(t, Keyword::SET))
        {
            let name_at = next_significant(&tokens, set.unwrap_or(i) + 1);
            match token_at(&tokens, name_at) {
                Some(t) if is_word(t, "UTF8") || is_word(t, "UNICODE_FSS") => {
                    i = name_at.unwrap_or(i) + 1;
                    continue;
                }
                Some(Token::Word(w)) => {
                    return Err(unsupported(&format!(
                        "CHARACTER SET {} (Rosetta stores UTF8)",
                        w.value
                    )))
                }
                _ => {
                    return Err(CompileError::syntax(
                        "Token unknown (expected a character set name)",
                    ))
                }
            }
        }
        out.push(tokens[i].clone());
        i += 1;
    }
    Ok(out)
}

/// Where the query that contains position `from` ends: the first `)` closing an outer
/// level, `;` or the end, at nesting depth 0 (relative to `from`). Also reports whether a
/// set operator (`UNION`, …) occurs at depth 0 on the way.
fn query_end(tokens: &[TokenWithSpan], from: usize) -> (usize, bool) {
    let mut depth = 0usize;
    let mut set_op = false;
    for (i, t) in tokens.iter().enumerate().skip(from) {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen if depth == 0 => return (i, set_op),
            Token::RParen => depth -= 1,
            Token::SemiColon | Token::EOF if depth == 0 => return (i, set_op),
            tok if depth == 0
                && (is_keyword(tok, Keyword::UNION)
                    || is_keyword(tok, Keyword::INTERSECT)
                    || is_keyword(tok, Keyword::EXCEPT)) =>
            {
                set_op = true
            }
            _ => {}
        }
    }
    (tokens.len(), set_op)
}

/// The tokens of one `FIRST`/`SKIP`/`ROWS` operand starting at `at`: a number, a
/// parameter, or a parenthesized expression. Returns the tokens and the index after them.
fn operand(tokens: &[TokenWithSpan], at: usize) -> Option<(Vec<TokenWithSpan>, usize)> {
    match &tokens.get(at)?.token {
        Token::Number(..) | Token::Placeholder(_) => Some((vec![tokens[at].clone()], at + 1)),
        Token::LParen => {
            let mut depth = 0usize;
            for (i, t) in tokens.iter().enumerate().skip(at) {
                match t.token {
                    Token::LParen => depth += 1,
                    Token::RParen => {
                        depth -= 1;
                        if depth == 0 {
                            return Some((tokens[at..=i].to_vec(), i + 1));
                        }
                    }
                    _ => {}
                }
            }
            None
        }
        _ => None,
    }
}

/// `CAST(tokens AS BIGINT)`: `ROWS` operands are integers, and the cast gives a
/// parameter among them a type (in `?2 - ?1` neither operand would have one).
fn as_bigint(inner: &[TokenWithSpan]) -> Vec<TokenWithSpan> {
    let mut v = vec![keyword("CAST"), punct(Token::LParen)];
    v.extend_from_slice(inner);
    v.extend([
        space(),
        keyword("AS"),
        space(),
        keyword("BIGINT"),
        punct(Token::RParen),
    ]);
    v
}

/// `ROWS m [TO n]` (the last clause of a query) → `LIMIT m` or
/// `LIMIT (CAST(n AS BIGINT) - CAST(m AS BIGINT) + 1) OFFSET (CAST(m AS BIGINT) - 1)`. `ROWS` in `OFFSET … ROWS`, `FETCH … ROWS ONLY`
/// and window frames is left alone (it is not followed by an operand there).
fn rows_clauses(mut tokens: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>> {
    let mut i = 0;
    while i < tokens.len() {
        if !is_keyword(&tokens[i].token, Keyword::ROWS) {
            i += 1;
            continue;
        }
        let next = next_significant(&tokens, i + 1);
        let starts_operand = matches!(
            token_at(&tokens, next),
            Some(Token::Number(..) | Token::Placeholder(_) | Token::LParen)
        );
        let prev = token_at(&tokens, prev_significant(&tokens, i)).cloned();
        let in_offset_fetch = matches!(prev, Some(Token::Number(..) | Token::Placeholder(_))) && {
            // `OFFSET 5 ROWS` / `FETCH FIRST 5 ROWS`: the word before the operand.
            let before = prev_significant(&tokens, prev_significant(&tokens, i).unwrap_or(0));
            token_at(&tokens, before).is_some_and(|t| {
                is_keyword(t, Keyword::OFFSET)
                    || is_keyword(t, Keyword::FIRST)
                    || is_keyword(t, Keyword::NEXT)
            })
        };
        if !starts_operand || in_offset_fetch {
            i += 1;
            continue;
        }
        let start = next.unwrap_or(i + 1);
        let Some((m, after_m)) = operand(&tokens, start) else {
            return Err(CompileError::syntax("Token unknown (after ROWS)"));
        };
        let to = next_significant(&tokens, after_m);
        let (n, after) = if token_at(&tokens, to).is_some_and(|t| is_keyword(t, Keyword::TO)) {
            let at = next_significant(&tokens, to.unwrap_or(after_m) + 1).unwrap_or(after_m);
            let Some((n, after_n)) = operand(&tokens, at) else {
                return Err(CompileError::syntax("Token unknown (after ROWS … TO)"));
            };
            (Some(n), after_n)
        } else {
            (None, after_m)
        };
        let mut replacement = vec![keyword("LIMIT"), space()];
        match &n {
            None => replacement.extend(m.clone()),
            Some(n) => {
                replacement.push(punct(Token::LParen));
                replacement.extend(as_bigint(n));
                replacement.extend([space(), punct(Token::Minus), space()]);
                replacement.extend(as_bigint(&m));
                replacement.extend([space(), punct(Token::Plus), space()]);
                replacement.push(punct(Token::Number("1".into(), false)));
                replacement.push(punct(Token::RParen));
                replacement.extend([space(), keyword("OFFSET"), space()]);
                replacement.push(punct(Token::LParen));
                replacement.extend(as_bigint(&m));
                replacement.extend([space(), punct(Token::Minus), space()]);
                replacement.push(punct(Token::Number("1".into(), false)));
                replacement.push(punct(Token::RParen));
            }
        }
        replacement.push(space());
        let len = replacement.len();
        tokens.splice(i..after, replacement);
        i += len;
    }
    Ok(tokens)
}

/// `SELECT FIRST m SKIP n …` → `SELECT … LIMIT m OFFSET n` (at the end of that query).
fn first_skip(mut tokens: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>> {
    let mut i = 0;
    while i < tokens.len() {
        if !is_keyword(&tokens[i].token, Keyword::SELECT) {
            i += 1;
            continue;
        }
        let mut at = next_significant(&tokens, i + 1).unwrap_or(tokens.len());
        let mut first = None;
        let mut skip = None;
        let mut end_of_clauses = at;
        if token_at(&tokens, Some(at)).is_some_and(|t| is_keyword(t, Keyword::FIRST)) {
            let op_at = next_significant(&tokens, at + 1).unwrap_or(tokens.len());
            if let Some((m, after)) = operand(&tokens, op_at) {
                first = Some(m);
                end_of_clauses = after;
                at = next_significant(&tokens, after).unwrap_or(tokens.len());
            }
        }
        if token_at(&tokens, Some(at)).is_some_and(|t| is_keyword(t, Keyword::SKIP)) {
            let op_at = next_significant(&tokens, at + 1).unwrap_or(tokens.len());
            if let Some((n, after)) = operand(&tokens, op_at) {
                skip = Some(n);
                end_of_clauses = after;
            }
        }
        if first.is_none() && skip.is_none() {
            i += 1;
            continue;
        }
        let prev = prev_significant(&tokens, i);
        let prev = match token_at(&tokens, prev) {
            Some(t) if is_keyword(t, Keyword::ALL) || is_keyword(t, Keyword::DISTINCT) => {
                token_at(&tokens, prev_significant(&tokens, prev.unwrap_or(0)))
            }
            other => other,
        };
        let after_set_op = prev.is_some_and(|t| {
            is_keyword(t, Keyword::UNION)
                || is_keyword(t, Keyword::INTERSECT)
                || is_keyword(t, Keyword::EXCEPT)
        });
        let (end, set_op) = query_end(&tokens, end_of_clauses);
        if set_op || after_set_op {
            return Err(unsupported("FIRST/SKIP in a branch of UNION"));
        }
        let mut tail = vec![space()];
        if let Some(m) = first {
            tail.extend([keyword("LIMIT"), space()]);
            tail.extend(m);
            tail.push(space());
        }
        if let Some(n) = skip {
            tail.extend([keyword("OFFSET"), space()]);
            tail.extend(n);
            tail.push(space());
        }
        tokens.splice(end..end, tail);
        tokens.drain(i + 1..end_of_clauses);
        i += 1;
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::FirebirdDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn run(sql: &str) -> String {
        let tokens = Tokenizer::new(&FirebirdDialect, sql)
            .tokenize_with_location()
            .unwrap_or_default();
        match rewrite(tokens) {
            Ok(t) => t
                .iter()
                .map(|t| t.token.to_string())
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            Err(e) => format!("error: {}", e.message),
        }
    }

    #[test]
    fn first_skip_moves_to_the_end_of_its_query() {
        assert_eq!(
            run("SELECT FIRST 2 SKIP 1 a FROM t ORDER BY a"),
            "SELECT a FROM t ORDER BY a LIMIT 2 OFFSET 1"
        );
        assert_eq!(
            run("SELECT a FROM t WHERE a IN (SELECT FIRST (1+1) b FROM u)"),
            "SELECT a FROM t WHERE a IN (SELECT b FROM u LIMIT (1+1) )"
        );
        assert_eq!(run("SELECT SKIP ? a FROM t"), "SELECT a FROM t OFFSET ?#1");
        assert!(run("SELECT FIRST 1 a FROM t UNION SELECT b FROM u").starts_with("error"));
    }

    #[test]
    fn rows_becomes_limit_and_offset() {
        assert_eq!(run("SELECT a FROM t ROWS 5"), "SELECT a FROM t LIMIT 5");
        assert_eq!(
            run("SELECT a FROM t ROWS ? TO ?"),
            "SELECT a FROM t LIMIT (CAST(?#2 AS BIGINT) - CAST(?#1 AS BIGINT) + 1) OFFSET (CAST(?#1 AS BIGINT) - 1)"
        );
        assert_eq!(
            run("SELECT a FROM t OFFSET 1 ROWS FETCH FIRST 2 ROWS ONLY"),
            "SELECT a FROM t OFFSET 1 ROWS FETCH FIRST 2 ROWS ONLY"
        );
    }

    #[test]
    fn parameters_are_numbered_by_position() {
        assert_eq!(run("SELECT ?, ? FROM t"), "SELECT ?#1, ?#2 FROM t");
        assert_eq!(
            run("SELECT ? FROM t; SELECT ?"),
            "SELECT ?#1 FROM t; SELECT ?#1"
        );
        assert!(run("SELECT $1").starts_with("error"));
    }

    #[test]
    fn blob_types_and_character_sets() {
        assert_eq!(
            run("CREATE TABLE t (b BLOB SUB_TYPE TEXT SEGMENT SIZE 80, c VARCHAR(5) CHARACTER SET UTF8)"),
            "CREATE TABLE t (b \0BLOB SUB_TYPE TEXT\0, c VARCHAR(5) )"
        );
        assert!(run("CREATE TABLE t (c VARCHAR(5) CHARACTER SET WIN1252)").starts_with("error"));
        assert!(run("CREATE TABLE t (b BLOB SUB_TYPE 7)").starts_with("error"));
    }
}
