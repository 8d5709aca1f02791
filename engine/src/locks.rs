//! Write locks on logical keys, held from a transaction's first write of a key until it
//! commits or rolls back.
//!
//! Without them, two transactions writing the same row would both run to COMMIT and the
//! second would fail there (first committer wins). With them, the second *waits* for the
//! first, as PostgreSQL, InnoDB and Firebird make it wait, and then either proceeds (the
//! first rolled back), restarts its statement on a fresh snapshot (READ COMMITTED and
//! single-statement transactions) or fails with a serialization error (snapshot
//! isolation: the row it read is gone). Waits are bounded by the transaction's
//! [`WaitPolicy`], and a wait that would close a cycle fails at once with a deadlock
//! error instead of hanging.
//!
//! Keys are tracked by a 64-bit hash, which keeps the table small during bulk loads; two
//! keys sharing a hash only make one writer wait for the other a little longer.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How a transaction behaves when a key it wants to write is locked by another one.
#[derive(Debug, Clone, Default)]
pub struct WaitPolicy {
    /// Fail at once instead of waiting (Firebird `NO WAIT`, MySQL `NOWAIT`).
    pub no_wait: bool,
    /// Give up after this long (`None`: wait until the holder finishes).
    pub timeout: Option<Duration>,
    /// The session's cancel flag: a cancel (or a KILL) ends the wait.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// Why a lock could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    #[error("the key is locked and the transaction does not wait")]
    WouldBlock,
    #[error("lock wait timed out")]
    Timeout,
    #[error("deadlock detected")]
    Deadlock,
    #[error("the wait was canceled")]
    Canceled,
}

/// How often a waiter wakes up to look at its cancel flag and deadline.
const POLL: Duration = Duration::from_millis(50);

/// Waiters sleep on one of this many condition variables, chosen by the key they wait
/// for, so that releasing a row wakes (mostly) the waiters of that row only.
const WAIT_SLOTS: usize = 64;

/// The lock table shared by all transactions of an engine.
pub struct LockTable {
    state: Mutex<State>,
    released: [Condvar; WAIT_SLOTS],
    hasher: std::collections::hash_map::RandomState,
}

impl Default for LockTable {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            released: std::array::from_fn(|_| Condvar::new()),
            hasher: Default::default(),
        }
    }
}

fn slot(key: u64) -> usize {
    (key % WAIT_SLOTS as u64) as usize
}

#[derive(Default)]
struct State {
    /// Key hash → owning transaction.
    owners: HashMap<u64, u64>,
    /// Waiting transaction → the transaction it waits for (each waits for at most one).
    waits_for: HashMap<u64, u64>,
}

impl LockTable {
    /// The hash a key is locked under.
    pub fn key_hash(&self, key: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(key);
        h.finish()
    }

    /// Takes the lock on `key` for `owner`, waiting as `policy` allows. Returns true if
    /// the lock is new to `owner` (the caller then remembers to release it).
    pub fn acquire(&self, owner: u64, key: u64, policy: &WaitPolicy) -> Result<bool, LockError> {
        let deadline = policy.timeout.map(|t| Instant::now() + t);
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let holder = match st.owners.get(&key) {
                None => {
                    st.owners.insert(key, owner);
                    return Ok(true);
                }
                Some(&h) if h == owner => return Ok(false),
                Some(&h) => h,
            };
            if policy.no_wait {
                return Err(LockError::WouldBlock);
            }
            if closes_cycle(&st.waits_for, holder, owner) {
                return Err(LockError::Deadlock);
            }
            let slice = match deadline {
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(LockError::Timeout);
                    }
                    left.min(POLL)
                }
                None => POLL,
            };
            st.waits_for.insert(owner, holder);
            st = self.released[slot(key)]
                .wait_timeout(st, slice)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
            st.waits_for.remove(&owner);
            if policy
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
            {
                return Err(LockError::Canceled);
            }
        }
    }

    /// Releases the given locks of `owner` and wakes the waiters.
    pub fn release_all(&self, owner: u64, keys: &[u64]) {
        if keys.is_empty() {
            return;
        }
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut woken = [false; WAIT_SLOTS];
        for k in keys {
            if st.owners.get(k) == Some(&owner) {
                st.owners.remove(k);
                woken[slot(*k)] = true;
            }
        }
        drop(st);
        for (i, w) in woken.iter().enumerate() {
            if *w {
                self.released[i].notify_all();
            }
        }
    }

    /// Number of keys locked right now (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .owners
            .len()
    }

    /// True when no key is locked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `waiter` waiting for `holder` would close a cycle in the wait-for graph.
fn closes_cycle(waits_for: &HashMap<u64, u64>, holder: u64, waiter: u64) -> bool {
    let mut cur = holder;
    // Each transaction waits for at most one other, so the walk is a simple path; the
    // bound only guards against a cycle that does not involve us.
    for _ in 0..=waits_for.len() {
        match waits_for.get(&cur) {
            Some(&next) if next == waiter => return true,
            Some(&next) => cur = next,
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reentrant_and_exclusive() {
        let t = LockTable::default();
        let k = t.key_hash(b"row");
        let nowait = WaitPolicy {
            no_wait: true,
            ..Default::default()
        };
        assert_eq!(t.acquire(1, k, &nowait), Ok(true));
        assert_eq!(t.acquire(1, k, &nowait), Ok(false));
        assert_eq!(t.acquire(2, k, &nowait), Err(LockError::WouldBlock));
        t.release_all(1, &[k]);
        assert_eq!(t.acquire(2, k, &nowait), Ok(true));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn waiter_proceeds_when_holder_releases() {
        let t = Arc::new(LockTable::default());
        let k = t.key_hash(b"row");
        t.acquire(1, k, &WaitPolicy::default()).unwrap();
        let t2 = t.clone();
        let h = std::thread::spawn(move || t2.acquire(2, k, &WaitPolicy::default()));
        std::thread::sleep(Duration::from_millis(100));
        t.release_all(1, &[k]);
        assert_eq!(h.join().unwrap(), Ok(true));
    }

    #[test]
    fn timeout_and_cancel_end_a_wait() {
        let t = LockTable::default();
        let k = t.key_hash(b"row");
        t.acquire(1, k, &WaitPolicy::default()).unwrap();
        let timed = WaitPolicy {
            timeout: Some(Duration::from_millis(30)),
            ..Default::default()
        };
        assert_eq!(t.acquire(2, k, &timed), Err(LockError::Timeout));
        let flag = Arc::new(AtomicBool::new(true));
        let canceled = WaitPolicy {
            cancel: Some(flag),
            ..Default::default()
        };
        assert_eq!(t.acquire(2, k, &canceled), Err(LockError::Canceled));
    }

    #[test]
    fn a_cycle_is_a_deadlock_not_a_hang() {
        let t = Arc::new(LockTable::default());
        let (a, b) = (t.key_hash(b"a"), t.key_hash(b"b"));
        t.acquire(1, a, &WaitPolicy::default()).unwrap();
        t.acquire(2, b, &WaitPolicy::default()).unwrap();
        let t2 = t.clone();
        // Transaction 1 waits for b (held by 2) …
        let h = std::thread::spawn(move || t2.acquire(1, b, &WaitPolicy::default()));
        std::thread::sleep(Duration::from_millis(100));
        // … so 2 waiting for a would close the cycle.
        assert_eq!(
            t.acquire(2, a, &WaitPolicy::default()),
            Err(LockError::Deadlock)
        );
        t.release_all(2, &[b]);
        assert_eq!(h.join().unwrap(), Ok(true));
    }
}
