//! The shared engine state every session uses.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use crate::catalog::IdAllocator;
use crate::mvcc::Mvcc;

/// Storage, MVCC, id allocation and the registry of live sessions (for cancel).
pub struct Engine {
    pub mvcc: Arc<Mvcc>,
    pub ids: IdAllocator,
    sessions: Mutex<HashMap<u32, (u32, Arc<AtomicBool>)>>,
}

impl Engine {
    /// Wraps opened storage.
    pub fn new(mvcc: Arc<Mvcc>, ids: IdAllocator) -> Self {
        Self {
            mvcc,
            ids,
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Registers a new session: its id, cancel secret and cancel flag.
    pub fn register_session(&self) -> (u32, u32, Arc<AtomicBool>) {
        let mut s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let mut id: u32 = rand::random::<u32>() & 0x7fff_ffff;
        while s.contains_key(&id) {
            id = rand::random::<u32>() & 0x7fff_ffff;
        }
        let secret = rand::random::<u32>();
        let flag = Arc::new(AtomicBool::new(false));
        s.insert(id, (secret, flag.clone()));
        (id, secret, flag)
    }

    /// Forgets a session.
    pub fn unregister_session(&self, id: u32) {
        self.sessions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Cancels the running statement of a session if the secret matches.
    pub fn cancel(&self, id: u32, secret: u32) -> bool {
        let s = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        match s.get(&id) {
            Some((sec, flag)) if *sec == secret => {
                flag.store(true, std::sync::atomic::Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }
}
