//! The Rosetta engine daemon: catalog, MVCC transactions over RocksDB, binder, executor,
//! and the socket server gateways talk to. See `docs/architecture.md` for the tour.
//!
//! ```text
//!  server (socket, frames) → session (txn state machine) → sql (bind → plan → run)
//!                                                             ↓
//!                                         catalog / mvcc (versions, commit) → storage
//! ```

pub mod catalog;
pub mod daemon;
pub mod engine;
pub mod error;
pub mod keys;
pub mod locks;
pub mod mvcc;
pub mod sd_notify;
pub mod server;
pub mod session;
pub mod sql;
pub mod srp;
pub mod storage;
pub mod vcat;

/// The version string `version()` reports: PostgreSQL-compatible, naming Rosetta.
pub const VERSION_STRING: &str = concat!(
    "PostgreSQL 15.0 (Rosetta ",
    env!("CARGO_PKG_VERSION"),
    ") on x86_64-pc-linux-gnu, compiled by rustc, 64-bit"
);

/// The `server_version` announced to PostgreSQL clients.
pub const PG_SERVER_VERSION: &str = concat!("15.0 (Rosetta ", env!("CARGO_PKG_VERSION"), ")");
