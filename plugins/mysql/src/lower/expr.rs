//! The MySQL-only parts of scalar expressions; the rest is shared
//! ([`rosetta_sql_lower::LowerExpr`]).

use rosetta_bytecode::{self as bc, BinaryOp, CompileError, Literal};
use rosetta_sql_lower::LowerExpr;
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
            E::Value(v) => match &v.value {
                ast::Value::HexStringLiteral(hex) => Some(hex_bytes(hex).map(bytes)),
                _ => None,
            },
            E::Prefixed { prefix, value } => Some(introduced(prefix, value)),
            // `NOT x` tests x as a truth value (`NOT 1` is 0, `NOT 'a'` is 1).
            E::UnaryOp {
                op: ast::UnaryOperator::Not,
                expr,
            } => Some(self.expr(expr).map(|e| bc::Expr::Unary {
                op: bc::UnaryOp::Not,
                expr: Box::new(truth(e)),
            })),
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

/// A byte-string literal.
fn bytes(b: Vec<u8>) -> bc::Expr {
    bc::Expr::Literal(bc::Literal::Bytes(b))
}

/// The bytes of `X'…'` (an odd number of digits gets a leading 0, as in MySQL).
fn hex_bytes(hex: &str) -> Result<Vec<u8>> {
    let digits: Vec<u8> = hex
        .chars()
        .map(|c| {
            c.to_digit(16).map(|d| d as u8).ok_or_else(|| {
                CompileError::syntax(format!("invalid hexadecimal literal X'{hex}'"))
            })
        })
        .collect::<Result<_>>()?;
    let padded: Vec<u8> = if digits.len() % 2 == 1 {
        std::iter::once(0).chain(digits).collect()
    } else {
        digits
    };
    Ok(padded.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
}

/// A string with a character-set introducer: `_binary'…'` / `_binary X'…'` are byte
/// strings, `_utf8mb4'…'` (and `_utf8`) plain strings; other character sets are refused.
fn introduced(prefix: &ast::Ident, value: &ast::Expr) -> Result<bc::Expr> {
    let charset = prefix.value.to_ascii_lowercase();
    let literal = match value {
        ast::Expr::Value(v) => &v.value,
        _ => return Err(unsupported("this character-set introducer")),
    };
    let (text, hex) = match literal {
        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => (Some(s), None),
        ast::Value::HexStringLiteral(h) => (None, Some(h)),
        _ => return Err(unsupported("this character-set introducer")),
    };
    match (charset.as_str(), text, hex) {
        ("_binary", Some(s), _) => Ok(bytes(s.as_bytes().to_vec())),
        (_, _, Some(h)) if charset == "_binary" || charset.starts_with("_utf8") => {
            hex_bytes(h).map(bytes)
        }
        (c, Some(s), _) if c.starts_with("_utf8") => {
            Ok(bc::Expr::Literal(bc::Literal::String(s.clone())))
        }
        _ => Err(unsupported(format!(
            "the character set introducer {}",
            prefix.value
        ))),
    }
}
