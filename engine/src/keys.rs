//! Logical key layout. Every component is self-delimiting, so no logical key is a prefix
//! of another (the MVCC version suffix relies on that).
//!
//! ```text
//!   r ++ table_id u32 ++ key(pk values)            row          → row values
//!   i ++ index_id u32 ++ key(values) [++ key(pk)]  index entry  → key(pk)
//!   c ++ d ++ key(db name)                         database     → DatabaseDef
//!   c ++ t ++ db_id u32 ++ key(table name)         table        → TableDef
//!   c ++ v ++ db_id u32 ++ key(view name)          view         → ViewDef
//!   c ++ q ++ db_id u32 ++ key(sequence name)      sequence     → SequenceDef
//!   c ++ u ++ key(user name)                       user         → UserDef
//!   c ++ s ++ table_id u32                         statistics   → live rows u64 (ANALYZE)
//!   m ++ name                                      unversioned metadata (id counters,
//!                                                  sequence marks: sql/sequence.rs)
//! ```

use rosetta_types::{key, Value};

/// Key of a row.
pub fn row(table_id: u32, pk: &[u8]) -> Vec<u8> {
    let mut k = row_prefix(table_id);
    k.extend_from_slice(pk);
    k
}

/// Prefix of all rows of a table.
pub fn row_prefix(table_id: u32) -> Vec<u8> {
    let mut k = vec![b'r'];
    k.extend_from_slice(&table_id.to_be_bytes());
    k
}

/// Key of a table's statistics (the live-row count ANALYZE measured).
pub fn table_stats(table_id: u32) -> Vec<u8> {
    let mut k = vec![b'c', b's'];
    k.extend_from_slice(&table_id.to_be_bytes());
    k
}

/// Prefix of all entries of an index.
pub fn index_prefix(index_id: u32) -> Vec<u8> {
    let mut k = vec![b'i'];
    k.extend_from_slice(&index_id.to_be_bytes());
    k
}

/// The encoded key of a tuple of values.
pub fn tuple(values: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        key::encode(v, &mut out);
    }
    out
}

/// Key of a database definition.
pub fn database(name: &str) -> Vec<u8> {
    let mut k = vec![b'c', b'd'];
    key::encode(&Value::Text(name.to_string()), &mut k);
    k
}

/// Prefix of all database definitions.
pub fn database_prefix() -> Vec<u8> {
    vec![b'c', b'd']
}

/// Key of a table definition.
pub fn table(db_id: u32, name: &str) -> Vec<u8> {
    let mut k = table_prefix(db_id);
    key::encode(&Value::Text(name.to_string()), &mut k);
    k
}

/// Prefix of all table definitions of a database.
pub fn table_prefix(db_id: u32) -> Vec<u8> {
    let mut k = vec![b'c', b't'];
    k.extend_from_slice(&db_id.to_be_bytes());
    k
}

/// Key of a view definition (views and tables share one namespace: the catalog checks
/// both before creating either).
pub fn view(db_id: u32, name: &str) -> Vec<u8> {
    let mut k = view_prefix(db_id);
    key::encode(&Value::Text(name.to_string()), &mut k);
    k
}

/// Prefix of all view definitions of a database.
pub fn view_prefix(db_id: u32) -> Vec<u8> {
    let mut k = vec![b'c', b'v'];
    k.extend_from_slice(&db_id.to_be_bytes());
    k
}

/// Key of a sequence definition (sequences share the relation namespace: the catalog
/// checks tables and views before creating one).
pub fn sequence(db_id: u32, name: &str) -> Vec<u8> {
    let mut k = sequence_prefix(db_id);
    key::encode(&Value::Text(name.to_string()), &mut k);
    k
}

/// Prefix of all sequence definitions of a database.
pub fn sequence_prefix(db_id: u32) -> Vec<u8> {
    let mut k = vec![b'c', b'q'];
    k.extend_from_slice(&db_id.to_be_bytes());
    k
}

/// Key of a user.
pub fn user(name: &str) -> Vec<u8> {
    let mut k = vec![b'c', b'u'];
    key::encode(&Value::Text(name.to_string()), &mut k);
    k
}

/// Prefix of all users.
pub fn user_prefix() -> Vec<u8> {
    vec![b'c', b'u']
}

/// The smallest key greater than every key starting with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xff; 16]
}

/// First byte of every catalog key (databases, tables, views, sequences, users, stats).
pub const CATALOG_PREFIX: &[u8] = b"c";
/// The end of the catalog key range (exclusive).
pub const CATALOG_END: &[u8] = b"d";

/// Whether a logical key belongs to the catalog (writing it invalidates cached plans).
pub fn is_catalog(key: &[u8]) -> bool {
    key.first() == Some(&b'c')
}
