//! Durable storage: a narrow ordered key-value interface over RocksDB.
//!
//! The engine's MVCC ([`crate::mvcc`]) is written against [`Store`] only; RocksDB is
//! the one implementation (see `docs/adr/0002-storage-rocksdb.md`). Every write is an
//! atomic batch; batches written with `sync = true` are fsync'd through RocksDB's WAL
//! before `write` returns, and RocksDB's write groups let concurrent syncing writers share
//! one fsync (group commit).

mod gc;
mod rocks;

pub use rocks::RocksStore;

/// A storage failure. Storage errors are not the client's fault: they surface as
/// SQLSTATE XX000/58030 and are logged.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage error: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("data directory: {0}")]
    DataDir(String),
}

/// One entry of an atomic write batch.
#[derive(Debug, Clone)]
pub enum WriteOp {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// A key and its value.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// The ordered key-value store the engine needs.
pub trait Store: Send + Sync + 'static {
    /// Reads one key.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError>;
    /// Iterates keys in `[start, end)` in ascending order, calling `f` until it returns
    /// false.
    fn scan(
        &self,
        start: &[u8],
        end: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), StorageError>;
    /// The first pair in `[start, end)` when every key of that range has the same MVCC
    /// prefix (one logical key's versions, see [`mvcc_prefix`]): a point read, which the
    /// store may answer with prefix bloom filters instead of a full seek.
    fn first_version(&self, start: &[u8], end: &[u8]) -> Result<Option<KeyValue>, StorageError> {
        let mut found = None;
        self.scan(start, end, &mut |k, v| {
            found = Some((k.to_vec(), v.to_vec()));
            false
        })?;
        Ok(found)
    }
    /// The greatest key `<= key` within `[lower, ...]`, if any.
    fn seek_prev(&self, key: &[u8], lower: &[u8]) -> Result<Option<KeyValue>, StorageError>;
    /// Applies a batch atomically; with `sync` it is durable when this returns.
    fn write(&self, ops: Vec<WriteOp>, sync: bool) -> Result<(), StorageError>;
    /// Compacts the whole key space now, which also garbage-collects old MVCC versions.
    fn compact(&self);
}

/// Length of the version suffix MVCC appends to every logical key (see [`crate::mvcc`]).
pub const VERSION_SUFFIX: usize = 8;

/// The logical key of a stored key: everything but the version suffix. The prefix bloom
/// filters are built on it, so that a point read skips files without that row.
pub fn mvcc_prefix(key: &[u8]) -> &[u8] {
    &key[..key.len().saturating_sub(VERSION_SUFFIX)]
}
