//! Plan execution. Operators materialize their output (`Vec<Row>`); that keeps the
//! executor small and is fast for OLTP-sized results. Streaming operators are a later
//! step (see `docs/architecture.md`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use rosetta_bytecode::{JoinKind, Semantics, SetOperator};
use rosetta_types::{key, ops, Value};

use super::expr::{BExpr, SubPlan};
use super::functions::Accumulator;
use super::plan::{Access, Plan, SortKey};
use crate::catalog::{DatabaseDef, IndexDef, TableDef};
use crate::error::{Error, Result};
use crate::keys;
use crate::mvcc::Txn;

/// A row of values.
pub type Row = Vec<Value>;

/// Everything a running statement can see.
pub struct ExecCtx<'a> {
    pub txn: &'a Txn,
    pub params: &'a [Value],
    pub semantics: &'a Semantics,
    pub database: &'a DatabaseDef,
    pub user: &'a str,
    pub cancel: &'a AtomicBool,
    /// Statement start, microseconds since the epoch (`now()` is stable within it).
    pub statement_time: i64,
    /// Sequences and the session's last insert id (`None` where a statement cannot use
    /// them, e.g. evaluating a constant outside any statement).
    pub services: Option<super::sequence::Services<'a>>,
    outer: RefCell<Vec<Row>>,
    cache: RefCell<HashMap<usize, Vec<Row>>>,
}

impl<'a> ExecCtx<'a> {
    /// A context for one statement.
    pub fn new(
        txn: &'a Txn,
        params: &'a [Value],
        semantics: &'a Semantics,
        database: &'a DatabaseDef,
        user: &'a str,
        cancel: &'a AtomicBool,
    ) -> Self {
        let statement_time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        Self {
            txn,
            params,
            semantics,
            database,
            user,
            cancel,
            statement_time,
            services: None,
            outer: RefCell::new(Vec::new()),
            cache: RefCell::new(HashMap::new()),
        }
    }

    /// A column of an enclosing row (correlated subqueries).
    pub fn outer(&self, depth: usize, index: usize) -> Result<Value> {
        let outer = self.outer.borrow();
        outer
            .len()
            .checked_sub(depth)
            .and_then(|i| outer.get(i))
            .and_then(|r| r.get(index))
            .cloned()
            .ok_or_else(|| Error::Internal("outer reference out of range".into()))
    }

    /// Runs a subquery for the current row (cached when it is not correlated).
    pub fn run_subquery(&self, sub: &SubPlan, row: &[Value]) -> Result<Vec<Row>> {
        let id = sub as *const SubPlan as usize;
        if !sub.correlated {
            if let Some(rows) = self.cache.borrow().get(&id) {
                return Ok(rows.clone());
            }
        }
        self.outer.borrow_mut().push(row.to_vec());
        let result = run(&sub.plan, self);
        self.outer.borrow_mut().pop();
        let rows = result?;
        if !sub.correlated {
            self.cache.borrow_mut().insert(id, rows.clone());
        }
        Ok(rows)
    }

    /// Fails with "canceled" once the statement has been canceled.
    pub fn check_cancel(&self) -> Result<()> {
        if self.cancel.load(AtomicOrdering::Relaxed) {
            return Err(Error::Canceled);
        }
        Ok(())
    }
}

/// Executes a plan to completion.
pub fn run(plan: &Plan, ctx: &ExecCtx) -> Result<Vec<Row>> {
    ctx.check_cancel()?;
    Ok(match plan {
        Plan::Single => vec![vec![]],
        Plan::Values(rows) => rows
            .iter()
            .map(|r| r.iter().map(|e| e.eval(&[], ctx)).collect())
            .collect::<Result<_>>()?,
        Plan::Scan {
            table,
            access,
            filter,
        } => {
            let mut out = Vec::new();
            scan_table(table, access, ctx, &mut |_, row| {
                if filter.as_ref().map_or(Ok(true), |f| f.test(&row, ctx))? {
                    out.push(row);
                }
                Ok(true)
            })?;
            out
        }
        Plan::Function { func, args } => {
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                values.push(a.eval(&[], ctx)?);
            }
            func.rows(&values, &|| ctx.check_cancel())?
        }
        Plan::Virtual { name, filter } => {
            let rows = crate::vcat::rows(name, ctx)?;
            match filter {
                Some(f) => {
                    let mut out = Vec::new();
                    for r in rows {
                        if f.test(&r, ctx)? {
                            out.push(r);
                        }
                    }
                    out
                }
                None => rows,
            }
        }
        Plan::Filter { input, predicate } => {
            let mut out = Vec::new();
            for r in run(input, ctx)? {
                if predicate.test(&r, ctx)? {
                    out.push(r);
                }
            }
            out
        }
        Plan::Project { input, exprs } => run(input, ctx)?
            .iter()
            .map(|r| exprs.iter().map(|e| e.eval(r, ctx)).collect())
            .collect::<Result<_>>()?,
        Plan::Join {
            left,
            right,
            kind,
            on,
            left_width,
            right_width,
        } => join(
            run(left, ctx)?,
            run(right, ctx)?,
            *kind,
            on.as_ref(),
            *left_width,
            *right_width,
            ctx,
        )?,
        Plan::Aggregate {
            input,
            group_by,
            aggs,
        } => {
            let rows = run(input, ctx)?;
            let mut groups: HashMap<Vec<u8>, (Row, Vec<Accumulator>)> = HashMap::new();
            let mut order: Vec<Vec<u8>> = Vec::new();
            for r in &rows {
                let keys: Row = group_by
                    .iter()
                    .map(|e| e.eval(r, ctx))
                    .collect::<Result<_>>()?;
                let k = key::encode_all(&keys);
                let entry = groups.entry(k.clone()).or_insert_with(|| {
                    order.push(k);
                    (
                        keys,
                        aggs.iter()
                            .map(|a| Accumulator::new(a.agg, a.distinct))
                            .collect(),
                    )
                });
                for (acc, call) in entry.1.iter_mut().zip(aggs) {
                    if let Some(sep) = &call.separator {
                        acc.set_separator(sep.eval(r, ctx)?);
                    }
                    let v = call.arg.as_ref().map(|a| a.eval(r, ctx)).transpose()?;
                    acc.add(v, ctx.semantics)?;
                }
            }
            if group_by.is_empty() && groups.is_empty() {
                let accs = aggs
                    .iter()
                    .map(|a| Accumulator::new(a.agg, a.distinct).finish(ctx.semantics))
                    .collect::<Result<_>>()?;
                return Ok(vec![accs]);
            }
            let mut out = Vec::with_capacity(order.len());
            for k in order {
                if let Some((mut keys, accs)) = groups.remove(&k) {
                    for a in accs {
                        keys.push(a.finish(ctx.semantics)?);
                    }
                    out.push(keys);
                }
            }
            out
        }
        Plan::Sort { input, keys } => {
            let rows = run(input, ctx)?;
            sort(rows, keys, ctx)?
        }
        Plan::Limit {
            input,
            limit,
            offset,
        } => {
            let rows = run(input, ctx)?;
            let count = |e: &Option<BExpr>| -> Result<Option<usize>> {
                match e {
                    None => Ok(None),
                    Some(e) => match e.eval(&[], ctx)? {
                        Value::Null => Ok(None),
                        v => match v.as_i64() {
                            Some(n) if n >= 0 => Ok(Some(n as usize)),
                            Some(_) => Err(Error::InvalidParameter(
                                "LIMIT/OFFSET must not be negative".into(),
                            )),
                            None => Err(Error::DatatypeMismatch(
                                "argument of LIMIT/OFFSET must be an integer".into(),
                            )),
                        },
                    },
                }
            };
            let off = count(offset)?.unwrap_or(0);
            let lim = count(limit)?.unwrap_or(usize::MAX);
            rows.into_iter().skip(off).take(lim).collect()
        }
        Plan::Distinct(input) => {
            let mut seen = std::collections::HashSet::new();
            run(input, ctx)?
                .into_iter()
                .filter(|r| seen.insert(key::encode_all(r)))
                .collect()
        }
        Plan::SetOp {
            op,
            all,
            left,
            right,
        } => set_op(*op, *all, run(left, ctx)?, run(right, ctx)?),
    })
}

fn sort(rows: Vec<Row>, keys: &[SortKey], ctx: &ExecCtx) -> Result<Vec<Row>> {
    let mut keyed: Vec<(Row, Row)> = Vec::with_capacity(rows.len());
    for r in rows {
        let k = keys
            .iter()
            .map(|s| s.expr.eval(&r, ctx))
            .collect::<Result<_>>()?;
        keyed.push((k, r));
    }
    keyed.sort_by(|(a, _), (b, _)| {
        for (i, k) in keys.iter().enumerate() {
            let (x, y) = (&a[i], &b[i]);
            let o = match (x.is_null(), y.is_null()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => {
                    if k.nulls_first {
                        std::cmp::Ordering::Less
                    } else {
                        std::cmp::Ordering::Greater
                    }
                }
                (false, true) => {
                    if k.nulls_first {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Less
                    }
                }
                _ => {
                    let o = ops::sort_cmp(x, y);
                    if k.desc {
                        o.reverse()
                    } else {
                        o
                    }
                }
            };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(keyed.into_iter().map(|(_, r)| r).collect())
}

fn join(
    left: Vec<Row>,
    right: Vec<Row>,
    kind: JoinKind,
    on: Option<&BExpr>,
    left_width: usize,
    right_width: usize,
    ctx: &ExecCtx,
) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    let mut right_matched = vec![false; right.len()];
    for l in &left {
        ctx.check_cancel()?;
        let mut matched = false;
        for (ri, r) in right.iter().enumerate() {
            let mut row = Vec::with_capacity(left_width + right_width);
            row.extend_from_slice(l);
            row.extend_from_slice(r);
            if on.map_or(Ok(true), |p| p.test(&row, ctx))? {
                matched = true;
                right_matched[ri] = true;
                out.push(row);
            }
        }
        if !matched && matches!(kind, JoinKind::Left | JoinKind::Full) {
            let mut row = l.clone();
            row.extend(std::iter::repeat_n(Value::Null, right_width));
            out.push(row);
        }
    }
    if matches!(kind, JoinKind::Right | JoinKind::Full) {
        for (ri, r) in right.into_iter().enumerate() {
            if !right_matched[ri] {
                let mut row: Row = std::iter::repeat_n(Value::Null, left_width).collect();
                row.extend(r);
                out.push(row);
            }
        }
    }
    Ok(out)
}

fn set_op(op: SetOperator, all: bool, left: Vec<Row>, right: Vec<Row>) -> Vec<Row> {
    match op {
        SetOperator::Union => {
            let mut rows = left;
            rows.extend(right);
            if all {
                rows
            } else {
                let mut seen = std::collections::HashSet::new();
                rows.into_iter()
                    .filter(|r| seen.insert(key::encode_all(r)))
                    .collect()
            }
        }
        SetOperator::Intersect | SetOperator::Except => {
            let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
            for r in &right {
                *counts.entry(key::encode_all(r)).or_default() += 1;
            }
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::new();
            for r in left {
                let k = key::encode_all(&r);
                let in_right = counts.get(&k).copied().unwrap_or(0) > 0;
                let keep = if op == SetOperator::Intersect {
                    in_right
                } else {
                    !in_right
                };
                if all {
                    if op == SetOperator::Intersect && in_right {
                        if let Some(c) = counts.get_mut(&k) {
                            *c -= 1;
                        }
                        out.push(r);
                    } else if op == SetOperator::Except {
                        if in_right {
                            if let Some(c) = counts.get_mut(&k) {
                                *c -= 1;
                            }
                        } else {
                            out.push(r);
                        }
                    }
                } else if keep && seen.insert(k) {
                    out.push(r);
                }
            }
            out
        }
    }
}

/// Decodes a stored row.
pub fn decode_row(bytes: &[u8]) -> Result<Row> {
    Ok(rmp_serde::from_slice(bytes)?)
}

/// Encodes a row for storage.
pub fn encode_row(row: &[Value]) -> Vec<u8> {
    rmp_serde::to_vec(row).unwrap_or_default()
}

/// Visits the rows of `table` reachable through `access`, with their storage key.
pub fn scan_table(
    table: &TableDef,
    access: &Access,
    ctx: &ExecCtx,
    f: &mut dyn FnMut(Vec<u8>, Row) -> Result<bool>,
) -> Result<()> {
    let eval_all =
        |v: &[BExpr]| -> Result<Vec<Value>> { v.iter().map(|e| e.eval(&[], ctx)).collect() };
    let prefix = keys::row_prefix(table.id);
    let mut visit_range = |start: Vec<u8>, end: Vec<u8>| -> Result<()> {
        let mut n = 0u32;
        ctx.txn.scan(&start, &end, &mut |k, v| {
            n = n.wrapping_add(1);
            if n.is_multiple_of(1024) {
                ctx.check_cancel()?;
            }
            f(k.to_vec(), decode_row(v)?)
        })
    };
    match access {
        Access::Full => visit_range(prefix.clone(), keys::prefix_end(&prefix)),
        Access::PkPrefix(values) => {
            let values = eval_all(values)?;
            if values.iter().any(Value::is_null) {
                return Ok(());
            }
            let values = coerce_key(table, &table.primary_key, values)?;
            let mut start = prefix.clone();
            start.extend(keys::tuple(&values));
            if values.len() == table.primary_key.len() {
                if let Some(v) = ctx.txn.get(&start)? {
                    f(start, decode_row(&v)?)?;
                }
                Ok(())
            } else {
                let end = keys::prefix_end(&start);
                visit_range(start, end)
            }
        }
        Access::PkRange { lo, hi } => {
            let (start, end) = range_keys(table, &table.primary_key, &prefix, lo, hi, ctx)?;
            match (start, end) {
                (Some(s), Some(e)) => visit_range(s, e),
                _ => Ok(()),
            }
        }
        Access::IndexPrefix { index, values } => {
            let values = eval_all(values)?;
            if values.iter().any(Value::is_null) {
                return Ok(());
            }
            let values = coerce_key(table, &index.columns, values)?;
            let mut start = keys::index_prefix(index.id);
            start.extend(keys::tuple(&values));
            let end = keys::prefix_end(&start);
            index_lookup(table, index, start, end, ctx, f)
        }
        Access::IndexRange { index, lo, hi } => {
            let ip = keys::index_prefix(index.id);
            let (start, end) = range_keys(table, &index.columns, &ip, lo, hi, ctx)?;
            match (start, end) {
                (Some(s), Some(e)) => index_lookup(table, index, s, e, ctx, f),
                _ => Ok(()),
            }
        }
    }
}

fn index_lookup(
    table: &TableDef,
    _index: &IndexDef,
    start: Vec<u8>,
    end: Vec<u8>,
    ctx: &ExecCtx,
    f: &mut dyn FnMut(Vec<u8>, Row) -> Result<bool>,
) -> Result<()> {
    let mut pks = Vec::new();
    ctx.txn.scan(&start, &end, &mut |_, pk| {
        pks.push(pk.to_vec());
        Ok(true)
    })?;
    for pk in pks {
        let k = keys::row(table.id, &pk);
        if let Some(v) = ctx.txn.get(&k)? {
            if !f(k, decode_row(&v)?)? {
                break;
            }
        }
    }
    Ok(())
}

/// Casts lookup values to the key columns' types so their encodings match storage.
fn coerce_key(table: &TableDef, cols: &[usize], values: Vec<Value>) -> Result<Vec<Value>> {
    values
        .into_iter()
        .zip(cols)
        .map(|(v, &c)| {
            let ty = table
                .columns
                .get(c)
                .map(|c| c.data_type)
                .ok_or_else(|| Error::Internal("key column out of range".into()))?;
            Ok(rosetta_types::cast::cast(
                &v,
                &ty,
                rosetta_types::cast::CastMode::Explicit,
            )?)
        })
        .collect()
}

/// A key range's start and end (either may be absent when the range is empty).
type KeyRange = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Start/end keys for a range on the first key column; `None` when the range is empty.
fn range_keys(
    table: &TableDef,
    cols: &[usize],
    prefix: &[u8],
    lo: &Option<(BExpr, bool)>,
    hi: &Option<(BExpr, bool)>,
    ctx: &ExecCtx,
) -> Result<KeyRange> {
    let bound = |b: &Option<(BExpr, bool)>, is_lo: bool| -> Result<Option<Option<Vec<u8>>>> {
        let Some((e, inclusive)) = b else {
            return Ok(Some(None));
        };
        let v = e.eval(&[], ctx)?;
        if v.is_null() {
            return Ok(None);
        }
        let v = coerce_key(table, &cols[..1], vec![v])?;
        let mut k = prefix.to_vec();
        k.extend(keys::tuple(&v));
        // Keys continue after the first column's encoding: an inclusive lower bound starts
        // at the bare encoding; an exclusive one, and an inclusive upper bound, end after
        // every key that extends it.
        Ok(Some(Some(if is_lo == *inclusive {
            k
        } else {
            keys::prefix_end(&k)
        })))
    };
    let (Some(lo), Some(hi)) = (bound(lo, true)?, bound(hi, false)?) else {
        return Ok((None, None));
    };
    // NULLs sort last in the key encoding; a range never includes them.
    let null_start = {
        let mut k = prefix.to_vec();
        k.extend(keys::tuple(&[Value::Null]));
        k
    };
    let start = lo.unwrap_or_else(|| prefix.to_vec());
    let end = hi.map_or(null_start.clone(), |h| h.min(null_start));
    Ok((Some(start), Some(end)))
}
