//! Lowering `sqlparser` ASTs to Rosetta bytecode.
//!
//! One [`Lowerer`] lowers one statement: it tracks the highest `$n` parameter seen and
//! the current nesting depth. Most of the lowering is shared
//! with the other dialect plugin in `rosetta_sql_lower` (queries, DML, expressions,
//! function calls, `CREATE TABLE`/`CREATE INDEX`/`DROP`); this module supplies the
//! dialect's rules to it ([`rosetta_sql_lower::DialectLowering`]) and keeps what is
//! dialect-only: [`stmt`] (statement dispatch, transactions, session commands), [`maint`] (`COPY`, `VACUUM`, `ALTER TABLE`, …),
//! [`expr`] (parameters and dialect-only expressions), [`function`] (function names),
//! [`ddl`] (dialect-only DDL) and [`types`] (SQL type names).
//!
//! Every `sqlparser` struct is destructured without `..`, so that a field added by a
//! future `sqlparser` is a compile error here rather than a clause silently ignored.

mod ddl;
mod expr;
mod function;
pub(crate) mod maint;
pub(crate) mod sequence;
mod stmt;
mod types;

use rosetta_bytecode::{self as bc, CompileError, Dialect, Program};
use rosetta_sql_lower::{CastTarget, DialectLowering, LowerStatement};
use sqlparser::ast;

pub(crate) use rosetta_sql_lower::{is_word, reject, unsupported, Result};

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
    Lowerer::idents(ids)
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
        _namespace: &str,
        fname: String,
        args: &ast::FunctionArguments,
    ) -> Result<std::ops::ControlFlow<bc::Expr, String>> {
        sequence::call(fname, args)
    }

    fn catalog_call(&mut self, name: &str, args: Vec<bc::Expr>) -> bc::Expr {
        function::pg_call(name, args)
    }

    fn data_type(data_type: &ast::DataType) -> Result<bc::DataType> {
        match sequence::serial_type(data_type) {
            Some(t) => Ok(t),
            None => types::data_type(data_type),
        }
    }

    fn table_options(options: &ast::CreateTableOptions) -> Result<()> {
        ddl::storage_parameters(options)
    }

    fn has_views() -> bool {
        true
    }

    fn dialect_statement(&mut self, statement: &ast::Statement) -> Option<Result<bc::Statement>> {
        Lowerer::dialect_statement(self, statement)
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
}
