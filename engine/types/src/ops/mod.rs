//! SQL operators on values, with PostgreSQL semantics (NULL in → NULL out, overflow and
//! division-by-zero errors carrying their SQLSTATE) and the dialect switches of
//! [`Semantics`](rosetta_bytecode::Semantics).
//!
//! * [`compare`] / [`sort_cmp`] — SQL comparison and the total order used for sorting.
//! * [`arith`] / [`negate`] / [`concat`] — arithmetic and `||`.
//! * [`like`] / [`regex_match`] — pattern matching.
//! * [`arith_result_type`] / [`common_type`] — the static types matching the above, for
//!   result column descriptions and CASE/UNION unification.

mod arith;
mod compare;
mod pattern;
mod types;

pub(crate) use arith::Width;
pub use arith::{arith, concat, negate};
pub use compare::{compare, sort_cmp};
pub use pattern::{compile_regex, like, regex_match};
pub use types::{arith_result_type, common_type};

use crate::{type_name, TypeError, Value};

/// The binary arithmetic operators; one enum so that the engine dispatches on data, not on
/// one function per operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (truncating or decimal per [`Semantics`](rosetta_bytecode::Semantics)).
    Div,
    /// `%` (sign of the dividend, as in PostgreSQL).
    Mod,
}

impl ArithOp {
    /// The SQL spelling, for "operator does not exist: integer + text" messages.
    pub fn symbol(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Mod => "%",
        }
    }
}

/// The PostgreSQL name of a value's type, `unknown` for an untyped NULL.
fn value_type_name(v: &Value) -> String {
    v.data_type()
        .map(|t| type_name(&t))
        .unwrap_or_else(|| "unknown".into())
}

/// "operator does not exist: integer = text".
fn no_operator(a: &Value, op: &str, b: &Value) -> TypeError {
    TypeError::NoOperator(format!(
        "{} {op} {}",
        value_type_name(a),
        value_type_name(b)
    ))
}
