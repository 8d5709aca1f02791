//! Plugin-side helpers: the bodies of the exported `describe` and `compile` functions,
//! with every panic caught before it can unwind across the `extern "C"` boundary.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use abi_stable::std_types::{RSlice, RStr, RVec};
use rosetta_bytecode::{encode_output, CompileError, CompileOutput};

use crate::blr::{encode_blr_output, BlrOutput};
use crate::PluginInfo;

/// Body of a plugin's `describe`: encodes `info()`; a panic yields empty bytes (which the
/// host refuses as "not a Rosetta plugin").
pub fn describe_bytes(info: impl FnOnce() -> PluginInfo) -> RVec<u8> {
    match catch_unwind(AssertUnwindSafe(|| info().encode())) {
        Ok(bytes) => RVec::from(bytes),
        Err(_) => RVec::new(),
    }
}

/// Body of a plugin's `compile`: runs `compile` on the SQL text and encodes its output; a
/// panic becomes a [`CompileError`] with SQLSTATE `XX000`.
pub fn compile_bytes(sql: RStr<'_>, compile: fn(&str) -> CompileOutput) -> RVec<u8> {
    let sql = sql.as_str();
    let output = match catch_unwind(AssertUnwindSafe(|| compile(sql))) {
        Ok(output) => output,
        Err(payload) => Err(internal_error(&panic_message(payload.as_ref()))),
    };
    let bytes = catch_unwind(AssertUnwindSafe(|| encode_output(&output))).unwrap_or_default();
    RVec::from(bytes)
}

/// Body of a plugin's `compile_blr`: runs `compile_blr` on the request bytes and encodes
/// its output; a panic becomes a [`CompileError`] with SQLSTATE `XX000`.
pub fn compile_blr_bytes(blr: RSlice<'_, u8>, compile_blr: fn(&[u8]) -> BlrOutput) -> RVec<u8> {
    let blr = blr.as_slice();
    let output = match catch_unwind(AssertUnwindSafe(|| compile_blr(blr))) {
        Ok(output) => output,
        Err(payload) => Some(Err(internal_error(&panic_message(payload.as_ref())))),
    };
    let bytes = catch_unwind(AssertUnwindSafe(|| encode_blr_output(&output))).unwrap_or_default();
    RVec::from(bytes)
}

/// Body of `compile_blr` for a plugin without a BLR compiler: always `None`.
pub fn no_blr_bytes(_blr: RSlice<'_, u8>) -> RVec<u8> {
    RVec::from(encode_blr_output(&None))
}

/// The text of a panic payload (`&str` or `String`), or a placeholder.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

/// An `XX000` internal error raised by a misbehaving plugin.
pub(crate) fn internal_error(detail: &str) -> CompileError {
    CompileError {
        sqlstate: "XX000".into(),
        message: format!("internal error in plugin: {detail}"),
        position: None,
    }
}
