//! Firebird's lexical rules for `sqlparser`, and the one expression it cannot parse.
//!
//! Firebird identifiers are ASCII letters, digits, `_` and `$` (`RDB$DATABASE`),
//! starting with a letter; delimited identifiers use double quotes; strings use single
//! quotes with no backslash escapes. `NEXT VALUE FOR seq` is parsed here (through
//! `sqlparser`'s prefix hook) into a call of a marker function that the lowering turns
//! into [`rosetta_bytecode::Expr::NextValue`].

use sqlparser::ast;
use sqlparser::dialect::Dialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};

/// Quote character of the marker identifiers the front end invents for constructs
/// `sqlparser` has no node for. No SQL text can produce it (the tokenizer never yields a
/// NUL quote), so a marker can never be confused with a user's name.
pub(crate) const MARKER_QUOTE: char = '\0';

/// The marker function name `NEXT VALUE FOR seq` is parsed into.
pub(crate) const NEXT_VALUE_FOR: &str = "NEXT VALUE FOR";

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
        Some(Ok(ast::Expr::Function(ast::Function {
            name: ast::ObjectName::from(vec![marker(NEXT_VALUE_FOR)]),
            uses_odbc_syntax: false,
            parameters: ast::FunctionArguments::None,
            args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                duplicate_treatment: None,
                args: vec![ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(arg))],
                clauses: vec![],
            }),
            filter: None,
            null_treatment: None,
            over: None,
            within_group: vec![],
        })))
    }
}
