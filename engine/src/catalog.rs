//! The one catalog: databases, tables, indexes, views and users, shared by every dialect.
//!
//! Catalog entries are ordinary MVCC keys ([`crate::keys`]), read and written through the
//! transaction: DDL is transactional (a `CREATE TABLE` rolled back never existed) and
//! concurrent DDL on the same object conflicts like any write.
//!
//! Name resolution follows architecture §4: a quoted identifier matches exactly; an
//! unquoted one matches exactly first, then case-insensitively, so that a table created
//! unquoted from PostgreSQL (`orders`) is reachable unquoted from Firebird (`ORDERS`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use rosetta_bytecode::{DataType, Expr, Ident, Query};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::keys;
use crate::mvcc::Txn;
use crate::storage::{Store, WriteOp};

/// A database: a namespace of tables.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseDef {
    pub id: u32,
    pub name: String,
    pub owner: String,
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub data_type: DataType,
    pub nullable: bool,
    /// The DEFAULT expression, kept as bytecode and bound when used.
    pub default: Option<Expr>,
    /// For a MySQL `AUTO_INCREMENT` column, the name of the sequence the column owns
    /// (its counter).
    #[serde(default)]
    pub auto_increment: Option<String>,
}

/// An index (primary keys and UNIQUE constraints are indexes too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexDef {
    pub id: u32,
    pub name: String,
    /// Positions of the key columns in the table.
    pub columns: Vec<usize>,
    pub unique: bool,
    /// The primary key is the row key itself and has no separate entries.
    pub primary: bool,
    /// True when the index enforces a declared constraint (PRIMARY KEY or UNIQUE in
    /// CREATE TABLE) rather than coming from CREATE INDEX.
    #[serde(default)]
    pub constraint: bool,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub id: u32,
    pub db_id: u32,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Column positions of the primary key; empty for a table without one (rows are then
    /// keyed by a hidden row id).
    pub primary_key: Vec<usize>,
    pub indexes: Vec<IndexDef>,
}

impl TableDef {
    /// Finds a column by identifier (exact, then case-insensitive for unquoted names).
    pub fn column_index(&self, ident: &Ident) -> Option<usize> {
        find_by_name(self.columns.iter().map(|c| c.name.as_str()), ident)
    }

    /// The primary-key index, if the table has a primary key.
    pub fn primary_index(&self) -> Option<&IndexDef> {
        self.indexes.iter().find(|i| i.primary)
    }
}

/// A column of a view, as the defining query produced it when the view was created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewColumn {
    pub name: String,
    pub data_type: DataType,
}

/// A view: a named query, kept as bytecode and expanded by the binder wherever the view
/// is named (like a subquery qualified by the view's name). Views and tables share one
/// namespace per database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewDef {
    pub id: u32,
    pub db_id: u32,
    pub name: String,
    /// Output columns (names after the optional column list of `CREATE VIEW`).
    pub columns: Vec<ViewColumn>,
    /// The defining query, as bytecode.
    pub query: Query,
    /// The query's SQL text as the plugin rendered it (for `pg_views` and friends).
    #[serde(default)]
    pub definition: Option<String>,
    /// Ids of the tables and views the query reads: dropping one of them is refused
    /// (or cascades) while this view exists.
    #[serde(default)]
    pub depends_on: Vec<u32>,
    pub owner: String,
}

/// A named relation of a database: a table or a view.
#[derive(Debug, Clone)]
pub enum Relation {
    Table(TableDef),
    View(Box<ViewDef>),
}

impl Relation {
    /// The relation's name as stored.
    pub fn name(&self) -> &str {
        match self {
            Relation::Table(t) => &t.name,
            Relation::View(v) => &v.name,
        }
    }
}

/// A sequence: a named counter (`CREATE SEQUENCE`, Firebird generators, the counters of
/// SERIAL and AUTO_INCREMENT columns). This definition is transactional; the counter
/// itself is not (see [`crate::sql::sequence`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequenceDef {
    pub id: u32,
    pub db_id: u32,
    pub name: String,
    /// The value the first `NEXT VALUE FOR` returns (and the first after a restart).
    pub first: i64,
    /// The default step (non-zero).
    pub increment: i64,
    /// Restart generation: a fresh object id at creation and at every `RESTART`.
    pub epoch: u32,
    /// The table and column a SERIAL / AUTO_INCREMENT sequence belongs to: it is
    /// dropped with the table.
    #[serde(default)]
    pub owner: Option<(u32, String)>,
}

impl SequenceDef {
    /// What a bound statement needs to advance the counter.
    pub fn counter(&self) -> crate::sql::sequence::SeqRef {
        crate::sql::sequence::SeqRef {
            id: self.id,
            first: self.first,
            increment: self.increment,
            epoch: self.epoch,
        }
    }
}

/// A user (shared by every protocol).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserDef {
    pub name: String,
    pub superuser: bool,
    pub auth: rosetta_proto::AuthInfo,
}

/// Resolves `ident` among `names`: exact match first; for unquoted identifiers, then a
/// unique case-insensitive match.
pub fn find_by_name<'a>(
    names: impl Iterator<Item = &'a str> + Clone,
    ident: &Ident,
) -> Option<usize> {
    if let Some(i) = names.clone().position(|n| n == ident.value) {
        return Some(i);
    }
    if ident.quoted {
        return None;
    }
    let mut found = None;
    for (i, n) in names.enumerate() {
        if n.eq_ignore_ascii_case(&ident.value) {
            if found.is_some() {
                return None;
            }
            found = Some(i);
        }
    }
    found
}

/// Allocates catalog object ids. Ids are reserved in blocks recorded durably, so ids
/// never repeat across restarts (a crash wastes at most one block). It also carries the
/// sequences' counters, the other durable counters kept outside MVCC.
pub struct IdAllocator {
    store: Arc<dyn Store>,
    next: AtomicU32,
    reserved: std::sync::Mutex<u32>,
    /// Every sequence's counter.
    pub sequences: crate::sql::sequence::Sequences,
}

const ID_KEY: &[u8] = b"m\0next_id";
const ID_BLOCK: u32 = 100;

impl IdAllocator {
    /// Loads the allocator's high-water mark.
    pub fn open(store: Arc<dyn Store>) -> Result<Self> {
        let hwm = store
            .get(ID_KEY)?
            .and_then(|v| v.try_into().ok().map(u32::from_be_bytes))
            .unwrap_or(16384);
        Ok(Self {
            sequences: crate::sql::sequence::Sequences::new(store.clone()),
            store,
            next: AtomicU32::new(hwm),
            reserved: std::sync::Mutex::new(hwm),
        })
    }

    /// A fresh object id.
    pub fn next(&self) -> Result<u32> {
        let mut reserved = self.reserved.lock().unwrap_or_else(|e| e.into_inner());
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        if id >= *reserved {
            let new = id + ID_BLOCK;
            self.store.write(
                vec![WriteOp::Put(ID_KEY.to_vec(), new.to_be_bytes().to_vec())],
                true,
            )?;
            *reserved = new;
        }
        Ok(id)
    }
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    Ok(rmp_serde::from_slice(bytes)?)
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(v).unwrap_or_default()
}

/// Catalog reads within a transaction; writes are the `put_*`/`delete_*` functions,
/// which take the transaction mutably.
pub struct Catalog<'a> {
    pub txn: &'a Txn,
}

impl<'a> Catalog<'a> {
    /// Wraps a transaction.
    pub fn new(txn: &'a Txn) -> Self {
        Self { txn }
    }

    /// All databases.
    pub fn databases(&self) -> Result<Vec<DatabaseDef>> {
        self.list(&keys::database_prefix())
    }

    /// A database by exact name.
    pub fn database(&self, name: &str) -> Result<Option<DatabaseDef>> {
        self.txn
            .get(&keys::database(name))?
            .map(|b| decode(&b))
            .transpose()
    }

    /// All tables of a database.
    pub fn tables(&self, db_id: u32) -> Result<Vec<TableDef>> {
        self.list(&keys::table_prefix(db_id))
    }

    /// Resolves a table name in a database.
    pub fn table(&self, db_id: u32, ident: &Ident) -> Result<Option<TableDef>> {
        if let Some(b) = self.txn.get(&keys::table(db_id, &ident.value))? {
            return Ok(Some(decode(&b)?));
        }
        if ident.quoted {
            return Ok(None);
        }
        let tables = self.tables(db_id)?;
        Ok(find_by_name(tables.iter().map(|t| t.name.as_str()), ident)
            .and_then(|i| tables.into_iter().nth(i)))
    }

    /// All views of a database.
    pub fn views(&self, db_id: u32) -> Result<Vec<ViewDef>> {
        self.list(&keys::view_prefix(db_id))
    }

    /// Resolves a view name in a database (exact, then case-insensitive when unquoted).
    pub fn view(&self, db_id: u32, ident: &Ident) -> Result<Option<ViewDef>> {
        if let Some(b) = self.txn.get(&keys::view(db_id, &ident.value))? {
            return Ok(Some(decode(&b)?));
        }
        if ident.quoted {
            return Ok(None);
        }
        let views = self.views(db_id)?;
        Ok(find_by_name(views.iter().map(|v| v.name.as_str()), ident)
            .and_then(|i| views.into_iter().nth(i)))
    }

    /// Resolves a relation (table or view) name in a database: an exact match of either
    /// kind first, then a unique case-insensitive match among both for unquoted names.
    pub fn relation(&self, db_id: u32, ident: &Ident) -> Result<Option<Relation>> {
        if let Some(b) = self.txn.get(&keys::table(db_id, &ident.value))? {
            return Ok(Some(Relation::Table(decode(&b)?)));
        }
        if let Some(b) = self.txn.get(&keys::view(db_id, &ident.value))? {
            return Ok(Some(Relation::View(Box::new(decode(&b)?))));
        }
        if ident.quoted {
            return Ok(None);
        }
        let mut all: Vec<Relation> = self
            .tables(db_id)?
            .into_iter()
            .map(Relation::Table)
            .collect();
        all.extend(
            self.views(db_id)?
                .into_iter()
                .map(|v| Relation::View(Box::new(v))),
        );
        Ok(find_by_name(all.iter().map(|r| r.name()), ident).and_then(|i| all.into_iter().nth(i)))
    }

    /// All sequences of a database.
    pub fn sequences(&self, db_id: u32) -> Result<Vec<SequenceDef>> {
        self.list(&keys::sequence_prefix(db_id))
    }

    /// Resolves a sequence name in a database (exact, then case-insensitive when
    /// unquoted).
    pub fn sequence(&self, db_id: u32, ident: &Ident) -> Result<Option<SequenceDef>> {
        if let Some(b) = self.txn.get(&keys::sequence(db_id, &ident.value))? {
            return Ok(Some(decode(&b)?));
        }
        if ident.quoted {
            return Ok(None);
        }
        let all = self.sequences(db_id)?;
        Ok(find_by_name(all.iter().map(|s| s.name.as_str()), ident)
            .and_then(|i| all.into_iter().nth(i)))
    }

    /// All users.
    pub fn users(&self) -> Result<Vec<UserDef>> {
        self.list(&keys::user_prefix())
    }

    /// A user by exact name.
    pub fn user(&self, name: &str) -> Result<Option<UserDef>> {
        self.txn
            .get(&keys::user(name))?
            .map(|b| decode(&b))
            .transpose()
    }

    fn list<T: for<'de> Deserialize<'de>>(&self, prefix: &[u8]) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.txn
            .scan(prefix, &keys::prefix_end(prefix), &mut |_, v| {
                out.push(decode(v)?);
                Ok(true)
            })?;
        Ok(out)
    }
}

/// Ensures a name is not taken and is a usable identifier.
pub fn check_new_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 63 {
        return Err(Error::Syntax(format!("invalid name \"{name}\"")));
    }
    Ok(())
}

/// Writes a catalog entry in `txn` (see [`Catalog`] for reads).
pub fn put_database(txn: &mut Txn, db: &DatabaseDef) -> Result<()> {
    txn.put(keys::database(&db.name), encode(db))
}

/// Writes a catalog entry in `txn` (see [`Catalog`] for reads).
pub fn delete_database(txn: &mut Txn, name: &str) -> Result<()> {
    txn.delete(keys::database(name))
}

/// Writes a catalog entry in `txn` (see [`Catalog`] for reads).
pub fn put_table(txn: &mut Txn, t: &TableDef) -> Result<()> {
    txn.put(keys::table(t.db_id, &t.name), encode(t))
}

/// Writes a catalog entry in `txn` (see [`Catalog`] for reads).
pub fn delete_table(txn: &mut Txn, t: &TableDef) -> Result<()> {
    txn.delete(keys::table(t.db_id, &t.name))
}

/// Writes a catalog entry in `txn` (see [`Catalog`] for reads).
pub fn put_sequence(txn: &mut Txn, s: &SequenceDef) -> Result<()> {
    txn.put(keys::sequence(s.db_id, &s.name), encode(s))
}

/// Writes a catalog entry in `txn` (see [`Catalog`] for reads).
pub fn delete_sequence(txn: &mut Txn, s: &SequenceDef) -> Result<()> {
    txn.delete(keys::sequence(s.db_id, &s.name))
}

/// Writes a catalog entry in `txn` (see [`Catalog`] for reads).
pub fn put_user(txn: &mut Txn, u: &UserDef) -> Result<()> {
    txn.put(keys::user(&u.name), encode(u))
}

/// Writes a catalog entry in `txn` (see [`Catalog`] for reads).
pub fn put_view(txn: &mut Txn, v: &ViewDef) -> Result<()> {
    txn.put(keys::view(v.db_id, &v.name), encode(v))
}

/// Writes a catalog entry in `txn` (see [`Catalog`] for reads).
pub fn delete_view(txn: &mut Txn, v: &ViewDef) -> Result<()> {
    txn.delete(keys::view(v.db_id, &v.name))
}
