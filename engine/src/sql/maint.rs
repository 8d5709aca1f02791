//! Table maintenance statements: `TRUNCATE`, `ALTER TABLE … ADD PRIMARY KEY`, and the
//! transactional half of `VACUUM` / `ANALYZE` (the session compacts storage afterwards).

use std::collections::HashSet;

use rosetta_bytecode::{self as bc};

use super::exec::{decode_row, encode_row};
use super::write::{build_index, delete_prefix, unique_violation};
use super::{Env, Outcome};
use crate::catalog::{self, Catalog, IndexDef, TableDef};
use crate::error::{Error, Result};
use crate::keys;
use crate::mvcc::Txn;

/// Resolves a table name (`[db.][schema.]name`) in the session's database.
fn table(txn: &Txn, env: &Env, name: &[bc::Ident]) -> Result<TableDef> {
    let display = || {
        name.iter()
            .map(|i| i.value.as_str())
            .collect::<Vec<_>>()
            .join(".")
    };
    let Some(last) = name.last() else {
        return Err(Error::Syntax("empty table name".into()));
    };
    if name.len() > 1 && !name[name.len() - 2].value.eq_ignore_ascii_case("public") {
        return Err(Error::UndefinedTable(display()));
    }
    Catalog::new(txn)
        .table(env.database.id, last)?
        .ok_or_else(|| Error::UndefinedTable(display()))
}

/// `TRUNCATE names`: deletes every row and every index entry of each table, in `txn`.
pub fn truncate(names: &[bc::ObjectName], txn: &mut Txn, env: &Env) -> Result<Outcome> {
    let tables = names
        .iter()
        .map(|n| table(txn, env, n))
        .collect::<Result<Vec<_>>>()?;
    for t in &tables {
        delete_prefix(txn, &keys::row_prefix(t.id))?;
        for idx in t.indexes.iter().filter(|i| !i.primary) {
            delete_prefix(txn, &keys::index_prefix(idx.id))?;
        }
        txn.delete(keys::table_stats(t.id))?;
    }
    Ok(Outcome {
        tag: "TRUNCATE TABLE".into(),
        ..Default::default()
    })
}

/// The tables a `VACUUM` / `ANALYZE` names (all tables of the database when none).
pub fn maintained_tables(names: &[bc::ObjectName], txn: &Txn, env: &Env) -> Result<Vec<TableDef>> {
    if names.is_empty() {
        return Catalog::new(txn).tables(env.database.id);
    }
    names.iter().map(|n| table(txn, env, n)).collect()
}

/// Counts the live rows of a table as of `txn`'s snapshot (the statistic ANALYZE keeps).
pub fn count_rows(txn: &Txn, t: &TableDef) -> Result<u64> {
    let prefix = keys::row_prefix(t.id);
    let mut n = 0u64;
    txn.scan(&prefix, &keys::prefix_end(&prefix), &mut |_, _| {
        n += 1;
        Ok(true)
    })?;
    Ok(n)
}

/// Records the live-row count ANALYZE measured for a table, in `txn`.
pub fn put_row_estimate(txn: &mut Txn, table_id: u32, rows: u64) -> Result<()> {
    txn.put(keys::table_stats(table_id), rows.to_be_bytes().to_vec())
}

/// The live-row count the last committed ANALYZE measured (`None`: never analyzed, or
/// truncated since).
pub fn row_estimate(txn: &Txn, table_id: u32) -> Result<Option<u64>> {
    Ok(txn
        .get(&keys::table_stats(table_id))?
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map(u64::from_be_bytes))
}

/// `ALTER TABLE t ADD [CONSTRAINT name] PRIMARY KEY (columns)`: re-keys every row of a
/// table without a primary key under its primary-key values (checking NOT NULL and
/// uniqueness), rebuilds the secondary indexes (their entries point at row keys), marks
/// the columns NOT NULL and records the primary index in the catalog, all in `txn`.
pub fn add_primary_key(
    name: &[bc::Ident],
    constraint: Option<&bc::Ident>,
    columns: &[bc::Ident],
    txn: &mut Txn,
    env: &Env,
) -> Result<Outcome> {
    let mut t = table(txn, env, name)?;
    if !t.primary_key.is_empty() {
        return Err(Error::InvalidTableDefinition(format!(
            "multiple primary keys for table \"{}\" are not allowed",
            t.name
        )));
    }
    let mut pk = Vec::with_capacity(columns.len());
    for c in columns {
        let i = t
            .column_index(c)
            .ok_or_else(|| Error::UndefinedColumn(c.value.clone()))?;
        if pk.contains(&i) {
            return Err(Error::DuplicateColumn(c.value.clone()));
        }
        pk.push(i);
    }
    if pk.is_empty() {
        return Err(Error::Syntax(
            "a primary key needs at least one column".into(),
        ));
    }
    let index_name = constraint
        .map(|c| c.value.clone())
        .unwrap_or_else(|| format!("{}_pkey", t.name));
    for &i in &pk {
        t.columns[i].nullable = false;
    }
    t.primary_key = pk.clone();
    t.indexes.push(IndexDef {
        id: env.ids.next()?,
        name: index_name,
        columns: pk.clone(),
        unique: true,
        primary: true,
        constraint: true,
    });
    let prefix = keys::row_prefix(t.id);
    let mut old_keys = Vec::new();
    let mut rows = Vec::new();
    txn.scan(&prefix, &keys::prefix_end(&prefix), &mut |k, v| {
        old_keys.push(k.to_vec());
        rows.push(decode_row(v)?);
        Ok(true)
    })?;
    let mut seen = HashSet::with_capacity(rows.len());
    let mut new_keys = Vec::with_capacity(rows.len());
    for row in &rows {
        for &i in &pk {
            if row.get(i).is_none_or(|v| v.is_null()) {
                return Err(Error::NotNullViolation {
                    table: t.name.clone(),
                    column: t.columns[i].name.clone(),
                });
            }
        }
        let vals: Vec<_> = pk.iter().map(|&i| row[i].clone()).collect();
        let key = keys::row(t.id, &keys::tuple(&vals));
        if !seen.insert(key.clone()) {
            return Err(unique_violation(&t, t.primary_index(), row));
        }
        new_keys.push(key);
    }
    drop(seen);
    // Deletes first: a new key may equal some other row's hidden row-id key.
    for k in old_keys {
        txn.delete(k)?;
    }
    for (k, row) in new_keys.into_iter().zip(&rows) {
        txn.put(k, encode_row(row))?;
    }
    drop(rows);
    for idx in t.indexes.iter().filter(|i| !i.primary) {
        delete_prefix(txn, &keys::index_prefix(idx.id))?;
        build_index(txn, &t, idx)?;
    }
    catalog::put_table(txn, &t)?;
    Ok(Outcome {
        tag: "ALTER TABLE".into(),
        ..Default::default()
    })
}
