//! Rosetta bytecode: the contract between dialect plugins and the engine.
//!
//! A dialect plugin turns SQL text into [`Program`]s; the engine binds the names in a
//! program against its catalog inside a transaction, plans it and runs it. The bytecode is
//! therefore *unresolved and name-based*: it says what the user wrote, with every dialect
//! rule already applied (identifier folding, `LIMIT a,b` → one limit, …) and nothing left
//! implied.
//!
//! ```text
//!  SQL ──plugin──▶ Program (this crate) ──MessagePack──▶ engine: validate → bind → plan → run
//! ```
//!
//! Rules every change to this crate keeps (see `docs/adr/0001-bytecode-format.md`):
//! * Programs are encoded as MessagePack with **named** struct fields
//!   ([`encode`]), so an optional field added later (`#[serde(default)]`) does not break
//!   older programs.
//! * Every program carries [`Program::version`]; the engine accepts
//!   [`MIN_VERSION`]`..=`[`VERSION`] and refuses anything else with a clear error.
//! * A clause a plugin does not understand is a compile error, never silently dropped.
//! * The engine treats every decoded program as hostile input: [`validate`] bounds its
//!   depth and sizes before anything else looks at it.

mod ast;
mod validate;

pub use ast::*;
pub use validate::{validate, Limits, ValidationError};

/// The bytecode version this build emits.
pub const VERSION: u16 = 1;
/// The oldest bytecode version this build still accepts.
pub const MIN_VERSION: u16 = 1;

/// Why a byte string could not be turned into a program.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not a well-formed MessagePack program.
    #[error("malformed bytecode: {0}")]
    Malformed(String),
    /// The program is of a version this engine does not run.
    #[error("bytecode version {found} is not supported (this engine accepts {min}..={max})")]
    UnsupportedVersion { found: u16, min: u16, max: u16 },
    /// The program decoded but breaks a structural limit.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
}

/// Encodes a program as MessagePack with named fields (the only encoding on the wire).
pub fn encode(program: &Program) -> Vec<u8> {
    // Serialising plain data into a Vec cannot fail; map the impossible error to an empty
    // program so that callers never see a panic path.
    rmp_serde::to_vec_named(program).unwrap_or_default()
}

/// Decodes, version-checks and validates a program received from an untrusted peer.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Program, DecodeError> {
    if bytes.len() > limits.max_program_bytes {
        return Err(ValidationError::TooLarge {
            what: "program",
            size: bytes.len(),
            limit: limits.max_program_bytes,
        }
        .into());
    }
    // Peek at the version first so that a future program gets a version error rather than
    // a confusing "unknown variant" error.
    if let Ok(header) = rmp_serde::from_slice::<VersionHeader>(bytes) {
        if !(MIN_VERSION..=VERSION).contains(&header.version) {
            return Err(DecodeError::UnsupportedVersion {
                found: header.version,
                min: MIN_VERSION,
                max: VERSION,
            });
        }
    }
    // Bound the decoder's recursion too: validation runs after decoding, so a program
    // nested a million levels deep must be stopped by the decoder itself.
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    de.set_max_depth(limits.max_depth * 4);
    let program: Program = serde::Deserialize::deserialize(&mut de)
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    validate(&program, limits)?;
    Ok(program)
}

#[derive(serde::Deserialize)]
struct VersionHeader {
    version: u16,
}

/// What a plugin's `compile` returns for one SQL string: every statement in it, or the
/// first error. Encoded with [`encode_output`] across the plugin boundary.
pub type CompileOutput = Result<Vec<Program>, CompileError>;

/// Encodes a plugin's compile output for the trip across the plugin ABI.
pub fn encode_output(output: &CompileOutput) -> Vec<u8> {
    rmp_serde::to_vec_named(output).unwrap_or_default()
}

/// Decodes a plugin's compile output (the host does not trust the plugin either).
pub fn decode_output(bytes: &[u8]) -> Result<CompileOutput, DecodeError> {
    rmp_serde::from_slice(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))
}

/// A compile-time error: SQL the plugin could not turn into bytecode.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    /// SQLSTATE class of the failure: `42601` syntax error, `0A000` not supported, …
    pub sqlstate: String,
    /// Human readable message, in the dialect's usual words.
    pub message: String,
    /// 1-based character position in the SQL text, when known.
    #[serde(default)]
    pub position: Option<u32>,
}

impl CompileError {
    /// A syntax error (SQLSTATE 42601).
    pub fn syntax(message: impl Into<String>) -> Self {
        Self {
            sqlstate: "42601".into(),
            message: message.into(),
            position: None,
        }
    }

    /// A recognised but unsupported feature (SQLSTATE 0A000).
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self {
            sqlstate: "0A000".into(),
            message: message.into(),
            position: None,
        }
    }
}

#[cfg(test)]
mod tests;
