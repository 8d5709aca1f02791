//! Firebird's functions: the niladic context variables, `GEN_ID`, `NEXT VALUE FOR`,
//! `IIF`, and the names Firebird gives unaliased select-list expressions. Ordinary calls
//! are lowered by the shared [`rosetta_sql_lower::LowerFunction`].

use std::ops::ControlFlow;

use rosetta_bytecode as bc;
use rosetta_sql_lower::{DialectLowering, LowerExpr, Result, STD};
use sqlparser::ast;

use super::{unsupported, Lowerer};
use crate::dialect::{is_marker, CONTAINING, NEXT_VALUE_FOR, STARTING_WITH};

/// Context variables Firebird lets you use without parentheses, with the standard
/// function each one calls.
const NILADIC: &[(&str, &str)] = &[
    ("current_date", "current_date"),
    ("current_time", "current_time"),
    ("current_timestamp", "current_timestamp"),
    ("localtime", "localtime"),
    ("localtimestamp", "localtimestamp"),
    ("current_user", "current_user"),
    ("user", "current_user"),
];

/// The standard function a context variable such as `CURRENT_DATE` calls.
pub(crate) fn niladic_name(word: &str) -> Option<&'static str> {
    NILADIC
        .iter()
        .find(|(n, _)| *n == word)
        .map(|(_, canonical)| *canonical)
}

/// The namespace and lower-case name of a called function (no schemas in Firebird).
pub(crate) fn function_name(name: &ast::ObjectName) -> Result<(&'static str, String)> {
    match name.0.as_slice() {
        [ast::ObjectNamePart::Identifier(id)] if id.quote_style.is_none() => {
            Ok((STD, id.value.to_ascii_lowercase()))
        }
        _ => Err(unsupported(format!("function {name}"))),
    }
}

/// The plain expressions of a call's argument list.
fn plain_args(args: &ast::FunctionArguments) -> Option<Vec<&ast::Expr>> {
    let ast::FunctionArguments::List(list) = args else {
        return None;
    };
    if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
        return None;
    }
    list.args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

/// A sequence (generator) named by an identifier argument.
fn sequence_name(expr: &ast::Expr) -> Result<bc::ObjectName> {
    match expr {
        ast::Expr::Identifier(id) => Ok(vec![super::ident(id)]),
        ast::Expr::CompoundIdentifier(ids) => Ok(ids.iter().map(super::ident).collect()),
        _ => Err(unsupported("a generator name that is not an identifier")),
    }
}

/// `NEXT VALUE FOR seq` (parsed by the dialect into a marker call).
pub(crate) fn next_value_for(expr: &ast::Expr) -> Option<Result<bc::Expr>> {
    let ast::Expr::Function(f) = expr else {
        return None;
    };
    let [ast::ObjectNamePart::Identifier(id)] = f.name.0.as_slice() else {
        return None;
    };
    if !is_marker(id, NEXT_VALUE_FOR) {
        return None;
    }
    Some(match plain_args(&f.args).as_deref() {
        Some([name]) => sequence_name(name).map(|sequence| bc::Expr::NextValue {
            sequence,
            step: None,
        }),
        _ => Err(unsupported("this NEXT VALUE FOR")),
    })
}

impl Lowerer {
    /// `a STARTING WITH b` → `left(a, char_length(b)) = b` (case-sensitive prefix);
    /// `a CONTAINING b` → `strpos(upper(a), upper(b)) > 0` (case-insensitive
    /// substring). Both are NULL when either side is NULL, as in Firebird.
    pub(crate) fn string_predicate(&mut self, expr: &ast::Expr) -> Option<Result<bc::Expr>> {
        let ast::Expr::Function(f) = expr else {
            return None;
        };
        let [ast::ObjectNamePart::Identifier(id)] = f.name.0.as_slice() else {
            return None;
        };
        let starting = is_marker(id, STARTING_WITH);
        if !starting && !is_marker(id, CONTAINING) {
            return None;
        }
        let args = plain_args(&f.args);
        let Some([value, pattern]) = args.as_deref() else {
            return Some(Err(unsupported("this STARTING WITH / CONTAINING")));
        };
        Some(self.string_predicate_parts(starting, value, pattern))
    }

    fn string_predicate_parts(
        &mut self,
        starting: bool,
        value: &ast::Expr,
        pattern: &ast::Expr,
    ) -> Result<bc::Expr> {
        let value = self.expr(value)?;
        let pattern = self.expr(pattern)?;
        Ok(if starting {
            let len = Self::std_call("char_length", vec![pattern.clone()]);
            bc::Expr::Binary {
                op: bc::BinaryOp::Eq,
                left: Box::new(Self::std_call("left", vec![value, len])),
                right: Box::new(pattern),
            }
        } else {
            let found = Self::std_call(
                "strpos",
                vec![
                    Self::std_call("upper", vec![value]),
                    Self::std_call("upper", vec![pattern]),
                ],
            );
            bc::Expr::Binary {
                op: bc::BinaryOp::Gt,
                left: Box::new(found),
                right: Box::new(bc::Expr::Literal(bc::Literal::Integer(0))),
            }
        })
    }

    /// `GEN_ID(generator, step)` and `IIF(condition, then, else)`.
    pub(crate) fn dialect_call(
        &mut self,
        namespace: &str,
        fname: String,
        args: &ast::FunctionArguments,
    ) -> Result<ControlFlow<bc::Expr, String>> {
        if namespace != STD {
            return Ok(ControlFlow::Continue(fname));
        }
        match fname.as_str() {
            "gen_id" => {
                let args = plain_args(args);
                let Some([name, step]) = args.as_deref() else {
                    return Err(unsupported("GEN_ID without exactly two arguments"));
                };
                let sequence = sequence_name(name)?;
                let step = self.expr(step)?;
                Ok(ControlFlow::Break(bc::Expr::NextValue {
                    sequence,
                    step: Some(Box::new(step)),
                }))
            }
            "iif" => {
                let args = plain_args(args);
                let Some([cond, then, otherwise]) = args.as_deref() else {
                    return Err(unsupported("IIF without exactly three arguments"));
                };
                let branch = (self.expr(cond)?, self.expr(then)?);
                let else_result = Some(Box::new(self.expr(otherwise)?));
                Ok(ControlFlow::Break(bc::Expr::Case {
                    operand: None,
                    branches: vec![branch],
                    else_result,
                }))
            }
            _ => Ok(ControlFlow::Continue(fname)),
        }
    }
}

/// The name Firebird gives an unaliased select-list expression (`COUNT`, `ADD`,
/// `CONSTANT`, `CONCATENATION` …); `None` for a plain column, which keeps its own name.
pub(crate) fn column_name(expr: &ast::Expr) -> Option<bc::Ident> {
    use ast::Expr as E;
    let name = match expr {
        E::Identifier(id) if id.quote_style.is_none() => {
            match Lowerer::niladic_name(&id.value.to_ascii_lowercase()) {
                Some(_) => id.value.to_ascii_uppercase(),
                None => return None,
            }
        }
        E::Identifier(_) | E::CompoundIdentifier(_) => return None,
        E::Nested(inner) => return column_name(inner),
        E::Function(f) => match f.name.0.as_slice() {
            [ast::ObjectNamePart::Identifier(id)] if is_marker(id, NEXT_VALUE_FOR) => {
                "NEXT_VALUE".into()
            }
            [ast::ObjectNamePart::Identifier(id)] => id.value.to_ascii_uppercase(),
            _ => return None,
        },
        E::BinaryOp { op, .. } => match op {
            ast::BinaryOperator::Plus => "ADD",
            ast::BinaryOperator::Minus => "SUBTRACT",
            ast::BinaryOperator::Multiply => "MULTIPLY",
            ast::BinaryOperator::Divide => "DIVIDE",
            ast::BinaryOperator::StringConcat => "CONCATENATION",
            _ => return None,
        }
        .into(),
        E::Value(_) | E::TypedString { .. } => "CONSTANT".into(),
        E::Cast { .. } => "CAST".into(),
        E::Case { .. } => "CASE".into(),
        E::Substring { .. } => "SUBSTRING".into(),
        E::Trim { .. } => "TRIM".into(),
        E::Extract { .. } => "EXTRACT".into(),
        _ => return None,
    };
    Some(bc::Ident::quoted(name))
}
