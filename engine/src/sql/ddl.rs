//! Catalog statements: CREATE/DROP TABLE, INDEX and DATABASE. They run in the caller's
//! transaction, so they commit or roll back with it.

use rosetta_bytecode::{self as bc};

use super::{Env, Outcome};
use crate::catalog::{self, Catalog, ColumnDef, DatabaseDef, IndexDef, TableDef};
use crate::error::{Error, Result};
use crate::keys;
use crate::mvcc::Txn;
use crate::sql::write::{build_index, delete_prefix};

fn tag(t: &str) -> Result<Outcome> {
    Ok(Outcome {
        tag: t.into(),
        ..Default::default()
    })
}

fn notice(t: &str, msg: String) -> Result<Outcome> {
    Ok(Outcome {
        tag: t.into(),
        notices: vec![msg],
        ..Default::default()
    })
}

/// Runs one catalog statement.
pub fn execute(stmt: &bc::Statement, txn: &mut Txn, env: &Env) -> Result<Outcome> {
    match stmt {
        bc::Statement::CreateTable(ct) => create_table(ct, txn, env),
        bc::Statement::DropTable {
            names, if_exists, ..
        } => {
            let mut notices = vec![];
            for n in names {
                let last = n.last().ok_or_else(|| Error::Syntax("empty name".into()))?;
                match Catalog::new(txn).table(env.database.id, last)? {
                    Some(t) => {
                        catalog::delete_table(txn, &t)?;
                        delete_prefix(txn, &keys::row_prefix(t.id))?;
                        for i in t.indexes.iter().filter(|i| !i.primary) {
                            delete_prefix(txn, &keys::index_prefix(i.id))?;
                        }
                    }
                    None if *if_exists => {
                        notices.push(format!("table \"{}\" does not exist, skipping", last.value))
                    }
                    None => return Err(Error::UndefinedTable(last.value.clone())),
                }
            }
            Ok(Outcome {
                tag: "DROP TABLE".into(),
                notices,
                ..Default::default()
            })
        }
        bc::Statement::CreateIndex(ci) => create_index(ci, txn, env),
        bc::Statement::DropIndex { names, if_exists } => {
            for n in names {
                let last = n.last().ok_or_else(|| Error::Syntax("empty name".into()))?;
                let tables = Catalog::new(txn).tables(env.database.id)?;
                let hit = tables.into_iter().find_map(|t| {
                    let pos =
                        catalog::find_by_name(t.indexes.iter().map(|i| i.name.as_str()), last)?;
                    Some((t, pos))
                });
                match hit {
                    Some((mut t, pos)) => {
                        let idx = t.indexes.remove(pos);
                        if idx.primary {
                            return Err(Error::Unsupported("dropping a primary key index".into()));
                        }
                        delete_prefix(txn, &keys::index_prefix(idx.id))?;
                        catalog::put_table(txn, &t)?;
                    }
                    None if *if_exists => {
                        return notice(
                            "DROP INDEX",
                            format!("index \"{}\" does not exist, skipping", last.value),
                        )
                    }
                    None => return Err(Error::UndefinedIndex(last.value.clone())),
                }
            }
            tag("DROP INDEX")
        }
        bc::Statement::CreateDatabase {
            name,
            if_not_exists,
        } => {
            catalog::check_new_name(&name.value)?;
            if Catalog::new(txn).database(&name.value)?.is_some() {
                if *if_not_exists {
                    return notice(
                        "CREATE DATABASE",
                        format!("database \"{}\" already exists, skipping", name.value),
                    );
                }
                return Err(Error::DuplicateDatabase(name.value.clone()));
            }
            let db = DatabaseDef {
                id: env.ids.next()?,
                name: name.value.clone(),
                owner: env.user.to_string(),
            };
            catalog::put_database(txn, &db)?;
            tag("CREATE DATABASE")
        }
        bc::Statement::DropDatabase { name, if_exists } => {
            if name.value == env.database.name {
                return Err(Error::ObjectInUse(name.value.clone()));
            }
            let Some(db) = Catalog::new(txn).database(&name.value)? else {
                if *if_exists {
                    return notice(
                        "DROP DATABASE",
                        format!("database \"{}\" does not exist, skipping", name.value),
                    );
                }
                return Err(Error::UndefinedDatabase(name.value.clone()));
            };
            for t in Catalog::new(txn).tables(db.id)? {
                catalog::delete_table(txn, &t)?;
                delete_prefix(txn, &keys::row_prefix(t.id))?;
                for i in t.indexes.iter().filter(|i| !i.primary) {
                    delete_prefix(txn, &keys::index_prefix(i.id))?;
                }
            }
            catalog::delete_database(txn, &db.name)?;
            tag("DROP DATABASE")
        }
        other => Err(Error::Unsupported(format!(
            "statement {}",
            stmt_name(other)
        ))),
    }
}

fn stmt_name(s: &bc::Statement) -> String {
    format!("{s:?}")
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or("")
        .to_string()
}

fn create_table(ct: &bc::CreateTable, txn: &mut Txn, env: &Env) -> Result<Outcome> {
    let name = ct
        .name
        .last()
        .ok_or_else(|| Error::Syntax("empty table name".into()))?;
    catalog::check_new_name(&name.value)?;
    if Catalog::new(txn).table(env.database.id, name)?.is_some()
        || crate::vcat::resolve(&ct.name).is_some()
    {
        if ct.if_not_exists {
            return notice(
                "CREATE TABLE",
                format!("relation \"{}\" already exists, skipping", name.value),
            );
        }
        return Err(Error::DuplicateTable(name.value.clone()));
    }
    let mut columns: Vec<ColumnDef> = Vec::new();
    let mut pk: Vec<usize> = Vec::new();
    let mut uniques: Vec<(Option<String>, Vec<usize>)> = Vec::new();
    for (i, c) in ct.columns.iter().enumerate() {
        if columns.iter().any(|x| x.name == c.name.value) {
            return Err(Error::DuplicateColumn(c.name.value.clone()));
        }
        columns.push(ColumnDef {
            name: c.name.value.clone(),
            data_type: c.data_type,
            nullable: !c.not_null && !c.primary_key,
            default: c.default.clone(),
        });
        if c.primary_key {
            if !pk.is_empty() {
                return Err(Error::Syntax(format!(
                    "multiple primary keys for table \"{}\" are not allowed",
                    name.value
                )));
            }
            pk.push(i);
        }
        if c.unique {
            uniques.push((None, vec![i]));
        }
    }
    let t0 = TableDef {
        id: 0,
        db_id: env.database.id,
        name: name.value.clone(),
        columns,
        primary_key: vec![],
        indexes: vec![],
    };
    let resolve = |cols: &[bc::Ident]| -> Result<Vec<usize>> {
        cols.iter()
            .map(|c| {
                t0.column_index(c)
                    .ok_or_else(|| Error::UndefinedColumn(c.value.clone()))
            })
            .collect()
    };
    for con in &ct.constraints {
        match con {
            bc::TableConstraint::PrimaryKey { columns, .. } => {
                if !pk.is_empty() {
                    return Err(Error::Syntax(format!(
                        "multiple primary keys for table \"{}\" are not allowed",
                        name.value
                    )));
                }
                pk = resolve(columns)?;
            }
            bc::TableConstraint::Unique { name, columns } => {
                uniques.push((name.as_ref().map(|n| n.value.clone()), resolve(columns)?))
            }
        }
    }
    let mut t = t0;
    for &i in &pk {
        t.columns[i].nullable = false;
    }
    t.id = env.ids.next()?;
    t.primary_key = pk.clone();
    if !pk.is_empty() {
        t.indexes.push(IndexDef {
            id: env.ids.next()?,
            name: format!("{}_pkey", t.name),
            columns: pk,
            unique: true,
            primary: true,
            constraint: true,
        });
    }
    for (n, cols) in uniques {
        let cname: Vec<&str> = cols.iter().map(|&i| t.columns[i].name.as_str()).collect();
        t.indexes.push(IndexDef {
            id: env.ids.next()?,
            name: n.unwrap_or_else(|| format!("{}_{}_key", t.name, cname.join("_"))),
            columns: cols,
            unique: true,
            primary: false,
            constraint: true,
        });
    }
    catalog::put_table(txn, &t)?;
    tag("CREATE TABLE")
}

fn create_index(ci: &bc::CreateIndex, txn: &mut Txn, env: &Env) -> Result<Outcome> {
    let tname = ci
        .table
        .last()
        .ok_or_else(|| Error::Syntax("empty table name".into()))?;
    let mut t = Catalog::new(txn)
        .table(env.database.id, tname)?
        .ok_or_else(|| Error::UndefinedTable(tname.value.clone()))?;
    let cols: Vec<usize> = ci
        .columns
        .iter()
        .map(|c| {
            t.column_index(&c.name)
                .ok_or_else(|| Error::UndefinedColumn(c.name.value.clone()))
        })
        .collect::<Result<_>>()?;
    let name = match &ci.name {
        Some(n) => n.value.clone(),
        None => {
            let cn: Vec<&str> = cols.iter().map(|&i| t.columns[i].name.as_str()).collect();
            format!("{}_{}_idx", t.name, cn.join("_"))
        }
    };
    let all = Catalog::new(txn).tables(env.database.id)?;
    if all
        .iter()
        .any(|x| x.indexes.iter().any(|i| i.name == name) || x.name == name)
    {
        if ci.if_not_exists {
            return notice(
                "CREATE INDEX",
                format!("relation \"{name}\" already exists, skipping"),
            );
        }
        return Err(Error::DuplicateTable(name));
    }
    let idx = IndexDef {
        id: env.ids.next()?,
        name,
        columns: cols,
        unique: ci.unique,
        primary: false,
        constraint: false,
    };
    build_index(txn, &t, &idx)?;
    t.indexes.push(idx);
    catalog::put_table(txn, &t)?;
    tag("CREATE INDEX")
}
