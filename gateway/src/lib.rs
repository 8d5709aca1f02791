//! Rosetta's protocol gateways.
//!
//! A gateway is one OS process per wire protocol (architecture §1): it speaks the
//! protocol to unmodified clients, compiles their SQL with the dialect plugin
//! ([`plugin_host`]) and runs the resulting bytecode in the engine daemon over one Unix
//! socket connection per client session ([`engine_client`]).
//!
//! * [`postgres`] — the PostgreSQL gateway (`pgwire`).
//! * [`mysql`] — the MySQL gateway (`opensrv-mysql`).
//! * [`firebird`] — the Firebird gateway (our own implementation of its wire protocol).
//!
//! All three share [`engine_client`] and [`plugin_host`].

pub mod engine_client;
pub mod firebird;
pub mod mysql;
pub mod plugin_host;
pub mod postgres;

pub use engine_client::{EngineClient, EngineClientError};
pub use firebird::{FirebirdConfig, FirebirdGateway};
pub use mysql::{MysqlConfig, MysqlGateway};
pub use plugin_host::PluginHost;
pub use postgres::{PostgresGateway, ServerConfig};
