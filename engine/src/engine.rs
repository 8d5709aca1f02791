//! The shared engine state every session uses.

use std::collections::HashMap;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::catalog::IdAllocator;
use crate::mvcc::Mvcc;

/// Storage, MVCC, id allocation and the registry of live sessions (for cancel and KILL).
pub struct Engine {
    pub mvcc: Arc<Mvcc>,
    pub ids: IdAllocator,
    sessions: Mutex<HashMap<u32, SessionHandle>>,
}

/// What another connection needs to interrupt a session.
struct SessionHandle {
    secret: u32,
    cancel: Arc<AtomicBool>,
    user: String,
    /// The session's connection, shut down to end the session from outside (KILL).
    stream: Option<UnixStream>,
}

/// Why a KILL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KillError {
    #[error("Unknown thread id: {0}")]
    NoSuchSession(u32),
    #[error("You are not owner of thread {0}")]
    NotOwner(u32),
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

    fn sessions(&self) -> MutexGuard<'_, HashMap<u32, SessionHandle>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new session of `user`: its id, cancel secret and cancel flag.
    pub fn register_session(&self, user: &str) -> (u32, u32, Arc<AtomicBool>) {
        let mut s = self.sessions();
        let mut id: u32 = rand::random::<u32>() & 0x7fff_ffff;
        while id == 0 || s.contains_key(&id) {
            id = rand::random::<u32>() & 0x7fff_ffff;
        }
        let secret = rand::random::<u32>();
        let flag = Arc::new(AtomicBool::new(false));
        s.insert(
            id,
            SessionHandle {
                secret,
                cancel: flag.clone(),
                user: user.to_string(),
                stream: None,
            },
        );
        (id, secret, flag)
    }

    /// Remembers the connection a session runs on, so that KILL can end it.
    pub fn attach_stream(&self, id: u32, stream: UnixStream) {
        if let Some(h) = self.sessions().get_mut(&id) {
            h.stream = Some(stream);
        }
    }

    /// Records a session's new user (after a change of user).
    pub fn set_session_user(&self, id: u32, user: &str) {
        if let Some(h) = self.sessions().get_mut(&id) {
            h.user = user.to_string();
        }
    }

    /// Forgets a session.
    pub fn unregister_session(&self, id: u32) {
        self.sessions().remove(&id);
    }

    /// Cancels the running statement of a session if the secret matches.
    pub fn cancel(&self, id: u32, secret: u32) -> bool {
        match self.sessions().get(&id) {
            Some(h) if h.secret == secret => {
                h.cancel.store(true, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// MySQL's `KILL [QUERY]`: cancels what session `id` runs and, unless `query_only`,
    /// ends the session by shutting its connection down (its transaction rolls back).
    /// `by` may kill its own sessions; a superuser may kill any.
    pub fn kill(
        &self,
        id: u32,
        by: &str,
        superuser: bool,
        query_only: bool,
    ) -> Result<(), KillError> {
        let sessions = self.sessions();
        let h = sessions.get(&id).ok_or(KillError::NoSuchSession(id))?;
        if !superuser && h.user != by {
            return Err(KillError::NotOwner(id));
        }
        h.cancel.store(true, Ordering::Relaxed);
        if !query_only {
            if let Some(s) = &h.stream {
                let _ = s.shutdown(std::net::Shutdown::Both);
            }
        }
        Ok(())
    }
}
