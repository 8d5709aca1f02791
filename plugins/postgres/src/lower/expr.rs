//! The PostgreSQL-only parts of scalar expressions; the rest is shared
//! ([`rosetta_sql_lower::LowerExpr`]).

use rosetta_bytecode::{self as bc, CompileError};

use super::{Lowerer, Result};

impl Lowerer {
    /// `$n`: a 1-based positional parameter.
    pub(crate) fn param(&mut self, placeholder: &str) -> Result<bc::Expr> {
        let index = placeholder
            .strip_prefix('$')
            .and_then(|n| n.parse::<u16>().ok())
            .filter(|n| *n > 0);
        match index {
            Some(n) => {
                self.max_param = self.max_param.max(n);
                Ok(bc::Expr::Param(n))
            }
            None if placeholder.starts_with('$') => Err(CompileError {
                sqlstate: "42P02".into(),
                message: format!("there is no parameter {placeholder}"),
                position: None,
            }),
            None => Err(CompileError::syntax(format!(
                "syntax error at or near \"{placeholder}\""
            ))),
        }
    }
}
