//! isql's metadata requests: BLR (Firebird's own bytecode) compiled into Rosetta
//! bytecode.
//!
//! isql's `SHOW TABLES` and `SHOW TABLE x` do not send SQL: they `op_compile` BLR
//! requests that loop over the `RDB$…` system tables (`RDB$RELATIONS`,
//! `RDB$RELATION_FIELDS`, `RDB$FIELDS`, `RDB$INDICES`, `RDB$INDEX_SEGMENTS`,
//! `RDB$RELATION_CONSTRAINTS`, …), which the engine serves as virtual tables. [`decode`]
//! turns the bytes into a small tree (total and bounded); [`compile`] turns the tree
//! into one query plus the plan for the messages the gateway sends back
//! ([`rosetta_plugin_abi::blr::BlrRequest`]).

pub mod compile;
pub mod decode;

use rosetta_bytecode::CompileError;
use rosetta_plugin_abi::blr::{BlrOutput, BlrRequest};

pub use decode::{BlrError, MAX_BLR_BYTES, MAX_DEPTH};

/// Compiles a BLR request, or says why it cannot be run (SQLSTATE `0A000`, Firebird's
/// "feature is not supported").
pub fn compile_blr(blr: &[u8]) -> Result<BlrRequest, CompileError> {
    let request = decode::decode(blr).map_err(|e| CompileError::unsupported(e.to_string()))?;
    compile::compile(&request).map_err(|e| CompileError::unsupported(e.to_string()))
}

/// The plugin's `compile_blr` entry: always `Some` (this plugin has a BLR compiler).
pub fn compile_blr_output(blr: &[u8]) -> BlrOutput {
    Some(compile_blr(blr))
}
