//! Firebird dialect plugin: compiles Firebird SQL — and the BLR requests isql sends for
//! its `SHOW` commands — into Rosetta bytecode.
//!
//! ```text
//!  SQL ─▶ tokenize (FirebirdDialect) ─▶ rewrite (FIRST/SKIP, ROWS, ?, BLOB types)
//!      ─▶ front dispatcher (Firebird-only statements | sqlparser) ─▶ lower ─▶ Programs
//!  BLR ─▶ blr::decode (bounded, total) ─▶ blr::compile ─▶ Query program + message plan
//! ```
//!
//! Firebird's rules applied: unquoted identifiers fold to upper case, `?` parameters
//! are numbered by their position in the text, `FIRST/SKIP` and `ROWS` become one
//! limit, `UPDATE OR INSERT … MATCHING` an upsert, generators sequences (with Firebird
//! 3's "start value is the current value" convention translated). What cannot be
//! expressed in bytecode is refused with SQLSTATE `0A000`, never dropped.
//!
//! The crate builds both as an `rlib` (tests, in-process use) and as a `cdylib`
//! exporting the plugin module of `rosetta-plugin-abi`, including the optional
//! `compile_blr` entry.

pub mod blr;
mod dialect;
mod front;
mod lower;
mod parse;
mod rewrite;

use rosetta_bytecode::{CompileOutput, Dialect, Program, Statement};
use rosetta_plugin_abi::PluginInfo;

pub use dialect::FirebirdDialect;
pub use parse::{MAX_NESTING, MAX_OPERATOR_CHAIN, MAX_SQL_BYTES};

/// Compiles every statement of `sql` into programs, or returns the first error.
///
/// Most statements compile to one program; `RECREATE TABLE` compiles to a
/// `DropTable { if_exists }` and a `CreateTable`, and `COMMIT RETAIN` / `ROLLBACK
/// RETAIN` to a `Commit`/`Rollback` followed by a `Begin` (run them in order). An empty
/// string compiles to one [`Statement::Empty`] program.
pub fn compile(sql: &str) -> CompileOutput {
    let statements = parse::parse(sql)?;
    if statements.is_empty() {
        return Ok(vec![Program::new(Dialect::Firebird, Statement::Empty)]);
    }
    let mut programs = Vec::new();
    for statement in &statements {
        programs.extend(lower::programs(statement)?);
    }
    Ok(programs)
}

/// What this plugin reports through `describe`.
pub fn plugin_info() -> PluginInfo {
    PluginInfo {
        name: env!("CARGO_PKG_NAME").to_string(),
        dialect: Dialect::Firebird,
        version: env!("CARGO_PKG_VERSION").to_string(),
        build_id: build_id(),
        bytecode_version: rosetta_bytecode::VERSION,
    }
}

/// Identifies this build: `ROSETTA_BUILD_ID` from the build environment when set, else
/// the crate version and profile.
fn build_id() -> String {
    match option_env!("ROSETTA_BUILD_ID") {
        Some(id) => id.to_string(),
        None => format!(
            "{}-{}",
            env!("CARGO_PKG_VERSION"),
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
        ),
    }
}

rosetta_plugin_abi::export_plugin!(
    info = plugin_info(),
    compile = compile,
    compile_blr = blr::compile_blr_output
);
