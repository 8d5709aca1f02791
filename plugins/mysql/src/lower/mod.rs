//! Lowering `sqlparser` ASTs to Rosetta bytecode.
//!
//! One [`Lowerer`] lowers one statement: it numbers the `?` parameters it meets and
//! the current nesting depth. Most of the lowering is shared
//! with the other dialect plugin in `rosetta_sql_lower` (queries, DML, expressions,
//! function calls, `CREATE TABLE`/`CREATE INDEX`/`DROP`); this module supplies the
//! dialect's rules to it ([`rosetta_sql_lower::DialectLowering`]) and keeps what is
//! dialect-only: [`stmt`] (statement dispatch, transactions, session commands),
//! [`expr`] (parameters and dialect-only expressions), [`function`] (function names)
//! and [`types`] (SQL type names).
//!
//! Every `sqlparser` struct is destructured without `..`, so that a field added by a
//! future `sqlparser` is a compile error here rather than a clause silently ignored.

mod create;
mod expr;
mod function;
mod stmt;
mod types;

use rosetta_bytecode::{self as bc, CompileError, Dialect, Program};
use rosetta_sql_lower::{CastTarget, DialectLowering, LowerExpr, LowerStatement};
use sqlparser::ast;

pub(crate) use rosetta_sql_lower::{is_word, reject, unsupported, Result};

/// Deepest nesting of lowered expressions and queries (the engine's default limit).
const MAX_DEPTH: usize = 200;

/// Lowers one parsed statement to a program.
pub(crate) fn program(statement: &ast::Statement) -> Result<Program> {
    let mut lowerer = Lowerer::default();
    let (statement, auto_increment) = create::take_auto_increment(statement);
    let mut statement = lowerer.statement(&statement)?;
    create::mark_auto_increment(&mut statement, &auto_increment)?;
    let mut program = Program::new(Dialect::Mysql, statement);
    program.param_count = lowerer.max_param;
    Ok(program)
}

/// State of lowering one statement.
#[derive(Default)]
pub(crate) struct Lowerer {
    /// Highest parameter number handed out: MySQL's `?` placeholders are numbered left
    /// to right in the order the parser meets them.
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

/// Applies MySQL's identifier rule: names keep their case whether quoted or not
/// (`IdentFold::Preserve`); backtick-quoted names are matched exactly, unquoted ones
/// resolve case-insensitively in the engine (architecture §4).
pub(crate) fn ident(id: &ast::Ident) -> bc::Ident {
    let ast::Ident {
        value,
        quote_style,
        span: _,
    } = id;
    match quote_style {
        None => bc::Ident::new(value.clone()),
        Some(_) => bc::Ident::quoted(value.clone()),
    }
}

/// Lowers a possibly qualified object name (every part must be a plain identifier).
pub(crate) fn object_name(name: &ast::ObjectName) -> Result<bc::ObjectName> {
    Lowerer::object_name(name)
}

/// The dialect's rules and hooks for the shared lowering of queries and DML.
impl DialectLowering for Lowerer {
    fn ident(id: &ast::Ident) -> bc::Ident {
        ident(id)
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        Lowerer::nested(self, f)
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

    fn special_identifier(&mut self, expr: &ast::Expr) -> Option<Result<bc::Expr>> {
        Lowerer::special_identifier(self, expr)
    }

    fn string_concat() -> bc::BinaryOp {
        // MySQL's `||` is logical OR (without PIPES_AS_CONCAT in sql_mode).
        bc::BinaryOp::Or
    }

    fn logical_operand(expr: bc::Expr) -> bc::Expr {
        expr::truth(expr)
    }

    fn data_type(data_type: &ast::DataType) -> Result<bc::DataType> {
        types::data_type(data_type)
    }

    fn dialect_statement(&mut self, statement: &ast::Statement) -> Option<Result<bc::Statement>> {
        Lowerer::dialect_statement(self, statement)
    }

    fn table_options(options: &ast::CreateTableOptions) -> Result<()> {
        create::table_options(options)
    }

    fn max_param_mut(&mut self) -> &mut u16 {
        &mut self.max_param
    }

    fn set(&mut self, set: &ast::Set) -> Result<bc::Statement> {
        Lowerer::set(self, set)
    }

    fn unsupported_statement(statement: &ast::Statement) -> CompileError {
        unsupported(stmt::statement_label(statement))
    }

    fn cast_target(data_type: &ast::DataType) -> Result<CastTarget> {
        types::cast_target(data_type)
    }

    fn param(&mut self, placeholder: &str) -> Result<bc::Expr> {
        Lowerer::param(self, placeholder)
    }

    /// MySQL names an unaliased expression column after its text (`@@version`,
    /// `COUNT(*)`, `1+1`); a plain column keeps its own name.
    fn unaliased_column_name(expr: &ast::Expr) -> Option<bc::Ident> {
        match expr {
            ast::Expr::Identifier(id) if !id.value.starts_with('@') => None,
            ast::Expr::CompoundIdentifier(ids)
                if !ids.first().is_some_and(|id| id.value.starts_with('@')) =>
            {
                None
            }
            other => Some(bc::Ident::quoted(other.to_string())),
        }
    }

    /// `LIMIT offset, count`.
    fn offset_comma_limit(
        &mut self,
        offset: &ast::Expr,
        limit: &ast::Expr,
    ) -> Result<(Option<bc::Expr>, Option<bc::Expr>)> {
        Ok((Some(self.expr(limit)?), Some(self.expr(offset)?)))
    }
}
