//! Lowering `sqlparser` ASTs to Rosetta bytecode.
//!
//! One [`Lowerer`] lowers one statement: it tracks the highest `$n` parameter seen and
//! the current nesting depth. Sub-modules handle one area each: [`stmt`] (statement
//! dispatch, transactions, session commands), [`query`] (`SELECT` and friends),
//! [`dml`] (`INSERT`/`UPDATE`/`DELETE`), [`expr`] (scalar expressions), [`function`]
//! (function calls and function-like syntax), [`ddl`] (`CREATE`/`DROP`) and [`types`]
//! (SQL type names).
//!
//! Every `sqlparser` struct is destructured without `..`, so that a field added by a
//! future `sqlparser` is a compile error here rather than a clause silently ignored.

mod ddl;
mod dml;
mod expr;
mod function;
pub(crate) mod maint;
mod query;
mod stmt;
mod types;

use rosetta_bytecode::{self as bc, CompileError, Dialect, Program};
use sqlparser::ast;

/// Result of a lowering step.
pub(crate) type Result<T> = std::result::Result<T, CompileError>;

/// Deepest nesting of lowered expressions and queries (the engine's default limit).
const MAX_DEPTH: usize = 200;

/// Lowers one parsed statement to a program.
pub(crate) fn program(statement: &ast::Statement) -> Result<Program> {
    let mut lowerer = Lowerer::default();
    let statement = lowerer.statement(statement)?;
    let mut program = Program::new(Dialect::Postgres, statement);
    program.param_count = lowerer.max_param;
    Ok(program)
}

/// State of lowering one statement.
#[derive(Default)]
pub(crate) struct Lowerer {
    /// Highest `$n` seen.
    max_param: u16,
    /// Current nesting depth of expressions / queries.
    depth: usize,
}

impl Lowerer {
    /// Runs `f` one nesting level deeper, refusing statements nested beyond
    /// [`MAX_DEPTH`].
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
}

/// A `0A000` error: "`what` is not supported".
pub(crate) fn unsupported(what: impl std::fmt::Display) -> CompileError {
    CompileError::unsupported(format!("{what} is not supported"))
}

/// Fails with "`what` is not supported" when `present` is true.
pub(crate) fn reject(present: bool, what: &str) -> Result<()> {
    if present {
        Err(unsupported(what))
    } else {
        Ok(())
    }
}

/// Applies PostgreSQL's identifier rule: unquoted names fold to lower case (ASCII only,
/// as PostgreSQL does in UTF-8 databases), quoted names are kept exactly.
pub(crate) fn ident(id: &ast::Ident) -> bc::Ident {
    let ast::Ident {
        value,
        quote_style,
        span: _,
    } = id;
    match quote_style {
        None => bc::Ident::new(value.to_ascii_lowercase()),
        Some(_) => bc::Ident::quoted(value.clone()),
    }
}

/// Lowers a list of identifiers.
pub(crate) fn idents(ids: &[ast::Ident]) -> Vec<bc::Ident> {
    ids.iter().map(ident).collect()
}

/// Lowers a possibly qualified object name (every part must be a plain identifier).
pub(crate) fn object_name(name: &ast::ObjectName) -> Result<bc::ObjectName> {
    name.0
        .iter()
        .map(|part| match part {
            ast::ObjectNamePart::Identifier(id) => Ok(ident(id)),
            ast::ObjectNamePart::Function(_) => Err(unsupported(format!(
                "function call in object name \"{name}\""
            ))),
        })
        .collect()
}

/// Lowers an object name that must be a single identifier (a column name, …).
pub(crate) fn single_ident(name: &ast::ObjectName, what: &str) -> Result<bc::Ident> {
    match name.0.as_slice() {
        [ast::ObjectNamePart::Identifier(id)] => Ok(ident(id)),
        _ => Err(unsupported(format!("qualified {what} \"{name}\""))),
    }
}

/// Whether an identifier is the unquoted word `word` (case-insensitively).
pub(crate) fn is_word(id: &ast::Ident, word: &str) -> bool {
    id.quote_style.is_none() && id.value.eq_ignore_ascii_case(word)
}
