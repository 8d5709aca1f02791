//! MVCC garbage collection as a RocksDB compaction filter.
//!
//! Versions of a logical key sort newest first (see [`crate::mvcc`]). During a compaction
//! we walk a key's versions in that order; the first version whose commit sequence is at or
//! below the *horizon* (the oldest snapshot any transaction still reads at) is what every
//! present and future reader sees, so every older version after it is unreachable and is
//! dropped. That version itself is kept (even a tombstone: an older version may live in a
//! level this compaction does not touch).
//!
//! ```text
//!   k ++ !9  (seq 9 > horizon 7)   keep   — a newer snapshot may need it
//!   k ++ !6  (seq 6 <= horizon)    keep   — visible to every snapshot
//!   k ++ !4                        drop   — shadowed for everyone
//!   k ++ !2                        drop
//! ```

use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rocksdb::compaction_filter::{CompactionFilter, Decision};
use rocksdb::compaction_filter_factory::{CompactionFilterContext, CompactionFilterFactory};

/// The key namespaces that hold MVCC versions (rows, index entries, catalog entries).
fn is_versioned(key: &[u8]) -> bool {
    matches!(key.first(), Some(b'r' | b'i' | b'c')) && key.len() > 9
}

/// Creates one [`MvccGcFilter`] per compaction.
pub struct MvccGcFactory {
    horizon: Arc<AtomicU64>,
    name: CString,
}

impl MvccGcFactory {
    /// A factory reading the shared GC horizon.
    pub fn new(horizon: Arc<AtomicU64>) -> Self {
        Self {
            horizon,
            name: CString::new("rosetta-mvcc-gc").unwrap_or_default(),
        }
    }
}

impl CompactionFilterFactory for MvccGcFactory {
    type Filter = MvccGcFilter;

    fn create(&mut self, _context: CompactionFilterContext) -> MvccGcFilter {
        MvccGcFilter {
            horizon: self.horizon.load(Ordering::Acquire),
            current: Vec::new(),
            settled: false,
            name: self.name.clone(),
        }
    }

    fn name(&self) -> &CStr {
        &self.name
    }
}

/// The per-compaction state: the logical key being walked and whether its all-visible
/// version has been seen.
pub struct MvccGcFilter {
    horizon: u64,
    current: Vec<u8>,
    settled: bool,
    name: CString,
}

impl MvccGcFilter {
    /// Decides one stored key (exposed for unit tests).
    pub fn decide(&mut self, key: &[u8]) -> Decision {
        if !is_versioned(key) {
            return Decision::Keep;
        }
        let (logical, seq) = key.split_at(key.len() - 8);
        let Ok(seq) = <[u8; 8]>::try_from(seq) else {
            return Decision::Keep;
        };
        let seq = !u64::from_be_bytes(seq);
        if logical != self.current.as_slice() {
            self.current.clear();
            self.current.extend_from_slice(logical);
            self.settled = false;
        }
        if self.settled {
            return Decision::Remove;
        }
        if seq <= self.horizon {
            self.settled = true;
        }
        Decision::Keep
    }
}

impl CompactionFilter for MvccGcFilter {
    fn filter(&mut self, _level: u32, key: &[u8], _value: &[u8]) -> Decision {
        self.decide(key)
    }

    fn name(&self) -> &CStr {
        &self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(logical: &[u8], seq: u64) -> Vec<u8> {
        let mut k = logical.to_vec();
        k.extend_from_slice(&(!seq).to_be_bytes());
        k
    }

    #[test]
    fn drops_only_versions_shadowed_for_every_snapshot() {
        let mut f = MvccGcFilter {
            horizon: 7,
            current: vec![],
            settled: false,
            name: CString::default(),
        };
        let a = b"r\0\0\0\x01a";
        let b = b"r\0\0\0\x01b";
        let d = |x: Decision| matches!(x, Decision::Remove);
        assert!(!d(f.decide(&v(a, 9))));
        assert!(!d(f.decide(&v(a, 6))));
        assert!(d(f.decide(&v(a, 4))));
        assert!(d(f.decide(&v(a, 2))));
        // A new logical key starts over.
        assert!(!d(f.decide(&v(b, 3))));
        assert!(d(f.decide(&v(b, 1))));
        // Commit records and metadata are never touched.
        assert!(!d(f.decide(b"x\0\0\0\0\0\0\0\x01")));
    }
}
