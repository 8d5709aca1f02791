//! Firebird dialect plugin: compiles Firebird SQL (and isql's BLR requests) into Rosetta
//! bytecode. Work in progress: every statement is refused with `0A000` for now.

use rosetta_bytecode::{CompileError, CompileOutput, Dialect};
use rosetta_plugin_abi::PluginInfo;

/// Compiles every statement of `sql` into a program, or returns the first error.
pub fn compile(_sql: &str) -> CompileOutput {
    Err(CompileError::unsupported(
        "the Firebird dialect is not implemented yet",
    ))
}

/// What this plugin reports through `describe`.
pub fn plugin_info() -> PluginInfo {
    PluginInfo {
        name: env!("CARGO_PKG_NAME").to_string(),
        dialect: Dialect::Firebird,
        version: env!("CARGO_PKG_VERSION").to_string(),
        build_id: format!("{}-dev", env!("CARGO_PKG_VERSION")),
        bytecode_version: rosetta_bytecode::VERSION,
    }
}

rosetta_plugin_abi::export_plugin!(info = plugin_info(), compile = compile);
