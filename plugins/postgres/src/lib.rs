//! PostgreSQL dialect plugin: compiles PostgreSQL SQL text into Rosetta bytecode.
//!
//! The text is parsed with `sqlparser`'s PostgreSQL dialect ([`parse`]) and every
//! statement is lowered ([`lower`]) to a [`rosetta_bytecode::Program`] with PostgreSQL's
//! rules applied (identifier folding, parameter numbering, `pg_catalog` names, …). What
//! cannot be expressed in bytecode is refused with SQLSTATE `0A000`, never dropped.
//!
//! The crate builds both as an `rlib` (for tests and in-process use through [`compile`])
//! and as a `cdylib` exporting the frozen plugin module of `rosetta-plugin-abi`.

mod lower;
mod parse;

use rosetta_bytecode::{CompileOutput, Dialect, Program, Statement};
use rosetta_plugin_abi::PluginInfo;

pub use parse::{MAX_NESTING, MAX_OPERATOR_CHAIN, MAX_SQL_BYTES};

/// Compiles every statement of `sql` into a program, or returns the first error.
///
/// An empty string (or one holding only `;` and comments) compiles to one
/// [`Statement::Empty`] program.
pub fn compile(sql: &str) -> CompileOutput {
    if lower::maint::is_vacuum(sql) {
        let statement = lower::maint::vacuum(sql)?;
        return Ok(vec![Program::new(Dialect::Postgres, statement)]);
    }
    if lower::sequence::is_alter_sequence(sql) {
        let statement = lower::sequence::alter_sequence(sql)?;
        return Ok(vec![Program::new(Dialect::Postgres, statement)]);
    }
    let statements = parse::parse(sql)?;
    if statements.is_empty() {
        return Ok(vec![Program::new(Dialect::Postgres, Statement::Empty)]);
    }
    statements.iter().map(lower::program).collect()
}

/// What this plugin reports through `describe`.
pub fn plugin_info() -> PluginInfo {
    PluginInfo {
        name: env!("CARGO_PKG_NAME").to_string(),
        dialect: Dialect::Postgres,
        version: env!("CARGO_PKG_VERSION").to_string(),
        build_id: build_id(),
        bytecode_version: rosetta_bytecode::VERSION,
    }
}

/// Identifies this build: `ROSETTA_BUILD_ID` from the build environment when set (the
/// build scripts pass e.g. the git revision), else the crate version and profile.
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

rosetta_plugin_abi::export_plugin!(info = plugin_info(), compile = compile);
