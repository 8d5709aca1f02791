//! Lowering Firebird statements to Rosetta bytecode.
//!
//! One [`Lowerer`] lowers one statement. Statements `sqlparser` parsed go through the
//! shared lowering of `rosetta_sql_lower` with Firebird's rules supplied here
//! ([`DialectLowering`]): unquoted identifiers fold to upper case (`IdentFold::Upper`),
//! `?` parameters are numbered by their position in the text, `||` concatenates,
//! Firebird's type names ([`types`]) and functions ([`function`]). The Firebird-only
//! statements of the front dispatcher are lowered in [`stmt`].

mod function;
mod stmt;
mod types;

use rosetta_bytecode::{self as bc, CompileError, Dialect, Program};
use rosetta_sql_lower::{CastTarget, DialectLowering, LowerDdl};
use sqlparser::ast;

pub(crate) use rosetta_sql_lower::{unsupported, Result};

use crate::front::Parsed;
use crate::rewrite::PARAM_PREFIX;

/// Deepest nesting of lowered expressions and queries (the engine's default limit).
const MAX_DEPTH: usize = 200;

/// Lowers one parsed statement to its programs (usually one; `RECREATE TABLE` and
/// `COMMIT/ROLLBACK RETAIN` are two, run in order).
pub(crate) fn programs(parsed: &Parsed) -> Result<Vec<Program>> {
    let mut lowerer = Lowerer::default();
    let statements = lowerer.parsed(parsed)?;
    Ok(statements
        .into_iter()
        .map(|statement| {
            let mut program = Program::new(Dialect::Firebird, statement);
            program.param_count = lowerer.max_param;
            program
        })
        .collect())
}

/// State of lowering one statement.
#[derive(Default)]
pub(crate) struct Lowerer {
    /// Highest parameter number met (parameters are numbered by text position).
    max_param: u16,
    /// Current nesting depth of expressions / queries.
    depth: usize,
}

/// Applies Firebird's identifier rule: unquoted names are upper-cased, quoted ones are
/// kept exactly (and flagged quoted).
pub(crate) fn ident(id: &ast::Ident) -> bc::Ident {
    let ast::Ident {
        value,
        quote_style,
        span: _,
    } = id;
    match quote_style {
        None => bc::Ident::new(value.to_ascii_uppercase()),
        Some(_) => bc::Ident::quoted(value.clone()),
    }
}

impl DialectLowering for Lowerer {
    fn ident(id: &ast::Ident) -> bc::Ident {
        ident(id)
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth >= MAX_DEPTH {
            return Err(CompileError {
                sqlstate: "54001".into(),
                message: format!("statement is too deeply nested (more than {MAX_DEPTH} levels)"),
                position: None,
            });
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn special_identifier(&mut self, expr: &ast::Expr) -> Option<Result<bc::Expr>> {
        function::next_value_for(expr).or_else(|| self.string_predicate(expr))
    }

    fn has_views() -> bool {
        true
    }

    fn has_create_or_replace_view() -> bool {
        false
    }

    fn view_parameter_error(_max_param: u16) -> CompileError {
        CompileError::syntax("Dynamic SQL Error: parameters are not allowed in a view definition")
    }

    fn dialect_statement(&mut self, statement: &ast::Statement) -> Option<Result<bc::Statement>> {
        match statement {
            ast::Statement::CreateView(create) => Some(self.create_view(create)),
            _ => None,
        }
    }

    fn niladic_name(word: &str) -> Option<&'static str> {
        function::niladic_name(word)
    }

    fn function_name(name: &ast::ObjectName) -> Result<(&'static str, String)> {
        function::function_name(name)
    }

    fn dialect_call(
        &mut self,
        namespace: &str,
        fname: String,
        args: &ast::FunctionArguments,
    ) -> Result<std::ops::ControlFlow<bc::Expr, String>> {
        Lowerer::dialect_call(self, namespace, fname, args)
    }

    fn data_type(data_type: &ast::DataType) -> Result<bc::DataType> {
        types::data_type(data_type)
    }

    fn max_param_mut(&mut self) -> &mut u16 {
        &mut self.max_param
    }

    fn set(&mut self, _set: &ast::Set) -> Result<bc::Statement> {
        Err(unsupported(
            "this SET statement (Firebird has SET TRANSACTION and SET GENERATOR)",
        ))
    }

    fn unsupported_statement(statement: &ast::Statement) -> CompileError {
        unsupported(statement_label(statement))
    }

    fn cast_target(data_type: &ast::DataType) -> Result<CastTarget> {
        Ok(CastTarget::Type(types::data_type(data_type)?))
    }

    /// `?#n`: the parameter the rewrite numbered `n` by its position in the text.
    fn param(&mut self, placeholder: &str) -> Result<bc::Expr> {
        let n = placeholder
            .strip_prefix(PARAM_PREFIX)
            .and_then(|n| n.parse::<u16>().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| CompileError::syntax(format!("Token unknown - {placeholder}")))?;
        self.max_param = self.max_param.max(n);
        Ok(bc::Expr::Param(n))
    }

    fn unaliased_column_name(expr: &ast::Expr) -> Option<bc::Ident> {
        function::column_name(expr)
    }
}

/// The leading keywords of a statement (`CREATE VIEW`, `ALTER TABLE`, …) for messages.
fn statement_label(statement: &ast::Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text
        .split_whitespace()
        .take(3)
        .take_while(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    if words.is_empty() {
        "this statement".into()
    } else {
        words.join(" ")
    }
}
