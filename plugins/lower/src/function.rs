//! Function calls (`f(x)`, `schema.f(x)`, `count(*)`, `count(DISTINCT x)`, the
//! SQL-standard niladic functions) and the SQL syntax that is a function in disguise:
//! `EXTRACT`, `SUBSTRING … FROM … FOR`, `TRIM`, `POSITION … IN`, `CEIL`/`FLOOR`.

use std::ops::ControlFlow;

use rosetta_bytecode::{self as bc, CompileError, Literal};
use sqlparser::ast;

use crate::{reject, unsupported, DialectLowering, LowerQuery, Result};

/// Namespace of standard SQL functions.
pub const STD: &str = "std";
/// A call of a standard function.
pub fn std_call(name: &str, args: Vec<bc::Expr>) -> bc::Expr {
    call(STD, name, args)
}

/// A call of `namespace.name(args)`.
pub fn call(namespace: &str, name: &str, args: Vec<bc::Expr>) -> bc::Expr {
    bc::Expr::Function(bc::Function {
        namespace: namespace.into(),
        name: name.into(),
        args,
        distinct: false,
        star: false,
    })
}

/// Shared lowering of function calls and function-like syntax, provided for every
/// [`DialectLowering`] (its methods need [`LowerQuery`], which every dialect has).
pub trait LowerFunction: DialectLowering {
    /// Lowers a function call.
    fn function(&mut self, function: &ast::Function) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        let ast::Function {
            name,
            uses_odbc_syntax,
            parameters,
            args,
            within_group,
            filter,
            null_treatment,
            over,
        } = function;
        reject(*uses_odbc_syntax, "ODBC function syntax")?;
        reject(
            !matches!(parameters, ast::FunctionArguments::None),
            "parametric functions",
        )?;
        reject(!within_group.is_empty(), "WITHIN GROUP")?;
        reject(filter.is_some(), "aggregate FILTER")?;
        reject(null_treatment.is_some(), "IGNORE/RESPECT NULLS")?;
        reject(over.is_some(), "window functions")?;
        let (namespace, fname) = Self::function_name(name)?;
        let fname = match self.dialect_call(namespace, fname, args)? {
            ControlFlow::Break(call) => return Ok(call),
            ControlFlow::Continue(fname) => fname,
        };
        match args {
            ast::FunctionArguments::None => {
                let Some(canonical) = Self::niladic_name(&fname) else {
                    return Err(unsupported(format!("function {name} without parentheses")));
                };
                Ok(call(namespace, canonical, Vec::new()))
            }
            ast::FunctionArguments::Subquery(query) if fname == "array" && namespace == STD => {
                Ok(bc::Expr::ArraySubquery(Box::new(self.query(query)?)))
            }
            ast::FunctionArguments::Subquery(_) => Err(unsupported(format!("{name}(subquery)"))),
            ast::FunctionArguments::List(list) => {
                let ast::FunctionArgumentList {
                    duplicate_treatment,
                    args,
                    clauses,
                } = list;
                reject(
                    !clauses.is_empty(),
                    "ORDER BY / LIMIT inside a function call",
                )?;
                let distinct =
                    matches!(duplicate_treatment, Some(ast::DuplicateTreatment::Distinct));
                let mut star = false;
                let mut lowered = Vec::with_capacity(args.len());
                for arg in args {
                    match arg {
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => {
                            lowered.push(self.expr(e)?)
                        }
                        ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Wildcard) => star = true,
                        ast::FunctionArg::Unnamed(_) => {
                            return Err(unsupported("t.* as a function argument"))
                        }
                        ast::FunctionArg::Named { .. } | ast::FunctionArg::ExprNamed { .. } => {
                            return Err(unsupported("named function arguments"))
                        }
                    }
                }
                if star && (!lowered.is_empty() || distinct) {
                    return Err(CompileError::syntax(format!(
                        "syntax error: * must be the only argument of {fname}"
                    )));
                }
                Ok(bc::Expr::Function(bc::Function {
                    namespace: namespace.into(),
                    name: fname,
                    args: lowered,
                    distinct,
                    star,
                }))
            }
        }
    }

    /// `EXTRACT(field FROM x)` → `std.date_part('field', x)`.
    fn extract(
        &mut self,
        field: &ast::DateTimeField,
        syntax: &ast::ExtractSyntax,
        expr: &ast::Expr,
    ) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        reject(
            !matches!(syntax, ast::ExtractSyntax::From),
            "EXTRACT(field, x)",
        )?;
        let field = match field {
            ast::DateTimeField::Custom(id) => Self::ident(id).value,
            ast::DateTimeField::Week(Some(_)) => return Err(unsupported("EXTRACT(WEEK(day))")),
            other => other.to_string().to_ascii_lowercase(),
        };
        let args = vec![bc::Expr::Literal(Literal::String(field)), self.expr(expr)?];
        Ok(std_call("date_part", args))
    }

    /// `CEIL(x)` / `FLOOR(x)`.
    fn ceil_floor(
        &mut self,
        name: &str,
        expr: &ast::Expr,
        field: &ast::CeilFloorKind,
    ) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        match field {
            ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) => {
                let args = vec![self.expr(expr)?];
                Ok(std_call(name, args))
            }
            _ => Err(unsupported(format!("{name} with a second argument"))),
        }
    }

    /// `SUBSTRING(x FROM a FOR b)` / `substring(x, a, b)` → `std.substring(x, a[, b])`.
    fn substring(
        &mut self,
        expr: &ast::Expr,
        from: &Option<Box<ast::Expr>>,
        count: &Option<Box<ast::Expr>>,
    ) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        let mut args = vec![self.expr(expr)?];
        match (from, count) {
            (Some(from), count) => {
                args.push(self.expr(from)?);
                if let Some(count) = count {
                    args.push(self.expr(count)?);
                }
            }
            (None, Some(count)) => {
                args.push(bc::Expr::Literal(Literal::Integer(1)));
                args.push(self.expr(count)?);
            }
            (None, None) => {
                return Err(CompileError::syntax(
                    "SUBSTRING needs FROM or FOR (or a start position)",
                ))
            }
        }
        Ok(std_call("substring", args))
    }

    /// `TRIM([BOTH|LEADING|TRAILING] [chars] FROM x)` → `std.btrim/ltrim/rtrim(x[, chars])`.
    fn trim(
        &mut self,
        trim_where: &Option<ast::TrimWhereField>,
        trim_what: &Option<Box<ast::Expr>>,
        expr: &ast::Expr,
        trim_characters: &Option<Vec<ast::Expr>>,
    ) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        reject(trim_characters.is_some(), "TRIM(x, characters)")?;
        let name = match trim_where {
            None | Some(ast::TrimWhereField::Both) => "btrim",
            Some(ast::TrimWhereField::Leading) => "ltrim",
            Some(ast::TrimWhereField::Trailing) => "rtrim",
        };
        let mut args = vec![self.expr(expr)?];
        if let Some(what) = trim_what {
            args.push(self.expr(what)?);
        }
        Ok(std_call(name, args))
    }
}

impl<T: DialectLowering> LowerFunction for T {}
