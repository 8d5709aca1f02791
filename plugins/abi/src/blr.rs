//! The types of the optional `compile_blr` entry: a BLR request (Firebird's own
//! bytecode, which isql sends through `op_compile` for its `SHOW` commands) compiled into
//! one Rosetta query plus the plan for sending its rows back as BLR messages.
//!
//! How a gateway runs a [`BlrRequest`]:
//!
//! ```text
//!  op_compile(blr)            → Plugin::compile_blr → BlrRequest (keep it per handle)
//!  op_start[_and_send](msg)   → decode `input` message with messages[input] (unpacked
//!                               format); its first `program.param_count` items are the
//!                               parameters $1, $2 … → run `program`
//!  op_receive / piggyback     → for each result row: build message `output` item by
//!                               item from `row`; after the last row: one message from
//!                               `end` (isql stops when its end-of-data flag is 0)
//! ```

use rosetta_bytecode::{CompileError, Program};
use serde::{Deserialize, Serialize};

/// What `compile_blr` answers: `None` when the plugin has no BLR compiler (every
/// dialect but Firebird), else the compiled request or why it was refused.
pub type BlrOutput = Option<Result<BlrRequest, CompileError>>;

/// Encodes a `compile_blr` answer for the trip across the plugin ABI.
pub fn encode_blr_output(output: &BlrOutput) -> Vec<u8> {
    rmp_serde::to_vec_named(output).unwrap_or_default()
}

/// Decodes a `compile_blr` answer (the host does not trust the plugin either).
pub fn decode_blr_output(bytes: &[u8]) -> Result<BlrOutput, String> {
    rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
}

/// A compiled BLR request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlrRequest {
    /// The query the request runs each time it is started (a `Query` statement).
    pub program: Program,
    /// Every message the request declares.
    pub messages: Vec<BlrMessage>,
    /// The message the client sends when it starts the request (`op_start_and_send`),
    /// if the request receives one.
    pub input: Option<u16>,
    /// The message the request sends: once per row, then once more as end of data.
    pub output: u16,
    /// How each item of the `output` message is filled for a result row.
    pub row: Vec<BlrItemSource>,
    /// How each item of the `output` message is filled for the end-of-data message.
    pub end: Vec<BlrItemSource>,
}

/// A message declaration (`blr_message`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlrMessage {
    /// The message number.
    pub number: u16,
    /// Its items, in order.
    pub items: Vec<BlrItem>,
}

/// One item of a message: a BLR data type with its modifiers, as declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlrItem {
    /// The BLR type code (`blr_short` 7, `blr_long` 8, `blr_text` 14, `blr_cstring` 40,
    /// `blr_quad` 9, …).
    pub dtype: u8,
    /// Scale of exact numeric types (0 otherwise).
    pub scale: i8,
    /// Declared length of text types, in bytes (0 otherwise).
    pub length: u16,
    /// Sub-type of `blr_blob2` (0 otherwise).
    pub sub_type: u16,
    /// Character set of `blr_text2`/`blr_varying2`/`blr_cstring2`/`blr_blob2`.
    pub charset: u16,
}

/// Where the value of an output message item comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BlrItemSource {
    /// Column `n` (0-based) of the result row, converted to the item's type (a blob
    /// item gets a blob holding the value).
    Column(u16),
    /// The NULL indicator of column `n`: -1 when it is NULL, else 0.
    NullFlag(u16),
    /// A constant integer (the end-of-data flag).
    Integer(i64),
    /// A constant string.
    Text(String),
    /// Not assigned: zero, empty, or a NULL blob id.
    Unset,
}
