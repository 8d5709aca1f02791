//! [`Store`] on RocksDB.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use rocksdb::{BlockBasedOptions, Cache, Options, ReadOptions, WriteBatch, WriteOptions, DB};

use super::{StorageError, Store, WriteOp};

/// RocksDB, tuned for an OLTP engine: bloom filters for point lookups, a shared block
/// cache, LZ4 for cold levels, checksummed blocks (RocksDB default), WAL always on.
pub struct RocksStore {
    db: DB,
}

impl RocksStore {
    /// Opens (creating if needed) the RocksDB instance under `path`. Compactions drop
    /// MVCC versions no snapshot at or after `gc_horizon` can see (see [`super::gc`]).
    pub fn open(path: &Path, gc_horizon: Arc<AtomicU64>) -> Result<Self, StorageError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.increase_parallelism(2);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        opts.set_max_background_jobs(2);
        opts.set_write_buffer_size(64 << 20);
        // Let a writer that arrives while another is syncing join its group.
        opts.set_enable_pipelined_write(true);
        let mut table = BlockBasedOptions::default();
        table.set_bloom_filter(10.0, false);
        let cache = Cache::new_lru_cache(256 << 20);
        table.set_block_cache(&cache);
        table.set_cache_index_and_filter_blocks(true);
        opts.set_block_based_table_factory(&table);
        opts.set_compaction_filter_factory(super::gc::MvccGcFactory::new(gc_horizon));
        let db = DB::open(&opts, path)?;
        Ok(Self { db })
    }
}

impl Store for RocksStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.db.get(key)?)
    }

    fn scan(
        &self,
        start: &[u8],
        end: &[u8],
        f: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), StorageError> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(end.to_vec());
        let mut it = self.db.raw_iterator_opt(ro);
        it.seek(start);
        while it.valid() {
            let (Some(k), Some(v)) = (it.key(), it.value()) else {
                break;
            };
            if !f(k, v) {
                return Ok(());
            }
            it.next();
        }
        Ok(it.status()?)
    }

    fn seek_prev(&self, key: &[u8], lower: &[u8]) -> Result<Option<super::KeyValue>, StorageError> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(lower.to_vec());
        let mut it = self.db.raw_iterator_opt(ro);
        it.seek_for_prev(key);
        if it.valid() {
            if let (Some(k), Some(v)) = (it.key(), it.value()) {
                return Ok(Some((k.to_vec(), v.to_vec())));
            }
        }
        it.status()?;
        Ok(None)
    }

    fn write(&self, ops: Vec<WriteOp>, sync: bool) -> Result<(), StorageError> {
        let mut batch = WriteBatch::default();
        for op in ops {
            match op {
                WriteOp::Put(k, v) => batch.put(k, v),
                WriteOp::Delete(k) => batch.delete(k),
            }
        }
        let mut wo = WriteOptions::default();
        wo.set_sync(sync);
        Ok(self.db.write_opt(batch, &wo)?)
    }

    fn compact(&self) {
        self.db.compact_range::<&[u8], &[u8]>(None, None);
    }
}
