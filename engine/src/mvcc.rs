//! Multi-version concurrency control over the [`Store`].
//!
//! # Versions
//! Every logical key (a row, an index entry, a catalog entry) is stored once per committed
//! version, suffixed with the bit-inverted *commit sequence number* of the transaction that
//! wrote it, so the newest version sorts first:
//!
//! ```text
//!   <logical key> ++ !commit_seq (u64 BE)   →   0x00 (deleted) | 0x01 ++ value
//!   x ++ commit_seq (u64 BE)                →   transaction id (UUIDv7 ++ server id)
//! ```
//!
//! Logical keys are built from self-delimiting components ([`crate::keys`]), so no
//! logical key is a prefix of another and the version suffix is unambiguous.
//!
//! # Transactions
//! A transaction gets a UUIDv7-plus-server-id identity and a *snapshot*: the highest commit
//! sequence that was fully visible when it started. It reads, for each key, the newest
//! version with `seq <= snapshot`, overlaid with its own buffered writes. Writes stay in
//! memory until COMMIT, so an uncommitted transaction never touches storage.
//!
//! # Commit
//! ```text
//!   lock(commit):  seq = ++next_seq; last_commit[key] = seq   (conflicts were found
//!                  at write time, under the key's lock: see below)
//!   unlock
//!   one atomic RocksDB batch (versions + commit record), fsync'd   ← concurrent commits
//!                                                                     share fsyncs here
//!   wait until every seq below ours is durable, then publish `visible = seq`
//! ```
//! First committer wins: a transaction that writes a key some other transaction committed
//! after our snapshot fails with SQLSTATE 40001 (checked at write time, under the lock).
//! Because
//! a batch is atomic and `visible` only moves past fully written batches, no reader ever
//! sees half a transaction — also after `kill -9`, when recovery sets `visible` to the
//! highest commit record on disk.
//!
//! # Write locks
//! A write first takes the key's lock ([`crate::locks`]), held until commit or rollback:
//! a second writer of the same key waits for the first (bounded by its
//! [`WaitPolicy`]; cycles fail at once as deadlocks), then checks the key against its
//! snapshot as above. Locks are released only once the commit is visible, so a waiter
//! that restarts on a fresh snapshot sees the row it waited for.
//!
//! # Statement rollback
//! Between [`Txn::begin_statement`] and [`Txn::end_statement`] every buffered write
//! keeps an undo record, so a statement can be undone alone
//! ([`Txn::rollback_statement`]): to restart it after a write conflict (READ COMMITTED)
//! or to keep the transaction after an error (MySQL and Firebird semantics).
//!
//! Old versions are garbage-collected by the storage's compaction filter, which reads
//! the GC horizon (oldest snapshot in use) that this module maintains.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::error::{Error, Result};
use crate::locks::{LockError, LockTable, WaitPolicy};
use crate::storage::{Store, WriteOp};

const COMMIT_PREFIX: u8 = b'x';

/// A transaction's identity: UUIDv7 (time-ordered) plus the server id, so ids are unique
/// across servers without a coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TxnId {
    pub uuid: uuid::Uuid,
    pub server: u16,
}

impl TxnId {
    fn to_bytes(self) -> Vec<u8> {
        let mut b = self.uuid.as_bytes().to_vec();
        b.extend_from_slice(&self.server.to_be_bytes());
        b
    }
}

impl std::fmt::Display for TxnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.uuid, self.server)
    }
}

/// A visitor of `(key, value)` pairs; returns false to stop.
pub type Visitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<bool> + 'a;

/// Shared MVCC state: sequence numbers, visibility watermark, conflict table.
pub struct Mvcc {
    store: Arc<dyn Store>,
    server_id: u16,
    /// Highest sequence whose batch (and all below it) is durable and visible.
    visible: AtomicU64,
    commit: Mutex<CommitState>,
    published: Mutex<Published>,
    published_cv: Condvar,
    /// Snapshots in use, for pruning the conflict table (snapshot → count).
    active: Mutex<BTreeMap<u64, usize>>,
    /// The oldest snapshot any transaction may still read at: versions shadowed at this
    /// point are garbage (read by the storage's compaction filter).
    gc_horizon: Arc<AtomicU64>,
    /// Write locks of open transactions.
    locks: LockTable,
    /// Lock-owner numbers of transactions (cheaper to compare than [`TxnId`]s).
    next_owner: AtomicU64,
    /// Commit sequence of the newest transaction that changed the catalog: plans bound
    /// before it may be stale.
    catalog_seq: AtomicU64,
}

struct CommitState {
    next_seq: u64,
    /// Last commit sequence of every recently written key.
    last_commit: HashMap<Vec<u8>, u64>,
}

struct Published {
    visible: u64,
    /// Durable batches waiting for a lower sequence to finish.
    done: BTreeSet<u64>,
}

impl Mvcc {
    /// Opens MVCC over a store, recovering the visibility watermark from the newest commit
    /// record.
    pub fn open(
        store: Arc<dyn Store>,
        server_id: u16,
        gc_horizon: Arc<AtomicU64>,
    ) -> Result<Arc<Self>> {
        let last = store
            .seek_prev(
                &[
                    COMMIT_PREFIX,
                    0xff,
                    0xff,
                    0xff,
                    0xff,
                    0xff,
                    0xff,
                    0xff,
                    0xff,
                    0xff,
                ],
                &[COMMIT_PREFIX],
            )?
            .and_then(|(k, _)| {
                k.get(1..9)
                    .and_then(|b| b.try_into().ok())
                    .map(u64::from_be_bytes)
            })
            .unwrap_or(0);
        Ok(Arc::new(Self {
            store,
            server_id,
            visible: AtomicU64::new(last),
            commit: Mutex::new(CommitState {
                next_seq: last + 1,
                last_commit: HashMap::new(),
            }),
            published: Mutex::new(Published {
                visible: last,
                done: BTreeSet::new(),
            }),
            published_cv: Condvar::new(),
            active: Mutex::new(BTreeMap::new()),
            gc_horizon: {
                gc_horizon.store(last, Ordering::Release);
                gc_horizon
            },
            locks: LockTable::default(),
            next_owner: AtomicU64::new(1),
            catalog_seq: AtomicU64::new(last),
        }))
    }

    /// The underlying store (for non-versioned metadata).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The newest fully visible commit sequence.
    pub fn visible_seq(&self) -> u64 {
        self.visible.load(Ordering::Acquire)
    }

    /// Starts a transaction on the current snapshot.
    pub fn begin(self: &Arc<Self>) -> Txn {
        let snapshot = self.take_snapshot();
        Txn {
            mvcc: self.clone(),
            id: TxnId {
                uuid: uuid::Uuid::now_v7(),
                server: self.server_id,
            },
            snapshot,
            writes: BTreeMap::new(),
            done: false,
            owner: self.next_owner.fetch_add(1, Ordering::Relaxed),
            locks: Vec::new(),
            wait: WaitPolicy::default(),
            undo: None,
            saved_snapshot: None,
        }
    }

    /// Commit sequence of the newest catalog change (any commit that wrote a catalog
    /// key), for invalidating cached plans.
    pub fn catalog_seq(&self) -> u64 {
        self.catalog_seq.load(Ordering::Acquire)
    }

    /// Number of keys write-locked right now.
    pub fn locked_keys(&self) -> usize {
        self.locks.len()
    }

    fn take_snapshot(&self) -> u64 {
        let mut active = lock(&self.active);
        let s = self.visible_seq();
        *active.entry(s).or_default() += 1;
        self.update_horizon(&active);
        s
    }

    fn update_horizon(&self, active: &BTreeMap<u64, usize>) {
        let h = active
            .keys()
            .next()
            .copied()
            .unwrap_or_else(|| self.visible_seq());
        self.gc_horizon.store(h, Ordering::Release);
    }

    fn release_snapshot(&self, s: u64) {
        let mut active = lock(&self.active);
        if let Some(n) = active.get_mut(&s) {
            *n -= 1;
            if *n == 0 {
                active.remove(&s);
            }
        }
        self.update_horizon(&active);
    }

    fn oldest_snapshot(&self) -> u64 {
        lock(&self.active)
            .keys()
            .next()
            .copied()
            .unwrap_or_else(|| self.visible_seq())
    }

    fn conflicts(&self, key: &[u8], snapshot: u64) -> bool {
        lock(&self.commit)
            .last_commit
            .get(key)
            .is_some_and(|&s| s > snapshot)
    }

    fn publish(&self, seq: u64) {
        let mut p = lock(&self.published);
        p.done.insert(seq);
        while p.done.first() == Some(&(p.visible + 1)) {
            p.visible += 1;
            let v = p.visible;
            p.done.remove(&v);
            self.visible.store(v, Ordering::Release);
        }
        self.published_cv.notify_all();
        while p.visible < seq {
            p = self.published_cv.wait(p).unwrap_or_else(|e| e.into_inner());
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind, never a torn
    // invariant that matters more than stopping the whole engine would.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn versioned(key: &[u8], seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 8);
    k.extend_from_slice(key);
    k.extend_from_slice(&(!seq).to_be_bytes());
    k
}

fn decode_version(v: &[u8]) -> Option<Vec<u8>> {
    match v.first() {
        Some(1) => Some(v[1..].to_vec()),
        _ => None,
    }
}

/// A buffered write as it was before a statement changed it (`None`: not written yet).
type UndoRecord = (Vec<u8>, Option<Option<Vec<u8>>>);

/// One transaction: a snapshot plus buffered writes.
pub struct Txn {
    mvcc: Arc<Mvcc>,
    id: TxnId,
    snapshot: u64,
    /// Buffered writes: `None` is a delete.
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    done: bool,
    /// This transaction's number in the lock table.
    owner: u64,
    /// Hashes of the keys it has locked.
    locks: Vec<u64>,
    wait: WaitPolicy,
    /// Undo records of the running statement, when statement rollback is armed.
    undo: Option<Vec<UndoRecord>>,
    /// The transaction's own snapshot while one statement runs on a newer one
    /// ([`Txn::use_fresh_statement_snapshot`]).
    saved_snapshot: Option<u64>,
}

impl Txn {
    /// The transaction's id.
    pub fn id(&self) -> TxnId {
        self.id
    }

    /// The commit sequence this transaction reads at.
    pub fn snapshot(&self) -> u64 {
        self.snapshot
    }

    /// True if the transaction has changed the catalog (its plans are its own).
    pub fn has_catalog_writes(&self) -> bool {
        self.writes
            .range::<[u8], _>((
                Bound::Included(crate::keys::CATALOG_PREFIX),
                Bound::Excluded(crate::keys::CATALOG_END),
            ))
            .next()
            .is_some()
    }

    /// Moves the snapshot to the newest visible state (READ COMMITTED, per statement).
    pub fn refresh_snapshot(&mut self) {
        let new = self.mvcc.take_snapshot();
        self.mvcc.release_snapshot(self.snapshot);
        self.snapshot = new;
    }

    /// Reads the visible value of a logical key.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(w) = self.writes.get(key) {
            return Ok(w.clone());
        }
        let start = versioned(key, self.snapshot);
        // Versions run from `!snapshot` up to `!0` = 0xff..ff: the bound is the next
        // logical key, exclusive, so that start and end share the logical-key prefix.
        let end = versioned(key, 0);
        Ok(self
            .mvcc
            .store
            .first_version(&start, &end)?
            .and_then(|(_, v)| decode_version(&v)))
    }

    /// Visits the visible `(key, value)` pairs with logical keys in `[start, end)`, in key
    /// order, until `f` returns false.
    pub fn scan(&self, start: &[u8], end: &[u8], f: &mut Visitor) -> Result<()> {
        let mut own = self
            .writes
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .peekable();
        let snapshot = self.snapshot;
        let mut last_key: Option<Vec<u8>> = None;
        let mut err = None;
        let mut stop = false;
        // Emits own writes that sort before `upto` (or all of them).
        let emit_own = |upto: Option<&[u8]>,
                        own: &mut std::iter::Peekable<_>,
                        f: &mut Visitor|
         -> Result<bool> {
            while let Some((k, v)) = own.peek().copied() {
                let k: &Vec<u8> = k;
                let v: &Option<Vec<u8>> = v;
                if upto.is_some_and(|u| k.as_slice() >= u) {
                    break;
                }
                own.next();
                if let Some(v) = v {
                    if !f(k, v)? {
                        return Ok(false);
                    }
                }
            }
            Ok(true)
        };
        self.mvcc.store.scan(start, end, &mut |vk, v| {
            if vk.len() < 8 {
                return true;
            }
            let (key, seq) = vk.split_at(vk.len() - 8);
            let seq = !u64::from_be_bytes(seq.try_into().unwrap_or([0xff; 8]));
            if seq > snapshot {
                return true;
            }
            if last_key.as_deref() == Some(key) {
                return true; // an older version of a key already handled
            }
            last_key = Some(key.to_vec());
            match emit_own(Some(key), &mut own, f) {
                Ok(true) => {}
                Ok(false) => {
                    stop = true;
                    return false;
                }
                Err(e) => {
                    err = Some(e);
                    return false;
                }
            }
            if let Some((k, _)) = own.peek() {
                if k.as_slice() == key {
                    // Our own write shadows the committed version; emitted later.
                    return true;
                }
            }
            if let Some(val) = decode_version(v) {
                match f(key, &val) {
                    Ok(true) => true,
                    Ok(false) => {
                        stop = true;
                        false
                    }
                    Err(e) => {
                        err = Some(e);
                        false
                    }
                }
            } else {
                true
            }
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        if !stop {
            emit_own(None, &mut own, f)?;
        }
        Ok(())
    }

    /// Sets how this transaction waits for locks held by others.
    pub fn set_wait_policy(&mut self, policy: WaitPolicy) {
        self.wait = policy;
    }

    /// Buffers a write of a logical key. Waits for another writer of the key to finish,
    /// then fails with 40001 if some transaction committed this key after our snapshot.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) -> Result<()> {
        self.write(key, Some(value))
    }

    /// Buffers a delete of a logical key (same locking and checks as [`Txn::put`]).
    pub fn delete(&mut self, key: Vec<u8>) -> Result<()> {
        self.write(key, None)
    }

    fn write(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) -> Result<()> {
        self.lock_key(&key)?;
        if self.mvcc.conflicts(&key, self.snapshot) {
            return Err(Error::SerializationFailure);
        }
        match &mut self.undo {
            Some(undo) => {
                let before = self.writes.insert(key.clone(), value);
                undo.push((key, before));
            }
            None => {
                self.writes.insert(key, value);
            }
        }
        Ok(())
    }

    fn lock_key(&mut self, key: &[u8]) -> Result<()> {
        let h = self.mvcc.locks.key_hash(key);
        match self.mvcc.locks.acquire(self.owner, h, &self.wait) {
            Ok(true) => {
                self.locks.push(h);
                Ok(())
            }
            Ok(false) => Ok(()),
            Err(LockError::WouldBlock) | Err(LockError::Timeout) => Err(Error::LockNotAvailable),
            Err(LockError::Deadlock) => Err(Error::Deadlock),
            Err(LockError::Canceled) => Err(Error::Canceled),
        }
    }

    /// Starts recording undo records so that the next statement can be undone alone.
    pub fn begin_statement(&mut self) {
        self.undo = Some(Vec::new());
    }

    /// Forgets the running statement's undo records (it stays part of the transaction)
    /// and returns to the transaction's snapshot if the statement ran on a newer one.
    pub fn end_statement(&mut self) {
        self.undo = None;
        if let Some(own) = self.saved_snapshot.take() {
            self.mvcc.release_snapshot(self.snapshot);
            self.snapshot = own;
        }
    }

    /// Runs the rest of the current statement on the newest visible state while keeping
    /// the transaction's snapshot for later statements (MySQL's current reads for DML).
    pub fn use_fresh_statement_snapshot(&mut self) {
        let new = self.mvcc.take_snapshot();
        match self.saved_snapshot {
            None => self.saved_snapshot = Some(self.snapshot),
            Some(_) => self.mvcc.release_snapshot(self.snapshot),
        }
        self.snapshot = new;
    }

    fn release_snapshots(&mut self) {
        self.mvcc.release_snapshot(self.snapshot);
        if let Some(own) = self.saved_snapshot.take() {
            self.mvcc.release_snapshot(own);
        }
    }

    /// Undoes the buffered writes of the running statement (its locks stay held, as in
    /// every lock-based database, until the transaction ends).
    pub fn rollback_statement(&mut self) {
        if let Some(undo) = self.undo.as_mut() {
            for (key, before) in undo.drain(..).rev() {
                match before {
                    Some(v) => {
                        self.writes.insert(key, v);
                    }
                    None => {
                        self.writes.remove(&key);
                    }
                }
            }
        }
    }

    fn release_locks(&mut self) {
        let locks = std::mem::take(&mut self.locks);
        self.mvcc.locks.release_all(self.owner, &locks);
    }

    /// Commits: validates, writes one fsync'd batch, and returns once visible.
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.release_snapshots();
        if self.writes.is_empty() {
            self.release_locks();
            return Ok(());
        }
        let writes = std::mem::take(&mut self.writes);
        let seq = {
            // No conflict check here: every written key was checked against the snapshot
            // when its lock was taken, and nobody else can commit it while we hold it.
            let mut c = lock(&self.mvcc.commit);
            let seq = c.next_seq;
            c.next_seq += 1;
            if writes.keys().any(|k| crate::keys::is_catalog(k)) {
                self.mvcc.catalog_seq.store(seq, Ordering::Release);
            }
            for k in writes.keys() {
                c.last_commit.insert(k.clone(), seq);
            }
            if c.last_commit.len() > 200_000 {
                let oldest = self.mvcc.oldest_snapshot();
                c.last_commit.retain(|_, s| *s > oldest);
            }
            seq
        };
        let mut ops = Vec::with_capacity(writes.len() + 1);
        for (k, v) in writes {
            let value = match v {
                Some(mut v) => {
                    v.insert(0, 1);
                    v
                }
                None => vec![0],
            };
            ops.push(WriteOp::Put(versioned(&k, seq), value));
        }
        let mut ck = vec![COMMIT_PREFIX];
        ck.extend_from_slice(&seq.to_be_bytes());
        ops.push(WriteOp::Put(ck, self.id.to_bytes()));
        let result = self.mvcc.store.write(ops, true);
        // Publish even on failure so that later commits are not blocked forever; a failed
        // batch wrote nothing (RocksDB batches are atomic).
        self.mvcc.publish(seq);
        // Only now: a waiter that restarts on a fresh snapshot must see this commit.
        self.release_locks();
        result.map_err(Error::from)
    }

    /// Discards the transaction's writes.
    pub fn rollback(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            self.release_snapshots();
            self.writes.clear();
            self.release_locks();
        }
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::RocksStore;

    fn open() -> (tempfile::TempDir, Arc<Mvcc>) {
        let dir = tempfile::tempdir().unwrap();
        let h = Arc::new(AtomicU64::new(0));
        let store = Arc::new(RocksStore::open(dir.path(), h.clone()).unwrap());
        (dir, Mvcc::open(store, 1, h).unwrap())
    }

    fn k(s: &str) -> Vec<u8> {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        v
    }

    #[test]
    fn snapshot_isolation_and_first_committer_wins() {
        let (_d, m) = open();
        let mut t0 = m.begin();
        t0.put(k("a"), b"0".to_vec()).unwrap();
        t0.commit().unwrap();

        let mut t1 = m.begin();
        let mut t2 = m.begin();
        t1.put(k("a"), b"1".to_vec()).unwrap();
        assert_eq!(t2.get(&k("a")).unwrap(), Some(b"0".to_vec()));
        t1.commit().unwrap();
        // t2 still sees its snapshot.
        assert_eq!(t2.get(&k("a")).unwrap(), Some(b"0".to_vec()));
        // and loses the write-write conflict, early.
        assert!(matches!(
            t2.put(k("a"), b"2".to_vec()),
            Err(Error::SerializationFailure)
        ));
        let t3 = m.begin();
        assert_eq!(t3.get(&k("a")).unwrap(), Some(b"1".to_vec()));
    }

    #[test]
    fn second_writer_waits_then_loses_under_snapshot_isolation() {
        let (_d, m) = open();
        let mut t1 = m.begin();
        let mut t2 = m.begin();
        t1.put(k("a"), b"1".to_vec()).unwrap();
        let h = std::thread::spawn(move || {
            let r = t2.put(k("a"), b"2".to_vec());
            (r, t2)
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        assert!(
            !h.is_finished(),
            "the second writer must wait for the first"
        );
        t1.commit().unwrap();
        let (r, _t2) = h.join().unwrap();
        assert!(matches!(r, Err(Error::SerializationFailure)));
    }

    #[test]
    fn waiter_proceeds_after_rollback_and_no_wait_fails_at_once() {
        let (_d, m) = open();
        let mut t1 = m.begin();
        t1.put(k("a"), b"1".to_vec()).unwrap();
        let mut t3 = m.begin();
        t3.set_wait_policy(WaitPolicy {
            no_wait: true,
            ..Default::default()
        });
        assert!(matches!(
            t3.put(k("a"), b"3".to_vec()),
            Err(Error::LockNotAvailable)
        ));
        let mut t2 = m.begin();
        let h = std::thread::spawn(move || {
            t2.put(k("a"), b"2".to_vec()).unwrap();
            t2.commit().unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        t1.rollback();
        h.join().unwrap();
        assert_eq!(m.begin().get(&k("a")).unwrap(), Some(b"2".to_vec()));
        drop(t3);
        assert_eq!(m.locked_keys(), 0);
    }

    #[test]
    fn statement_rollback_restores_earlier_writes() {
        let (_d, m) = open();
        let mut t = m.begin();
        t.put(k("a"), b"1".to_vec()).unwrap();
        t.begin_statement();
        t.put(k("a"), b"2".to_vec()).unwrap();
        t.put(k("b"), b"2".to_vec()).unwrap();
        t.delete(k("a")).unwrap();
        t.rollback_statement();
        t.end_statement();
        assert_eq!(t.get(&k("a")).unwrap(), Some(b"1".to_vec()));
        assert_eq!(t.get(&k("b")).unwrap(), None);
        t.commit().unwrap();
        assert_eq!(m.locked_keys(), 0);
    }

    #[test]
    fn scan_merges_own_writes_and_hides_deletes() {
        let (_d, m) = open();
        let mut t = m.begin();
        for s in ["a", "b", "c", "d"] {
            t.put(k(s), s.as_bytes().to_vec()).unwrap();
        }
        t.commit().unwrap();
        let mut t = m.begin();
        t.delete(k("b")).unwrap();
        t.put(k("bb"), b"bb".to_vec()).unwrap();
        t.put(k("d"), b"D".to_vec()).unwrap();
        let mut seen = vec![];
        t.scan(b"a", b"z", &mut |_, v| {
            seen.push(String::from_utf8(v.to_vec()).unwrap());
            Ok(true)
        })
        .unwrap();
        assert_eq!(seen, ["a", "bb", "c", "D"]);
        t.rollback();
        let t = m.begin();
        assert_eq!(t.get(&k("b")).unwrap(), Some(b"b".to_vec()));
    }

    #[test]
    fn recovery_restores_visibility() {
        let dir = tempfile::tempdir().unwrap();
        {
            let h = Arc::new(AtomicU64::new(0));
            let store = Arc::new(RocksStore::open(dir.path(), h.clone()).unwrap());
            let m = Mvcc::open(store, 1, h).unwrap();
            let mut t = m.begin();
            t.put(k("a"), b"1".to_vec()).unwrap();
            t.commit().unwrap();
        }
        let h = Arc::new(AtomicU64::new(0));
        let store = Arc::new(RocksStore::open(dir.path(), h.clone()).unwrap());
        let m = Mvcc::open(store, 1, h).unwrap();
        assert_eq!(m.begin().get(&k("a")).unwrap(), Some(b"1".to_vec()));
    }

    #[test]
    fn compaction_collects_versions_no_snapshot_sees() {
        let (_d, m) = open();
        let key = b"r\0\0\0\x07k\0".to_vec();
        let write = |i: u8| {
            let mut t = m.begin();
            t.put(key.clone(), vec![i]).unwrap();
            t.commit().unwrap();
        };
        let versions = |m: &Mvcc| {
            let mut n = 0;
            m.store()
                .scan(&key, &crate::keys::prefix_end(&key), &mut |_, _| {
                    n += 1;
                    true
                })
                .unwrap();
            n
        };
        for i in 0..3 {
            write(i);
        }
        // A reader pinned at the third version keeps it and everything newer alive.
        let pinned = m.begin();
        write(3);
        write(4);
        assert_eq!(versions(&m), 5);
        m.store().compact();
        assert_eq!(versions(&m), 3);
        assert_eq!(pinned.get(&key).unwrap(), Some(vec![2]));
        drop(pinned);
        // With the pin gone (and a newer snapshot taken) only the newest survives.
        let t = m.begin();
        m.store().compact();
        assert_eq!(versions(&m), 1);
        assert_eq!(t.get(&key).unwrap(), Some(vec![4]));
    }
}
