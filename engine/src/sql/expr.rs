//! Bound expressions and their evaluation.
//!
//! The binder turns bytecode [`rosetta_bytecode::Expr`] (names) into [`BExpr`] (column
//! positions, typed constants, resolved functions). Evaluation is a plain tree walk over a
//! row; subqueries are planned once and run per outer row when correlated.

use std::cmp::Ordering;
use std::fmt;

use rosetta_bytecode::{DataType, Semantics};
use rosetta_types::cast::{cast, CastMode};
use rosetta_types::ops::{self, ArithOp};
use rosetta_types::Value;

use super::exec::ExecCtx;
use super::functions::Func;
use super::plan::Plan;
use crate::error::{Error, Result};

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
}

impl CmpOp {
    fn test(self, o: Ordering) -> bool {
        match self {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::NotEq => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::LtEq => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::GtEq => o != Ordering::Less,
        }
    }

    /// The operator with its operands swapped (`a < b` ⇔ `b > a`).
    pub fn flip(self) -> Self {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::LtEq => CmpOp::GtEq,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::GtEq => CmpOp::LtEq,
            o => o,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::NotEq => "<>",
            CmpOp::Lt => "<",
            CmpOp::LtEq => "<=",
            CmpOp::Gt => ">",
            CmpOp::GtEq => ">=",
        }
    }
}

/// A subquery, planned once.
#[derive(Debug, Clone, PartialEq)]
pub struct SubPlan {
    pub plan: Box<Plan>,
    /// True if the subquery refers to columns of an enclosing query.
    pub correlated: bool,
}

/// A bound expression.
#[derive(Debug, Clone, PartialEq)]
pub enum BExpr {
    /// Column `i` of the current row.
    Column(usize),
    /// Column `i` of the row `depth` levels out (correlated subqueries), 1 = parent.
    Outer {
        depth: usize,
        index: usize,
    },
    Const(Value),
    /// Parameter `i` (0-based), cast to the type the statement was prepared with.
    Param(usize),
    Not(Box<BExpr>),
    Neg(Box<BExpr>),
    And(Box<BExpr>, Box<BExpr>),
    Or(Box<BExpr>, Box<BExpr>),
    Cmp(CmpOp, Box<BExpr>, Box<BExpr>),
    Arith(ArithOp, Box<BExpr>, Box<BExpr>),
    Concat(Box<BExpr>, Box<BExpr>),
    Regex {
        expr: Box<BExpr>,
        pattern: Box<BExpr>,
        case_insensitive: bool,
        negated: bool,
    },
    IsNull(Box<BExpr>, bool),
    IsDistinct(Box<BExpr>, Box<BExpr>, bool),
    IsBool {
        expr: Box<BExpr>,
        value: bool,
        negated: bool,
    },
    InList {
        expr: Box<BExpr>,
        list: Vec<BExpr>,
        negated: bool,
    },
    InSubquery {
        expr: Box<BExpr>,
        sub: SubPlan,
        negated: bool,
    },
    Exists {
        sub: SubPlan,
        negated: bool,
    },
    Subquery(SubPlan),
    Like {
        expr: Box<BExpr>,
        pattern: Box<BExpr>,
        escape: Option<Box<BExpr>>,
        negated: bool,
        case_insensitive: bool,
    },
    Case {
        operand: Option<Box<BExpr>>,
        branches: Vec<(BExpr, BExpr)>,
        else_result: Option<Box<BExpr>>,
    },
    Cast(Box<BExpr>, DataType),
    Call(Func, Vec<BExpr>),
    /// Placeholder for aggregate `i` while binding a grouped query (never evaluated).
    AggRef(usize),
    /// `ARRAY[a, b, …]`, elements already coerced to the array's element type.
    Array(Vec<BExpr>),
    /// `ARRAY(subquery)`: the subquery's first column, in row order.
    ArraySubquery(SubPlan),
    /// `left op ANY (right)` (`all` = false) or `left op ALL (right)` over an array.
    AnyAll {
        op: CmpOp,
        left: Box<BExpr>,
        right: Box<BExpr>,
        all: bool,
    },
    /// `array[index]`, 1-based; NULL when out of range.
    Subscript(Box<BExpr>, Box<BExpr>),
}

impl BExpr {
    /// Boxes an expression (short helper for the binder).
    pub fn boxed(self) -> Box<BExpr> {
        Box::new(self)
    }

    /// Visits every node, children first.
    pub fn any(&self, f: &mut dyn FnMut(&BExpr) -> bool) -> bool {
        if f(self) {
            return true;
        }
        let mut any = |e: &BExpr| e.any(f);
        match self {
            BExpr::Column(_)
            | BExpr::Outer { .. }
            | BExpr::Const(_)
            | BExpr::Param(_)
            | BExpr::AggRef(_)
            | BExpr::Exists { .. }
            | BExpr::Subquery(_)
            | BExpr::ArraySubquery(_) => false,
            BExpr::Not(a) | BExpr::Neg(a) | BExpr::IsNull(a, _) | BExpr::Cast(a, _) => any(a),
            BExpr::IsBool { expr, .. } | BExpr::InSubquery { expr, .. } => any(expr),
            BExpr::And(a, b)
            | BExpr::Or(a, b)
            | BExpr::Cmp(_, a, b)
            | BExpr::Arith(_, a, b)
            | BExpr::Concat(a, b)
            | BExpr::IsDistinct(a, b, _) => any(a) || any(b),
            BExpr::Regex { expr, pattern, .. } => any(expr) || any(pattern),
            BExpr::InList { expr, list, .. } => any(expr) || list.iter().any(any),
            BExpr::Like {
                expr,
                pattern,
                escape,
                ..
            } => any(expr) || any(pattern) || escape.as_deref().is_some_and(any),
            BExpr::Case {
                operand,
                branches,
                else_result,
            } => {
                operand.as_deref().is_some_and(&mut any)
                    || branches.iter().any(|(w, t)| any(w) || any(t))
                    || else_result.as_deref().is_some_and(any)
            }
            BExpr::Call(_, args) | BExpr::Array(args) => args.iter().any(any),
            BExpr::AnyAll { left, right, .. } => any(left) || any(right),
            BExpr::Subscript(a, i) => any(a) || any(i),
        }
    }

    /// Rewrites every node bottom-up with `f`.
    pub fn transform(self, f: &mut dyn FnMut(BExpr) -> Result<BExpr>) -> Result<BExpr> {
        let mut t = |e: Box<BExpr>| -> Result<Box<BExpr>> { Ok(Box::new(e.transform(f)?)) };
        let e = match self {
            BExpr::Not(a) => BExpr::Not(t(a)?),
            BExpr::Neg(a) => BExpr::Neg(t(a)?),
            BExpr::IsNull(a, n) => BExpr::IsNull(t(a)?, n),
            BExpr::Cast(a, ty) => BExpr::Cast(t(a)?, ty),
            BExpr::IsBool {
                expr,
                value,
                negated,
            } => BExpr::IsBool {
                expr: t(expr)?,
                value,
                negated,
            },
            BExpr::InSubquery { expr, sub, negated } => BExpr::InSubquery {
                expr: t(expr)?,
                sub,
                negated,
            },
            BExpr::And(a, b) => BExpr::And(t(a)?, t(b)?),
            BExpr::Or(a, b) => BExpr::Or(t(a)?, t(b)?),
            BExpr::Cmp(op, a, b) => BExpr::Cmp(op, t(a)?, t(b)?),
            BExpr::Arith(op, a, b) => BExpr::Arith(op, t(a)?, t(b)?),
            BExpr::Concat(a, b) => BExpr::Concat(t(a)?, t(b)?),
            BExpr::IsDistinct(a, b, n) => BExpr::IsDistinct(t(a)?, t(b)?, n),
            BExpr::Regex {
                expr,
                pattern,
                case_insensitive,
                negated,
            } => BExpr::Regex {
                expr: t(expr)?,
                pattern: t(pattern)?,
                case_insensitive,
                negated,
            },
            BExpr::InList {
                expr,
                list,
                negated,
            } => BExpr::InList {
                expr: t(expr)?,
                list: list
                    .into_iter()
                    .map(|e| e.transform(f))
                    .collect::<Result<_>>()?,
                negated,
            },
            BExpr::Like {
                expr,
                pattern,
                escape,
                negated,
                case_insensitive,
            } => BExpr::Like {
                expr: t(expr)?,
                pattern: t(pattern)?,
                escape: escape.map(&mut t).transpose()?,
                negated,
                case_insensitive,
            },
            BExpr::Case {
                operand,
                branches,
                else_result,
            } => {
                let operand = match operand {
                    Some(o) => Some(Box::new(o.transform(f)?)),
                    None => None,
                };
                let mut bs = Vec::with_capacity(branches.len());
                for (w, th) in branches {
                    bs.push((w.transform(f)?, th.transform(f)?));
                }
                let else_result = match else_result {
                    Some(e) => Some(Box::new(e.transform(f)?)),
                    None => None,
                };
                BExpr::Case {
                    operand,
                    branches: bs,
                    else_result,
                }
            }
            BExpr::Call(func, args) => BExpr::Call(
                func,
                args.into_iter()
                    .map(|e| e.transform(f))
                    .collect::<Result<_>>()?,
            ),
            BExpr::Array(items) => BExpr::Array(
                items
                    .into_iter()
                    .map(|e| e.transform(f))
                    .collect::<Result<_>>()?,
            ),
            BExpr::AnyAll {
                op,
                left,
                right,
                all,
            } => BExpr::AnyAll {
                op,
                left: t(left)?,
                right: t(right)?,
                all,
            },
            BExpr::Subscript(a, i) => BExpr::Subscript(t(a)?, t(i)?),
            other => other,
        };
        f(e)
    }

    /// Evaluates the expression on `row`.
    pub fn eval(&self, row: &[Value], ctx: &ExecCtx) -> Result<Value> {
        Ok(match self {
            BExpr::Column(i) => row
                .get(*i)
                .cloned()
                .ok_or_else(|| Error::Internal(format!("column {i} out of range")))?,
            BExpr::Outer { depth, index } => ctx.outer(*depth, *index)?,
            BExpr::Const(v) => v.clone(),
            BExpr::Param(i) => ctx.params.get(*i).cloned().ok_or_else(|| {
                Error::InvalidParameter(format!("no value for parameter ${}", i + 1))
            })?,
            BExpr::Not(a) => match a.eval(row, ctx)?.truth() {
                Some(b) => Value::Bool(!b),
                None => Value::Null,
            },
            BExpr::Neg(a) => ops::negate(&a.eval(row, ctx)?)?,
            BExpr::And(a, b) => {
                let l = a.eval(row, ctx)?.truth();
                if l == Some(false) {
                    return Ok(Value::Bool(false));
                }
                match (l, b.eval(row, ctx)?.truth()) {
                    (_, Some(false)) => Value::Bool(false),
                    (Some(true), Some(true)) => Value::Bool(true),
                    _ => Value::Null,
                }
            }
            BExpr::Or(a, b) => {
                let l = a.eval(row, ctx)?.truth();
                if l == Some(true) {
                    return Ok(Value::Bool(true));
                }
                match (l, b.eval(row, ctx)?.truth()) {
                    (_, Some(true)) => Value::Bool(true),
                    (Some(false), Some(false)) => Value::Bool(false),
                    _ => Value::Null,
                }
            }
            BExpr::Cmp(op, a, b) => {
                let (l, r) = (a.eval(row, ctx)?, b.eval(row, ctx)?);
                match ops::compare(&l, &r)? {
                    Some(o) => Value::Bool(op.test(o)),
                    None => Value::Null,
                }
            }
            BExpr::Arith(op, a, b) => {
                ops::arith(*op, &a.eval(row, ctx)?, &b.eval(row, ctx)?, ctx.semantics)?
            }
            BExpr::Concat(a, b) => {
                ops::concat(&a.eval(row, ctx)?, &b.eval(row, ctx)?, ctx.semantics)?
            }
            BExpr::Regex {
                expr,
                pattern,
                case_insensitive,
                negated,
            } => match (expr.eval(row, ctx)?, pattern.eval(row, ctx)?) {
                (Value::Null, _) | (_, Value::Null) => Value::Null,
                (Value::Text(s), Value::Text(p)) => {
                    Value::Bool(ops::regex_match(&s, &p, *case_insensitive)? != *negated)
                }
                (a, b) => {
                    return Err(Error::DatatypeMismatch(format!(
                        "regular expression needs text, got {a:?} and {b:?}"
                    )))
                }
            },
            BExpr::IsNull(a, negated) => Value::Bool(a.eval(row, ctx)?.is_null() != *negated),
            BExpr::IsDistinct(a, b, negated) => {
                let (l, r) = (a.eval(row, ctx)?, b.eval(row, ctx)?);
                let distinct = match (l.is_null(), r.is_null()) {
                    (true, true) => false,
                    (true, false) | (false, true) => true,
                    _ => ops::compare(&l, &r)? != Some(Ordering::Equal),
                };
                Value::Bool(distinct != *negated)
            }
            BExpr::IsBool {
                expr,
                value,
                negated,
            } => {
                let is = expr.eval(row, ctx)?.truth() == Some(*value);
                Value::Bool(is != *negated)
            }
            BExpr::InList {
                expr,
                list,
                negated,
            } => {
                let v = expr.eval(row, ctx)?;
                // NULL IN (...) is NULL whatever the list holds; like PostgreSQL we do not
                // evaluate the list then (so `NULL IN (1/0)` is NULL, not an error).
                if v.is_null() {
                    return Ok(Value::Null);
                }
                let mut candidates = Vec::with_capacity(list.len());
                for e in list {
                    candidates.push(e.eval(row, ctx)?);
                }
                in_values(&v, candidates.iter(), *negated)?
            }
            BExpr::InSubquery { expr, sub, negated } => {
                let v = expr.eval(row, ctx)?;
                let rows = ctx.run_subquery(sub, row)?;
                in_values(&v, rows.iter().filter_map(|r| r.first()), *negated)?
            }
            BExpr::Exists { sub, negated } => {
                let rows = ctx.run_subquery(sub, row)?;
                Value::Bool(rows.is_empty() == *negated)
            }
            BExpr::Subquery(sub) => {
                let rows = ctx.run_subquery(sub, row)?;
                match rows.len() {
                    0 => Value::Null,
                    1 => rows[0].first().cloned().unwrap_or(Value::Null),
                    _ => return Err(Error::CardinalityViolation),
                }
            }
            BExpr::Like {
                expr,
                pattern,
                escape,
                negated,
                case_insensitive,
            } => {
                let v = expr.eval(row, ctx)?;
                let p = pattern.eval(row, ctx)?;
                let esc = match escape {
                    Some(e) => match e.eval(row, ctx)? {
                        Value::Null => return Ok(Value::Null),
                        Value::Text(s) => {
                            let mut chars = s.chars();
                            match (chars.next(), chars.next()) {
                                (c, None) => c,
                                _ => return Err(rosetta_types::TypeError::InvalidEscape.into()),
                            }
                        }
                        _ => return Err(rosetta_types::TypeError::InvalidEscape.into()),
                    },
                    None => Some('\\'),
                };
                match (v, p) {
                    (Value::Null, _) | (_, Value::Null) => Value::Null,
                    (v, p) => {
                        let s = rosetta_types::text::to_text(&v).unwrap_or_default();
                        let p = rosetta_types::text::to_text(&p).unwrap_or_default();
                        Value::Bool(ops::like(&s, &p, esc, *case_insensitive)? != *negated)
                    }
                }
            }
            BExpr::Case {
                operand,
                branches,
                else_result,
            } => {
                let op = operand.as_ref().map(|o| o.eval(row, ctx)).transpose()?;
                for (w, t) in branches {
                    let hit = match &op {
                        Some(o) => ops::compare(o, &w.eval(row, ctx)?)? == Some(Ordering::Equal),
                        None => w.eval(row, ctx)?.truth() == Some(true),
                    };
                    if hit {
                        return t.eval(row, ctx);
                    }
                }
                match else_result {
                    Some(e) => e.eval(row, ctx)?,
                    None => Value::Null,
                }
            }
            BExpr::Cast(a, ty) => cast(&a.eval(row, ctx)?, ty, CastMode::Explicit)?,
            // COALESCE evaluates its arguments lazily, left to right.
            BExpr::Call(Func::Coalesce, args) => {
                for a in args {
                    let v = a.eval(row, ctx)?;
                    if !v.is_null() {
                        return Ok(v);
                    }
                }
                Value::Null
            }
            BExpr::Call(f, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, ctx)?);
                }
                f.call(&vals, ctx)?
            }
            BExpr::AggRef(_) => return Err(Error::Internal("unbound aggregate".into())),
            BExpr::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for e in items {
                    out.push(e.eval(row, ctx)?);
                }
                Value::Array(out)
            }
            BExpr::ArraySubquery(sub) => Value::Array(
                ctx.run_subquery(sub, row)?
                    .into_iter()
                    .map(|r| r.into_iter().next().unwrap_or(Value::Null))
                    .collect(),
            ),
            BExpr::AnyAll {
                op,
                left,
                right,
                all,
            } => {
                let l = left.eval(row, ctx)?;
                match right.eval(row, ctx)? {
                    Value::Null => Value::Null,
                    Value::Array(items) => any_all(*op, &l, &items, *all)?,
                    other => {
                        return Err(Error::DatatypeMismatch(format!(
                            "op ANY/ALL (array) requires array on right side, got {}",
                            value_type_name(&other)
                        )))
                    }
                }
            }
            BExpr::Subscript(a, i) => match (a.eval(row, ctx)?, i.eval(row, ctx)?) {
                (Value::Null, _) | (_, Value::Null) => Value::Null,
                (Value::Array(items), index) => {
                    let Some(index) = index.as_i64() else {
                        return Err(Error::DatatypeMismatch(
                            "array subscript must have type integer".into(),
                        ));
                    };
                    usize::try_from(index)
                        .ok()
                        .and_then(|i| i.checked_sub(1))
                        .and_then(|i| items.into_iter().nth(i))
                        .unwrap_or(Value::Null)
                }
                (other, _) => {
                    return Err(Error::DatatypeMismatch(format!(
                        "cannot subscript type {} because it does not support subscripting",
                        value_type_name(&other)
                    )))
                }
            },
        })
    }

    /// Evaluates a predicate: true only for SQL TRUE.
    pub fn test(&self, row: &[Value], ctx: &ExecCtx) -> Result<bool> {
        Ok(self.eval(row, ctx)?.truth() == Some(true))
    }
}

/// The SQL type name of a value, for messages.
fn value_type_name(v: &Value) -> String {
    v.data_type()
        .map(|t| rosetta_types::type_name(&t))
        .unwrap_or_else(|| "unknown".into())
}

/// `l op ANY/ALL (items)` with SQL's three-valued logic: ANY is true as soon as one
/// comparison is true, ALL false as soon as one is false; otherwise a NULL comparison
/// makes the answer NULL. An empty array gives false for ANY and true for ALL.
fn any_all(op: CmpOp, l: &Value, items: &[Value], all: bool) -> Result<Value> {
    let mut saw_null = false;
    for item in items {
        match ops::compare(l, item)? {
            Some(o) if op.test(o) != all => return Ok(Value::Bool(!all)),
            Some(_) => {}
            None => saw_null = true,
        }
    }
    Ok(if saw_null {
        Value::Null
    } else {
        Value::Bool(all)
    })
}

fn in_values<'a>(
    v: &Value,
    candidates: impl Iterator<Item = &'a Value>,
    negated: bool,
) -> Result<Value> {
    if v.is_null() {
        return Ok(Value::Null);
    }
    let mut saw_null = false;
    for c in candidates {
        match ops::compare(v, c)? {
            Some(Ordering::Equal) => return Ok(Value::Bool(!negated)),
            None => saw_null = true,
            _ => {}
        }
    }
    Ok(if saw_null {
        Value::Null
    } else {
        Value::Bool(negated)
    })
}

impl fmt::Display for BExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BExpr::Column(i) => write!(f, "r[{i}]"),
            BExpr::Outer { depth, index } => write!(f, "outer{depth}[{index}]"),
            BExpr::Const(v) => match rosetta_types::text::to_text(v) {
                Some(s) if matches!(v, Value::Text(_)) => write!(f, "'{s}'"),
                Some(s) => write!(f, "{s}"),
                None => write!(f, "NULL"),
            },
            BExpr::Param(i) => write!(f, "${}", i + 1),
            BExpr::Not(a) => write!(f, "NOT {a}"),
            BExpr::Neg(a) => write!(f, "-{a}"),
            BExpr::And(a, b) => write!(f, "({a} AND {b})"),
            BExpr::Or(a, b) => write!(f, "({a} OR {b})"),
            BExpr::Cmp(op, a, b) => write!(f, "{a} {} {b}", op.symbol()),
            BExpr::Arith(op, a, b) => {
                let s = match op {
                    ArithOp::Add => "+",
                    ArithOp::Sub => "-",
                    ArithOp::Mul => "*",
                    ArithOp::Div => "/",
                    ArithOp::Mod => "%",
                };
                write!(f, "({a} {s} {b})")
            }
            BExpr::Concat(a, b) => write!(f, "({a} || {b})"),
            BExpr::Regex { expr, pattern, .. } => write!(f, "{expr} ~ {pattern}"),
            BExpr::IsNull(a, n) => write!(f, "{a} IS {}NULL", if *n { "NOT " } else { "" }),
            BExpr::IsDistinct(a, b, n) => write!(
                f,
                "{a} IS {}DISTINCT FROM {b}",
                if *n { "NOT " } else { "" }
            ),
            BExpr::IsBool { expr, value, .. } => write!(f, "{expr} IS {value}"),
            BExpr::InList { expr, list, .. } => {
                write!(f, "{expr} IN (")?;
                for (i, e) in list.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{e}")?;
                }
                write!(f, ")")
            }
            BExpr::InSubquery { expr, .. } => write!(f, "{expr} IN (subquery)"),
            BExpr::Exists { .. } => write!(f, "EXISTS (subquery)"),
            BExpr::Subquery(_) => write!(f, "(subquery)"),
            BExpr::Like { expr, pattern, .. } => write!(f, "{expr} LIKE {pattern}"),
            BExpr::Case { .. } => write!(f, "CASE …"),
            BExpr::Cast(a, ty) => write!(f, "CAST({a} AS {})", rosetta_types::type_name(ty)),
            BExpr::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, e) in args.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{e}")?;
                }
                write!(f, ")")
            }
            BExpr::AggRef(i) => write!(f, "agg[{i}]"),
            BExpr::Array(items) => {
                write!(f, "ARRAY[")?;
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{e}")?;
                }
                write!(f, "]")
            }
            BExpr::ArraySubquery(_) => write!(f, "ARRAY(subquery)"),
            BExpr::AnyAll {
                op,
                left,
                right,
                all,
            } => write!(
                f,
                "{left} {} {}({right})",
                op.symbol(),
                if *all { "ALL" } else { "ANY" }
            ),
            BExpr::Subscript(a, i) => write!(f, "({a})[{i}]"),
        }
    }
}

/// Shorthand so the binder can name the semantics type without importing it.
pub type Sem = Semantics;
