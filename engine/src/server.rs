//! The gateway-facing socket server: one thread per connection, blocking frames.
//!
//! A connection's first request decides what it is: `AuthInfo` (a lookup, then more
//! requests may follow), `Startup` (the connection becomes a session until it closes), or
//! `Cancel` (out of band). Peers are checked with `SO_PEERCRED`: only processes of our own
//! user (or root) may talk to the engine.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;

use rosetta_proto::{frame, AuthInfo, EngineError, Request, Response, TxnState, MAX_FRAME};

use crate::catalog::Catalog;
use crate::engine::Engine;
use crate::session::Session;

/// Accepts connections forever.
pub fn serve(listener: UnixListener, engine: Arc<Engine>) {
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        if !peer_allowed(&stream) {
            tracing::warn!("refused engine connection from another user");
            continue;
        }
        let engine = engine.clone();
        let spawned = std::thread::Builder::new()
            .name("session".into())
            .stack_size(32 << 20)
            .spawn(move || {
                if let Err(e) = handle(stream, engine) {
                    tracing::debug!("connection ended: {e}");
                }
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start session thread: {e}");
        }
    }
}

fn peer_allowed(stream: &UnixStream) -> bool {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    match getsockopt(stream, PeerCredentials) {
        Ok(cred) => {
            let me = nix::unistd::geteuid().as_raw();
            cred.uid() == me || cred.uid() == 0
        }
        Err(_) => false,
    }
}

fn read_request(stream: &mut impl Read) -> Result<Option<Request>, frame::FrameError> {
    let mut len = [0u8; 4];
    match stream.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(frame::FrameError::TooLarge(len));
    }
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf)?;
    frame::decode(&buf).map(Some)
}

fn send(w: &mut impl Write, r: &Response) -> std::io::Result<()> {
    match frame::encode(r) {
        Ok(b) => w.write_all(&b),
        Err(e) => Err(std::io::Error::other(e.to_string())),
    }
}

fn protocol_error(msg: String) -> Response {
    Response::Error(EngineError {
        sqlstate: "08P01".into(),
        message: msg,
        detail: None,
        hint: None,
        position: None,
        txn: TxnState::Idle,
        fatal: true,
    })
}

fn handle(stream: UnixStream, engine: Arc<Engine>) -> anyhow::Result<()> {
    let mut session: Option<Session> = None;
    let mut out = std::io::BufWriter::with_capacity(64 << 10, stream.try_clone()?);
    // One read syscall per request in the common case (length prefix and body together).
    let mut input = std::io::BufReader::with_capacity(64 << 10, stream.try_clone()?);
    loop {
        let req = match read_request(&mut input) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err(e) => {
                // A malformed frame ends this connection only (its session rolls back).
                let _ = send(&mut out, &protocol_error(format!("bad request: {e}")));
                let _ = out.flush();
                return Err(e.into());
            }
        };
        match (req, session.as_mut()) {
            (Request::AuthInfo { user }, _) => {
                let txn = engine.mvcc.begin();
                let info: Option<AuthInfo> = Catalog::new(&txn).user(&user)?.map(|u| u.auth);
                send(&mut out, &Response::AuthInfo(info))?;
            }
            (Request::Cancel { session_id, secret }, _) => {
                engine.cancel(session_id, secret);
                send(&mut out, &Response::Ok)?;
            }
            (
                Request::Startup {
                    protocol_version,
                    user,
                    database,
                    dialect,
                    ..
                },
                None,
            ) => {
                if protocol_version != rosetta_proto::PROTOCOL_VERSION {
                    send(
                        &mut out,
                        &protocol_error(format!("unsupported protocol version {protocol_version}")),
                    )?;
                    out.flush()?;
                    return Ok(());
                }
                match Session::open(engine.clone(), &user, &database, dialect) {
                    Ok(s) => {
                        if let Ok(clone) = stream.try_clone() {
                            engine.attach_stream(s.id, clone);
                        }
                        send(
                            &mut out,
                            &Response::Ready {
                                session_id: s.id,
                                secret: s.secret,
                                settings: vec![(
                                    "server_version".into(),
                                    crate::PG_SERVER_VERSION.into(),
                                )],
                            },
                        )?;
                        session = Some(s);
                    }
                    Err(e) => {
                        send(
                            &mut out,
                            &Response::Error(EngineError {
                                sqlstate: e.sqlstate().into(),
                                message: e.to_string(),
                                detail: None,
                                hint: None,
                                position: None,
                                txn: TxnState::Idle,
                                fatal: true,
                            }),
                        )?;
                    }
                }
            }
            (
                Request::Execute {
                    program, params, ..
                },
                Some(s),
            ) => {
                let mut err = None;
                s.execute(&program, &params, &mut |r| {
                    if err.is_none() {
                        if let Err(e) = send(&mut out, &r) {
                            err = Some(e);
                        }
                    }
                });
                if let Some(e) = err {
                    return Err(e.into());
                }
            }
            (
                Request::Prepare {
                    program,
                    param_types,
                },
                Some(s),
            ) => {
                let r = s.prepare(&program, param_types);
                send(&mut out, &r)?;
            }
            (Request::ExecutePrepared { handle, params, .. }, Some(s)) => {
                let mut err = None;
                s.execute_prepared(handle, &params, &mut |r| {
                    if err.is_none() {
                        if let Err(e) = send(&mut out, &r) {
                            err = Some(e);
                        }
                    }
                });
                if let Some(e) = err {
                    return Err(e.into());
                }
            }
            (Request::ClosePrepared { handle }, Some(s)) => {
                s.close_prepared(handle);
                send(&mut out, &Response::Ok)?;
            }
            (Request::Reset { user, database }, Some(s)) => {
                let r = match s.reset(user.as_deref(), database.as_deref()) {
                    Ok(()) => Response::Ready {
                        session_id: s.id,
                        secret: s.secret,
                        settings: vec![("server_version".into(), crate::PG_SERVER_VERSION.into())],
                    },
                    Err(e) => Response::Error(EngineError {
                        sqlstate: e.sqlstate().into(),
                        message: e.to_string(),
                        detail: None,
                        hint: None,
                        position: None,
                        txn: TxnState::Idle,
                        fatal: false,
                    }),
                };
                send(&mut out, &r)?;
            }
            (Request::Terminate, _) => return Ok(()),
            (other, _) => {
                send(
                    &mut out,
                    &protocol_error(format!("unexpected request {other:?}")),
                )?;
            }
        }
        out.flush()?;
    }
}
