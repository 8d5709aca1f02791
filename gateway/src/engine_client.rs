//! The gateway's side of the gateway ⇄ engine protocol ([`rosetta_proto`]).
//!
//! One [`EngineClient`] is one Unix-domain-socket connection to the engine, and the engine
//! treats that connection as one session: every client session of a gateway owns exactly
//! one, and dropping it ends the session (the engine rolls back whatever was open).
//!
//! Requests are strictly sequential: send one [`Request`], read [`Response`]s until the one
//! that ends it ([`Response::is_final`]). Streaming requests hand out a [`ResponseStream`]
//! that borrows the client; if a caller drops the stream early, the client remembers and
//! drains the rest of the answer before it sends the next request, so the connection never
//! gets out of step with the engine.
//!
//! Cancellation is out of band: [`cancel`] opens a *fresh* connection and sends
//! [`Request::Cancel`] there, exactly like PostgreSQL's CancelRequest.

use std::path::{Path, PathBuf};

use rosetta_bytecode::{DataType, Dialect};
use rosetta_proto::{
    read_frame, write_frame, AuthInfo, EngineError, FrameError, PreparedInfo, Request, Response,
    PROTOCOL_VERSION,
};
use rosetta_types::Value;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;

/// Why a request to the engine did not produce the answer the caller wanted.
#[derive(Debug, thiserror::Error)]
pub enum EngineClientError {
    /// The engine socket could not be reached (engine not running, wrong path, …).
    #[error("cannot connect to the engine at {path}: {source}")]
    Connect {
        /// The socket path tried.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The connection broke or carried garbage; the session is lost.
    #[error("engine connection failed: {0}")]
    Frame(#[from] FrameError),
    /// The engine refused the request with an SQL error; the session goes on unless the
    /// error says it is fatal.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The engine answered with a response that makes no sense for the request (a bug on
    /// one side or the other); the session is no longer trustworthy.
    #[error("unexpected engine response to {request}: {response}")]
    Unexpected {
        /// The request that was sent.
        request: &'static str,
        /// A short description of what came back.
        response: String,
    },
}

impl EngineClientError {
    /// True when the session cannot continue (broken connection, protocol confusion, or
    /// an engine error flagged fatal): the gateway must close the client connection.
    pub fn is_fatal(&self) -> bool {
        match self {
            EngineClientError::Engine(e) => e.fatal,
            _ => true,
        }
    }
}

/// What the engine answered to [`EngineClient::startup`]: the session's identity (used as
/// PostgreSQL's BackendKeyData, so that a CancelRequest can be forwarded) and the settings
/// to announce to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
    /// Engine session id (PostgreSQL "process id").
    pub session_id: u32,
    /// Secret that authorizes a cancel for this session.
    pub secret: u32,
    /// Settings to announce (`server_version`, …).
    pub settings: Vec<(String, String)>,
}

/// One session's connection to the engine.
#[derive(Debug)]
pub struct EngineClient {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// A streamed answer was abandoned before its final response: drain it before the
    /// next request.
    pending: bool,
}

impl EngineClient {
    /// Connects to the engine's Unix socket.
    pub async fn connect(path: &Path) -> Result<Self, EngineClientError> {
        let stream =
            UnixStream::connect(path)
                .await
                .map_err(|source| EngineClientError::Connect {
                    path: path.to_path_buf(),
                    source,
                })?;
        let (r, w) = stream.into_split();
        Ok(Self {
            reader: BufReader::with_capacity(64 * 1024, r),
            writer: w,
            pending: false,
        })
    }

    /// Connects, retrying with exponential backoff (50 ms doubling up to 1 s) while the
    /// engine is not there (restarting: socket missing or refusing) for up to `patience`.
    /// Other errors fail at once.
    pub async fn connect_with_backoff(
        path: &Path,
        patience: std::time::Duration,
    ) -> Result<Self, EngineClientError> {
        let deadline = tokio::time::Instant::now() + patience;
        let mut delay = std::time::Duration::from_millis(50);
        loop {
            match Self::connect(path).await {
                Err(EngineClientError::Connect { source, .. })
                    if matches!(
                        source.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                    ) && tokio::time::Instant::now() + delay < deadline =>
                {
                    tracing::debug!("engine not reachable ({source}); retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(1));
                }
                other => return other,
            }
        }
    }

    /// Sends one request (draining an abandoned earlier answer first).
    async fn send(&mut self, request: &Request) -> Result<(), EngineClientError> {
        if self.pending {
            loop {
                let resp: Response = read_frame(&mut self.reader).await?;
                if resp.is_final() {
                    break;
                }
            }
            self.pending = false;
        }
        write_frame(&mut self.writer, request).await?;
        self.writer.flush().await.map_err(FrameError::from)?;
        Ok(())
    }

    /// Reads one response.
    async fn recv(&mut self) -> Result<Response, EngineClientError> {
        Ok(read_frame(&mut self.reader).await?)
    }

    /// Sends a request whose answer is a single final response and returns it, skipping
    /// notices (there is no client to show them to during these requests).
    async fn call(&mut self, request: &Request) -> Result<Response, EngineClientError> {
        self.send(request).await?;
        loop {
            let resp = self.recv().await?;
            if resp.is_final() {
                return Ok(resp);
            }
        }
    }

    /// Fetches the authentication verifiers of `user` (`None`: no such user).
    pub async fn auth_info(&mut self, user: &str) -> Result<Option<AuthInfo>, EngineClientError> {
        match self
            .call(&Request::AuthInfo {
                user: user.to_string(),
            })
            .await?
        {
            Response::AuthInfo(info) => Ok(info),
            Response::Error(e) => Err(e.into()),
            other => Err(unexpected("AuthInfo", &other)),
        }
    }

    /// Opens the session for an already authenticated user.
    pub async fn startup(
        &mut self,
        user: &str,
        database: &str,
        dialect: Dialect,
        application: &str,
    ) -> Result<SessionInfo, EngineClientError> {
        let request = Request::Startup {
            protocol_version: PROTOCOL_VERSION,
            user: user.to_string(),
            database: database.to_string(),
            dialect,
            application: application.to_string(),
        };
        match self.call(&request).await? {
            Response::Ready {
                session_id,
                secret,
                settings,
            } => Ok(SessionInfo {
                session_id,
                secret,
                settings,
            }),
            Response::Error(e) => Err(e.into()),
            other => Err(unexpected("Startup", &other)),
        }
    }

    /// Returns the session to a fresh state (rollback, prepared statements and settings
    /// forgotten, same session id), optionally as another (already authenticated) user
    /// and/or on another database: MySQL COM_RESET_CONNECTION, COM_CHANGE_USER, `USE`.
    pub async fn reset(
        &mut self,
        user: Option<&str>,
        database: Option<&str>,
    ) -> Result<SessionInfo, EngineClientError> {
        let request = Request::Reset {
            user: user.map(str::to_string),
            database: database.map(str::to_string),
        };
        match self.call(&request).await? {
            Response::Ready {
                session_id,
                secret,
                settings,
            } => Ok(SessionInfo {
                session_id,
                secret,
                settings,
            }),
            Response::Error(e) => Err(e.into()),
            other => Err(unexpected("Reset", &other)),
        }
    }

    /// Runs one compiled program; the returned stream yields every response up to and
    /// including the final one (`Complete` or `Error`).
    pub async fn execute(
        &mut self,
        program: Vec<u8>,
        params: Vec<Value>,
        max_rows: u64,
    ) -> Result<ResponseStream<'_>, EngineClientError> {
        self.send(&Request::Execute {
            program,
            params,
            max_rows,
        })
        .await?;
        Ok(self.stream())
    }

    /// Prepares a program; engine SQL errors come back as [`EngineClientError::Engine`].
    pub async fn prepare(
        &mut self,
        program: Vec<u8>,
        param_types: Vec<Option<DataType>>,
    ) -> Result<PreparedInfo, EngineClientError> {
        match self
            .call(&Request::Prepare {
                program,
                param_types,
            })
            .await?
        {
            Response::Prepared(info) => Ok(info),
            Response::Error(e) => Err(e.into()),
            other => Err(unexpected("Prepare", &other)),
        }
    }

    /// Runs a prepared statement; see [`EngineClient::execute`] for the stream.
    pub async fn execute_prepared(
        &mut self,
        handle: u64,
        params: Vec<Value>,
        max_rows: u64,
    ) -> Result<ResponseStream<'_>, EngineClientError> {
        self.send(&Request::ExecutePrepared {
            handle,
            params,
            max_rows,
        })
        .await?;
        Ok(self.stream())
    }

    /// Forgets a prepared statement in the engine.
    pub async fn close_prepared(&mut self, handle: u64) -> Result<(), EngineClientError> {
        match self.call(&Request::ClosePrepared { handle }).await? {
            Response::Ok => Ok(()),
            Response::Error(e) => Err(e.into()),
            other => Err(unexpected("ClosePrepared", &other)),
        }
    }

    /// Ends the session politely (the engine rolls back an open transaction). Errors are
    /// ignored: closing the socket has the same effect.
    pub async fn terminate(mut self) {
        let _ = self.send(&Request::Terminate).await;
        let _ = self.writer.shutdown().await;
    }

    fn stream(&mut self) -> ResponseStream<'_> {
        self.pending = true;
        ResponseStream { client: self }
    }
}

/// The responses of one streaming request ([`EngineClient::execute`],
/// [`EngineClient::execute_prepared`]).
#[derive(Debug)]
pub struct ResponseStream<'a> {
    client: &'a mut EngineClient,
}

impl ResponseStream<'_> {
    /// The next response, or `None` once the final one has been returned.
    pub async fn next(&mut self) -> Option<Result<Response, EngineClientError>> {
        if !self.client.pending {
            return None;
        }
        match self.client.recv().await {
            Ok(resp) => {
                if resp.is_final() {
                    self.client.pending = false;
                }
                Some(Ok(resp))
            }
            Err(e) => {
                // The connection is broken; nothing more will come.
                self.client.pending = false;
                Some(Err(e))
            }
        }
    }
}

/// Asks the engine, on a fresh connection, to cancel whatever session `session_id` runs.
/// The engine checks `secret`; a wrong one is silently ignored, as in PostgreSQL.
pub async fn cancel(path: &Path, session_id: u32, secret: u32) -> Result<(), EngineClientError> {
    let mut client = EngineClient::connect(path).await?;
    match client.call(&Request::Cancel { session_id, secret }).await? {
        Response::Ok => Ok(()),
        Response::Error(e) => Err(e.into()),
        other => Err(unexpected("Cancel", &other)),
    }
}

fn unexpected(request: &'static str, response: &Response) -> EngineClientError {
    let response = match response {
        Response::AuthInfo(_) => "AuthInfo",
        Response::Ready { .. } => "Ready",
        Response::Columns(_) => "Columns",
        Response::Rows(_) => "Rows",
        Response::Complete(_) => "Complete",
        Response::Prepared(_) => "Prepared",
        Response::Notice { .. } => "Notice",
        Response::Error(_) => "Error",
        Response::Ok => "Ok",
    };
    EngineClientError::Unexpected {
        request,
        response: response.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosetta_proto::{Column, Completion, ScramVerifier, TxnState};
    use tokio::net::UnixListener;

    /// A scripted fake engine: for each accepted connection, reads requests and answers
    /// with whatever `script` returns for them.
    fn fake_engine(
        dir: &tempfile::TempDir,
        script: fn(Request) -> Vec<Response>,
    ) -> (PathBuf, tokio::task::JoinHandle<Vec<Request>>) {
        let path = dir.path().join("engine.sock");
        let listener = UnixListener::bind(&path).expect("bind fake engine");
        let task = tokio::spawn(async move {
            let mut seen = Vec::new();
            let (stream, _) = listener.accept().await.expect("accept");
            let (mut r, mut w) = stream.into_split();
            loop {
                let req: Request = match read_frame(&mut r).await {
                    Ok(req) => req,
                    Err(_) => break,
                };
                seen.push(req.clone());
                if req == Request::Terminate {
                    break;
                }
                for resp in script(req) {
                    if write_frame(&mut w, &resp).await.is_err() {
                        return seen;
                    }
                }
                let _ = w.flush().await;
            }
            seen
        });
        (path, task)
    }

    fn complete(tag: &str, rows: u64) -> Response {
        Response::Complete(Completion {
            tag: tag.into(),
            rows,
            txn: TxnState::Idle,
            suspended: false,
            last_insert_id: 0,
        })
    }

    fn script(req: Request) -> Vec<Response> {
        match req {
            Request::AuthInfo { user } if user == "alice" => {
                vec![Response::AuthInfo(Some(AuthInfo {
                    user,
                    firebird_srp: None,
                    scram_sha256: ScramVerifier {
                        salt: vec![1; 16],
                        iterations: 4096,
                        stored_key: vec![2; 32],
                        server_key: vec![3; 32],
                    },
                    mysql_native: vec![],
                }))]
            }
            Request::AuthInfo { .. } => vec![Response::AuthInfo(None)],
            Request::Startup { database, .. } if database == "missing" => {
                vec![Response::Error(EngineError {
                    sqlstate: "3D000".into(),
                    message: "database \"missing\" does not exist".into(),
                    detail: None,
                    hint: None,
                    position: None,
                    txn: TxnState::Idle,
                    fatal: true,
                })]
            }
            Request::Startup { .. } => vec![Response::Ready {
                session_id: 7,
                secret: 42,
                settings: vec![("server_version".into(), "15.0 (Rosetta 0.1.0)".into())],
            }],
            Request::Execute { params, .. } => vec![
                Response::Columns(vec![Column {
                    name: "x".into(),
                    data_type: DataType::Integer,
                    table_id: 0,
                    column_number: 0,
                }]),
                Response::Notice {
                    message: "hello".into(),
                },
                Response::Rows(vec![params.clone()]),
                Response::Rows(vec![params]),
                complete("SELECT 2", 2),
            ],
            Request::Prepare { .. } => vec![Response::Prepared(PreparedInfo {
                handle: 9,
                param_types: vec![DataType::Integer],
                columns: vec![],
                txn: TxnState::Idle,
            })],
            Request::ClosePrepared { .. } => vec![Response::Ok],
            // Fails on purpose: a response that does not belong to the request.
            Request::ExecutePrepared { .. } => vec![Response::Ok],
            _ => vec![Response::Ok],
        }
    }

    #[tokio::test]
    async fn session_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, task) = fake_engine(&dir, script);
        let mut client = EngineClient::connect(&path).await.expect("connect");

        let info = client.auth_info("alice").await.expect("auth info");
        assert_eq!(info.map(|i| i.scram_sha256.iterations), Some(4096));
        assert_eq!(client.auth_info("bob").await.expect("auth info"), None);

        let err = client
            .startup("alice", "missing", Dialect::Postgres, "test")
            .await
            .expect_err("missing database");
        assert!(matches!(&err, EngineClientError::Engine(e) if e.sqlstate == "3D000"));
        assert!(err.is_fatal());

        let session = client
            .startup("alice", "rosetta", Dialect::Postgres, "test")
            .await
            .expect("startup");
        assert_eq!((session.session_id, session.secret), (7, 42));

        let mut stream = client
            .execute(vec![1], vec![Value::Int32(5)], 0)
            .await
            .expect("execute");
        let mut kinds = Vec::new();
        while let Some(resp) = stream.next().await {
            kinds.push(match resp.expect("response") {
                Response::Columns(_) => "columns",
                Response::Rows(rows) => {
                    assert_eq!(rows, vec![vec![Value::Int32(5)]]);
                    "rows"
                }
                Response::Notice { .. } => "notice",
                Response::Complete(_) => "complete",
                _ => "other",
            });
        }
        assert_eq!(kinds, ["columns", "notice", "rows", "rows", "complete"]);

        // Abandon a stream after its first response: the next request must still line up.
        {
            let mut stream = client.execute(vec![1], vec![], 0).await.expect("execute");
            assert!(matches!(
                stream.next().await,
                Some(Ok(Response::Columns(_)))
            ));
        }
        let prepared = client
            .prepare(vec![1], vec![None])
            .await
            .expect("prepare after abandoned stream");
        assert_eq!(prepared.handle, 9);
        client.close_prepared(9).await.expect("close");

        // The scripted engine answers ExecutePrepared with a bare Ok: surfaced as is, the
        // caller decides (the stream just ends after it).
        let mut stream = client
            .execute_prepared(9, vec![], 0)
            .await
            .expect("execute prepared");
        assert!(matches!(stream.next().await, Some(Ok(Response::Ok))));
        assert!(stream.next().await.is_none());

        client.terminate().await;
        let seen = task.await.expect("fake engine");
        assert_eq!(seen.last(), Some(&Request::Terminate));
    }

    #[tokio::test]
    async fn broken_engine_is_a_fatal_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("engine.sock");
        let listener = UnixListener::bind(&path).expect("bind");
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            // Garbage instead of a frame, then hang up.
            let _ = stream.write_all(&[0, 0, 0, 3, 0xc1, 0xc1, 0xc1]).await;
        });
        let mut client = EngineClient::connect(&path).await.expect("connect");
        let err = client.auth_info("x").await.expect_err("garbage");
        assert!(err.is_fatal());
        assert!(matches!(err, EngineClientError::Frame(_)));
    }

    #[tokio::test]
    async fn missing_socket_is_a_connect_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = EngineClient::connect(&dir.path().join("nope.sock"))
            .await
            .expect_err("no engine");
        assert!(matches!(err, EngineClientError::Connect { .. }));
    }
}
