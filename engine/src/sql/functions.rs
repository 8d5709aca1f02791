//! Scalar functions and aggregates, resolved by name at bind time.

use std::cmp::Ordering;

use rosetta_bytecode::{DataType, Semantics};
use rosetta_types::ops::{self, ArithOp};
use rosetta_types::text::to_text;
use rosetta_types::{Decimal, Value};

use super::exec::ExecCtx;
use crate::error::{Error, Result};

/// A scalar function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Coalesce,
    NullIf,
    Lower,
    Upper,
    Length,
    OctetLength,
    Substring,
    Abs,
    Round,
    Trunc,
    Floor,
    Ceil,
    Btrim,
    Ltrim,
    Rtrim,
    Replace,
    Concat,
    Strpos,
    Left,
    Right,
    Now,
    CurrentDate,
    Version,
    CurrentUser,
    CurrentDatabase,
    CurrentSchema,
    Greatest,
    Least,
    /// A virtual-catalog helper (`pg_catalog.pg_table_is_visible`, `format_type`, …),
    /// implemented in [`crate::vcat`].
    Catalog(crate::vcat::CatalogFn),
}

/// An aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

impl Agg {
    /// Resolves an aggregate name.
    pub fn lookup(name: &str) -> Option<Agg> {
        Some(match name {
            "count" => Agg::Count,
            "sum" => Agg::Sum,
            "avg" => Agg::Avg,
            "min" => Agg::Min,
            "max" => Agg::Max,
            _ => return None,
        })
    }

    /// The result type for an argument type (PostgreSQL's rules).
    pub fn result_type(self, arg: Option<&DataType>) -> DataType {
        let numeric = DataType::Numeric {
            precision: None,
            scale: None,
        };
        match (self, arg) {
            (Agg::Count, _) => DataType::BigInt,
            (Agg::Sum, Some(DataType::SmallInt | DataType::Integer)) => DataType::BigInt,
            (Agg::Sum, Some(DataType::BigInt)) => numeric,
            (Agg::Sum, Some(DataType::Real)) => DataType::Real,
            (Agg::Sum | Agg::Avg, Some(DataType::Double | DataType::Real)) => DataType::Double,
            (Agg::Sum | Agg::Avg, _) => numeric,
            (Agg::Min | Agg::Max, Some(t)) => *t,
            (Agg::Min | Agg::Max, None) => DataType::Text,
        }
    }
}

/// Running state of one aggregate over one group.
#[derive(Debug, Clone)]
pub struct Accumulator {
    agg: Agg,
    count: i64,
    value: Value,
    seen: Option<std::collections::HashSet<Vec<u8>>>,
}

impl Accumulator {
    /// A fresh accumulator (`distinct` remembers the values already folded in).
    pub fn new(agg: Agg, distinct: bool) -> Self {
        Self {
            agg,
            count: 0,
            value: Value::Null,
            seen: distinct.then(Default::default),
        }
    }

    /// Folds one input value in (`None` = `count(*)`).
    pub fn add(&mut self, v: Option<Value>, sem: &Semantics) -> Result<()> {
        let Some(v) = v else {
            self.count += 1;
            return Ok(());
        };
        if v.is_null() {
            return Ok(());
        }
        if let Some(seen) = &mut self.seen {
            if !seen.insert(rosetta_types::key::encode_all(std::slice::from_ref(&v))) {
                return Ok(());
            }
        }
        self.count += 1;
        match self.agg {
            Agg::Count => {}
            Agg::Sum | Agg::Avg => {
                let v = widen_for_sum(v);
                self.value = if self.value.is_null() {
                    v
                } else {
                    ops::arith(ArithOp::Add, &self.value, &v, sem)?
                };
            }
            Agg::Min | Agg::Max => {
                let replace = self.value.is_null() || {
                    let o = ops::compare(&v, &self.value)?.unwrap_or(Ordering::Equal);
                    (self.agg == Agg::Min && o == Ordering::Less)
                        || (self.agg == Agg::Max && o == Ordering::Greater)
                };
                if replace {
                    self.value = v;
                }
            }
        }
        Ok(())
    }

    /// The aggregate's result.
    pub fn finish(self, sem: &Semantics) -> Result<Value> {
        Ok(match self.agg {
            Agg::Count => Value::Int64(self.count),
            Agg::Sum | Agg::Min | Agg::Max => self.value,
            Agg::Avg => {
                if self.count == 0 {
                    Value::Null
                } else {
                    let n = match &self.value {
                        Value::Float64(_) | Value::Float32(_) => Value::Float64(self.count as f64),
                        _ => Value::Numeric(Decimal::from(self.count)),
                    };
                    let total = match &self.value {
                        Value::Float32(f) => Value::Float64(*f as f64),
                        Value::Numeric(_) | Value::Float64(_) => self.value.clone(),
                        other => rosetta_types::cast::cast(
                            other,
                            &DataType::Numeric {
                                precision: None,
                                scale: None,
                            },
                            rosetta_types::cast::CastMode::Explicit,
                        )?,
                    };
                    ops::arith(ArithOp::Div, &total, &n, sem)?
                }
            }
        })
    }
}

fn widen_for_sum(v: Value) -> Value {
    match v {
        Value::Int16(i) => Value::Int64(i as i64),
        Value::Int32(i) => Value::Int64(i as i64),
        Value::Int64(i) => Value::Numeric(Decimal::from(i)),
        other => other,
    }
}

impl Func {
    /// Resolves a scalar function by name and argument count.
    pub fn lookup(namespace: &str, name: &str, nargs: usize) -> Option<Func> {
        if namespace == "pg" {
            if let Some(f) = crate::vcat::CatalogFn::lookup(name) {
                return Some(Func::Catalog(f));
            }
        }
        Some(match (name, nargs) {
            ("coalesce", n) if n > 0 => Func::Coalesce,
            ("nullif", 2) => Func::NullIf,
            ("lower", 1) => Func::Lower,
            ("upper", 1) => Func::Upper,
            ("length" | "char_length" | "character_length", 1) => Func::Length,
            ("octet_length", 1) => Func::OctetLength,
            ("substring" | "substr", 2 | 3) => Func::Substring,
            ("abs", 1) => Func::Abs,
            ("round", 1 | 2) => Func::Round,
            ("trunc", 1 | 2) => Func::Trunc,
            ("floor", 1) => Func::Floor,
            ("ceil" | "ceiling", 1) => Func::Ceil,
            ("btrim" | "trim", 1 | 2) => Func::Btrim,
            ("ltrim", 1 | 2) => Func::Ltrim,
            ("rtrim", 1 | 2) => Func::Rtrim,
            ("replace", 3) => Func::Replace,
            ("concat", _) => Func::Concat,
            ("strpos", 2) => Func::Strpos,
            ("left", 2) => Func::Left,
            ("right", 2) => Func::Right,
            ("now" | "current_timestamp" | "localtimestamp" | "transaction_timestamp", 0) => {
                Func::Now
            }
            ("current_date", 0) => Func::CurrentDate,
            ("version", 0) => Func::Version,
            ("current_user" | "session_user" | "user", 0) => Func::CurrentUser,
            ("current_database" | "current_catalog", 0) => Func::CurrentDatabase,
            ("current_schema", 0) => Func::CurrentSchema,
            ("greatest", n) if n > 0 => Func::Greatest,
            ("least", n) if n > 0 => Func::Least,
            _ => {
                return crate::vcat::CatalogFn::lookup(name).map(Func::Catalog);
            }
        })
    }

    /// The function's SQL name (for EXPLAIN and messages).
    pub fn name(&self) -> String {
        format!("{self:?}").to_lowercase()
    }

    /// The static result type given the argument types.
    pub fn result_type(&self, args: &[DataType]) -> DataType {
        match self {
            Func::Coalesce | Func::Greatest | Func::Least => args
                .iter()
                .copied()
                .reduce(|a, b| ops::common_type(&a, &b).unwrap_or(a))
                .unwrap_or(DataType::Text),
            Func::NullIf | Func::Abs | Func::Floor | Func::Ceil => {
                args.first().copied().unwrap_or(DataType::Text)
            }
            Func::Round | Func::Trunc => match args.first() {
                Some(DataType::Double | DataType::Real) if args.len() == 1 => DataType::Double,
                _ => DataType::Numeric {
                    precision: None,
                    scale: None,
                },
            },
            Func::Length | Func::OctetLength | Func::Strpos => DataType::Integer,
            Func::Now => DataType::Timestamp,
            Func::CurrentDate => DataType::Date,
            Func::Catalog(f) => f.result_type(),
            _ => DataType::Text,
        }
    }

    /// Calls the function.
    pub fn call(&self, args: &[Value], ctx: &ExecCtx) -> Result<Value> {
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
        let text = |i: usize| -> Option<String> { args.get(i).and_then(to_text) };
        let int = |i: usize| -> Option<i64> {
            args.get(i).and_then(|v| match v {
                Value::Numeric(d) => d.trunc().to_string().parse().ok(),
                Value::Float64(f) => Some(*f as i64),
                v => v.as_i64(),
            })
        };
        let strict = !matches!(
            self,
            Func::Coalesce
                | Func::Concat
                | Func::NullIf
                | Func::Greatest
                | Func::Least
                | Func::Catalog(_)
        );
        if strict && args.iter().any(Value::is_null) {
            return Ok(Value::Null);
        }
        Ok(match self {
            Func::Coalesce => args
                .iter()
                .find(|v| !v.is_null())
                .cloned()
                .unwrap_or(Value::Null),
            Func::NullIf => {
                let (a, b) = (arg(0), arg(1));
                if ops::compare(&a, &b)? == Some(Ordering::Equal) {
                    Value::Null
                } else {
                    a
                }
            }
            Func::Greatest | Func::Least => {
                let mut best = Value::Null;
                for v in args.iter().filter(|v| !v.is_null()) {
                    let better = best.is_null() || {
                        let o = ops::compare(v, &best)?.unwrap_or(Ordering::Equal);
                        (*self == Func::Greatest && o == Ordering::Greater)
                            || (*self == Func::Least && o == Ordering::Less)
                    };
                    if better {
                        best = v.clone();
                    }
                }
                best
            }
            Func::Lower => Value::Text(text(0).unwrap_or_default().to_lowercase()),
            Func::Upper => Value::Text(text(0).unwrap_or_default().to_uppercase()),
            Func::Length => Value::Int32(text(0).unwrap_or_default().chars().count() as i32),
            Func::OctetLength => Value::Int32(match arg(0) {
                Value::Bytes(b) => b.len() as i32,
                _ => text(0).unwrap_or_default().len() as i32,
            }),
            Func::Substring => {
                let s: Vec<char> = text(0).unwrap_or_default().chars().collect();
                let start = int(1).unwrap_or(1);
                let (from, to) = match int(2) {
                    Some(len) if len < 0 => {
                        return Err(Error::InvalidParameter(
                            "negative substring length not allowed".into(),
                        ))
                    }
                    Some(len) => (start, start.saturating_add(len)),
                    None => (start, i64::MAX),
                };
                let from = from.max(1) as usize - 1;
                let to = to.clamp(1, s.len() as i64 + 1) as usize - 1;
                Value::Text(s.get(from..to.max(from)).unwrap_or(&[]).iter().collect())
            }
            Func::Abs => match arg(0) {
                Value::Int16(v) => Value::Int16(v.checked_abs().ok_or(range("smallint"))?),
                Value::Int32(v) => Value::Int32(v.checked_abs().ok_or(range("integer"))?),
                Value::Int64(v) => Value::Int64(v.checked_abs().ok_or(range("bigint"))?),
                Value::Float32(v) => Value::Float32(v.abs()),
                Value::Float64(v) => Value::Float64(v.abs()),
                Value::Numeric(v) => Value::Numeric(v.abs()),
                v => return Err(no_fn("abs", &v)),
            },
            Func::Round | Func::Trunc | Func::Floor | Func::Ceil => {
                let scale = int(1).unwrap_or(0).clamp(0, 28) as u32;
                match arg(0) {
                    Value::Float64(f) if args.len() == 1 => Value::Float64(match self {
                        Func::Round => f.round(),
                        Func::Trunc => f.trunc(),
                        Func::Floor => f.floor(),
                        _ => f.ceil(),
                    }),
                    v @ (Value::Int16(_) | Value::Int32(_) | Value::Int64(_))
                        if matches!(self, Func::Floor | Func::Ceil) =>
                    {
                        v
                    }
                    v => {
                        let d = match rosetta_types::cast::cast(
                            &v,
                            &DataType::Numeric {
                                precision: None,
                                scale: None,
                            },
                            rosetta_types::cast::CastMode::Explicit,
                        )? {
                            Value::Numeric(d) => d,
                            _ => return Err(no_fn(&self.name(), &v)),
                        };
                        Value::Numeric(match self {
                            Func::Round => d.round_dp_with_strategy(
                                scale,
                                rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                            ),
                            Func::Trunc => d.trunc_with_scale(scale),
                            Func::Floor => d.floor(),
                            _ => d.ceil(),
                        })
                    }
                }
            }
            Func::Btrim | Func::Ltrim | Func::Rtrim => {
                let s = text(0).unwrap_or_default();
                let set: Vec<char> = text(1).unwrap_or_else(|| " ".into()).chars().collect();
                let f = |c: char| set.contains(&c);
                Value::Text(match self {
                    Func::Btrim => s.trim_matches(f).to_string(),
                    Func::Ltrim => s.trim_start_matches(f).to_string(),
                    _ => s.trim_end_matches(f).to_string(),
                })
            }
            Func::Replace => Value::Text(
                text(0)
                    .unwrap_or_default()
                    .replace(&text(1).unwrap_or_default(), &text(2).unwrap_or_default()),
            ),
            Func::Concat => Value::Text(args.iter().filter_map(to_text).collect()),
            Func::Strpos => {
                let (s, sub) = (text(0).unwrap_or_default(), text(1).unwrap_or_default());
                Value::Int32(
                    s.find(&sub)
                        .map(|b| s[..b].chars().count() as i32 + 1)
                        .unwrap_or(0),
                )
            }
            Func::Left | Func::Right => {
                let s: Vec<char> = text(0).unwrap_or_default().chars().collect();
                let n = int(1).unwrap_or(0);
                let len = s.len() as i64;
                let keep = if n >= 0 { n.min(len) } else { (len + n).max(0) } as usize;
                Value::Text(if *self == Func::Left {
                    s[..keep].iter().collect()
                } else {
                    s[s.len() - keep..].iter().collect()
                })
            }
            Func::Now => Value::Timestamp(ctx.statement_time),
            Func::CurrentDate => Value::Date(ctx.statement_time.div_euclid(86_400_000_000) as i32),
            Func::Version => Value::Text(crate::VERSION_STRING.to_string()),
            Func::CurrentUser => Value::Text(ctx.user.to_string()),
            Func::CurrentDatabase => Value::Text(ctx.database.name.clone()),
            Func::CurrentSchema => Value::Text("public".into()),
            Func::Catalog(f) => f.call(args, ctx)?,
        })
    }
}

fn range(ty: &str) -> Error {
    rosetta_types::TypeError::OutOfRange(ty.into()).into()
}

fn no_fn(name: &str, v: &Value) -> Error {
    Error::UndefinedFunction(format!(
        "{name}({})",
        v.data_type()
            .map(|t| rosetta_types::type_name(&t))
            .unwrap_or_else(|| "unknown".into())
    ))
}
