//! The PostgreSQL gateway: PostgreSQL's wire protocol (via `pgwire`) in front of the engine.
//!
//! * [`server`] — listener, per-connection task and message loop, message size limit.
//! * [`auth`] — startup and SCRAM-SHA-256 authentication against engine-stored verifiers.
//! * [`scram`] — the SCRAM exchange itself (constant-time proof check, fake salts).
//! * [`handler`] — simple and extended query protocol, mapped onto engine requests.
//! * [`copy`] — `COPY … FROM STDIN` (copy-in sub-protocol, batched inserts).
//! * [`types`] — type OIDs and the text/binary wire formats of values.
//! * [`errors`] — engine and compile errors as ErrorResponses with their SQLSTATE.
//!
//! pgwire is kept behind these modules: only they name its types, so a pgwire upgrade
//! (it breaks its API often; the version is pinned) touches this directory only.

pub mod auth;
pub mod copy;
pub mod errors;
pub mod handler;
pub mod scram;
pub mod server;
pub mod types;

pub use server::{PostgresGateway, ServerConfig, DEFAULT_MAX_MESSAGE_SIZE};
