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
    /// `array_cat(a, b)` and `a || b` on arrays (NULL operands are skipped).
    ArrayCat,
    /// `array_upper(a, dim)`.
    ArrayUpper,
    /// `array_lower(a, dim)`.
    ArrayLower,
    /// `array_length(a, dim)`.
    ArrayLength,
    /// `cardinality(a)`.
    Cardinality,
    /// `array_to_string(a, separator [, null_string])`.
    ArrayToString,
    /// A virtual-catalog helper (`pg_catalog.pg_table_is_visible`, `format_type`, …),
    /// implemented in [`crate::vcat`].
    Catalog(crate::vcat::CatalogFn),
    /// `mysql.variable(name)`: a MySQL system variable (`@@name`), see
    /// [`mysql_variable`].
    MysqlVariable,
    /// `NEXT VALUE FOR s` / `nextval('s')` / `GEN_ID(s, step)`: advances a sequence by
    /// the optional step argument (default: its increment) and returns the new value.
    NextValue(super::sequence::SeqRef),
    /// `setval('s', n, is_called)`: sets the sequence's current value (the next call
    /// returns `n + increment`, or `n` itself when `is_called` is false).
    SetVal(super::sequence::SeqRef),
    /// MySQL `LAST_INSERT_ID([expr])`: the session's last generated AUTO_INCREMENT value;
    /// with an argument, sets it.
    LastInsertId,
    /// MySQL `CONNECTION_ID()`: the session id (the one `KILL` takes).
    ConnectionId,
    /// `localtime` / `current_time`: the statement's time of day.
    LocalTime,
}

/// An aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// `string_agg(text, separator)`.
    StringAgg,
    /// `array_agg(value)` (NULLs included).
    ArrayAgg,
}

/// A set-returning function usable in FROM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFunc {
    /// `generate_series(start, stop [, step])` over integers or numerics.
    GenerateSeries,
    /// `unnest(array)`: one row per element.
    Unnest,
}

/// Most rows one `generate_series` may produce (it is materialized).
const MAX_SERIES_ROWS: u64 = 100_000_000;

impl TableFunc {
    /// Resolves a table function by name and argument count.
    pub fn lookup(namespace: &str, name: &str, nargs: usize) -> Option<TableFunc> {
        if namespace != "std" && namespace != "pg" {
            return None;
        }
        Some(match (name, nargs) {
            ("generate_series", 2 | 3) => TableFunc::GenerateSeries,
            ("unnest", 1) => TableFunc::Unnest,
            _ => return None,
        })
    }

    /// The function's SQL name.
    pub fn name(&self) -> &'static str {
        match self {
            TableFunc::GenerateSeries => "generate_series",
            TableFunc::Unnest => "unnest",
        }
    }

    /// The rows for these argument values (arguments already of the result type).
    pub fn rows(
        &self,
        args: &[Value],
        check_cancel: &dyn Fn() -> Result<()>,
    ) -> Result<Vec<Vec<Value>>> {
        if args.iter().any(Value::is_null) {
            return Ok(vec![]);
        }
        match self {
            TableFunc::Unnest => match args.first() {
                Some(Value::Array(items)) => Ok(items.iter().map(|v| vec![v.clone()]).collect()),
                _ => Err(Error::DatatypeMismatch("unnest needs an array".into())),
            },
            TableFunc::GenerateSeries => {
                let start = args.first().cloned().unwrap_or(Value::Null);
                let stop = args.get(1).cloned().unwrap_or(Value::Null);
                let step = args.get(2).cloned().unwrap_or(Value::Int32(1));
                let zero = Value::Int32(0);
                let step_sign = ops::compare(&step, &zero)?.unwrap_or(Ordering::Equal);
                if step_sign == Ordering::Equal {
                    return Err(Error::InvalidParameter(
                        "step size cannot equal zero".into(),
                    ));
                }
                let mut out = Vec::new();
                let mut v = start;
                loop {
                    let past = match ops::compare(&v, &stop)?.unwrap_or(Ordering::Equal) {
                        Ordering::Greater => step_sign == Ordering::Greater,
                        Ordering::Less => step_sign == Ordering::Less,
                        Ordering::Equal => false,
                    };
                    if past {
                        break;
                    }
                    if out.len() as u64 >= MAX_SERIES_ROWS {
                        return Err(Error::InvalidParameter(
                            "generate_series would produce too many rows".into(),
                        ));
                    }
                    if out.len() % 65_536 == 0 {
                        check_cancel()?;
                    }
                    out.push(vec![v.clone()]);
                    v = match ops::arith(
                        ArithOp::Add,
                        &v,
                        &step,
                        &Semantics::for_dialect(rosetta_bytecode::Dialect::Postgres),
                    ) {
                        Ok(n) => n,
                        // Past the type's range: the series ends (as in PostgreSQL).
                        Err(_) => break,
                    };
                }
                Ok(out)
            }
        }
    }
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
            "string_agg" => Agg::StringAgg,
            "array_agg" => Agg::ArrayAgg,
            _ => return None,
        })
    }

    /// How many arguments the aggregate takes (`count(*)` aside).
    pub fn arity(self) -> usize {
        match self {
            Agg::StringAgg => 2,
            _ => 1,
        }
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
            (Agg::StringAgg, _) => DataType::Text,
            (Agg::ArrayAgg, t) => t
                .copied()
                .unwrap_or(DataType::Text)
                .array_of()
                .unwrap_or(DataType::Array(rosetta_bytecode::ElementType::Text)),
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
    /// `string_agg`: the separator given with the value being added.
    separator: Value,
}

impl Accumulator {
    /// A fresh accumulator (`distinct` remembers the values already folded in).
    pub fn new(agg: Agg, distinct: bool) -> Self {
        Self {
            agg,
            count: 0,
            value: Value::Null,
            seen: distinct.then(Default::default),
            separator: Value::Null,
        }
    }

    /// Sets the separator that goes before the next value (`string_agg`).
    pub fn set_separator(&mut self, separator: Value) {
        self.separator = separator;
    }

    /// Folds one input value in (`None` = `count(*)`).
    pub fn add(&mut self, v: Option<Value>, sem: &Semantics) -> Result<()> {
        let Some(v) = v else {
            self.count += 1;
            return Ok(());
        };
        if v.is_null() && self.agg != Agg::ArrayAgg {
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
            Agg::StringAgg => {
                let text = to_text(&v).unwrap_or_default();
                self.value = match std::mem::replace(&mut self.value, Value::Null) {
                    Value::Text(mut acc) => {
                        if let Some(sep) = to_text(&self.separator) {
                            acc.push_str(&sep);
                        }
                        acc.push_str(&text);
                        Value::Text(acc)
                    }
                    _ => Value::Text(text),
                };
            }
            Agg::ArrayAgg => match &mut self.value {
                Value::Array(items) => items.push(v),
                _ => self.value = Value::Array(vec![v]),
            },
        }
        Ok(())
    }

    /// The aggregate's result.
    pub fn finish(self, sem: &Semantics) -> Result<Value> {
        Ok(match self.agg {
            Agg::Count => Value::Int64(self.count),
            Agg::Sum | Agg::Min | Agg::Max | Agg::StringAgg | Agg::ArrayAgg => self.value,
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
        if namespace == "mysql" {
            return match (name, nargs) {
                ("variable", 1) => Some(Func::MysqlVariable),
                ("last_insert_id", 0 | 1) => Some(Func::LastInsertId),
                ("connection_id", 0) => Some(Func::ConnectionId),
                _ => None,
            };
        }
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
            ("localtime" | "current_time", 0) => Func::LocalTime,
            ("version", 0) => Func::Version,
            ("current_user" | "session_user" | "user", 0) => Func::CurrentUser,
            ("current_database" | "current_catalog", 0) => Func::CurrentDatabase,
            ("current_schema", 0) => Func::CurrentSchema,
            ("greatest", n) if n > 0 => Func::Greatest,
            ("least", n) if n > 0 => Func::Least,
            ("array_cat", 2) => Func::ArrayCat,
            ("array_upper", 2) => Func::ArrayUpper,
            ("array_lower", 2) => Func::ArrayLower,
            ("array_length", 2) => Func::ArrayLength,
            ("cardinality", 1) => Func::Cardinality,
            ("array_to_string", 2 | 3) => Func::ArrayToString,
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
            Func::ArrayUpper | Func::ArrayLower | Func::ArrayLength | Func::Cardinality => {
                DataType::Integer
            }
            Func::ArrayCat => args
                .iter()
                .copied()
                .find(|t| t.element().is_some())
                .unwrap_or(DataType::Array(rosetta_bytecode::ElementType::Text)),
            Func::Now => DataType::Timestamp,
            Func::CurrentDate => DataType::Date,
            Func::LocalTime => DataType::Time,
            Func::NextValue(_) | Func::SetVal(_) | Func::LastInsertId | Func::ConnectionId => {
                DataType::BigInt
            }
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
                | Func::ArrayCat
                | Func::ArrayToString
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
            Func::LocalTime => Value::Time(ctx.statement_time.rem_euclid(86_400_000_000)),
            Func::NextValue(seq) => {
                let svc = services(ctx)?;
                Value::Int64(
                    svc.sequences
                        .next(seq, args.first().and_then(Value::as_i64))?,
                )
            }
            Func::SetVal(seq) => {
                let svc = services(ctx)?;
                let v = int(0).ok_or_else(|| no_fn("setval", &arg(0)))?;
                // `is_called = false`: the next call returns `v` itself.
                let current = if arg(1) == Value::Bool(false) {
                    v.checked_sub(seq.increment)
                        .ok_or_else(|| range("bigint"))?
                } else {
                    v
                };
                svc.sequences.set(seq, current)?;
                Value::Int64(v)
            }
            Func::LastInsertId => {
                let svc = services(ctx)?;
                match args.first() {
                    Some(v) => {
                        let n = v.as_i64().ok_or_else(|| no_fn("last_insert_id", v))?;
                        svc.set_last_insert_id(n as u64);
                        Value::Int64(n)
                    }
                    None => Value::Int64(svc.last_insert_id() as i64),
                }
            }
            Func::ConnectionId => Value::Int64(i64::from(services(ctx)?.session_id)),
            Func::Version => Value::Text(crate::VERSION_STRING.to_string()),
            Func::MysqlVariable => mysql_variable(&text(0).unwrap_or_default())?,
            Func::CurrentUser => Value::Text(ctx.user.to_string()),
            Func::CurrentDatabase => Value::Text(ctx.database.name.clone()),
            Func::CurrentSchema => Value::Text("public".into()),
            Func::ArrayCat => match (arg(0), arg(1)) {
                (Value::Array(mut a), Value::Array(b)) => {
                    a.extend(b);
                    Value::Array(a)
                }
                (a @ Value::Array(_), Value::Null) => a,
                (Value::Null, b) => b,
                (a, b) => {
                    return Err(Error::DatatypeMismatch(format!(
                        "array_cat needs arrays, got {a:?} and {b:?}"
                    )))
                }
            },
            Func::ArrayUpper | Func::ArrayLower | Func::ArrayLength | Func::Cardinality => {
                let Value::Array(items) = arg(0) else {
                    return Err(no_fn(&self.name(), &arg(0)));
                };
                // One dimension only: any other dimension does not exist (NULL), and an
                // empty array has no dimensions at all.
                if *self != Func::Cardinality && (items.is_empty() || int(1) != Some(1)) {
                    return Ok(Value::Null);
                }
                let len = i32::try_from(items.len()).map_err(|_| range("integer"))?;
                Value::Int32(match self {
                    Func::ArrayLower => 1,
                    _ => len,
                })
            }
            Func::ArrayToString => match (arg(0), text(1)) {
                (Value::Array(items), Some(sep)) => {
                    let null_text = text(2);
                    let parts: Vec<String> = items
                        .iter()
                        .filter_map(|v| to_text(v).or_else(|| null_text.clone()))
                        .collect();
                    Value::Text(parts.join(&sep))
                }
                (Value::Null, _) | (_, None) => Value::Null,
                (v, _) => return Err(no_fn("array_to_string", &v)),
            },
            Func::Catalog(f) => f.call(args, ctx)?,
        })
    }
}

/// The statement's sequences and session state; absent only where no statement runs.
fn services<'c>(ctx: &ExecCtx<'c>) -> Result<super::sequence::Services<'c>> {
    ctx.services
        .ok_or_else(|| Error::Unsupported("sequences in this context".into()))
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

/// The value of MySQL system variable `name` (what `@@name` and `SHOW VARIABLES` show).
///
/// These describe how Rosetta actually behaves for MySQL sessions (UTF-8 only, UTC, case
/// kept in names, snapshot isolation reported as REPEATABLE-READ), so connectors that
/// decide things from them decide right. Session-level changes made with `SET` are not
/// reflected yet. Unknown names fail like MySQL's ER_UNKNOWN_SYSTEM_VARIABLE.
pub fn mysql_variable(name: &str) -> Result<Value> {
    let name = name.to_ascii_lowercase();
    let text = |s: &str| Ok(Value::Text(s.to_string()));
    match name.as_str() {
        "version" => text(rosetta_proto::MYSQL_SERVER_VERSION),
        "version_comment" => text("Rosetta"),
        "autocommit" => text("1"),
        "sql_mode" => text("STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION"),
        "character_set_client"
        | "character_set_connection"
        | "character_set_database"
        | "character_set_results"
        | "character_set_server"
        | "character_set_system" => text("utf8mb4"),
        "collation_connection" | "collation_database" | "collation_server" => text("utf8mb4_bin"),
        "max_allowed_packet" => text("67108864"),
        "lower_case_table_names" => text("0"),
        "time_zone" => text("+00:00"),
        "system_time_zone" => text("UTC"),
        "transaction_isolation" | "tx_isolation" => text("REPEATABLE-READ"),
        "transaction_read_only" | "tx_read_only" => text("0"),
        "interactive_timeout" | "wait_timeout" => text("28800"),
        "net_write_timeout" => text("60"),
        "license" => text("Apache-2.0"),
        "performance_schema" => text("0"),
        "have_ssl" | "have_openssl" => text("DISABLED"),
        "init_connect" => text(""),
        _ => Err(Error::InvalidParameter(format!(
            "Unknown system variable '{name}'"
        ))),
    }
}
