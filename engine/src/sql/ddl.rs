//! Catalog statements: CREATE/DROP TABLE, VIEW, INDEX and DATABASE. They run in the caller's
//! transaction, so they commit or roll back with it.

use rosetta_bytecode::{self as bc};

use super::{Env, Outcome};
use crate::catalog::{
    self, Catalog, ColumnDef, DatabaseDef, IndexDef, Relation, TableDef, ViewColumn, ViewDef,
};
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
            names,
            if_exists,
            cascade,
        } => drop_relations(names, *if_exists, *cascade, RelKind::Table, txn, env),
        bc::Statement::CreateView(cv) => create_view(cv, txn, env),
        bc::Statement::DropView {
            names,
            if_exists,
            cascade,
        } => drop_relations(names, *if_exists, *cascade, RelKind::View, txn, env),
        bc::Statement::CreateIndex(ci) => create_index(ci, txn, env),
        bc::Statement::CreateSequence(cs) => super::sequence_ddl::create(cs, txn, env),
        bc::Statement::DropSequence { names, if_exists } => {
            super::sequence_ddl::drop(names, *if_exists, txn, env)
        }
        bc::Statement::AlterSequence {
            name,
            restart,
            increment,
        } => super::sequence_ddl::alter(name, *restart, *increment, txn, env),
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
                drop_table_storage(txn, &t)?;
            }
            for v in Catalog::new(txn).views(db.id)? {
                catalog::delete_view(txn, &v)?;
            }
            for q in Catalog::new(txn).sequences(db.id)? {
                catalog::delete_sequence(txn, &q)?;
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

/// Which kind of relation a DROP names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RelKind {
    Table,
    View,
}

impl RelKind {
    fn word(self) -> &'static str {
        match self {
            RelKind::Table => "table",
            RelKind::View => "view",
        }
    }
}

/// Deletes a table's catalog entry, rows and secondary-index entries.
fn drop_table_storage(txn: &mut Txn, t: &TableDef) -> Result<()> {
    super::sequence_ddl::drop_owned(txn, t)?;
    catalog::delete_table(txn, t)?;
    delete_prefix(txn, &keys::row_prefix(t.id))?;
    for i in t.indexes.iter().filter(|i| !i.primary) {
        delete_prefix(txn, &keys::index_prefix(i.id))?;
    }
    Ok(())
}

/// `DROP TABLE` / `DROP VIEW`: each name must be a relation of that kind. Views that
/// depend on a dropped relation make the DROP fail with 2BP01, as in PostgreSQL, unless
/// `CASCADE` is given (then they are dropped too, with a notice each).
fn drop_relations(
    names: &[bc::ObjectName],
    if_exists: bool,
    cascade: bool,
    kind: RelKind,
    txn: &mut Txn,
    env: &Env,
) -> Result<Outcome> {
    let mut notices = vec![];
    for n in names {
        let last = n.last().ok_or_else(|| Error::Syntax("empty name".into()))?;
        let rel = Catalog::new(txn).relation(env.database.id, last)?;
        match (rel, kind) {
            (Some(Relation::Table(t)), RelKind::Table) => {
                drop_dependents(txn, env, t.id, "table", &t.name, cascade, &mut notices)?;
                drop_table_storage(txn, &t)?;
            }
            (Some(Relation::View(v)), RelKind::View) => {
                drop_dependents(txn, env, v.id, "view", &v.name, cascade, &mut notices)?;
                catalog::delete_view(txn, &v)?;
            }
            (Some(Relation::View(v)), RelKind::Table) => {
                return Err(Error::WrongObjectType {
                    message: format!("\"{}\" is not a table", v.name),
                    hint: Some("Use DROP VIEW to remove a view.".into()),
                })
            }
            (Some(Relation::Table(t)), RelKind::View) => {
                return Err(Error::WrongObjectType {
                    message: format!("\"{}\" is not a view", t.name),
                    hint: Some("Use DROP TABLE to remove a table.".into()),
                })
            }
            (None, _) if if_exists => notices.push(format!(
                "{} \"{}\" does not exist, skipping",
                kind.word(),
                last.value
            )),
            (None, _) => {
                return Err(Error::UndefinedRelation {
                    kind: kind.word(),
                    name: last.value.clone(),
                })
            }
        }
    }
    Ok(Outcome {
        tag: format!("DROP {}", kind.word().to_ascii_uppercase()),
        notices,
        ..Default::default()
    })
}

/// Views that depend on relation `id`: refuses the drop (2BP01) without `cascade`, else
/// drops them (and, recursively, the views that depend on them).
fn drop_dependents(
    txn: &mut Txn,
    env: &Env,
    id: u32,
    kind: &str,
    name: &str,
    cascade: bool,
    notices: &mut Vec<String>,
) -> Result<()> {
    let views = Catalog::new(txn).views(env.database.id)?;
    // Every view reached from `id` through dependencies, with the edge that reached it.
    let mut found: Vec<(ViewDef, String)> = Vec::new();
    let mut frontier = vec![(id, format!("{kind} {name}"))];
    while let Some((from, what)) = frontier.pop() {
        for v in &views {
            if v.depends_on.contains(&from) && !found.iter().any(|(f, _)| f.id == v.id) {
                found.push((v.clone(), what.clone()));
                frontier.push((v.id, format!("view {}", v.name)));
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    if !cascade {
        return Err(Error::DependentObjects {
            message: format!("cannot drop {kind} {name} because other objects depend on it"),
            detail: found
                .iter()
                .map(|(v, what)| format!("view {} depends on {what}", v.name))
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    for (v, _) in &found {
        notices.push(format!("drop cascades to view {}", v.name));
        catalog::delete_view(txn, v)?;
    }
    Ok(())
}

/// `CREATE [OR REPLACE] VIEW`: binds the query now (so a broken query, a missing table
/// or a name clash fails at CREATE time), records its columns and the relations it reads.
fn create_view(cv: &bc::CreateView, txn: &mut Txn, env: &Env) -> Result<Outcome> {
    let name = cv
        .name
        .last()
        .ok_or_else(|| Error::Syntax("empty view name".into()))?;
    if cv.name.len() > 1 {
        let schema = &cv.name[cv.name.len() - 2];
        if !schema.value.eq_ignore_ascii_case("public") {
            return Err(Error::Unsupported(format!(
                "creating a view in schema \"{}\"",
                schema.value
            )));
        }
    }
    catalog::check_new_name(&name.value)?;
    let existing = match Catalog::new(txn).relation(env.database.id, name)? {
        Some(Relation::View(v)) if cv.or_replace => Some(v),
        Some(Relation::Table(t)) if cv.or_replace => {
            return Err(Error::WrongObjectType {
                message: format!("\"{}\" is not a view", t.name),
                hint: None,
            })
        }
        Some(r) => return Err(Error::DuplicateTable(r.name().to_string())),
        None if crate::vcat::resolve(&cv.name).is_some()
            || Catalog::new(txn).sequence(env.database.id, name)?.is_some() =>
        {
            return Err(Error::DuplicateTable(name.value.clone()))
        }
        None => None,
    };
    if index_name_taken(txn, env, &name.value)? {
        return Err(Error::DuplicateTable(name.value.clone()));
    }
    let (deps, out) = {
        let mut b =
            super::bind::Binder::for_view(txn, env.database, existing.as_ref().map(|v| v.id));
        let (_, out) = b.query(&cv.query)?;
        if !b.params.is_empty() {
            return Err(Error::UndefinedParameter(1));
        }
        let mut deps = b.deps;
        deps.sort_unstable();
        deps.dedup();
        (deps, out)
    };
    if cv.columns.len() > out.len() {
        return Err(Error::Syntax(
            "CREATE VIEW specifies more column names than columns".into(),
        ));
    }
    let mut columns: Vec<ViewColumn> = Vec::with_capacity(out.len());
    for (i, c) in out.into_iter().enumerate() {
        let name = cv.columns.get(i).map(|n| n.value.clone()).unwrap_or(c.name);
        if columns.iter().any(|x| x.name == name) {
            return Err(Error::DuplicateColumn(name));
        }
        columns.push(ViewColumn {
            name,
            data_type: c.ty,
        });
    }
    let id = match &existing {
        Some(old) => {
            // PostgreSQL's rule: the new query may add columns at the end, nothing else.
            if columns.len() < old.columns.len() {
                return Err(Error::InvalidTableDefinition(
                    "cannot drop columns from view".into(),
                ));
            }
            for (o, n) in old.columns.iter().zip(&columns) {
                if o.name != n.name {
                    return Err(Error::InvalidTableDefinition(format!(
                        "cannot change name of view column \"{}\" to \"{}\"",
                        o.name, n.name
                    )));
                }
                if o.data_type != n.data_type {
                    return Err(Error::InvalidTableDefinition(format!(
                        "cannot change data type of view column \"{}\" from {} to {}",
                        o.name,
                        rosetta_types::type_name(&o.data_type),
                        rosetta_types::type_name(&n.data_type)
                    )));
                }
            }
            catalog::delete_view(txn, old)?;
            old.id
        }
        None => env.ids.next()?,
    };
    let view = ViewDef {
        id,
        db_id: env.database.id,
        name: existing
            .as_ref()
            .map(|v| v.name.clone())
            .unwrap_or_else(|| name.value.clone()),
        columns,
        query: cv.query.clone(),
        definition: cv.definition.clone(),
        depends_on: deps,
        owner: env.user.to_string(),
    };
    catalog::put_view(txn, &view)?;
    tag("CREATE VIEW")
}

/// Whether an index of the database already uses `name` (indexes, tables and views
/// share one namespace).
fn index_name_taken(txn: &Txn, env: &Env, name: &str) -> Result<bool> {
    Ok(Catalog::new(txn)
        .tables(env.database.id)?
        .iter()
        .any(|t| t.indexes.iter().any(|i| i.name == name)))
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
    if Catalog::new(txn).relation(env.database.id, name)?.is_some()
        || Catalog::new(txn).sequence(env.database.id, name)?.is_some()
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
            auto_increment: None,
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
    super::sequence_ddl::create_owned(ct, &mut t, txn, env)?;
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
    let mut t = match Catalog::new(txn).relation(env.database.id, tname)? {
        Some(Relation::Table(t)) => t,
        Some(Relation::View(v)) => {
            return Err(Error::WrongObjectType {
                message: format!("cannot create index on relation \"{}\"", v.name),
                hint: None,
            })
        }
        None => return Err(Error::UndefinedTable(tname.value.clone())),
    };
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
    let views = Catalog::new(txn).views(env.database.id)?;
    let sequences = Catalog::new(txn).sequences(env.database.id)?;
    if all
        .iter()
        .any(|x| x.indexes.iter().any(|i| i.name == name) || x.name == name)
        || views.iter().any(|v| v.name == name)
        || sequences.iter().any(|q| q.name == name)
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
