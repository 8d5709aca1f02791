//! Startup and authentication of a PostgreSQL client.
//!
//! ```text
//! client                        gateway                              engine
//! StartupMessage{user,db}  ──▶  connect, AuthInfo{user}        ──▶
//!                          ◀──  AuthenticationSASL[SCRAM-SHA-256]
//! SASLInitialResponse      ──▶  server-first (real or fake salt)
//!                          ◀──  AuthenticationSASLContinue
//! SASLResponse (proof)     ──▶  verify against StoredKey
//!                          ◀──  AuthenticationSASLFinal
//!                               Startup{user, db, Postgres}     ──▶  Ready / Error 3D000
//!                          ◀──  AuthenticationOk, ParameterStatus*, BackendKeyData,
//!                               ReadyForQuery
//! ```
//!
//! Every failure here is FATAL (the connection closes). A wrong password and an unknown
//! user fail identically, with 28P01, after a complete exchange. SASL messages are parsed
//! by us from the raw password-message body: pgwire's typed decoders index without bounds
//! checks.

use std::fmt::Debug;

use async_trait::async_trait;
use bytes::Bytes;
use futures::sink::{Sink, SinkExt};
use pgwire::api::auth::{
    protocol_negotiation, save_startup_parameters_to_metadata, StartupHandler,
};
use pgwire::api::{ClientInfo, PgWireConnectionState, METADATA_APPLICATION_NAME};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::response::{ReadyForQuery, TransactionStatus};
use pgwire::messages::startup::{
    Authentication, BackendKeyData, ParameterStatus, PasswordMessageFamily, SecretKey,
};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use rosetta_bytecode::Dialect;

use super::errors::{self, fatal, into_pgwire};
use super::handler::PgConnection;
use super::scram::ScramServer;
use crate::engine_client::EngineClient;

/// The only SASL mechanism offered (no channel binding without TLS).
const SCRAM_SHA_256: &str = "SCRAM-SHA-256";
/// How long a new session waits for an engine that is restarting (retrying with
/// backoff) before it fails with FATAL 08006.
const ENGINE_CONNECT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Where a session's authentication stands.
#[derive(Debug, Default)]
pub(crate) enum AuthPhase {
    /// Waiting for the startup packet.
    #[default]
    Initial,
    /// AuthenticationSASL sent; waiting for SASLInitialResponse.
    AwaitingInitial(Box<Pending>),
    /// server-first sent; waiting for the client's proof.
    AwaitingFinal(Box<Pending>),
    /// Authenticated and the engine session is open.
    Done,
}

/// What is known about the client while the exchange runs.
#[derive(Debug)]
pub(crate) struct Pending {
    user: String,
    database: String,
    application: String,
    scram: ScramServer,
}

fn auth_failed(user: &str) -> PgWireError {
    into_pgwire(fatal(
        "28P01",
        format!("password authentication failed for user \"{user}\""),
    ))
}

fn protocol_violation(message: &str) -> PgWireError {
    into_pgwire(fatal("08P01", message.to_string()))
}

/// Splits a SASLInitialResponse body: mechanism name (C string), then an Int32 length and
/// that many bytes of data (-1 = none).
fn parse_sasl_initial(body: &[u8]) -> Option<(String, Vec<u8>)> {
    let nul = body.iter().position(|b| *b == 0)?;
    let mechanism = std::str::from_utf8(&body[..nul]).ok()?.to_string();
    let rest = &body[nul + 1..];
    let len = i32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    let data = &rest[4..];
    if len < 0 {
        return Some((mechanism, Vec::new()));
    }
    let len = usize::try_from(len).ok()?;
    if data.len() != len {
        return None;
    }
    Some((mechanism, data.to_vec()))
}

fn raw_body(message: PasswordMessageFamily) -> Vec<u8> {
    match message {
        PasswordMessageFamily::Raw(body) => body.to_vec(),
        PasswordMessageFamily::SASLInitialResponse(m) => {
            let mut out = m.auth_method.into_bytes();
            out.push(0);
            match m.data {
                Some(d) => {
                    out.extend_from_slice(&(d.len() as i32).to_be_bytes());
                    out.extend_from_slice(&d);
                }
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            }
            out
        }
        PasswordMessageFamily::SASLResponse(m) => m.data.to_vec(),
        PasswordMessageFamily::Password(p) => p.password.into_bytes(),
        _ => Vec::new(),
    }
}

#[async_trait]
impl StartupHandler for PgConnection {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut guard = self.state.lock().await;
        let st = &mut *guard;
        let phase = std::mem::take(&mut st.auth);
        match (phase, message) {
            (AuthPhase::Initial, PgWireFrontendMessage::Startup(startup)) => {
                protocol_negotiation(client, &startup).await?;
                save_startup_parameters_to_metadata(client, &startup);
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                let user = startup
                    .parameters
                    .get("user")
                    .cloned()
                    .filter(|u| !u.is_empty())
                    .ok_or_else(|| {
                        into_pgwire(fatal(
                            "28000",
                            "no PostgreSQL user name specified in startup packet",
                        ))
                    })?;
                let database = startup
                    .parameters
                    .get("database")
                    .cloned()
                    .filter(|d| !d.is_empty())
                    .unwrap_or_else(|| user.clone());
                let application = startup
                    .parameters
                    .get(METADATA_APPLICATION_NAME)
                    .cloned()
                    .unwrap_or_default();
                let mut engine = EngineClient::connect_with_backoff(
                    &self.shared.engine_socket,
                    ENGINE_CONNECT_PATIENCE,
                )
                .await
                .map_err(|e| {
                    tracing::error!("{e}");
                    into_pgwire(errors::from_engine_client(&e))
                })?;
                let info = engine
                    .auth_info(&user)
                    .await
                    .map_err(|e| into_pgwire(errors::from_engine_client(&e)))?;
                let scram = match info {
                    Some(info) => ScramServer::new(info.scram_sha256),
                    None => ScramServer::new_fake(&user, &self.shared.auth_secret),
                };
                st.engine = Some(engine);
                st.auth = AuthPhase::AwaitingInitial(Box::new(Pending {
                    user,
                    database,
                    application,
                    scram,
                }));
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::SASL(
                        vec![SCRAM_SHA_256.to_string()],
                    )))
                    .await?;
                Ok(())
            }
            (
                AuthPhase::AwaitingInitial(mut pending),
                PgWireFrontendMessage::PasswordMessageFamily(m),
            ) => {
                let body = raw_body(m);
                let (mechanism, data) = parse_sasl_initial(&body)
                    .ok_or_else(|| protocol_violation("malformed SASLInitialResponse message"))?;
                if mechanism != SCRAM_SHA_256 {
                    return Err(protocol_violation(
                        "client selected an invalid SASL authentication mechanism",
                    ));
                }
                let server_first = pending.scram.client_first(&data).map_err(|e| {
                    tracing::info!(user = %pending.user, "SCRAM client-first refused: {e}");
                    protocol_violation("malformed SCRAM message")
                })?;
                st.auth = AuthPhase::AwaitingFinal(pending);
                client
                    .send(PgWireBackendMessage::Authentication(
                        Authentication::SASLContinue(Bytes::from(server_first)),
                    ))
                    .await?;
                Ok(())
            }
            (
                AuthPhase::AwaitingFinal(mut pending),
                PgWireFrontendMessage::PasswordMessageFamily(m),
            ) => {
                let body = raw_body(m);
                let server_final = pending.scram.client_final(&body).map_err(|e| {
                    tracing::info!(user = %pending.user, "authentication failed: {e}");
                    auth_failed(&pending.user)
                })?;
                client
                    .feed(PgWireBackendMessage::Authentication(
                        Authentication::SASLFinal(Bytes::from(server_final)),
                    ))
                    .await?;
                let engine = st
                    .engine
                    .as_mut()
                    .ok_or_else(|| into_pgwire(fatal("08003", "no engine connection")))?;
                let session = engine
                    .startup(
                        &pending.user,
                        &pending.database,
                        Dialect::Postgres,
                        &pending.application,
                    )
                    .await
                    .map_err(|e| {
                        // Every startup failure ends the connection (e.g. 3D000).
                        let mut info = errors::from_engine_client(&e);
                        info.severity = pgwire::error::SEVERITY_FATAL.to_owned();
                        into_pgwire(info)
                    })?;
                st.auth = AuthPhase::Done;
                st.set_txn(rosetta_proto::TxnState::Idle);
                client.set_pid_and_secret_key(
                    session.session_id as i32,
                    SecretKey::I32(session.secret as i32),
                );
                client
                    .feed(PgWireBackendMessage::Authentication(Authentication::Ok))
                    .await?;
                for (name, value) in
                    startup_parameters(&session.settings, &pending.user, &pending.application)
                {
                    client
                        .feed(PgWireBackendMessage::ParameterStatus(ParameterStatus::new(
                            name, value,
                        )))
                        .await?;
                }
                client
                    .feed(PgWireBackendMessage::BackendKeyData(BackendKeyData::new(
                        session.session_id as i32,
                        SecretKey::I32(session.secret as i32),
                    )))
                    .await?;
                client.set_state(PgWireConnectionState::ReadyForQuery);
                client.set_transaction_status(TransactionStatus::Idle);
                client
                    .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                        TransactionStatus::Idle,
                    )))
                    .await?;
                tracing::debug!(user = %pending.user, db = %pending.database, session = session.session_id, "session started");
                Ok(())
            }
            (_, _) => Err(protocol_violation(
                "unexpected message during authentication",
            )),
        }
    }
}

/// The ParameterStatus messages sent after authentication: the engine's settings win;
/// PostgreSQL's usual ones fill the gaps.
pub(crate) fn startup_parameters(
    settings: &[(String, String)],
    user: &str,
    application: &str,
) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = settings.to_vec();
    let defaults = [
        (
            "server_version",
            format!("15.0 (Rosetta {})", env!("CARGO_PKG_VERSION")),
        ),
        ("server_encoding", "UTF8".to_string()),
        ("client_encoding", "UTF8".to_string()),
        ("DateStyle", "ISO, MDY".to_string()),
        ("IntervalStyle", "postgres".to_string()),
        ("integer_datetimes", "on".to_string()),
        ("standard_conforming_strings", "on".to_string()),
        ("TimeZone", "UTC".to_string()),
        ("application_name", application.to_string()),
        ("is_superuser", "off".to_string()),
        ("session_authorization", user.to_string()),
        ("default_transaction_read_only", "off".to_string()),
        ("in_hot_standby", "off".to_string()),
    ];
    for (name, value) in defaults {
        if !params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            params.push((name.to_string(), value));
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sasl_initial_response_parsing_is_total() {
        let mut body = b"SCRAM-SHA-256\0".to_vec();
        body.extend_from_slice(&5i32.to_be_bytes());
        body.extend_from_slice(b"n,,n=");
        assert_eq!(
            parse_sasl_initial(&body),
            Some(("SCRAM-SHA-256".to_string(), b"n,,n=".to_vec()))
        );
        // Truncated, overlong, missing terminator: all refused, none panics.
        assert_eq!(parse_sasl_initial(&body[..body.len() - 1]), None);
        assert_eq!(parse_sasl_initial(b"SCRAM"), None);
        assert_eq!(parse_sasl_initial(b"SCRAM\0\x7f\xff\xff\xff"), None);
        assert_eq!(parse_sasl_initial(b"\0"), None);
    }

    #[test]
    fn engine_settings_override_defaults() {
        let params = startup_parameters(
            &[("server_version".into(), "15.0 (Rosetta 0.1.0)".into())],
            "admin",
            "psql",
        );
        let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("server_version"), Some("15.0 (Rosetta 0.1.0)"));
        assert_eq!(
            params.iter().filter(|(k, _)| k == "server_version").count(),
            1
        );
        assert_eq!(get("DateStyle"), Some("ISO, MDY"));
        assert_eq!(get("application_name"), Some("psql"));
        assert_eq!(get("TimeZone"), Some("UTC"));
    }
}
