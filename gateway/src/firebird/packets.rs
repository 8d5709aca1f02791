//! The packets of the subset we speak (guide §2.3): decoding client requests and encoding
//! server answers.
//!
//! [`parse_request`] decodes one complete request or reports that more bytes are needed;
//! an operation we do not know cannot be skipped (there is no length), so it is
//! [`XdrError::Malformed`] and closes the connection, as Firebird itself does. Requests
//! we can parse but do not implement come back as [`Request::Unsupported`] and get an
//! error answer on a connection that stays usable.

use super::blr::{parse_message_blr, read_message, read_unpacked, Item, Wire};
use super::status::{write_status, Status};
use super::xdr::{malformed, Reader, Result, Writer, MAX_ITEM};

/// Operation codes.
#[allow(missing_docs)]
pub mod op {
    pub const CONNECT: i32 = 1;
    pub const ACCEPT: i32 = 3;
    pub const REJECT: i32 = 4;
    pub const DISCONNECT: i32 = 6;
    pub const RESPONSE: i32 = 9;
    pub const ATTACH: i32 = 19;
    pub const CREATE: i32 = 20;
    pub const DETACH: i32 = 21;
    pub const COMPILE: i32 = 22;
    pub const START: i32 = 23;
    pub const START_AND_SEND: i32 = 24;
    pub const SEND: i32 = 25;
    pub const RECEIVE: i32 = 26;
    pub const RELEASE: i32 = 28;
    pub const START_AND_RECEIVE: i32 = 73;
    pub const START_SEND_AND_RECEIVE: i32 = 74;
    pub const RESPONSE_PIGGYBACK: i32 = 72;
    pub const TRANSACTION: i32 = 29;
    pub const COMMIT: i32 = 30;
    pub const ROLLBACK: i32 = 31;
    pub const OPEN_BLOB: i32 = 35;
    pub const GET_SEGMENT: i32 = 36;
    pub const PUT_SEGMENT: i32 = 37;
    pub const CANCEL_BLOB: i32 = 38;
    pub const CLOSE_BLOB: i32 = 39;
    pub const INFO_DATABASE: i32 = 40;
    pub const INFO_TRANSACTION: i32 = 42;
    pub const INFO_BLOB: i32 = 43;
    pub const BATCH_SEGMENTS: i32 = 44;
    pub const COMMIT_RETAINING: i32 = 50;
    pub const OPEN_BLOB2: i32 = 56;
    pub const CREATE_BLOB2: i32 = 57;
    pub const ALLOCATE_STATEMENT: i32 = 62;
    pub const EXECUTE: i32 = 63;
    pub const EXEC_IMMEDIATE: i32 = 64;
    pub const EXEC_IMMEDIATE2: i32 = 75;
    pub const FETCH: i32 = 65;
    pub const FETCH_RESPONSE: i32 = 66;
    pub const FREE_STATEMENT: i32 = 67;
    pub const PREPARE_STATEMENT: i32 = 68;
    pub const INFO_SQL: i32 = 70;
    pub const DUMMY: i32 = 71;
    pub const EXECUTE2: i32 = 76;
    pub const SQL_RESPONSE: i32 = 78;
    pub const DROP_DATABASE: i32 = 81;
    pub const SERVICE_ATTACH: i32 = 82;
    pub const ROLLBACK_RETAINING: i32 = 86;
    pub const CANCEL: i32 = 91;
    pub const CONT_AUTH: i32 = 92;
    pub const PING: i32 = 93;
    pub const ACCEPT_DATA: i32 = 94;
    pub const CRYPT: i32 = 96;
    pub const COND_ACCEPT: i32 = 98;
}

/// One protocol entry of `op_connect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolOffer {
    /// Version word without the 0x8000 flag (13 for Firebird 3's first).
    pub version: u16,
    /// Client architecture (1 = generic).
    pub arch: i32,
    /// Highest packet type (`& 0xFF`; 5 = lazy).
    pub max_type: u16,
    /// Preference; the highest wins.
    pub weight: u16,
}

/// `op_connect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// Database path or alias as the client will attach to it.
    pub file_name: Vec<u8>,
    /// The CNCT user-id clumplets (parsed by [`super::auth`]).
    pub user_id: Vec<u8>,
    /// Protocols offered.
    pub offers: Vec<ProtocolOffer>,
}

/// An info request (`op_info_database`, `op_info_sql`, `op_info_blob`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoRequest {
    /// The object asked about.
    pub object: u16,
    /// Item codes.
    pub items: Vec<u8>,
    /// Largest answer the client accepts.
    pub buffer_length: usize,
}

/// `op_execute` / `op_execute2`.
#[derive(Debug, Clone, PartialEq)]
pub struct Execute {
    /// Statement handle.
    pub statement: u16,
    /// Transaction handle.
    pub transaction: u16,
    /// The parameter values (`None` = NULL), decoded with the client's BLR.
    pub params: Vec<Option<Wire>>,
    /// `op_execute2`: the output message layout.
    pub out_items: Option<Vec<Item>>,
}

/// `op_exec_immediate` / `op_exec_immediate2`: one statement run without a handle.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecImmediate {
    /// Transaction handle (0: none; a `SET TRANSACTION` starts one).
    pub transaction: u16,
    /// The SQL text.
    pub sql: Vec<u8>,
    /// `op_exec_immediate2`: the parameter values, decoded with the client's BLR.
    pub params: Vec<Option<Wire>>,
    /// `op_exec_immediate2`: the output message layout (its one row comes back in an
    /// `op_sql_response`, as for `op_execute2`).
    pub out_items: Option<Vec<Item>>,
}

/// Highest operation code a Firebird client sends; anything above is not a client.
const MAX_KNOWN_OP: i32 = 127;

/// A client request (one per operation; a handle of 0xFFFF means the last object).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Request {
    /// `op_connect`: protocol offers and the first authentication step.
    Connect(Connect),
    /// `op_disconnect`: close, no answer.
    Disconnect,
    /// `op_attach` / `op_create`.
    Attach {
        create: bool,
        file_name: Vec<u8>,
        dpb: Vec<u8>,
    },
    /// `op_detach`.
    Detach,
    /// `op_drop_database`.
    DropDatabase,
    /// `op_cont_auth`: the next authentication step (SRP public key or proof).
    ContAuth {
        data: Vec<u8>,
        plugin: Vec<u8>,
        list: Vec<u8>,
    },
    /// `op_crypt`: switch the wire to the named cipher.
    Crypt { plugin: Vec<u8>, key_type: Vec<u8> },
    /// `op_info_database`.
    InfoDatabase(InfoRequest),
    /// `op_info_transaction`.
    InfoTransaction(InfoRequest),
    /// `op_info_sql`.
    InfoSql(InfoRequest),
    /// `op_info_blob`.
    InfoBlob(InfoRequest),
    /// `op_transaction` with its TPB.
    Transaction { tpb: Vec<u8> },
    /// `op_commit`.
    Commit(u16),
    /// `op_rollback`.
    Rollback(u16),
    /// `op_commit_retaining`.
    CommitRetaining(u16),
    /// `op_rollback_retaining`.
    RollbackRetaining(u16),
    /// `op_allocate_statement`.
    AllocateStatement,
    /// `op_prepare_statement` with the describe items wanted.
    Prepare {
        transaction: u16,
        statement: u16,
        sql: Vec<u8>,
        items: Vec<u8>,
        buffer_length: usize,
    },
    /// `op_execute` / `op_execute2`.
    Execute(Execute),
    /// `op_exec_immediate` / `op_exec_immediate2`.
    ExecImmediate(ExecImmediate),
    /// `op_fetch`.
    Fetch {
        statement: u16,
        out_items: Option<Vec<Item>>,
        count: u32,
    },
    /// `op_free_statement` (1 close, 2 drop, 4 unprepare).
    FreeStatement { statement: u16, option: u16 },
    /// `op_open_blob` / `op_open_blob2`.
    OpenBlob { transaction: u16, id: [u8; 8] },
    /// `op_create_blob2`.
    CreateBlob { transaction: u16 },
    /// `op_get_segment`.
    GetSegment { blob: u16, length: usize },
    /// `op_put_segment` (one segment) or `op_batch_segments` (`u16 LE len, bytes` runs).
    PutSegment {
        blob: u16,
        data: Vec<u8>,
        batched: bool,
    },
    /// `op_close_blob`.
    CloseBlob(u16),
    /// `op_cancel_blob`.
    CancelBlob(u16),
    /// `op_ping`.
    Ping,
    /// `op_cancel` with its kind: no answer.
    Cancel(i32),
    /// `op_dummy` (keep-alive): no answer.
    Dummy,
    /// A request we could parse but do not implement (answered with an error).
    Unsupported(&'static str),
    /// An operation code we do not know: its body cannot be decoded, so the bytes the
    /// client sent with it are skipped and it gets an "unsupported" error answer.
    UnknownOp(i32),
    /// `op_compile`: a BLR request.
    Compile { blr: Vec<u8> },
    /// `op_start`, `op_start_and_send`, `op_start_send_and_receive`, `op_send`,
    /// `op_receive`, `op_start_and_receive` on a BLR request.
    Data(DataRequest),
    /// `op_release` of a BLR request.
    Release(u16),
}

/// The common body of the BLR request operations (`P_DATA`).
#[derive(Debug, Clone, PartialEq)]
pub struct DataRequest {
    /// Which operation.
    pub op: i32,
    /// Request handle.
    pub request: u16,
    /// Transaction handle.
    pub transaction: u16,
    /// Message number.
    pub message: u16,
    /// Messages sent (send ops) or wanted (receive ops).
    pub messages: u16,
    /// The message sent, unpacked (send ops with `messages > 0`).
    pub data: Option<Vec<Wire>>,
}

/// Looks up the layout of message `message` of BLR request `request` (for decoding sends).
pub type MessageFormats<'a> = &'a dyn Fn(u16, u16) -> Option<Vec<Item>>;

fn info(r: &mut Reader<'_>) -> Result<InfoRequest> {
    let object = r.short()?;
    let _incarnation = r.short()?;
    let items = r.buffer_max(64 * 1024)?.to_vec();
    let buffer_length = r.int()?;
    if buffer_length < 0 {
        return malformed("negative info buffer length");
    }
    Ok(InfoRequest {
        object,
        items,
        buffer_length: (buffer_length as usize).min(MAX_ITEM),
    })
}

/// Decodes one request (no BLR requests known).
pub fn parse_request(r: &mut Reader<'_>) -> Result<Request> {
    parse_request_with(r, &|_, _| None)
}

/// Decodes one request; `formats` gives the message layouts of compiled BLR requests.
pub fn parse_request_with(r: &mut Reader<'_>, formats: MessageFormats<'_>) -> Result<Request> {
    let code = r.int()?;
    Ok(match code {
        op::CONNECT => {
            let _operation = r.int()?;
            let _version = r.short()?;
            let _arch = r.int()?;
            let file_name = r.buffer_max(64 * 1024)?.to_vec();
            let count = r.int()?;
            if !(0..=32).contains(&count) {
                return malformed(format!("{count} protocol entries"));
            }
            let user_id = r.buffer_max(64 * 1024)?.to_vec();
            let mut offers = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let version = r.short()? & 0x7FFF;
                let arch = r.int()?;
                let _min_type = r.int()?;
                let max_type = (r.int()? & 0xFF) as u16;
                let weight = r.short()?;
                offers.push(ProtocolOffer {
                    version,
                    arch,
                    max_type,
                    weight,
                });
            }
            Request::Connect(Connect {
                file_name,
                user_id,
                offers,
            })
        }
        op::DISCONNECT => Request::Disconnect,
        op::ATTACH | op::CREATE => {
            let _db = r.short()?;
            let file_name = r.buffer_max(64 * 1024)?.to_vec();
            let dpb = r.buffer_max(1024 * 1024)?.to_vec();
            Request::Attach {
                create: code == op::CREATE,
                file_name,
                dpb,
            }
        }
        op::SERVICE_ATTACH => {
            let _db = r.short()?;
            r.buffer_max(64 * 1024)?;
            r.buffer_max(1024 * 1024)?;
            Request::Unsupported("the services API")
        }
        op::DETACH => {
            r.short()?;
            Request::Detach
        }
        op::DROP_DATABASE => {
            r.short()?;
            Request::DropDatabase
        }
        op::CONT_AUTH => {
            let data = r.buffer_max(64 * 1024)?.to_vec();
            let plugin = r.buffer_max(1024)?.to_vec();
            let list = r.buffer_max(64 * 1024)?.to_vec();
            let _keys = r.buffer_max(64 * 1024)?;
            Request::ContAuth { data, plugin, list }
        }
        op::CRYPT => {
            let plugin = r.buffer_max(1024)?.to_vec();
            let key_type = r.buffer_max(1024)?.to_vec();
            Request::Crypt { plugin, key_type }
        }
        op::INFO_DATABASE => Request::InfoDatabase(info(r)?),
        op::INFO_TRANSACTION => Request::InfoTransaction(info(r)?),
        op::INFO_SQL => Request::InfoSql(info(r)?),
        op::INFO_BLOB => Request::InfoBlob(info(r)?),
        op::TRANSACTION => {
            let _db = r.short()?;
            Request::Transaction {
                tpb: r.buffer_max(64 * 1024)?.to_vec(),
            }
        }
        op::COMMIT => Request::Commit(r.short()?),
        op::ROLLBACK => Request::Rollback(r.short()?),
        op::COMMIT_RETAINING => Request::CommitRetaining(r.short()?),
        op::ROLLBACK_RETAINING => Request::RollbackRetaining(r.short()?),
        op::ALLOCATE_STATEMENT => {
            r.short()?;
            Request::AllocateStatement
        }
        op::PREPARE_STATEMENT => {
            let transaction = r.short()?;
            let statement = r.short()?;
            let _dialect = r.short()?;
            let sql = r.buffer()?.to_vec();
            let items = r.buffer_max(64 * 1024)?.to_vec();
            let buffer_length = r.int()?;
            if buffer_length < 0 {
                return malformed("negative describe buffer length");
            }
            Request::Prepare {
                transaction,
                statement,
                sql,
                items,
                buffer_length: (buffer_length as usize).min(MAX_ITEM),
            }
        }
        op::EXECUTE | op::EXECUTE2 => {
            let statement = r.short()?;
            let transaction = r.short()?;
            let in_items = parse_message_blr(r.buffer_max(1024 * 1024)?)?;
            let _number = r.short()?;
            let messages = r.short()?;
            let params = match messages {
                0 => Vec::new(),
                1 => read_message(r, &in_items)?,
                n => return malformed(format!("{n} input messages")),
            };
            let out_items = if code == op::EXECUTE2 {
                let items = parse_message_blr(r.buffer_max(1024 * 1024)?)?;
                let _out_number = r.short()?;
                Some(items)
            } else {
                None
            };
            Request::Execute(Execute {
                statement,
                transaction,
                params,
                out_items,
            })
        }
        op::EXEC_IMMEDIATE | op::EXEC_IMMEDIATE2 => {
            // op_exec_immediate2 puts its messages first, then the op_exec_immediate body.
            let (params, out_items) = if code == op::EXEC_IMMEDIATE2 {
                let in_items = parse_message_blr(r.buffer_max(1024 * 1024)?)?;
                let _number = r.short()?;
                let params = match r.short()? {
                    0 => Vec::new(),
                    1 => read_message(r, &in_items)?,
                    n => return malformed(format!("{n} input messages")),
                };
                let out_items = parse_message_blr(r.buffer_max(1024 * 1024)?)?;
                let _out_number = r.short()?;
                (params, Some(out_items))
            } else {
                (Vec::new(), None)
            };
            let transaction = r.short()?;
            let _statement = r.short()?;
            let _dialect = r.short()?;
            let sql = r.buffer()?.to_vec();
            let _items = r.buffer_max(64 * 1024)?;
            let _len = r.int()?;
            Request::ExecImmediate(ExecImmediate {
                transaction,
                sql,
                params,
                out_items,
            })
        }
        op::FETCH => {
            let statement = r.short()?;
            let blr = r.buffer_max(1024 * 1024)?;
            let out_items = if blr.is_empty() {
                None
            } else {
                Some(parse_message_blr(blr)?)
            };
            let _number = r.short()?;
            let count = r.short()?;
            Request::Fetch {
                statement,
                out_items,
                count: count as u32,
            }
        }
        op::FREE_STATEMENT => Request::FreeStatement {
            statement: r.short()?,
            option: r.short()?,
        },
        op::OPEN_BLOB => {
            let transaction = r.short()?;
            Request::OpenBlob {
                transaction,
                id: r.quad()?,
            }
        }
        op::OPEN_BLOB2 => {
            let _bpb = r.buffer_max(64 * 1024)?;
            let transaction = r.short()?;
            Request::OpenBlob {
                transaction,
                id: r.quad()?,
            }
        }
        op::CREATE_BLOB2 => {
            let _bpb = r.buffer_max(64 * 1024)?;
            let transaction = r.short()?;
            let _id = r.quad()?;
            Request::CreateBlob { transaction }
        }
        op::GET_SEGMENT => {
            let blob = r.short()?;
            let length = r.short()? as usize;
            let _buffer = r.buffer_max(64 * 1024)?;
            Request::GetSegment { blob, length }
        }
        op::PUT_SEGMENT | op::BATCH_SEGMENTS => {
            let blob = r.short()?;
            let _length = r.short()?;
            let data = r.buffer_max(1024 * 1024)?.to_vec();
            Request::PutSegment {
                blob,
                data,
                batched: code == op::BATCH_SEGMENTS,
            }
        }
        op::CLOSE_BLOB => Request::CloseBlob(r.short()?),
        op::CANCEL_BLOB => Request::CancelBlob(r.short()?),
        op::PING => Request::Ping,
        op::CANCEL => Request::Cancel(r.int()?),
        op::DUMMY => Request::Dummy,
        op::COMPILE => {
            let _db = r.short()?;
            Request::Compile {
                blr: r.buffer_max(1024 * 1024)?.to_vec(),
            }
        }
        op::RELEASE => Request::Release(r.short()?),
        op::START
        | op::START_AND_SEND
        | op::SEND
        | op::RECEIVE
        | op::START_AND_RECEIVE
        | op::START_SEND_AND_RECEIVE => {
            let request = r.short()?;
            let _incarnation = r.short()?;
            let transaction = r.short()?;
            let message = r.short()?;
            let messages = r.short()?;
            let sends = matches!(
                code,
                op::START_AND_SEND | op::SEND | op::START_SEND_AND_RECEIVE
            );
            // Send operations always carry the message, whatever `messages` says
            // (Firebird's `xdr_request` encodes it unconditionally).
            let data = if sends {
                let Some(items) = formats(request, message) else {
                    return malformed("message for an unknown BLR request");
                };
                Some(read_unpacked(r, &items)?)
            } else {
                None
            };
            Request::Data(DataRequest {
                op: code,
                request,
                transaction,
                message,
                messages,
                data,
            })
        }
        other if (1..=MAX_KNOWN_OP).contains(&other) => {
            // No length prefix: skip what the client sent with it (a client writes one
            // operation and waits for its answer).
            r.bytes(r.remaining())?;
            Request::UnknownOp(other)
        }
        other => return malformed(format!("unknown operation {other}")),
    })
}

/// Writes `op_response`.
pub fn response(
    w: &mut Writer,
    object: u16,
    blob_id: [u8; 8],
    data: &[u8],
    status: Option<&Status>,
) {
    w.int(op::RESPONSE).short(object).raw(&blob_id).buffer(data);
    write_status(w, status);
}

/// A successful `op_response` with an object and data.
pub fn ok(object: u16, data: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    response(&mut w, object, [0; 8], data, None);
    w.into_bytes()
}

/// An error `op_response`.
pub fn error(status: &Status) -> Vec<u8> {
    let mut w = Writer::new();
    response(&mut w, 0, [0; 8], &[], Some(status));
    w.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// isql's `op_info_database` from guide Appendix C.
    #[test]
    fn parses_info_database() {
        let bytes = [
            0, 0, 0, 0x28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0x20, 0x21, 0x3E, 0x65, 1, 1, 0, 0,
            0, 0, 4, 0,
        ];
        let mut r = Reader::new(&bytes);
        let req = parse_request(&mut r).expect("parse");
        assert_eq!(
            req,
            Request::InfoDatabase(InfoRequest {
                object: 0,
                items: vec![0x20, 0x21, 0x3E, 0x65, 1, 1],
                buffer_length: 1024
            })
        );
        assert_eq!(r.remaining(), 0);
        // Every prefix is incomplete.
        for cut in 0..bytes.len() {
            assert_eq!(
                parse_request(&mut Reader::new(&bytes[..cut])),
                Err(super::super::xdr::XdrError::Incomplete)
            );
        }
    }

    #[test]
    fn unknown_operation_is_malformed() {
        let bytes = [0, 0, 0, 200];
        assert!(matches!(
            parse_request(&mut Reader::new(&bytes)),
            Err(super::super::xdr::XdrError::Malformed(_))
        ));
    }

    #[test]
    fn unknown_client_operation_is_skipped() {
        // op_get_slice (58) with some body: answered, not fatal.
        let bytes = [0, 0, 0, 58, 0, 0, 0, 1, 0, 0, 0, 2];
        let mut r = Reader::new(&bytes);
        assert_eq!(parse_request(&mut r), Ok(Request::UnknownOp(58)));
        assert_eq!(r.position(), bytes.len());
    }

    /// isql's `SELECT GEN_ID(G, 0) FROM RDB$DATABASE` (SHOW GENERATORS): no input
    /// message, one BIGINT + null flag out.
    #[test]
    fn parses_exec_immediate2() {
        let mut w = Writer::new();
        w.int(op::EXEC_IMMEDIATE2)
            .buffer(&[5, 2, 4, 0, 0, 0, 255, 76])
            .short(0)
            .short(0)
            .buffer(&[5, 2, 4, 0, 2, 0, 16, 0, 7, 0, 255, 76])
            .short(0)
            .short(3)
            .short(0xFFFF)
            .short(3)
            .buffer(b"SELECT GEN_ID(G, 0) FROM RDB$DATABASE")
            .buffer(&[])
            .int(0);
        let bytes = w.into_bytes();
        let Ok(Request::ExecImmediate(e)) = parse_request(&mut Reader::new(&bytes)) else {
            panic!("not parsed");
        };
        assert_eq!(e.transaction, 3);
        assert!(e.params.is_empty());
        assert_eq!(e.out_items.map(|i| i.len()), Some(1));
        assert_eq!(e.sql, b"SELECT GEN_ID(G, 0) FROM RDB$DATABASE");
    }

    #[test]
    fn success_response_layout() {
        let bytes = ok(0, &[]);
        assert_eq!(
            bytes,
            vec![
                0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
                0, 0, 0, 0
            ]
        );
    }

    proptest! {
        /// The request decoder is total on arbitrary input, also behind every known op code.
        #[test]
        fn request_decoder_is_total(op in prop_oneof![Just(1i32), 19..=100i32], tail in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut bytes = op.to_be_bytes().to_vec();
            bytes.extend(tail);
            let mut r = Reader::new(&bytes);
            let _ = parse_request(&mut r);
            prop_assert!(r.position() <= bytes.len());
        }
    }
}
