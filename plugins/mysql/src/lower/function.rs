//! Function calls (`f(x)`, `count(*)`, `count(DISTINCT x)`, the
//! SQL-standard niladic functions) and the SQL syntax that is a function in disguise:
//! `EXTRACT`, `SUBSTRING … FROM … FOR`, `TRIM`, `POSITION … IN`, `CEIL`/`FLOOR`.

use rosetta_bytecode::{self as bc, CompileError, Literal};
use sqlparser::ast;

use super::{ident, reject, unsupported, Lowerer, Result};

/// Namespace of standard SQL functions.
const STD: &str = "std";
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

/// The call a bare SQL keyword such as `current_date` stands for (MySQL reserves these
/// words, so they are never column names unquoted).
pub(crate) fn niladic(word: &str) -> Option<bc::Expr> {
    let word = word.to_ascii_lowercase();
    NILADIC
        .iter()
        .find(|(n, _)| *n == word)
        .map(|(_, canonical)| std_call(canonical, Vec::new()))
}

/// A call of a standard function.
pub(crate) fn std_call(name: &str, args: Vec<bc::Expr>) -> bc::Expr {
    call(STD, name, args)
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

fn call(namespace: &str, name: &str, args: Vec<bc::Expr>) -> bc::Expr {
    bc::Expr::Function(bc::Function {
        namespace: namespace.into(),
        name: name.into(),
        args,
        distinct: false,
        star: false,
    })
}

impl Lowerer {
    /// Lowers a function call.
    pub(crate) fn function(&mut self, function: &ast::Function) -> Result<bc::Expr> {
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
        let (namespace, fname) = function_name(name)?;
        let no_args = match args {
            ast::FunctionArguments::List(list) => list.args.is_empty(),
            _ => false,
        };
        if namespace == STD && fname == "version" && no_args {
            return Ok(system_variable("version"));
        }
        if namespace == STD && fname == "locate" {
            // LOCATE(substr, str) is strpos(str, substr).
            if let ast::FunctionArguments::List(list) = args {
                if let [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(needle)), ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(haystack))] =
                    list.args.as_slice()
                {
                    let args = vec![self.expr(haystack)?, self.expr(needle)?];
                    return Ok(std_call("strpos", args));
                }
            }
            return Err(unsupported("LOCATE with a start position"));
        }
        let fname = RENAMED
            .iter()
            .find(|(from, _)| namespace == STD && *from == fname)
            .map(|(_, to)| (*to).to_string())
            .unwrap_or(fname);
        match args {
            ast::FunctionArguments::None => {
                let Some((_, canonical)) = NILADIC.iter().find(|(n, _)| *n == fname) else {
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
    pub(crate) fn extract(
        &mut self,
        field: &ast::DateTimeField,
        syntax: &ast::ExtractSyntax,
        expr: &ast::Expr,
    ) -> Result<bc::Expr> {
        reject(
            !matches!(syntax, ast::ExtractSyntax::From),
            "EXTRACT(field, x)",
        )?;
        let field = match field {
            ast::DateTimeField::Custom(id) => ident(id).value,
            ast::DateTimeField::Week(Some(_)) => return Err(unsupported("EXTRACT(WEEK(day))")),
            other => other.to_string().to_ascii_lowercase(),
        };
        let args = vec![bc::Expr::Literal(Literal::String(field)), self.expr(expr)?];
        Ok(std_call("date_part", args))
    }

    /// `CEIL(x)` / `FLOOR(x)`.
    pub(crate) fn ceil_floor(
        &mut self,
        name: &str,
        expr: &ast::Expr,
        field: &ast::CeilFloorKind,
    ) -> Result<bc::Expr> {
        match field {
            ast::CeilFloorKind::DateTimeField(ast::DateTimeField::NoDateTime) => {
                let args = vec![self.expr(expr)?];
                Ok(std_call(name, args))
            }
            _ => Err(unsupported(format!("{name} with a second argument"))),
        }
    }

    /// `SUBSTRING(x FROM a FOR b)` / `substring(x, a, b)` → `std.substring(x, a[, b])`.
    pub(crate) fn substring(
        &mut self,
        expr: &ast::Expr,
        from: &Option<Box<ast::Expr>>,
        count: &Option<Box<ast::Expr>>,
    ) -> Result<bc::Expr> {
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
    pub(crate) fn trim(
        &mut self,
        trim_where: &Option<ast::TrimWhereField>,
        trim_what: &Option<Box<ast::Expr>>,
        expr: &ast::Expr,
        trim_characters: &Option<Vec<ast::Expr>>,
    ) -> Result<bc::Expr> {
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

/// The namespace and lower-case name of a called function.
fn function_name(name: &ast::ObjectName) -> Result<(&'static str, String)> {
    let parts = super::object_name(name)?;
    match parts.as_slice() {
        [f] => Ok((STD, f.value.to_ascii_lowercase())),
        [schema, f] if schema.value.eq_ignore_ascii_case(MYSQL) => {
            Ok((MYSQL, f.value.to_ascii_lowercase()))
        }
        _ => Err(unsupported(format!("function schema in {name}"))),
    }
}
