//! Sequence DDL: `CREATE SEQUENCE`, `DROP SEQUENCE`, `ALTER SEQUENCE`, and the sequences
//! a table owns (SERIAL columns, AUTO_INCREMENT columns), created and dropped with it.
//!
//! Definitions are catalog entries and so transactional; the counters are not (see
//! [`super::sequence`]). Sequences share the relation namespace with tables and views.

use rosetta_bytecode::{self as bc};

use super::{Env, Outcome};
use crate::catalog::{self, Catalog, SequenceDef, TableDef};
use crate::error::{Error, Result};
use crate::mvcc::Txn;

/// The last part of a sequence name; a schema other than `public` is refused.
fn simple_name(name: &[bc::Ident]) -> Result<&bc::Ident> {
    let last = name
        .last()
        .ok_or_else(|| Error::Syntax("empty sequence name".into()))?;
    if name.len() > 1 {
        let schema = &name[name.len() - 2];
        if !schema.value.eq_ignore_ascii_case("public") {
            return Err(Error::Unsupported(format!(
                "sequences in schema \"{}\"",
                schema.value
            )));
        }
    }
    Ok(last)
}

/// Whether a table, view, index or sequence of the database already uses `name`.
fn name_taken(txn: &Txn, env: &Env, name: &bc::Ident) -> Result<bool> {
    let cat = Catalog::new(txn);
    if cat.relation(env.database.id, name)?.is_some()
        || cat.sequence(env.database.id, name)?.is_some()
    {
        return Ok(true);
    }
    Ok(cat
        .tables(env.database.id)?
        .iter()
        .any(|t| t.indexes.iter().any(|i| i.name == name.value)))
}

/// `CREATE SEQUENCE [IF NOT EXISTS] name …`.
pub fn create(cs: &bc::CreateSequence, txn: &mut Txn, env: &Env) -> Result<Outcome> {
    let name = simple_name(&cs.name)?;
    catalog::check_new_name(&name.value)?;
    if cs.increment == 0 {
        return Err(Error::InvalidParameter("INCREMENT must not be zero".into()));
    }
    if name_taken(txn, env, name)? {
        if cs.if_not_exists {
            return Ok(Outcome {
                tag: "CREATE SEQUENCE".into(),
                notices: vec![format!(
                    "relation \"{}\" already exists, skipping",
                    name.value
                )],
                ..Default::default()
            });
        }
        return Err(Error::DuplicateTable(name.value.clone()));
    }
    let id = env.ids.next()?;
    catalog::put_sequence(
        txn,
        &SequenceDef {
            id,
            db_id: env.database.id,
            name: name.value.clone(),
            first: cs.first,
            increment: cs.increment,
            epoch: id,
            owner: None,
        },
    )?;
    Ok(Outcome {
        tag: "CREATE SEQUENCE".into(),
        ..Default::default()
    })
}

/// `DROP SEQUENCE [IF EXISTS] names`: a sequence a column owns goes only with its table.
pub fn drop(
    names: &[bc::ObjectName],
    if_exists: bool,
    txn: &mut Txn,
    env: &Env,
) -> Result<Outcome> {
    let mut notices = Vec::new();
    for n in names {
        let name = simple_name(n)?;
        let Some(seq) = Catalog::new(txn).sequence(env.database.id, name)? else {
            if if_exists {
                notices.push(format!(
                    "sequence \"{}\" does not exist, skipping",
                    name.value
                ));
                continue;
            }
            return Err(Error::UndefinedRelation {
                kind: "sequence",
                name: name.value.clone(),
            });
        };
        if let Some((table_id, column)) = &seq.owner {
            let owner = Catalog::new(txn)
                .tables(env.database.id)?
                .into_iter()
                .find(|t| t.id == *table_id);
            if let Some(t) = owner {
                return Err(Error::DependentObjects {
                    message: format!(
                        "cannot drop sequence {} because other objects depend on it",
                        seq.name
                    ),
                    detail: format!(
                        "default value for column {column} of table {} depends on sequence {}",
                        t.name, seq.name
                    ),
                });
            }
        }
        catalog::delete_sequence(txn, &seq)?;
    }
    Ok(Outcome {
        tag: "DROP SEQUENCE".into(),
        notices,
        ..Default::default()
    })
}

/// `ALTER SEQUENCE name [RESTART WITH n] [INCREMENT BY n]`.
///
/// The restart is part of the transaction (PostgreSQL's rule): other transactions see
/// it once it commits and the first value is taken, and a rollback undoes it unless a
/// value was taken meanwhile (see [`super::sequence`]). Firebird's `SET GENERATOR` /
/// `RESTART`, which act at once and survive a rollback, are compiled by the Firebird
/// plugin to `setval`, which sets the counter that way.
pub fn alter(
    name: &bc::ObjectName,
    restart: Option<i64>,
    increment: Option<i64>,
    txn: &mut Txn,
    env: &Env,
) -> Result<Outcome> {
    let ident = simple_name(name)?;
    let mut seq = Catalog::new(txn)
        .sequence(env.database.id, ident)?
        .ok_or_else(|| Error::UndefinedRelation {
            kind: "sequence",
            name: ident.value.clone(),
        })?;
    if let Some(inc) = increment {
        if inc == 0 {
            return Err(Error::InvalidParameter("INCREMENT must not be zero".into()));
        }
        seq.increment = inc;
    }
    if let Some(first) = restart {
        seq.first = first;
        seq.epoch = env.ids.next()?;
    }
    catalog::put_sequence(txn, &seq)?;
    Ok(Outcome {
        tag: "ALTER SEQUENCE".into(),
        ..Default::default()
    })
}

/// A free name for a column's own sequence: PostgreSQL's `<table>_<column>_seq`, with a
/// number appended while that is taken.
fn owned_name(txn: &Txn, env: &Env, table: &str, column: &str) -> Result<String> {
    let base = format!("{table}_{column}_seq");
    let mut candidate = base.clone();
    let mut n = 0;
    while name_taken(txn, env, &bc::Ident::quoted(candidate.clone()))? {
        n += 1;
        candidate = format!("{base}{n}");
    }
    Ok(candidate)
}

/// Creates the sequences the columns of a new table own:
///
/// * an `AUTO_INCREMENT` column gets a counter named like a SERIAL's sequence;
/// * a column whose DEFAULT is `NEXT VALUE FOR <table>_<column>_seq` (what the PostgreSQL
///   plugin makes of `SERIAL`) gets that sequence, when it does not exist yet.
pub fn create_owned(
    ct: &bc::CreateTable,
    table: &mut TableDef,
    txn: &mut Txn,
    env: &Env,
) -> Result<()> {
    for (i, c) in ct.columns.iter().enumerate() {
        let name = if c.auto_increment {
            let name = owned_name(txn, env, &table.name, &c.name.value)?;
            if let Some(col) = table.columns.get_mut(i) {
                col.auto_increment = Some(name.clone());
            }
            name
        } else if let Some(bc::Expr::NextValue {
            sequence,
            step: None,
        }) = &c.default
        {
            let Some(last) = sequence.last() else {
                continue;
            };
            let serial = format!("{}_{}_seq", table.name, c.name.value);
            if last.value != serial || name_taken(txn, env, last)? {
                continue;
            }
            serial
        } else {
            continue;
        };
        let id = env.ids.next()?;
        catalog::put_sequence(
            txn,
            &SequenceDef {
                id,
                db_id: env.database.id,
                name,
                first: 1,
                increment: 1,
                epoch: id,
                owner: Some((table.id, c.name.value.clone())),
            },
        )?;
    }
    Ok(())
}

/// Drops the sequences a table owns (with the table).
pub fn drop_owned(txn: &mut Txn, table: &TableDef) -> Result<()> {
    let owned: Vec<SequenceDef> = Catalog::new(txn)
        .sequences(table.db_id)?
        .into_iter()
        .filter(|s| s.owner.as_ref().is_some_and(|(id, _)| *id == table.id))
        .collect();
    for s in owned {
        catalog::delete_sequence(txn, &s)?;
    }
    Ok(())
}

/// The counter of an AUTO_INCREMENT column, if the column has one.
pub fn auto_increment_counter(
    txn: &Txn,
    table: &TableDef,
    column: usize,
) -> Result<Option<SequenceDef>> {
    let Some(name) = table
        .columns
        .get(column)
        .and_then(|c| c.auto_increment.as_ref())
    else {
        return Ok(None);
    };
    Catalog::new(txn).sequence(table.db_id, &bc::Ident::quoted(name.clone()))
}
