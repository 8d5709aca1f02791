//! INSERT, UPDATE and DELETE: constraint checks and index maintenance.
//!
//! Rows are keyed by their primary key (or a hidden row id); every secondary index entry is
//! written in the same transaction as its row. A unique index entry's key is the indexed
//! values alone, so two concurrent inserts of the same value write the same key and the
//! later committer fails with 40001 — uniqueness holds across transactions, not only
//! within a snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

use rosetta_bytecode::{self as bc, DataType};
use rosetta_types::cast::{cast, CastMode};
use rosetta_types::{text::to_text, Value};

use super::bind::{coerce_literal, Binder, Scope, ScopeCol};
use super::exec::{decode_row, encode_row, run, scan_table, ExecCtx, Row};
use super::expr::BExpr;
use super::plan::Access;
use crate::catalog::{IndexDef, TableDef};
use crate::error::{Error, Result};
use crate::keys;
use crate::mvcc::Txn;

/// Source of hidden row ids for tables without a primary key.
pub static ROW_ID: AtomicU64 = AtomicU64::new(0);

/// A bound INSERT / UPDATE / DELETE, ready to run.
pub struct WritePlan {
    pub table: TableDef,
    pub kind: WriteKind,
    /// `RETURNING` expressions over the written row.
    pub returning: Vec<BExpr>,
    pub returning_cols: Vec<super::bind::OutCol>,
}

/// What a write does.
pub enum WriteKind {
    /// Rows to insert: for each target column position, an expression (`None` = default).
    Insert {
        source: InsertRows,
        targets: Vec<usize>,
        /// `ON CONFLICT` / `ON DUPLICATE KEY UPDATE` / `UPDATE OR INSERT … MATCHING`.
        upsert: Option<super::upsert::BoundUpsert>,
    },
    Update {
        access: Access,
        filter: Option<BExpr>,
        assignments: Vec<(usize, BExpr)>,
    },
    Delete {
        access: Access,
        filter: Option<BExpr>,
    },
}

/// Where inserted rows come from.
pub enum InsertRows {
    Values(Vec<Vec<Option<BExpr>>>),
    Query(Box<super::plan::Plan>),
}

/// The scope of a table's own columns.
pub fn table_scope(t: &TableDef, qualifier: Option<&str>) -> Scope {
    Scope {
        cols: t
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| ScopeCol {
                qualifier: Some(qualifier.unwrap_or(&t.name).to_string()),
                name: c.name.clone(),
                ty: c.data_type,
                table_id: t.id,
                colno: i as u16 + 1,
            })
            .collect(),
    }
}

fn returning(
    b: &mut Binder,
    items: &[bc::SelectItem],
    scope: &Scope,
) -> Result<(Vec<BExpr>, Vec<super::bind::OutCol>)> {
    let mut exprs = Vec::new();
    let mut cols = Vec::new();
    for item in items {
        match item {
            bc::SelectItem::Wildcard | bc::SelectItem::QualifiedWildcard(_) => {
                for (i, c) in scope.cols.iter().enumerate() {
                    exprs.push(BExpr::Column(i));
                    cols.push(super::bind::OutCol {
                        name: c.name.clone(),
                        ty: c.ty,
                        table_id: c.table_id,
                        colno: c.colno,
                    });
                }
            }
            bc::SelectItem::Expr { expr, alias } => {
                let (e, ty) = b.expr(expr, scope)?;
                let name = alias
                    .as_ref()
                    .map(|a| a.value.clone())
                    .unwrap_or_else(|| match expr {
                        bc::Expr::Column(p) => {
                            p.last().map(|x| x.value.clone()).unwrap_or_default()
                        }
                        _ => "?column?".into(),
                    });
                exprs.push(e);
                cols.push(super::bind::OutCol {
                    name,
                    ty,
                    table_id: 0,
                    colno: 0,
                });
            }
        }
    }
    Ok((exprs, cols))
}

/// Binds an INSERT.
pub fn bind_insert(b: &mut Binder, ins: &bc::Insert) -> Result<WritePlan> {
    let table = b.write_target(&ins.table, "insert into")?;
    let targets: Vec<usize> = if ins.columns.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        let mut v = Vec::new();
        for c in &ins.columns {
            let i = table
                .column_index(c)
                .ok_or_else(|| Error::UndefinedColumn(c.value.clone()))?;
            if v.contains(&i) {
                return Err(Error::DuplicateColumn(c.value.clone()));
            }
            v.push(i);
        }
        v
    };
    let empty = Scope::default();
    let source = match &ins.source {
        bc::InsertSource::DefaultValues => InsertRows::Values(vec![vec![]]),
        bc::InsertSource::Values(rows) => {
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                if row.len() > targets.len() {
                    return Err(Error::Syntax(
                        "INSERT has more expressions than target columns".into(),
                    ));
                }
                let mut r = Vec::with_capacity(row.len());
                for (e, &t) in row.iter().zip(&targets) {
                    if matches!(e, bc::Expr::Default) {
                        r.push(None);
                        continue;
                    }
                    let ty = table.columns[t].data_type;
                    let (x, _) = b.expr(e, &empty)?;
                    b.infer_param(&x, ty);
                    r.push(Some(coerce_literal(x, &ty)?));
                }
                out.push(r);
            }
            InsertRows::Values(out)
        }
        bc::InsertSource::Query(q) => {
            let (plan, cols) = b.query(q)?;
            if cols.len() > targets.len() {
                return Err(Error::Syntax(
                    "INSERT has more expressions than target columns".into(),
                ));
            }
            InsertRows::Query(Box::new(plan))
        }
    };
    let scope = table_scope(&table, None);
    let upsert = ins
        .upsert
        .as_ref()
        .map(|u| super::upsert::bind(b, &table, u))
        .transpose()?;
    let (ret, ret_cols) = returning(b, &ins.returning, &scope)?;
    Ok(WritePlan {
        table,
        kind: WriteKind::Insert {
            source,
            targets,
            upsert,
        },
        returning: ret,
        returning_cols: ret_cols,
    })
}

/// Binds an UPDATE.
pub fn bind_update(b: &mut Binder, up: &bc::Update) -> Result<WritePlan> {
    let table = b.write_target(&up.table, "update")?;
    let scope = table_scope(&table, up.alias.as_ref().map(|a| a.value.as_str()));
    let mut assignments = Vec::new();
    for a in &up.assignments {
        let i = table
            .column_index(&a.column)
            .ok_or_else(|| Error::UndefinedColumn(a.column.value.clone()))?;
        let ty = table.columns[i].data_type;
        let e = if matches!(a.value, bc::Expr::Default) {
            default_expr(b, &table, i)?
        } else {
            let (x, _) = b.expr(&a.value, &scope)?;
            b.infer_param(&x, ty);
            coerce_literal(x, &ty)?
        };
        assignments.push((i, e));
    }
    let (access, filter) = bind_filter(b, &table, &up.filter, &scope)?;
    let (ret, ret_cols) = returning(b, &up.returning, &scope)?;
    Ok(WritePlan {
        table,
        kind: WriteKind::Update {
            access,
            filter,
            assignments,
        },
        returning: ret,
        returning_cols: ret_cols,
    })
}

/// Binds a DELETE.
pub fn bind_delete(b: &mut Binder, del: &bc::Delete) -> Result<WritePlan> {
    let table = b.write_target(&del.table, "delete from")?;
    let scope = table_scope(&table, del.alias.as_ref().map(|a| a.value.as_str()));
    let (access, filter) = bind_filter(b, &table, &del.filter, &scope)?;
    let (ret, ret_cols) = returning(b, &del.returning, &scope)?;
    Ok(WritePlan {
        table,
        kind: WriteKind::Delete { access, filter },
        returning: ret,
        returning_cols: ret_cols,
    })
}

fn bind_filter(
    b: &mut Binder,
    table: &TableDef,
    filter: &Option<bc::Expr>,
    scope: &Scope,
) -> Result<(Access, Option<BExpr>)> {
    let Some(f) = filter else {
        return Ok((Access::Full, None));
    };
    let (pred, _) = b.expr(f, scope)?;
    let mut cs = Vec::new();
    let mut stack = vec![pred.clone()];
    while let Some(e) = stack.pop() {
        match e {
            BExpr::And(x, y) => {
                stack.push(*x);
                stack.push(*y);
            }
            e => cs.push(e),
        }
    }
    Ok((super::bind::choose_access(table, &cs), Some(pred)))
}

fn default_expr(b: &mut Binder, table: &TableDef, col: usize) -> Result<BExpr> {
    match &table.columns[col].default {
        Some(d) => {
            let (x, _) = b.expr(d, &Scope::default())?;
            coerce_literal(x, &table.columns[col].data_type)
        }
        None => Ok(BExpr::Const(Value::Null)),
    }
}

/// Binds every column's default once per statement.
fn defaults(table: &TableDef, ctx: &ExecCtx) -> Result<Vec<BExpr>> {
    let mut b = Binder::new(ctx.txn, ctx.database, vec![]);
    (0..table.columns.len())
        .map(|i| default_expr(&mut b, table, i))
        .collect()
}

/// Runs a bound write; returns the affected-row count, the RETURNING rows and the first
/// value an AUTO_INCREMENT column took (0 if none).
pub fn run_write(
    plan: &WritePlan,
    txn: &mut Txn,
    ctx_params: CtxParams,
) -> Result<(u64, Vec<Row>, u64)> {
    let table = &plan.table;
    let mut generated: u64 = 0;
    // Phase 1 (read-only): compute the rows to write.
    let (new_rows, old_rows): (Vec<Row>, Vec<(Vec<u8>, Row)>) = {
        let ctx = ctx_params.ctx(txn);
        match &plan.kind {
            WriteKind::Insert {
                source, targets, ..
            } => {
                let defaults = defaults(table, &ctx)?;
                let counters = auto_increment_counters(table, ctx.txn)?;
                let raw: Vec<Vec<Option<Value>>> = match source {
                    InsertRows::Values(rows) => rows
                        .iter()
                        .map(|r| {
                            r.iter()
                                .map(|e| e.as_ref().map(|e| e.eval(&[], &ctx)).transpose())
                                .collect::<Result<_>>()
                        })
                        .collect::<Result<_>>()?,
                    InsertRows::Query(q) => run(q, &ctx)?
                        .into_iter()
                        .map(|r| r.into_iter().map(Some).collect())
                        .collect(),
                };
                let mut rows = Vec::with_capacity(raw.len());
                for r in raw {
                    let mut full: Vec<Option<Value>> = vec![None; table.columns.len()];
                    for (v, &t) in r.into_iter().zip(targets) {
                        full[t] = v;
                    }
                    let mut row = Vec::with_capacity(full.len());
                    for (i, v) in full.into_iter().enumerate() {
                        row.push(match v {
                            Some(v) => v,
                            None => defaults[i].eval(&[], &ctx)?,
                        });
                    }
                    for (col, seq) in &counters {
                        let v = auto_increment(&mut row[*col], seq, &ctx_params.services)?;
                        if generated == 0 {
                            generated = v;
                        }
                    }
                    rows.push(row);
                }
                (rows, vec![])
            }
            WriteKind::Update {
                access,
                filter,
                assignments,
            } => {
                let mut olds = Vec::new();
                let mut news = Vec::new();
                scan_table(table, access, &ctx, &mut |k, row| {
                    if filter.as_ref().map_or(Ok(true), |f| f.test(&row, &ctx))? {
                        let mut new = row.clone();
                        for (i, e) in assignments {
                            new[*i] = e.eval(&row, &ctx)?;
                        }
                        news.push(new);
                        olds.push((k, row));
                    }
                    Ok(true)
                })?;
                (news, olds)
            }
            WriteKind::Delete { access, filter } => {
                let mut olds = Vec::new();
                scan_table(table, access, &ctx, &mut |k, row| {
                    if filter.as_ref().map_or(Ok(true), |f| f.test(&row, &ctx))? {
                        olds.push((k, row));
                    }
                    Ok(true)
                })?;
                (vec![], olds)
            }
        }
    };
    // Phase 2: apply.
    let mut written: Vec<Row> = Vec::new();
    let count;
    match &plan.kind {
        WriteKind::Insert {
            upsert: Some(upsert),
            ..
        } => {
            let mut n = 0;
            for row in new_rows {
                let row = check_row(table, row)?;
                if let Some(w) = super::upsert::apply(table, upsert, row, txn, &ctx_params)? {
                    n += 1;
                    written.push(w);
                }
            }
            count = n;
        }
        WriteKind::Insert { upsert: None, .. } => {
            count = new_rows.len() as u64;
            for row in new_rows {
                let row = check_row(table, row)?;
                let key = row_key(table, &row)?;
                if !table.primary_key.is_empty() && txn.get(&key)?.is_some() {
                    return Err(unique_violation(table, table.primary_index(), &row));
                }
                insert_indexes(txn, table, &row, &key)?;
                txn.put(key, encode_row(&row))?;
                written.push(row);
            }
        }
        WriteKind::Update { .. } => {
            count = old_rows.len() as u64;
            // Remove old index entries and rows first so that key swaps between rows of
            // the same statement do not trip the unique checks.
            for (k, old) in &old_rows {
                delete_indexes(txn, table, old, k)?;
            }
            let mut new_keys = Vec::with_capacity(new_rows.len());
            for ((k, _), new) in old_rows.iter().zip(new_rows) {
                let new = check_row(table, new)?;
                let nk = if table.primary_key.is_empty() {
                    k.clone()
                } else {
                    row_key(table, &new)?
                };
                if nk != *k {
                    txn.delete(k.clone())?;
                }
                new_keys.push((nk, new));
            }
            for (nk, new) in new_keys {
                let moved = !old_rows.iter().any(|(k, _)| *k == nk);
                if moved && txn.get(&nk)?.is_some() {
                    return Err(unique_violation(table, table.primary_index(), &new));
                }
                insert_indexes(txn, table, &new, &nk)?;
                txn.put(nk, encode_row(&new))?;
                written.push(new);
            }
        }
        WriteKind::Delete { .. } => {
            count = old_rows.len() as u64;
            for (k, old) in old_rows {
                delete_indexes(txn, table, &old, &k)?;
                txn.delete(k)?;
                written.push(old);
            }
        }
    }
    let mut ret = Vec::new();
    if !plan.returning.is_empty() {
        let ctx = ctx_params.ctx(txn);
        for r in &written {
            ret.push(
                plan.returning
                    .iter()
                    .map(|e| e.eval(r, &ctx))
                    .collect::<Result<_>>()?,
            );
        }
    }
    Ok((count, ret, generated))
}

/// The AUTO_INCREMENT columns of a table with their counters.
fn auto_increment_counters(
    table: &TableDef,
    txn: &Txn,
) -> Result<Vec<(usize, super::sequence::SeqRef)>> {
    let mut out = Vec::new();
    for i in 0..table.columns.len() {
        if let Some(seq) = super::sequence_ddl::auto_increment_counter(txn, table, i)? {
            out.push((i, seq.counter()));
        }
    }
    Ok(out)
}

/// MySQL's AUTO_INCREMENT rule for one value: NULL or 0 takes the counter's next value
/// (returned, to report as the statement's insert id); any other value moves the counter
/// past it and is kept (0 is returned).
fn auto_increment(
    v: &mut Value,
    seq: &super::sequence::SeqRef,
    services: &super::sequence::Services,
) -> Result<u64> {
    let given = match &*v {
        Value::Null => None,
        Value::Text(s) => s.trim().parse::<i64>().ok().filter(|n| *n != 0),
        Value::Float32(_) | Value::Float64(_) | Value::Numeric(_) => {
            match cast(v, &DataType::BigInt, CastMode::Explicit)? {
                Value::Int64(0) => None,
                other => other.as_i64(),
            }
        }
        other => other.as_i64().filter(|n| *n != 0),
    };
    match given {
        Some(n) => {
            services.sequences.observe(seq, n)?;
            Ok(0)
        }
        None => {
            let n = services.sequences.next(seq, None)?;
            *v = Value::Int64(n);
            Ok(u64::try_from(n).unwrap_or(0))
        }
    }
}

/// The pieces of an [`ExecCtx`] other than the transaction (which the write borrows
/// mutably between reads).
pub struct CtxParams<'a> {
    pub params: &'a [Value],
    pub semantics: &'a bc::Semantics,
    pub database: &'a crate::catalog::DatabaseDef,
    pub user: &'a str,
    pub cancel: &'a std::sync::atomic::AtomicBool,
    pub services: super::sequence::Services<'a>,
}

impl<'a> CtxParams<'a> {
    pub(super) fn ctx<'t>(&'t self, txn: &'t Txn) -> ExecCtx<'t> {
        let mut ctx = ExecCtx::new(
            txn,
            self.params,
            self.semantics,
            self.database,
            self.user,
            self.cancel,
        );
        ctx.services = Some(self.services);
        ctx
    }
}

/// Casts every value to its column's type (assignment rules) and checks NOT NULL.
pub fn check_row(table: &TableDef, row: Row) -> Result<Row> {
    let mut out = Vec::with_capacity(row.len());
    for (v, c) in row.into_iter().zip(&table.columns) {
        let v = if v.is_null() {
            if !c.nullable {
                return Err(Error::NotNullViolation {
                    table: table.name.clone(),
                    column: c.name.clone(),
                });
            }
            v
        } else {
            cast(&v, &c.data_type, CastMode::Assignment)?
        };
        out.push(v);
    }
    Ok(out)
}

/// The storage key of a row.
pub fn row_key(table: &TableDef, row: &[Value]) -> Result<Vec<u8>> {
    if table.primary_key.is_empty() {
        let id = ROW_ID.fetch_add(1, Ordering::Relaxed);
        return Ok(keys::row(
            table.id,
            &keys::tuple(&[Value::Int64(id as i64)]),
        ));
    }
    let pk: Vec<Value> = table.primary_key.iter().map(|&i| row[i].clone()).collect();
    Ok(keys::row(table.id, &keys::tuple(&pk)))
}

fn pk_bytes<'k>(table: &TableDef, row_key: &'k [u8]) -> &'k [u8] {
    let _ = table;
    row_key.get(5..).unwrap_or(&[])
}

/// The key of a row's entry in a secondary index.
pub fn index_key(index: &IndexDef, row: &[Value], pk: &[u8]) -> Vec<u8> {
    let vals: Vec<Value> = index.columns.iter().map(|&i| row[i].clone()).collect();
    let mut k = keys::index_prefix(index.id);
    k.extend(keys::tuple(&vals));
    // Unique entries are keyed by their values alone (so concurrent duplicates conflict);
    // NULLs are never equal, so such entries also carry the primary key.
    if !index.unique || vals.iter().any(Value::is_null) {
        k.extend_from_slice(pk);
    }
    k
}

pub(super) fn insert_indexes(
    txn: &mut Txn,
    table: &TableDef,
    row: &[Value],
    key: &[u8],
) -> Result<()> {
    let pk = pk_bytes(table, key);
    for idx in table.indexes.iter().filter(|i| !i.primary) {
        let k = index_key(idx, row, pk);
        if idx.unique && txn.get(&k)?.is_some() {
            return Err(unique_violation(table, Some(idx), row));
        }
        txn.put(k, pk.to_vec())?;
    }
    Ok(())
}

pub(super) fn delete_indexes(
    txn: &mut Txn,
    table: &TableDef,
    row: &[Value],
    key: &[u8],
) -> Result<()> {
    let pk = pk_bytes(table, key);
    for idx in table.indexes.iter().filter(|i| !i.primary) {
        txn.delete(index_key(idx, row, pk))?;
    }
    Ok(())
}

/// Builds a new index's entries from the table's rows.
pub fn build_index(txn: &mut Txn, table: &TableDef, index: &IndexDef) -> Result<()> {
    let prefix = keys::row_prefix(table.id);
    let mut rows = Vec::new();
    txn.scan(&prefix, &keys::prefix_end(&prefix), &mut |k, v| {
        rows.push((k.to_vec(), decode_row(v)?));
        Ok(true)
    })?;
    for (k, row) in rows {
        let ik = index_key(index, &row, pk_bytes(table, &k));
        if index.unique && txn.get(&ik)?.is_some() {
            return Err(unique_violation(table, Some(index), &row));
        }
        txn.put(ik, pk_bytes(table, &k).to_vec())?;
    }
    Ok(())
}

/// Deletes every key under a prefix (dropping a table's rows or an index's entries).
pub fn delete_prefix(txn: &mut Txn, prefix: &[u8]) -> Result<()> {
    let mut ks = Vec::new();
    txn.scan(prefix, &keys::prefix_end(prefix), &mut |k, _| {
        ks.push(k.to_vec());
        Ok(true)
    })?;
    for k in ks {
        txn.delete(k)?;
    }
    Ok(())
}

pub(crate) fn unique_violation(table: &TableDef, index: Option<&IndexDef>, row: &[Value]) -> Error {
    let (name, cols) = match index {
        Some(i) => (i.name.clone(), i.columns.clone()),
        None => (format!("{}_pkey", table.name), table.primary_key.clone()),
    };
    let names: Vec<&str> = cols
        .iter()
        .map(|&i| table.columns[i].name.as_str())
        .collect();
    let vals: Vec<String> = cols
        .iter()
        .map(|&i| to_text(&row[i]).unwrap_or_else(|| "null".into()))
        .collect();
    Error::UniqueViolation {
        constraint: name,
        detail: format!(
            "Key ({})=({}) already exists.",
            names.join(", "),
            vals.join(", ")
        ),
    }
}

/// The result columns' types of a table (for DDL that needs them).
pub fn column_types(t: &TableDef) -> Vec<DataType> {
    t.columns.iter().map(|c| c.data_type).collect()
}
