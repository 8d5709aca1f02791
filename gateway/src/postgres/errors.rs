//! Rosetta errors as PostgreSQL ErrorResponses.
//!
//! Engine and compile errors become severity ERROR with their SQLSTATE, message, detail,
//! hint and position, so that the connection survives (architecture §5). Only errors
//! that make the session unusable (engine flagged `fatal`, lost engine connection,
//! authentication) are FATAL, which closes the connection.

use pgwire::error::{ErrorInfo, PgWireError, SEVERITY_ERROR, SEVERITY_FATAL};
use rosetta_bytecode::CompileError;
use rosetta_proto::EngineError;

use super::types::WireTypeError;
use crate::engine_client::EngineClientError;

/// An ErrorResponse with severity ERROR.
pub fn error(code: &str, message: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new(SEVERITY_ERROR.to_owned(), code.to_owned(), message.into())
}

/// An ErrorResponse with severity FATAL (the connection is closed after it).
pub fn fatal(code: &str, message: impl Into<String>) -> ErrorInfo {
    ErrorInfo::new(SEVERITY_FATAL.to_owned(), code.to_owned(), message.into())
}

/// Wraps an ErrorResponse as the error type pgwire's handlers return.
pub fn into_pgwire(info: ErrorInfo) -> PgWireError {
    PgWireError::UserError(Box::new(info))
}

/// An engine SQL error, ERROR or FATAL as the engine says.
pub fn from_engine(e: &EngineError) -> ErrorInfo {
    let mut info = if e.fatal {
        fatal(&e.sqlstate, e.message.clone())
    } else {
        error(&e.sqlstate, e.message.clone())
    };
    info.detail = e.detail.clone();
    info.hint = e.hint.clone();
    info.position = e.position.map(|p| p.to_string());
    info
}

/// A plugin compile error (always ERROR: the session is fine).
pub fn from_compile(e: &CompileError) -> ErrorInfo {
    let mut info = error(&e.sqlstate, e.message.clone());
    info.position = e.position.map(|p| p.to_string());
    info
}

/// A value conversion error (Bind parameters, result encoding).
pub fn from_wire_type(e: &WireTypeError) -> ErrorInfo {
    error(e.sqlstate, e.message.clone())
}

/// Any engine-client failure: engine SQL errors keep their code; a broken or confused
/// engine connection is FATAL 08006 (the session is gone).
pub fn from_engine_client(e: &EngineClientError) -> ErrorInfo {
    match e {
        EngineClientError::Engine(e) => from_engine(e),
        EngineClientError::Connect { .. } => {
            fatal("08006", "could not connect to the Rosetta engine")
        }
        EngineClientError::Frame(_) | EngineClientError::Unexpected { .. } => fatal(
            "08006",
            format!("lost connection to the Rosetta engine: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosetta_proto::TxnState;

    #[test]
    fn engine_error_keeps_code_and_position() {
        let e = EngineError {
            sqlstate: "42P01".into(),
            message: "relation \"t\" does not exist".into(),
            detail: Some("d".into()),
            hint: None,
            position: Some(15),
            txn: TxnState::Idle,
            fatal: false,
        };
        let info = from_engine(&e);
        assert_eq!(info.severity, "ERROR");
        assert_eq!(info.code, "42P01");
        assert_eq!(info.position.as_deref(), Some("15"));
        assert_eq!(info.detail.as_deref(), Some("d"));
        assert!(!info.is_fatal());
        assert!(from_engine(&EngineError { fatal: true, ..e }).is_fatal());
    }

    #[test]
    fn compile_error_is_an_error() {
        let info = from_compile(&CompileError {
            sqlstate: "42601".into(),
            message: "syntax error at or near \"selec\"".into(),
            position: Some(1),
        });
        assert_eq!(
            (info.severity.as_str(), info.code.as_str()),
            ("ERROR", "42601")
        );
        assert_eq!(info.position.as_deref(), Some("1"));
    }
}
