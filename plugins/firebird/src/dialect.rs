//! Firebird's lexical rules for `sqlparser`, and the one expression it cannot parse.
//!
//! Firebird identifiers are ASCII letters, digits, `_` and `$` (`RDB$DATABASE`),
//! starting with a letter; delimited identifiers use double quotes; strings use single
//! quotes with no backslash escapes. `NEXT VALUE FOR seq` is parsed here (through
//! `sqlparser`'s prefix hook) into a call of a marker function that the lowering turns
//! into [`rosetta_bytecode::Expr::NextValue`]. The string predicates `a [NOT] STARTING
//! [WITH] b` and `a [NOT] CONTAINING b` are parsed here too (through the infix hooks),
//! into marker calls `STARTING WITH(a, b)` / `CONTAINING(a, b)`, optionally under `NOT`.

use sqlparser::ast;
use sqlparser::dialect::Dialect;
use sqlparser::dialect::Precedence;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

use crate::rewrite::is_word;

/// Quote character of the marker identifiers the front end invents for constructs
/// `sqlparser` has no node for. No SQL text can produce it (the tokenizer never yields a
/// NUL quote), so a marker can never be confused with a user's name.
pub(crate) const MARKER_QUOTE: char = '\0';

/// The marker function name `NEXT VALUE FOR seq` is parsed into.
pub(crate) const NEXT_VALUE_FOR: &str = "NEXT VALUE FOR";

/// The marker function name `a STARTING [WITH] b` is parsed into.
pub(crate) const STARTING_WITH: &str = "STARTING WITH";
/// The marker function name `a CONTAINING b` is parsed into.
pub(crate) const CONTAINING: &str = "CONTAINING";

/// A marker identifier (see [`MARKER_QUOTE`]).
pub(crate) fn marker(name: &str) -> ast::Ident {
    // Built field by field: `Ident::with_quote` asserts a real quote character.
    ast::Ident {
        value: name.to_string(),
        quote_style: Some(MARKER_QUOTE),
        span: sqlparser::tokenizer::Span::empty(),
    }
}

/// Whether `id` is the marker `name`.
pub(crate) fn is_marker(id: &ast::Ident, name: &str) -> bool {
    id.quote_style == Some(MARKER_QUOTE) && id.value == name
}

/// The Firebird SQL dialect (Firebird 3, SQL dialect 3).
#[derive(Debug, Default, Clone, Copy)]
pub struct FirebirdDialect;

impl Dialect for FirebirdDialect {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        ch == '"'
    }

    fn identifier_quote_style(&self, _identifier: &str) -> Option<char> {
        Some('"')
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_ascii_alphabetic()
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_ascii_alphanumeric() || ch == '_' || ch == '$'
    }

    /// `[NOT] STARTING` and `[NOT] CONTAINING` bind like `LIKE`.
    fn get_next_precedence(&self, parser: &Parser) -> Option<Result<u8, ParserError>> {
        string_predicate_at(parser).map(|_| Ok(self.prec_value(Precedence::Like)))
    }

    /// `a [NOT] STARTING [WITH] b`, `a [NOT] CONTAINING b`.
    fn parse_infix(
        &self,
        parser: &mut Parser,
        expr: &ast::Expr,
        _precedence: u8,
    ) -> Option<Result<ast::Expr, ParserError>> {
        let (negated, name) = string_predicate_at(parser)?;
        if negated {
            parser.next_token();
        }
        parser.next_token();
        if name == STARTING_WITH && is_word(&parser.peek_token_ref().token, "WITH") {
            parser.next_token();
        }
        let right = match parser.parse_subexpr(self.prec_value(Precedence::Like)) {
            Ok(e) => e,
            Err(e) => return Some(Err(e)),
        };
        let call = marker_call(name, vec![expr.clone(), right]);
        Some(Ok(if negated {
            ast::Expr::UnaryOp {
                op: ast::UnaryOperator::Not,
                expr: Box::new(ast::Expr::Nested(Box::new(call))),
            }
        } else {
            call
        }))
    }

    /// `NEXT VALUE FOR name`.
    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<ast::Expr, ParserError>> {
        if !parser.parse_keywords(&[Keyword::NEXT, Keyword::VALUE, Keyword::FOR]) {
            return None;
        }
        let sequence = match parser.parse_object_name(false) {
            Ok(name) => name,
            Err(e) => return Some(Err(e)),
        };
        let mut parts = Vec::with_capacity(sequence.0.len());
        for part in &sequence.0 {
            match part.as_ident() {
                Some(id) => parts.push(id.clone()),
                None => {
                    return Some(Err(ParserError::ParserError(format!(
                        "Expected: a sequence name, found: {sequence}"
                    ))))
                }
            }
        }
        let arg = ast::Expr::CompoundIdentifier(parts);
        Some(Ok(marker_call(NEXT_VALUE_FOR, vec![arg])))
    }
}

/// Whether the next tokens are `[NOT] STARTING` or `[NOT] CONTAINING`: (negated, marker).
fn string_predicate_at(parser: &Parser) -> Option<(bool, &'static str)> {
    let first = &parser.peek_nth_token_ref(0).token;
    let negated =
        matches!(first, Token::Word(w) if w.quote_style.is_none() && w.keyword == Keyword::NOT);
    let word = &parser.peek_nth_token_ref(usize::from(negated)).token;
    if is_word(word, "STARTING") {
        Some((negated, STARTING_WITH))
    } else if is_word(word, "CONTAINING") {
        Some((negated, CONTAINING))
    } else {
        None
    }
}

/// A call of the marker function `name` on plain arguments.
fn marker_call(name: &str, args: Vec<ast::Expr>) -> ast::Expr {
    ast::Expr::Function(ast::Function {
        name: ast::ObjectName::from(vec![marker(name)]),
        uses_odbc_syntax: false,
        parameters: ast::FunctionArguments::None,
        args: ast::FunctionArguments::List(ast::FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}
