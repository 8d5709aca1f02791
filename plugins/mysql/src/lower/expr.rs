//! The MySQL-only parts of scalar expressions; the rest is shared
//! ([`rosetta_sql_lower::LowerExpr`]).

use rosetta_bytecode::{self as bc, BinaryOp, CompileError, Literal};
use sqlparser::ast;

use super::{unsupported, Lowerer, Result};

impl Lowerer {
    /// MySQL's `@@variable` references and the refused `@user` variables.
    pub(crate) fn special_identifier(&mut self, expr: &ast::Expr) -> Option<Result<bc::Expr>> {
        use ast::Expr as E;
        match expr {
            E::Identifier(id) if id.quote_style.is_none() && id.value.starts_with("@@") => {
                Some(variable_name(&[id]).map(super::function::system_variable))
            }
            E::CompoundIdentifier(ids)
                if ids
                    .first()
                    .is_some_and(|id| id.quote_style.is_none() && id.value.starts_with("@@")) =>
            {
                Some(
                    variable_name(&ids.iter().collect::<Vec<_>>())
                        .map(super::function::system_variable),
                )
            }
            E::Identifier(id) if id.quote_style.is_none() && id.value.starts_with('@') => {
                Some(Err(unsupported("user variables (@name)")))
            }
            _ => None,
        }
    }

    /// `?`: the next 1-based positional parameter (numbered left to right).
    pub(crate) fn param(&mut self, placeholder: &str) -> Result<bc::Expr> {
        if placeholder != "?" {
            return Err(CompileError::syntax(format!(
                "syntax error near '{placeholder}'"
            )));
        }
        self.max_param = self
            .max_param
            .checked_add(1)
            .ok_or_else(|| unsupported("more than 65535 parameters"))?;
        Ok(bc::Expr::Param(self.max_param))
    }
}

/// The name in `@@name`, `@@session.name` or `@@local.name` (`@@global.` is refused:
/// Rosetta has no global MySQL variables).
fn variable_name<'a>(parts: &[&'a ast::Ident]) -> Result<&'a str> {
    let first = parts
        .first()
        .map(|id| id.value.trim_start_matches('@'))
        .unwrap_or("");
    match parts {
        [_] => Ok(first),
        [_, name]
            if first.eq_ignore_ascii_case("session") || first.eq_ignore_ascii_case("local") =>
        {
            Ok(name.value.as_str())
        }
        [_, _] if first.eq_ignore_ascii_case("global") => Err(unsupported("@@global variables")),
        _ => Err(unsupported("this system variable reference")),
    }
}

/// An operand of `AND`/`OR`/`||` as a truth value: MySQL has no boolean type, so
/// numbers (and anything not already a predicate) are tested as `x <> 0` — written as a
/// cast to boolean, which is a no-op for predicates the engine already types boolean.
pub(crate) fn truth(e: bc::Expr) -> bc::Expr {
    let is_predicate = matches!(
        &e,
        bc::Expr::Literal(Literal::Boolean(_) | Literal::Null)
            | bc::Expr::IsNull { .. }
            | bc::Expr::IsDistinctFrom { .. }
            | bc::Expr::IsBool { .. }
            | bc::Expr::InList { .. }
            | bc::Expr::InSubquery { .. }
            | bc::Expr::Exists { .. }
            | bc::Expr::Between { .. }
            | bc::Expr::Like { .. }
            | bc::Expr::AnyAll { .. }
            | bc::Expr::Unary {
                op: bc::UnaryOp::Not,
                ..
            }
    ) || matches!(
        &e,
        bc::Expr::Binary {
            op: BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq
                | BinaryOp::And
                | BinaryOp::Or
                | BinaryOp::RegexMatch { .. },
            ..
        }
    );
    if is_predicate {
        e
    } else {
        bc::Expr::Cast {
            expr: Box::new(e),
            data_type: bc::DataType::Boolean,
        }
    }
}
