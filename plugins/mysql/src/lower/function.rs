//! MySQL's function names: the niladic keywords, renamed functions, `@@variables`,
//! `VERSION()` and `LOCATE`. Function calls themselves are lowered by the shared
//! [`rosetta_sql_lower::LowerFunction`].

use std::ops::ControlFlow;

use rosetta_bytecode::{self as bc, Literal};
use rosetta_sql_lower::{call, std_call, unsupported, LowerExpr, Result, STD};
use sqlparser::ast;

use super::Lowerer;

/// Namespace of MySQL-specific functions (`mysql.variable` for `@@name`).
const MYSQL: &str = "mysql";

/// Functions MySQL lets you call without parentheses (SQL keywords), with the name each
/// one is called by.
const NILADIC: &[(&str, &str)] = &[
    ("current_date", "current_date"),
    ("current_time", "current_time"),
    ("current_timestamp", "current_timestamp"),
    ("localtime", "localtimestamp"),
    ("localtimestamp", "localtimestamp"),
    ("current_user", "current_user"),
];

/// MySQL functions that are standard functions under another name.
const RENAMED: &[(&str, &str)] = &[
    ("database", "current_database"),
    ("schema", "current_database"),
    ("user", "current_user"),
    ("session_user", "current_user"),
    ("system_user", "current_user"),
    ("ifnull", "coalesce"),
    ("sysdate", "now"),
    ("locate", "strpos"),
];

/// The standard function a niladic keyword such as `current_date` calls (MySQL reserves
/// these words, so they are never column names unquoted).
pub(crate) fn niladic_name(word: &str) -> Option<&'static str> {
    NILADIC
        .iter()
        .find(|(n, _)| *n == word)
        .map(|(_, canonical)| *canonical)
}

/// `@@[session.]name`: the engine's `mysql.variable('name')`.
pub(crate) fn system_variable(name: &str) -> bc::Expr {
    call(
        MYSQL,
        "variable",
        vec![bc::Expr::Literal(Literal::String(
            name.to_ascii_lowercase(),
        ))],
    )
}

impl Lowerer {
    /// `VERSION()`, `LOCATE(substr, str)` and MySQL's renamed functions.
    pub(crate) fn dialect_call(
        &mut self,
        namespace: &str,
        fname: String,
        args: &ast::FunctionArguments,
    ) -> Result<ControlFlow<bc::Expr, String>> {
        let no_args = match args {
            ast::FunctionArguments::List(list) => list.args.is_empty(),
            _ => false,
        };
        if namespace == STD && fname == "version" && no_args {
            return Ok(ControlFlow::Break(system_variable("version")));
        }
        if namespace == STD && (fname == "last_insert_id" || fname == "connection_id") {
            // Session state the engine keeps: MySQL's namespace.
            let args = match args {
                ast::FunctionArguments::None => Vec::new(),
                ast::FunctionArguments::List(list) => list
                    .args
                    .iter()
                    .map(|a| match a {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => self.expr(e),
                        _ => Err(unsupported(format!("this argument of {fname}()"))),
                    })
                    .collect::<Result<Vec<_>>>()?,
                ast::FunctionArguments::Subquery(_) => {
                    return Err(unsupported(format!("a subquery argument of {fname}()")))
                }
            };
            return Ok(ControlFlow::Break(call(MYSQL, &fname, args)));
        }
        if namespace == STD && fname == "concat" {
            // MySQL's CONCAT is NULL when any argument is (PostgreSQL's skips NULLs): a
            // chain of `||` with the dialect's null_concat_is_null.
            if let ast::FunctionArguments::List(list) = args {
                // Numbers and dates are concatenated as their text.
                let mut parts = list.args.iter().map(|a| match a {
                    ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                        self.expr(e).map(|e| bc::Expr::Cast {
                            expr: Box::new(e),
                            data_type: bc::DataType::Text,
                        })
                    }
                    _ => Err(unsupported("this argument of CONCAT()")),
                });
                if let Some(first) = parts.next() {
                    let mut acc = first?;
                    for part in parts {
                        acc = bc::Expr::Binary {
                            op: bc::BinaryOp::Concat,
                            left: Box::new(acc),
                            right: Box::new(part?),
                        };
                    }
                    return Ok(ControlFlow::Break(acc));
                }
            }
        }
        if namespace == STD && fname == "locate" {
            // LOCATE(substr, str) is strpos(str, substr).
            if let ast::FunctionArguments::List(list) = args {
                if let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(needle)), ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(haystack))] =
                    list.args.as_slice()
                {
                    let args = vec![self.expr(haystack)?, self.expr(needle)?];
                    return Ok(ControlFlow::Break(std_call("strpos", args)));
                }
            }
            return Err(unsupported("LOCATE with a start position"));
        }
        let fname = RENAMED
            .iter()
            .find(|(from, _)| namespace == STD && *from == fname)
            .map(|(_, to)| (*to).to_string())
            .unwrap_or(fname);
        Ok(ControlFlow::Continue(fname))
    }
}

/// The namespace and lower-case name of a called function.
pub(crate) fn function_name(name: &ast::ObjectName) -> Result<(&'static str, String)> {
    let parts = super::object_name(name)?;
    match parts.as_slice() {
        [f] => Ok((STD, f.value.to_ascii_lowercase())),
        [schema, f] if schema.value.eq_ignore_ascii_case(MYSQL) => {
            Ok((MYSQL, f.value.to_ascii_lowercase()))
        }
        _ => Err(unsupported(format!("function schema in {name}"))),
    }
}
