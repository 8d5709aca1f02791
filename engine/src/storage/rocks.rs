//! [`Store`] on RocksDB.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use rocksdb::{
    BlockBasedOptions, Cache, Options, ReadOptions, SliceTransform, WriteBatch, WriteOptions, DB,
};

use super::{StorageError, Store, WriteOp};

/// RocksDB, tuned for an OLTP engine: prefix bloom filters on the logical key (so that
/// reading one row's newest version skips every file without it), a shared block cache,
/// LZ4 for cold levels, checksummed blocks (RocksDB default), WAL always on. Range scans
/// use total-order seeks and never consult the prefix filters.
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
        opts.set_prefix_extractor(SliceTransform::create(
            "rosetta.mvcc-logical-key",
            super::mvcc_prefix,
            Some(|k: &[u8]| k.len() > super::VERSION_SUFFIX),
        ));
        opts.set_memtable_prefix_bloom_ratio(0.05);
        let mut table = BlockBasedOptions::default();
        table.set_bloom_filter(10.0, false);
        table.set_whole_key_filtering(false);
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
        ro.set_total_order_seek(true);
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

    fn first_version(
        &self,
        start: &[u8],
        end: &[u8],
    ) -> Result<Option<super::KeyValue>, StorageError> {
        if start.len() <= super::VERSION_SUFFIX
            || super::mvcc_prefix(start) != super::mvcc_prefix(end)
        {
            // Not one logical key's versions: an ordinary bounded scan.
            let mut found = None;
            self.scan(start, end, &mut |k, v| {
                found = Some((k.to_vec(), v.to_vec()));
                false
            })?;
            return Ok(found);
        }
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(end.to_vec());
        ro.set_prefix_same_as_start(true);
        let mut it = self.db.raw_iterator_opt(ro);
        it.seek(start);
        if it.valid() {
            if let (Some(k), Some(v)) = (it.key(), it.value()) {
                return Ok(Some((k.to_vec(), v.to_vec())));
            }
        }
        it.status()?;
        Ok(None)
    }

    fn seek_prev(&self, key: &[u8], lower: &[u8]) -> Result<Option<super::KeyValue>, StorageError> {
        let mut ro = ReadOptions::default();
        ro.set_iterate_lower_bound(lower.to_vec());
        ro.set_total_order_seek(true);
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
