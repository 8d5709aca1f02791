//! State-machine tests: a scripted client speaks the protocol byte by byte (SRP proof,
//! Arc4, attach, transactions, statements, fetch) to [`protocol::run`] over an in-memory
//! pipe, against a fake [`Backend`] that fails on purpose at chosen steps.

use std::sync::Arc;

use async_trait::async_trait;
use num_bigint::BigUint;
use rc4::{consts::U20, KeyInit, Rc4, StreamCipher};
use rosetta_bytecode::{
    CompileError, DataType, Dialect, Expr, Literal, Program, Query, Select, SelectItem, SetExpr,
    Statement,
};
use rosetta_plugin_abi::blr::{BlrItem, BlrItemSource, BlrMessage, BlrOutput, BlrRequest};
use rosetta_proto::{
    AuthInfo, Column, Completion, EngineError, PreparedInfo, ScramVerifier, SrpVerifier, TxnState,
};
use rosetta_types::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

use super::backend::{Backend, Outcome, Session};
use super::blr::{message_blr, Item};
use super::packets::op;
use super::protocol;
use super::xdr::{Reader, Writer};
use crate::engine_client::EngineClientError;
use crate::plugin_host::{Compiled, CompiledStatement};

const N_HEX: &[u8] = b"E67D2E994B2F900C3F41F08F5BB2627ED0D49EE1FE767A52EFCD565CD6E768812C3E1E9CE8F0A8BEA6CB13CD29DDEBF7A96D4A93B55D488DF099A15C89DCB0640738EB2CBDD9A8F7BAB561AB1B0DC1C6CDABF303264A08D1BCA932D1F1EE428B619D970F342ABA9A65793B8B2F041AE5364350C16F735F56ECBCA87BD57B29E7";
const SALT: &[u8] = b"0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF";
const PASSWORD: &str = "s3cret";

fn sha1(parts: &[&[u8]]) -> Vec<u8> {
    let mut h = Sha1::new();
    parts.iter().for_each(|p| h.update(p));
    h.finalize().to_vec()
}

fn x_for(user: &str, password: &str) -> BigUint {
    let inner = sha1(&[user.as_bytes(), b":", password.as_bytes()]);
    BigUint::from_bytes_be(&sha1(&[SALT, &inner]))
}

fn verifier() -> Vec<u8> {
    let n = BigUint::parse_bytes(N_HEX, 16).expect("N");
    BigUint::from(2u32)
        .modpow(&x_for("ADMIN", PASSWORD), &n)
        .to_bytes_be()
}

struct FakeBackend;

struct FakeSession;

fn query_program() -> Vec<u8> {
    let select = Select {
        distinct: false,
        projection: vec![SelectItem::Expr {
            expr: Expr::Literal(Literal::String("x".into())),
            alias: None,
        }],
        from: vec![],
        filter: None,
        group_by: vec![],
        having: None,
    };
    let query = Query {
        with: vec![],
        body: SetExpr::Select(Box::new(select)),
        order_by: vec![],
        limit: None,
        offset: None,
    };
    rosetta_bytecode::encode(&Program::new(
        Dialect::Firebird,
        Statement::Query(Box::new(query)),
    ))
}

fn engine_error(sqlstate: &str, message: &str) -> EngineClientError {
    EngineClientError::Engine(EngineError {
        sqlstate: sqlstate.into(),
        message: message.into(),
        detail: None,
        hint: None,
        position: None,
        txn: TxnState::Idle,
        fatal: false,
    })
}

#[async_trait]
impl Backend for FakeBackend {
    async fn auth_info(&self, user: &str) -> Result<Option<AuthInfo>, EngineClientError> {
        Ok((user == "admin").then(|| AuthInfo {
            user: "admin".into(),
            scram_sha256: ScramVerifier {
                salt: vec![],
                iterations: 1,
                stored_key: vec![],
                server_key: vec![],
            },
            mysql_native: vec![],
            firebird_srp: Some(SrpVerifier {
                salt: SALT.to_vec(),
                verifier: verifier(),
            }),
        }))
    }

    async fn open(
        &self,
        _user: &str,
        database: &str,
    ) -> Result<Box<dyn Session>, EngineClientError> {
        if database == "rosetta" {
            Ok(Box::new(FakeSession))
        } else {
            Err(engine_error("3D000", "database does not exist"))
        }
    }

    async fn compile(&self, sql: &str) -> Result<Compiled, CompileError> {
        if sql.contains("MISSING") {
            return Err(CompileError {
                sqlstate: "42P01".into(),
                message: "table \"MISSING\" does not exist".into(),
                position: None,
            });
        }
        let bytes = query_program();
        Ok(Arc::new(vec![CompiledStatement {
            bytes,
            param_count: 0,
            is_empty: false,
            kind: crate::plugin_host::StatementKind::Other,
        }]))
    }

    fn compile_blr(&self, blr: &[u8]) -> BlrOutput {
        if blr != b"SHOW" {
            return None;
        }
        let program = rosetta_bytecode::decode(&query_program(), &Default::default()).ok()?;
        let item = |dtype, length| BlrItem {
            dtype,
            scale: 0,
            length,
            sub_type: 0,
            charset: 0,
        };
        Some(Ok(BlrRequest {
            program,
            messages: vec![
                BlrMessage {
                    number: 0,
                    items: vec![item(7, 0)],
                },
                BlrMessage {
                    number: 1,
                    items: vec![item(7, 0), item(40, 32)],
                },
            ],
            input: Some(0),
            output: 1,
            row: vec![BlrItemSource::Integer(1), BlrItemSource::Column(0)],
            end: vec![BlrItemSource::Integer(0), BlrItemSource::Unset],
        }))
    }
}

#[async_trait]
impl Session for FakeSession {
    async fn run(
        &mut self,
        _program: Vec<u8>,
        _params: Vec<Value>,
    ) -> Result<Outcome, EngineClientError> {
        // One row for the BLR request test (begin/commit ignore it).
        Ok(Outcome {
            rows: vec![vec![Value::Text("T1".into())]],
            ..Outcome::default()
        })
    }

    async fn prepare(&mut self, _program: Vec<u8>) -> Result<PreparedInfo, EngineClientError> {
        Ok(PreparedInfo {
            handle: 1,
            param_types: vec![],
            columns: vec![Column {
                name: "X".into(),
                data_type: DataType::Integer,
                table_id: 0,
                column_number: 0,
            }],
            txn: TxnState::InBlock,
        })
    }

    async fn run_prepared(
        &mut self,
        _handle: u64,
        _params: Vec<Value>,
    ) -> Result<Outcome, EngineClientError> {
        Ok(Outcome {
            columns: vec![],
            rows: vec![vec![Value::Int32(7)], vec![Value::Null]],
            completion: Some(Completion {
                tag: "SELECT 2".into(),
                rows: 2,
                txn: TxnState::InBlock,
                suspended: false,
                last_insert_id: 0,
            }),
        })
    }

    async fn close_prepared(&mut self, _handle: u64) -> Result<(), EngineClientError> {
        Ok(())
    }

    async fn terminate(self: Box<Self>) {}
}

/// The client end: XDR over the pipe, with optional RC4.
struct Client {
    io: DuplexStream,
    buf: Vec<u8>,
    ciphers: Option<(Rc4<U20>, Rc4<U20>)>,
}

impl Client {
    async fn send(&mut self, w: Writer) {
        let mut bytes = w.into_bytes();
        if let Some((enc, _)) = &mut self.ciphers {
            enc.apply_keystream(&mut bytes);
        }
        self.io.write_all(&bytes).await.expect("write");
    }

    /// Reads until `parse` succeeds on the buffered bytes.
    async fn recv<T>(&mut self, parse: impl Fn(&mut Reader<'_>) -> super::xdr::Result<T>) -> T {
        loop {
            let mut r = Reader::new(&self.buf);
            if let Ok(v) = parse(&mut r) {
                let used = r.position();
                self.buf.drain(..used);
                return v;
            }
            let mut chunk = [0u8; 4096];
            let n = self.io.read(&mut chunk).await.expect("read");
            assert!(n > 0, "server closed the connection");
            let mut data = chunk[..n].to_vec();
            if let Some((_, dec)) = &mut self.ciphers {
                dec.apply_keystream(&mut data);
            }
            self.buf.extend_from_slice(&data);
        }
    }

    /// Reads an `op_response`: (object, data, first error code or 0).
    async fn response(&mut self) -> (u16, Vec<u8>, u32) {
        self.recv(|r| {
            let code = r.int()?;
            assert_eq!(code, op::RESPONSE, "expected op_response");
            let object = r.short()?;
            r.quad()?;
            let data = r.buffer()?.to_vec();
            let mut first = 0;
            loop {
                match r.int()? {
                    0 => break,
                    1 => {
                        let c = r.int()? as u32;
                        if first == 0 {
                            first = c;
                        }
                    }
                    2 | 5 | 19 => {
                        r.buffer()?;
                    }
                    _ => {
                        r.int()?;
                    }
                }
            }
            Ok((object, data, first))
        })
        .await
    }
}

fn connect_packet(a_hex: &str, login: &str) -> Writer {
    let mut cnct = vec![9, login.len() as u8];
    cnct.extend_from_slice(login.as_bytes());
    cnct.extend_from_slice(&[8, 6]);
    cnct.extend_from_slice(b"Srp256");
    for (i, part) in a_hex.as_bytes().chunks(254).enumerate() {
        cnct.push(7);
        cnct.push(part.len() as u8 + 1);
        cnct.push(i as u8);
        cnct.extend_from_slice(part);
    }
    let mut w = Writer::new();
    w.int(op::CONNECT)
        .int(op::ATTACH)
        .short(3)
        .int(1)
        .buffer(b"rosetta")
        .int(2)
        .buffer(&cnct);
    for (version, weight) in [(13u16, 1u16), (15, 2)] {
        w.short(0x8000 | version).int(1).int(0).int(5).short(weight);
    }
    w
}

/// Runs the client side of an SRP login; returns the session key on success.
async fn login(client: &mut Client, password: &str) -> Result<[u8; 20], u32> {
    let n = BigUint::parse_bytes(N_HEX, 16).expect("N");
    let g = BigUint::from(2u32);
    let a = BigUint::from_bytes_be(&[0x5Au8; 32]);
    let big_a = g.modpow(&a, &n);
    client
        .send(connect_packet(&format!("{big_a:X}"), "admin"))
        .await;
    let (code, data) = client
        .recv(|r| {
            let code = r.int()?;
            if code != op::COND_ACCEPT {
                return Ok((code, Vec::new()));
            }
            r.short()?;
            r.int()?;
            r.int()?;
            let data = r.buffer()?.to_vec();
            r.buffer()?;
            r.int()?;
            r.buffer()?;
            Ok((code, data))
        })
        .await;
    assert_eq!(code, op::COND_ACCEPT);
    let salt_len = u16::from_le_bytes([data[0], data[1]]) as usize;
    let salt = &data[2..2 + salt_len];
    let b_hex = &data[4 + salt_len..];
    let big_b = BigUint::parse_bytes(b_hex, 16).expect("B");
    let k = BigUint::from_bytes_be(&sha1(&[&n.to_bytes_be(), &[0u8; 127], &[2]]));
    let x = x_for("ADMIN", password);
    let u = BigUint::from_bytes_be(&sha1(&[&big_a.to_bytes_be(), &big_b.to_bytes_be()]));
    let base = (&big_b + &n * &k - (&k * g.modpow(&x, &n)) % &n) % &n;
    let s = base.modpow(&(&a + &u * &x), &n);
    let key_vec = sha1(&[&s.to_bytes_be()]);
    let n1 = BigUint::from_bytes_be(&sha1(&[&n.to_bytes_be()]))
        .modpow(&BigUint::from_bytes_be(&sha1(&[&g.to_bytes_be()])), &n);
    let n2 = BigUint::from_bytes_be(&sha1(&[b"ADMIN"]));
    let mut h = Sha256::new();
    for part in [
        &n1.to_bytes_be()[..],
        &n2.to_bytes_be(),
        salt,
        &big_a.to_bytes_be(),
        &big_b.to_bytes_be(),
        &key_vec,
    ] {
        h.update(part);
    }
    let m = BigUint::from_bytes_be(&h.finalize());
    let mut w = Writer::new();
    w.int(op::CONT_AUTH)
        .buffer(format!("{m:x}").as_bytes())
        .buffer(b"Srp256")
        .buffer(b"Srp256")
        .buffer(b"");
    client.send(w).await;
    let (_, keys, error) = client.response().await;
    if error != 0 {
        return Err(error);
    }
    assert_eq!(
        keys,
        [&[0u8, 9][..], b"Symmetric", &[1, 4], b"Arc4"].concat()
    );
    let mut key = [0u8; 20];
    key.copy_from_slice(&key_vec);
    Ok(key)
}

fn start() -> Client {
    let (client, server) = tokio::io::duplex(1 << 16);
    tokio::spawn(protocol::run(server, Arc::new(FakeBackend), 1));
    Client {
        io: client,
        buf: Vec::new(),
        ciphers: None,
    }
}

#[tokio::test]
async fn wrong_password_gets_isc_login() {
    let mut client = start();
    assert_eq!(login(&mut client, "wrong").await, Err(335544472));
}

#[tokio::test]
async fn full_session_through_every_state() {
    let mut client = start();
    let key = login(&mut client, PASSWORD).await.expect("login");

    // op_crypt: the answer is already encrypted.
    let mut w = Writer::new();
    w.int(op::CRYPT).buffer(b"Arc4").buffer(b"Symmetric");
    client.send(w).await;
    client.ciphers = Some((Rc4::new(&key.into()), Rc4::new(&key.into())));
    assert_eq!(client.response().await.2, 0);

    // Attach to a missing database: I/O error, and the connection stays usable.
    let mut w = Writer::new();
    w.int(op::ATTACH).short(0).buffer(b"nope").buffer(&[1]);
    client.send(w).await;
    assert_eq!(client.response().await.2, 335544344);
    let mut w = Writer::new();
    w.int(op::ATTACH)
        .short(0)
        .buffer(b"rosetta")
        .buffer(&[1, 48, 4, b'U', b'T', b'F', b'8']);
    client.send(w).await;
    assert_eq!(client.response().await, (0, vec![], 0));

    // A transaction, then allocate + prepare pipelined on handle 0xFFFF.
    let mut w = Writer::new();
    w.int(op::TRANSACTION).short(0).buffer(&[]);
    client.send(w).await;
    let (tr, _, e) = client.response().await;
    assert_eq!(e, 0);
    let mut w = Writer::new();
    w.int(op::ALLOCATE_STATEMENT).short(0);
    w.int(op::PREPARE_STATEMENT)
        .short(tr)
        .short(0xFFFF)
        .short(3)
        .buffer(b"SELECT X FROM T")
        .buffer(&[21, 4, 7, 9, 11, 8, 1])
        .int(1024);
    client.send(w).await;
    let (stmt, _, e) = client.response().await;
    assert_eq!(e, 0);
    let (_, describe, e) = client.response().await;
    assert_eq!(e, 0);
    // stmt_type select, one variable: INTEGER nullable (497).
    assert_eq!(&describe[..7], &[21, 4, 0, 1, 0, 0, 0]);
    assert_eq!(&describe[7..15], &[4, 7, 4, 0, 1, 0, 0, 0]);
    assert_eq!(
        &describe[15..],
        &[9, 4, 0, 1, 0, 0, 0, 11, 4, 0, 0xF1, 1, 0, 0, 8, 1]
    );

    // Execute, then fetch both rows with the client's BLR.
    let mut w = Writer::new();
    w.int(op::EXECUTE)
        .short(stmt)
        .short(tr)
        .buffer(&[])
        .short(0)
        .short(0);
    client.send(w).await;
    assert_eq!(client.response().await, (tr, vec![], 0));
    let mut w = Writer::new();
    w.int(op::FETCH)
        .short(stmt)
        .buffer(&message_blr(&[Item::Long(0)]))
        .short(0)
        .short(100);
    client.send(w).await;
    let rows = client
        .recv(|r| {
            let mut rows = Vec::new();
            loop {
                assert_eq!(r.int()?, op::FETCH_RESPONSE);
                let status = r.int()?;
                let messages = r.int()?;
                if messages == 0 {
                    return Ok((rows, status));
                }
                let bitmap = r.opaque(1)?[0];
                rows.push(if bitmap & 1 == 1 {
                    None
                } else {
                    Some(r.int()?)
                });
            }
        })
        .await;
    assert_eq!(rows, (vec![Some(7), None], 100));

    // A compile error becomes Firebird's "Table unknown" vector.
    let mut w = Writer::new();
    w.int(op::PREPARE_STATEMENT)
        .short(tr)
        .short(stmt)
        .short(3)
        .buffer(b"SELECT * FROM MISSING")
        .buffer(&[21])
        .int(64);
    client.send(w).await;
    assert_eq!(client.response().await.2, 335544569);

    // Commit, then the handle is gone; a garbage handle is refused too.
    for (handle, expect) in [(tr, 0), (tr, 335544332), (0x4444, 335544332)] {
        let mut w = Writer::new();
        w.int(op::COMMIT).short(handle);
        client.send(w).await;
        assert_eq!(client.response().await.2, expect);
    }
    // op_cancel has no answer; op_ping does.
    let mut w = Writer::new();
    w.int(op::CANCEL).int(1).int(op::PING);
    client.send(w).await;
    assert_eq!(client.response().await, (0, vec![], 0));
    let mut w = Writer::new();
    w.int(op::DETACH).short(0);
    client.send(w).await;
    assert_eq!(client.response().await.2, 0);
}

#[tokio::test]
async fn blr_request_sends_rows_then_the_end_message() {
    let mut client = start();
    login(&mut client, PASSWORD).await.expect("login");
    let mut w = Writer::new();
    w.int(op::ATTACH).short(0).buffer(b"rosetta").buffer(&[1]);
    w.int(op::TRANSACTION).short(0).buffer(&[]);
    client.send(w).await;
    assert_eq!(client.response().await.2, 0);
    let (tr, _, _) = client.response().await;
    // A BLR the plugin does not compile: "feature is not supported", connection goes on.
    let mut w = Writer::new();
    w.int(op::COMPILE).short(0).buffer(b"OTHER");
    client.send(w).await;
    assert_eq!(client.response().await.2, 335544378);
    let mut w = Writer::new();
    w.int(op::COMPILE).short(0).buffer(b"SHOW");
    client.send(w).await;
    let (request, _, e) = client.response().await;
    assert_eq!(e, 0);
    // op_start_send_and_receive with message 0 (one short, unpacked).
    let mut w = Writer::new();
    w.int(op::START_SEND_AND_RECEIVE)
        .short(request)
        .short(0)
        .short(tr)
        .short(0)
        .short(1)
        .int(0);
    client.send(w).await;
    let messages = client
        .recv(|r| {
            assert_eq!(r.int()?, op::RESPONSE_PIGGYBACK);
            assert_eq!(r.short()?, 1);
            r.quad()?;
            r.buffer()?;
            assert_eq!((r.int()?, r.int()?, r.int()?), (1, 0, 0));
            let mut out = Vec::new();
            loop {
                assert_eq!(r.int()?, op::SEND);
                let _request = r.short()?;
                let _incarnation = r.short()?;
                let _transaction = r.short()?;
                assert_eq!(r.short()?, 1);
                let more = r.short()?;
                let flag = r.int()?;
                let len = r.length()?;
                let text = r.opaque(len)?.to_vec();
                out.push((flag, text));
                if more == 0 {
                    return Ok(out);
                }
            }
        })
        .await;
    assert_eq!(messages, vec![(1, b"T1".to_vec()), (0, vec![])]);
    let mut w = Writer::new();
    w.int(op::RELEASE).short(request);
    client.send(w).await;
    assert_eq!(client.response().await.2, 0);
}
