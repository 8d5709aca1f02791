//! Sequence counters: the values `NEXT VALUE FOR` / `nextval` / `GEN_ID` hand out.
//!
//! A sequence's *definition* (first value, increment) is a catalog object, read and
//! written transactionally like a table ([`crate::catalog::SequenceDef`]). Its *counter*
//! is deliberately not transactional: a value handed out is never handed out again, even
//! when the transaction that took it rolls back, and even after `kill -9`.
//!
//! ```text
//!   memory:  current ──nextval──▶ current + step          (under one mutex)
//!   storage: m s <seq id>  →  (epoch, mark)               (synced, outside MVCC)
//!
//!   values handed out  ≤ mark   (for an ascending sequence; ≥ for a descending one)
//!   after a restart, current = mark: the next value lies beyond everything handed out
//! ```
//!
//! The mark is written ahead in blocks of [`BLOCK`] steps, so only one call in `BLOCK`
//! pays for a synced write; a crash leaves a gap of at most a block, as in PostgreSQL.
//!
//! `ALTER SEQUENCE … RESTART` is transactional too: it gives the definition a new
//! `epoch` (a fresh object id, so epochs only grow). A counter still at an older epoch
//! than the definition a statement sees starts over from the definition's first value; a
//! counter at a newer epoch (a restart committed after the statement's snapshot) is
//! simply used.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rosetta_types::TypeError;

use crate::error::{Error, Result};
use crate::storage::{Store, WriteOp};

/// How many steps ahead the durable mark is moved at once.
pub const BLOCK: i64 = 64;

/// What a statement knows about a sequence once bound: enough to advance its counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqRef {
    pub id: u32,
    /// The first value (for a fresh counter or after a restart).
    pub first: i64,
    /// The default step.
    pub increment: i64,
    /// The definition's restart generation.
    pub epoch: u32,
}

/// One counter in memory.
#[derive(Debug, Clone, Copy)]
struct Counter {
    epoch: u32,
    /// The last value handed out (or `first - increment` before the first call).
    current: i64,
    /// How far the stored mark reaches: every value up to it (in the direction of the
    /// increment) may be handed out without another synced write.
    mark: i64,
}

/// Every sequence's counter, shared by all sessions.
pub struct Sequences {
    store: Arc<dyn Store>,
    counters: Mutex<HashMap<u32, Counter>>,
}

/// The storage key of a counter's mark.
fn mark_key(id: u32) -> Vec<u8> {
    let mut k = b"m\0seq".to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn exhausted() -> Error {
    Error::Type(TypeError::OutOfRange(
        "nextval: reached the limit of the sequence, bigint".into(),
    ))
}

impl Sequences {
    /// Counters over `store` (loaded lazily, one sequence at a time).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// The counter of `seq` in memory, loading its stored mark on first use.
    fn load(&self, seq: &SeqRef) -> Result<Counter> {
        let fresh = Counter {
            epoch: seq.epoch,
            current: seq.first.checked_sub(seq.increment).ok_or_else(exhausted)?,
            mark: seq.first.checked_sub(seq.increment).ok_or_else(exhausted)?,
        };
        let Some(bytes) = self.store.get(&mark_key(seq.id))? else {
            return Ok(fresh);
        };
        let (Some(epoch), Some(mark)) = (
            bytes
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes),
            bytes
                .get(4..12)
                .and_then(|b| b.try_into().ok())
                .map(i64::from_be_bytes),
        ) else {
            return Err(Error::Internal(format!("corrupt sequence mark {}", seq.id)));
        };
        Ok(if epoch < seq.epoch {
            fresh
        } else {
            Counter {
                epoch,
                current: mark,
                mark,
            }
        })
    }

    fn write_mark(&self, id: u32, epoch: u32, mark: i64) -> Result<()> {
        let mut v = epoch.to_be_bytes().to_vec();
        v.extend_from_slice(&mark.to_be_bytes());
        self.store
            .write(vec![WriteOp::Put(mark_key(id), v)], true)?;
        Ok(())
    }

    /// Runs `f` on the counter of `seq` under the lock, then makes sure the stored mark
    /// covers the counter's new value before anyone can see it.
    fn with_counter<T>(
        &self,
        seq: &SeqRef,
        f: impl FnOnce(&mut Counter) -> Result<T>,
    ) -> Result<T> {
        let mut all = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let mut c = match all.get(&seq.id) {
            Some(c) => *c,
            None => self.load(seq)?,
        };
        if c.epoch < seq.epoch {
            c = Counter {
                epoch: seq.epoch,
                current: seq.first.checked_sub(seq.increment).ok_or_else(exhausted)?,
                mark: seq.first.checked_sub(seq.increment).ok_or_else(exhausted)?,
            };
            // The restart must be durable even if no value is taken before a crash.
            self.write_mark(seq.id, c.epoch, c.mark)?;
        }
        let out = f(&mut c)?;
        let ascending = seq.increment > 0;
        let beyond = if ascending {
            c.current > c.mark
        } else {
            c.current < c.mark
        };
        if beyond {
            let ahead = seq.increment.saturating_mul(BLOCK);
            let mark = c.current.saturating_add(ahead);
            self.write_mark(seq.id, c.epoch, mark)?;
            c.mark = mark;
        }
        all.insert(seq.id, c);
        Ok(out)
    }

    /// Advances the counter by `step` (the sequence's increment when `None`; 0 reads
    /// the current value) and returns the new value.
    pub fn next(&self, seq: &SeqRef, step: Option<i64>) -> Result<i64> {
        let step = step.unwrap_or(seq.increment);
        self.with_counter(seq, |c| {
            c.current = c.current.checked_add(step).ok_or_else(exhausted)?;
            Ok(c.current)
        })
    }

    /// The last value handed out (`GEN_ID(g, 0)`, `currval`), without advancing.
    pub fn current(&self, seq: &SeqRef) -> Result<i64> {
        self.next(seq, Some(0))
    }

    /// Sets the counter so that the next call returns `value + increment` (`setval`).
    pub fn set(&self, seq: &SeqRef, value: i64) -> Result<i64> {
        self.with_counter(seq, |c| {
            c.current = value;
            Ok(value)
        })
    }

    /// Moves the counter past an explicitly inserted `value` (MySQL AUTO_INCREMENT): the
    /// counter never goes back.
    pub fn observe(&self, seq: &SeqRef, value: i64) -> Result<()> {
        self.with_counter(seq, |c| {
            let past = if seq.increment > 0 {
                value > c.current
            } else {
                value < c.current
            };
            if past {
                c.current = value;
            }
            Ok(())
        })
    }
}

/// The per-session and shared services a statement may use beyond its transaction.
#[derive(Clone, Copy)]
pub struct Services<'a> {
    pub sequences: &'a Sequences,
    /// The session's `LAST_INSERT_ID()` (the first AUTO_INCREMENT value of the last
    /// statement that generated one, or what `LAST_INSERT_ID(expr)` set).
    pub last_insert_id: &'a AtomicU64,
    /// The session's id (MySQL's `CONNECTION_ID()`).
    pub session_id: u32,
}

impl Services<'_> {
    /// The session's last insert id.
    pub fn last_insert_id(&self) -> u64 {
        self.last_insert_id.load(Ordering::Relaxed)
    }

    /// Records a new last insert id for the session.
    pub fn set_last_insert_id(&self, v: u64) {
        self.last_insert_id.store(v, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::RocksStore;

    fn seq(epoch: u32) -> SeqRef {
        SeqRef {
            id: 7,
            first: 1,
            increment: 1,
            epoch,
        }
    }

    fn open(dir: &std::path::Path) -> Arc<dyn Store> {
        let horizon = Arc::new(std::sync::atomic::AtomicU64::new(0));
        Arc::new(RocksStore::open(dir, horizon).expect("open store"))
    }

    #[test]
    fn values_survive_a_reopen_without_repeats() {
        let dir = tempfile::tempdir().expect("tempdir");
        let last = {
            let s = Sequences::new(open(dir.path()));
            assert_eq!(s.next(&seq(1), None).ok(), Some(1));
            assert_eq!(s.next(&seq(1), None).ok(), Some(2));
            assert_eq!(s.current(&seq(1)).ok(), Some(2));
            s.next(&seq(1), Some(10)).expect("step")
        };
        assert_eq!(last, 12);
        // A new process (nothing in memory) continues past every value handed out.
        let s = Sequences::new(open(dir.path()));
        let v = s.next(&seq(1), None).expect("next");
        assert!(v > last, "{v} after {last}");
        // A restart (a newer epoch) starts over from the first value.
        assert_eq!(s.next(&seq(2), None).ok(), Some(1));
        // An older epoch does not undo it.
        assert_eq!(s.next(&seq(1), None).ok(), Some(2));
    }

    #[test]
    fn concurrent_callers_never_share_a_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Arc::new(Sequences::new(open(dir.path())));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    (0..500)
                        .map(|_| s.next(&seq(1), None).expect("next"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<i64> = threads
            .into_iter()
            .flat_map(|t| t.join().expect("join"))
            .collect();
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        assert_eq!(all.len(), n);
        assert_eq!(all.first(), Some(&1));
        assert_eq!(all.last(), Some(&4000));
    }

    #[test]
    fn observe_moves_forward_only_and_descending_works() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Sequences::new(open(dir.path()));
        s.observe(&seq(1), 100).expect("observe");
        s.observe(&seq(1), 50).expect("observe");
        assert_eq!(s.next(&seq(1), None).ok(), Some(101));
        let down = SeqRef {
            id: 8,
            first: -1,
            increment: -2,
            epoch: 1,
        };
        assert_eq!(s.next(&down, None).ok(), Some(-1));
        assert_eq!(s.next(&down, None).ok(), Some(-3));
        let max = SeqRef {
            id: 9,
            first: i64::MAX,
            increment: 1,
            epoch: 1,
        };
        assert_eq!(s.next(&max, None).ok(), Some(i64::MAX));
        assert!(s.next(&max, None).is_err());
    }
}
