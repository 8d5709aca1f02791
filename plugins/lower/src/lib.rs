//! Dialect-independent lowering of `sqlparser` ASTs to Rosetta bytecode.
//!
//! The PostgreSQL and MySQL plugins share most of their parsing and lowering. This crate
//! holds the shared part: [`parse`] (bounded parsing and syntax errors, in the dialect a
//! plugin passes), the free helpers of [`stmt`], and traits with provided methods —
//! [`LowerQuery`] (`SELECT` and friends), [`LowerDml`] (`INSERT`/`UPDATE`/`DELETE`),
//! [`LowerExpr`] (scalar expressions), [`LowerFunction`] (function calls and
//! function-like syntax) and [`LowerDdl`] (`CREATE TABLE`/`CREATE INDEX`/`DROP`). All of
//! them are implemented for every type that implements [`DialectLowering`], the small set
//! of per-dialect rules and hooks each plugin supplies for its own lowerer: identifier
//! folding, parameters, type names and cast targets, function names and niladic
//! keywords, what `||` means, table options, views, and the few dialect-only
//! expressions and clauses.
//!
//! Every `sqlparser` struct is destructured without `..`, so that a field added by a
//! future `sqlparser` is a compile error here rather than a clause silently ignored.

mod ddl;
mod dml;
mod expr;
mod function;
pub mod parse;
mod query;
pub mod stmt;

pub use ddl::{table_constraint, LowerDdl};
pub use dml::LowerDml;
pub use expr::{number, LowerExpr, Operator};
pub use function::{call, std_call, LowerFunction, STD};
pub use query::{order_options, LowerQuery};
pub use stmt::LowerStatement;

use std::ops::ControlFlow;

use rosetta_bytecode::{self as bc, BinaryOp, CompileError};
use sqlparser::ast;

/// Result of a lowering step.
pub type Result<T> = std::result::Result<T, CompileError>;

/// A `0A000` error: "`what` is not supported".
pub fn unsupported(what: impl std::fmt::Display) -> CompileError {
    CompileError::unsupported(format!("{what} is not supported"))
}

/// Fails with "`what` is not supported" when `present` is true.
pub fn reject(present: bool, what: &str) -> Result<()> {
    if present {
        Err(unsupported(what))
    } else {
        Ok(())
    }
}

/// What a cast to a type means.
pub enum CastTarget {
    /// A conversion to one of Rosetta's types.
    Type(bc::DataType),
    /// A catalog type whose input is a lookup: PostgreSQL's `x::regclass` is
    /// `pg.regclass(x)`.
    Function(&'static str),
}

/// Whether an identifier is the unquoted word `word` (case-insensitively).
pub fn is_word(id: &ast::Ident, word: &str) -> bool {
    id.quote_style.is_none() && id.value.eq_ignore_ascii_case(word)
}

/// The per-dialect rules and hooks the shared lowering needs from a dialect's lowerer.
pub trait DialectLowering: Sized {
    /// Applies the dialect's identifier rule (case folding of unquoted names).
    fn ident(id: &ast::Ident) -> bc::Ident;

    /// Lowers a list of identifiers.
    fn idents(ids: &[ast::Ident]) -> Vec<bc::Ident> {
        ids.iter().map(Self::ident).collect()
    }

    /// Lowers a possibly qualified object name (every part must be a plain identifier).
    fn object_name(name: &ast::ObjectName) -> Result<bc::ObjectName> {
        name.0
            .iter()
            .map(|part| match part {
                ast::ObjectNamePart::Identifier(id) => Ok(Self::ident(id)),
                ast::ObjectNamePart::Function(_) => Err(unsupported(format!(
                    "function call in object name \"{name}\""
                ))),
            })
            .collect()
    }

    /// Lowers an object name that must be a single identifier (a column name, …).
    fn single_ident(name: &ast::ObjectName, what: &str) -> Result<bc::Ident> {
        match name.0.as_slice() {
            [ast::ObjectNamePart::Identifier(id)] => Ok(Self::ident(id)),
            _ => Err(unsupported(format!("qualified {what} \"{name}\""))),
        }
    }

    /// Runs `f` one nesting level deeper, refusing statements nested too deeply.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T>;

    /// Lowers a dialect-only identifier expression (MySQL's `@@variable`), or `None` to
    /// lower `expr` the shared way.
    fn special_identifier(&mut self, _expr: &ast::Expr) -> Option<Result<bc::Expr>> {
        None
    }

    /// The standard function a niladic keyword (`current_date`, …) calls, if `word`
    /// (lower case) is one.
    fn niladic_name(word: &str) -> Option<&'static str>;

    /// The call an unquoted niladic word (`current_date`, …) stands for, if any.
    fn niladic(word: &str) -> Option<bc::Expr> {
        let word = word.to_ascii_lowercase();
        Self::niladic_name(&word).map(|canonical| std_call(canonical, Vec::new()))
    }

    /// A call of a standard function.
    fn std_call(name: &str, args: Vec<bc::Expr>) -> bc::Expr {
        std_call(name, args)
    }

    /// The call a cast to a catalog lookup type ([`CastTarget::Function`]) stands for.
    fn catalog_call(&mut self, name: &str, args: Vec<bc::Expr>) -> bc::Expr {
        std_call(name, args)
    }

    /// The namespace and lower-case name of a called function.
    fn function_name(name: &ast::ObjectName) -> Result<(&'static str, String)>;

    /// Lowers a dialect-only call (`Break`), or returns the name the call is lowered
    /// under the shared way (`Continue`, `fname` itself by default).
    fn dialect_call(
        &mut self,
        _namespace: &str,
        fname: String,
        _args: &ast::FunctionArguments,
    ) -> Result<ControlFlow<bc::Expr, String>> {
        Ok(ControlFlow::Continue(fname))
    }

    /// The column type a SQL type name stands for.
    fn data_type(data_type: &ast::DataType) -> Result<bc::DataType>;

    /// Checks the options of `CREATE TABLE` (`WITH (…)`, …); all are refused by default.
    fn table_options(options: &ast::CreateTableOptions) -> Result<()> {
        reject(
            !matches!(options, ast::CreateTableOptions::None),
            "table options (WITH …, TABLESPACE …)",
        )
    }

    /// Whether the dialect has views (`DROP VIEW`); without them `DROP VIEW` is refused.
    fn has_views() -> bool {
        false
    }

    /// Whether `CREATE OR REPLACE VIEW` exists in the dialect.
    fn has_create_or_replace_view() -> bool {
        true
    }

    /// The error for a view definition that uses parameters (PostgreSQL's wording by
    /// default: the parameter does not exist there).
    fn view_parameter_error(max_param: u16) -> CompileError {
        CompileError {
            sqlstate: "42P02".into(),
            message: format!("there is no parameter ${max_param}"),
            position: None,
        }
    }

    /// Lowers a dialect-only statement, or `None` to lower `statement` the shared way.
    fn dialect_statement(&mut self, _statement: &ast::Statement) -> Option<Result<bc::Statement>> {
        None
    }

    /// The highest parameter number seen so far (saved and restored around the body of
    /// `PREPARE`, whose parameters are not the statement's own).
    fn max_param_mut(&mut self) -> &mut u16;

    /// Lowers `SET …` (session settings differ per dialect).
    fn set(&mut self, set: &ast::Set) -> Result<bc::Statement>;

    /// The error for a statement neither the dialect nor the shared lowering handles.
    fn unsupported_statement(statement: &ast::Statement) -> CompileError;

    /// The meaning of a cast to `data_type`.
    fn cast_target(data_type: &ast::DataType) -> Result<CastTarget>;

    /// Lowers a placeholder (`$n`, `?`).
    fn param(&mut self, placeholder: &str) -> Result<bc::Expr>;

    /// The operator `||` stands for.
    fn string_concat() -> BinaryOp {
        BinaryOp::Concat
    }

    /// An operand of `AND`/`OR` as lowered for the dialect (unchanged by default).
    fn logical_operand(expr: bc::Expr) -> bc::Expr {
        expr
    }

    /// The column name given to an unaliased select-list expression, if the dialect
    /// names it (`None` lets the engine derive the name).
    fn unaliased_column_name(_expr: &ast::Expr) -> Option<bc::Ident> {
        None
    }

    /// Lowers MySQL's `LIMIT offset, count` to `(limit, offset)`; refused by default.
    fn offset_comma_limit(
        &mut self,
        _offset: &ast::Expr,
        _limit: &ast::Expr,
    ) -> Result<(Option<bc::Expr>, Option<bc::Expr>)> {
        Err(unsupported("LIMIT offset, count"))
    }
}
