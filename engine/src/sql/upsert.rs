//! Upsert: an INSERT whose rows may become updates of (or leave alone) an existing row.
//!
//! One bytecode form covers PostgreSQL's `ON CONFLICT … DO NOTHING | DO UPDATE`, MySQL's
//! `ON DUPLICATE KEY UPDATE` and Firebird's `UPDATE OR INSERT … MATCHING`:
//!
//! ```text
//!   for each proposed row (in order, seeing the statement's own earlier writes):
//!     existing = the row that matches it        (match columns: primary key / unique
//!                                                index lookup, else a scan; no match
//!                                                columns: any primary key or unique
//!                                                index, MySQL's ON DUPLICATE KEY)
//!     none      → insert it
//!     Nothing   → skip it
//!     Update    → evaluate SET and WHERE on  existing ++ excluded  and rewrite the row
//! ```
//!
//! In the SET and WHERE expressions, plain columns are the existing row's and
//! `excluded.column` the proposed row's: the binder sees `excluded` as an enclosing scope,
//! and its references are then turned into columns past the end of the existing row.

use rosetta_bytecode::{self as bc};
use rosetta_types::Value;

use super::bind::{coerce_literal, Binder};
use super::exec::{decode_row, encode_row, scan_table, Row};
use super::expr::BExpr;
use super::plan::Access;
use super::write::{
    check_row, delete_indexes, index_key, insert_indexes, row_key, table_scope, unique_violation,
    CtxParams,
};
use crate::catalog::TableDef;
use crate::error::{Error, Result};
use crate::keys;
use crate::mvcc::Txn;

/// A bound upsert clause.
pub struct BoundUpsert {
    /// Sets of column positions that identify "the same row"; the first set with a match
    /// wins.
    match_sets: Vec<MatchSet>,
    action: Action,
}

/// One way of finding the existing row.
struct MatchSet {
    columns: Vec<usize>,
    /// How the columns can be looked up.
    lookup: Lookup,
}

enum Lookup {
    /// They are the primary key.
    PrimaryKey,
    /// They are the columns of the unique index at this position of `table.indexes`.
    Unique(usize),
    /// Nothing covers them: scan (Firebird's MATCHING needs no index).
    Scan,
}

enum Action {
    Nothing,
    Update {
        assignments: Vec<(usize, BExpr)>,
        filter: Option<BExpr>,
    },
}

/// Binds an upsert clause of an INSERT into `table`.
pub fn bind(b: &mut Binder, table: &TableDef, u: &bc::Upsert) -> Result<BoundUpsert> {
    let match_sets = if u.match_columns.is_empty() {
        let mut sets = Vec::new();
        if !table.primary_key.is_empty() {
            sets.push(MatchSet {
                columns: table.primary_key.clone(),
                lookup: Lookup::PrimaryKey,
            });
        }
        for (i, idx) in table.indexes.iter().enumerate() {
            if idx.unique && !idx.primary {
                sets.push(MatchSet {
                    columns: idx.columns.clone(),
                    lookup: Lookup::Unique(i),
                });
            }
        }
        sets
    } else {
        let mut cols = Vec::new();
        for c in &u.match_columns {
            let i = table
                .column_index(c)
                .ok_or_else(|| Error::UndefinedColumn(c.value.clone()))?;
            if !cols.contains(&i) {
                cols.push(i);
            }
        }
        let same =
            |other: &[usize]| other.len() == cols.len() && other.iter().all(|c| cols.contains(c));
        let lookup = if !table.primary_key.is_empty() && same(&table.primary_key) {
            Lookup::PrimaryKey
        } else if let Some(i) = table
            .indexes
            .iter()
            .position(|idx| idx.unique && !idx.primary && same(&idx.columns))
        {
            Lookup::Unique(i)
        } else {
            Lookup::Scan
        };
        vec![MatchSet {
            columns: cols,
            lookup,
        }]
    };
    let action = match &u.action {
        bc::UpsertAction::Nothing => Action::Nothing,
        bc::UpsertAction::Update {
            assignments,
            filter,
        } => {
            let scope = table_scope(table, None);
            let excluded = table_scope(table, Some("excluded"));
            let width = table.columns.len();
            let mut bound = Vec::new();
            for a in assignments {
                let i = table
                    .column_index(&a.column)
                    .ok_or_else(|| Error::UndefinedColumn(a.column.value.clone()))?;
                let ty = table.columns[i].data_type;
                let e = if matches!(a.value, bc::Expr::Default) {
                    return Err(Error::Unsupported("DEFAULT in an upsert's SET".into()));
                } else {
                    let (x, _) = b.with_outer(excluded.clone(), |b| b.expr(&a.value, &scope))?;
                    b.infer_param(&x, ty);
                    excluded_to_columns(coerce_literal(x, &ty)?, width)?
                };
                bound.push((i, e));
            }
            let filter = match filter {
                Some(f) => {
                    let (x, _) = b.with_outer(excluded.clone(), |b| b.expr(f, &scope))?;
                    Some(excluded_to_columns(x, width)?)
                }
                None => None,
            };
            Action::Update {
                assignments: bound,
                filter,
            }
        }
    };
    Ok(BoundUpsert { match_sets, action })
}

/// Turns references to the `excluded` scope (one level out) into columns after the
/// existing row's.
fn excluded_to_columns(e: BExpr, width: usize) -> Result<BExpr> {
    e.transform(&mut |x| {
        Ok(match x {
            BExpr::Outer { depth: 1, index } => BExpr::Column(width + index),
            x => x,
        })
    })
}

/// The storage key and values of the row `proposed` matches, if any.
fn find_existing(
    table: &TableDef,
    set: &MatchSet,
    proposed: &[Value],
    txn: &Txn,
    cp: &CtxParams,
) -> Result<Option<(Vec<u8>, Row)>> {
    let values: Vec<&Value> = set.columns.iter().map(|&i| &proposed[i]).collect();
    let has_null = values.iter().any(|v| v.is_null());
    let fetch = |key: Vec<u8>| -> Result<Option<(Vec<u8>, Row)>> {
        Ok(match txn.get(&key)? {
            Some(bytes) => Some((key, decode_row(&bytes)?)),
            None => None,
        })
    };
    match set.lookup {
        // Key columns are never NULL, so a NULL proposed value matches nothing.
        Lookup::PrimaryKey if has_null => Ok(None),
        Lookup::PrimaryKey => fetch(row_key(table, proposed)?),
        Lookup::Unique(i) if !has_null => {
            let Some(idx) = table.indexes.get(i) else {
                return Ok(None);
            };
            match txn.get(&index_key(idx, proposed, &[]))? {
                Some(pk) => fetch(keys::row(table.id, &pk)),
                None => Ok(None),
            }
        }
        Lookup::Unique(_) | Lookup::Scan => {
            let ctx = cp.ctx(txn);
            let mut found = None;
            scan_table(table, &Access::Full, &ctx, &mut |k, row| {
                let same = set.columns.iter().all(|&c| {
                    let (a, b) = (&row[c], &proposed[c]);
                    match (a.is_null(), b.is_null()) {
                        (true, true) => true,
                        (false, false) => {
                            rosetta_types::ops::compare(a, b).ok().flatten()
                                == Some(std::cmp::Ordering::Equal)
                        }
                        _ => false,
                    }
                });
                if same {
                    found = Some((k, row));
                    return Ok(false);
                }
                Ok(true)
            })?;
            Ok(found)
        }
    }
}

/// Inserts `proposed` or applies the upsert action to the row it matches; returns the
/// row written (for RETURNING and the count), `None` when nothing was written.
pub fn apply(
    table: &TableDef,
    upsert: &BoundUpsert,
    proposed: Row,
    txn: &mut Txn,
    cp: &CtxParams,
) -> Result<Option<Row>> {
    let mut existing = None;
    for set in &upsert.match_sets {
        if let Some(hit) = find_existing(table, set, &proposed, txn, cp)? {
            existing = Some(hit);
            break;
        }
    }
    let Some((old_key, old)) = existing else {
        let key = row_key(table, &proposed)?;
        if !table.primary_key.is_empty() && txn.get(&key)?.is_some() {
            return Err(unique_violation(table, table.primary_index(), &proposed));
        }
        insert_indexes(txn, table, &proposed, &key)?;
        txn.put(key, encode_row(&proposed))?;
        return Ok(Some(proposed));
    };
    let Action::Update {
        assignments,
        filter,
    } = &upsert.action
    else {
        return Ok(None);
    };
    let new = {
        let ctx = cp.ctx(txn);
        let mut both = old.clone();
        both.extend(proposed.iter().cloned());
        if let Some(f) = filter {
            if !f.test(&both, &ctx)? {
                return Ok(None);
            }
        }
        let mut new = old.clone();
        for (i, e) in assignments {
            new[*i] = e.eval(&both, &ctx)?;
        }
        check_row(table, new)?
    };
    delete_indexes(txn, table, &old, &old_key)?;
    let new_key = if table.primary_key.is_empty() {
        old_key.clone()
    } else {
        row_key(table, &new)?
    };
    if new_key != old_key {
        if txn.get(&new_key)?.is_some() {
            return Err(unique_violation(table, table.primary_index(), &new));
        }
        txn.delete(old_key)?;
    }
    insert_indexes(txn, table, &new, &new_key)?;
    txn.put(new_key, encode_row(&new))?;
    Ok(Some(new))
}
