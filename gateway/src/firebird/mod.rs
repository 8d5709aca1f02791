//! The Firebird gateway: our own implementation of Firebird's wire protocol (protocol
//! 13–15, as Firebird 3 speaks it) in front of the engine. The implementer's guide is
//! `firebird-wire.md` in the shared design notes; section numbers in comments refer to it.
//!
//! Three pieces, as for every front end (style guide):
//!
//! * **channel** — [`xdr`] (total, bounded XDR decoding: there is no length prefix, a
//!   packet ends where its decoder says so), [`channel`] (TCP, Arc4, framing by trial
//!   decoding), [`packets`] (the operations), [`blr`] (message layouts and packed rows);
//! * **protocol** — [`protocol`], the per-connection state machine (connect, SRP
//!   authentication in [`auth`] and [`srp`], attach, transactions, statements, blobs),
//!   with [`info`] (info buffers and describe), [`types`] (type mapping) and [`status`]
//!   (status vectors, SQLSTATE → gds codes);
//! * **runner** — [`server`], the accept loop;
//!
//! behind the narrow [`backend::Backend`] seam (engine sessions and the dialect plugin).

pub mod auth;
pub mod backend;
pub mod blr;
pub mod channel;
pub mod info;
pub mod packets;
pub mod protocol;
pub mod server;
pub mod srp;
pub mod status;
pub mod types;
pub mod xdr;

#[cfg(test)]
mod tests;

pub use server::{FirebirdConfig, FirebirdGateway};
