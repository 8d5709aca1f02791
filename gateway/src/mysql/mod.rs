//! The MySQL gateway: MySQL's client/server protocol in front of the engine.
//!
//! The protocol is our own code (ADR 0005): `opensrv-mysql`'s command loop answered
//! COM_RESET_CONNECTION, COM_CHANGE_USER, COM_STMT_RESET and unknown commands with a
//! silent OK and could not announce the engine session id, so only its error-code table
//! is still used.
//!
//! * [`server`] — listener, per-connection tasks, graceful shutdown.
//! * [`session`] — one connection: handshake, authentication, the command loop, mapped
//!   onto one engine session.
//! * [`packet`] — packet framing; [`wire`] — integers and strings on the wire.
//! * [`handshake`] — greeting, handshake response, auth switch, COM_CHANGE_USER.
//! * [`command`] — command decoding; [`execute`] — COM_STMT_EXECUTE parameters.
//! * [`resultset`] — OK / ERR / EOF packets; [`types`] — values and column definitions.
//! * [`binary_text`] — `_binary'…'` literals with raw bytes re-spelled as `X'…'`.
//! * [`auth`] — `mysql_native_password` against the engine-stored SHA1(SHA1(password)).
//! * [`errors`] — SQLSTATEs to MySQL error numbers.

pub mod auth;
pub mod binary_text;
pub mod command;
pub mod errors;
pub mod execute;
pub mod handshake;
pub mod packet;
pub mod resultset;
pub mod server;
pub mod session;
pub mod types;
pub mod wire;

pub use server::{MysqlConfig, MysqlGateway};
