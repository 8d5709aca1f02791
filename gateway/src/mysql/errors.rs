//! Engine and compile errors as MySQL error packets: SQLSTATEs mapped to the MySQL error
//! numbers (and with them MySQL's own SQLSTATEs) that MySQL clients and drivers test.

use opensrv_mysql::ErrorKind;

/// An error to send to the client as an ERR packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyError {
    /// MySQL error number.
    pub code: u16,
    /// MySQL SQLSTATE (5 bytes).
    pub sqlstate: [u8; 5],
    /// Message text.
    pub message: String,
}

impl MyError {
    /// An error of a known MySQL kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let mut sqlstate = *b"HY000";
        if kind.sqlstate().len() == 5 {
            sqlstate.copy_from_slice(kind.sqlstate());
        }
        Self {
            code: kind as u16,
            sqlstate,
            message: message.into(),
        }
    }

    /// An error from an engine or plugin SQLSTATE and message.
    pub fn from_sqlstate(sqlstate: &str, message: &str) -> Self {
        Self::new(error_kind(sqlstate, message), message)
    }

    /// MariaDB's 1927 / 70100: this session was ended by `KILL CONNECTION`.
    pub fn connection_killed() -> Self {
        Self {
            code: 1927,
            sqlstate: *b"70100",
            message: "Connection was killed".into(),
        }
    }

    /// 1053 / 08S01: the server is shutting down.
    pub fn shutdown() -> Self {
        Self::new(ErrorKind::ER_SERVER_SHUTDOWN, "Server shutdown in progress")
    }
}

impl From<&rosetta_proto::EngineError> for MyError {
    fn from(e: &rosetta_proto::EngineError) -> Self {
        Self::from_sqlstate(&e.sqlstate, &e.message)
    }
}

impl From<&rosetta_bytecode::CompileError> for MyError {
    fn from(e: &rosetta_bytecode::CompileError) -> Self {
        Self::from_sqlstate(&e.sqlstate, &e.message)
    }
}

/// The MySQL error for an error with `sqlstate` and `message`.
///
/// Codes clients branch on are exact (1146 unknown table, 1062 duplicate key, 1064 syntax,
/// 1054 unknown column, 1213 serialization failure, 1048 NULL into NOT NULL, 1049
/// unknown database); anything without a MySQL counterpart is 1105 (`ER_UNKNOWN_ERROR`,
/// HY000) and keeps the engine's message.
pub fn error_kind(sqlstate: &str, message: &str) -> ErrorKind {
    match sqlstate {
        "42P01" => ErrorKind::ER_NO_SUCH_TABLE,
        "23505" => ErrorKind::ER_DUP_ENTRY,
        "42601" => ErrorKind::ER_PARSE_ERROR,
        "42703" => ErrorKind::ER_BAD_FIELD_ERROR,
        "40001" | "40P01" => ErrorKind::ER_LOCK_DEADLOCK,
        "23502" => ErrorKind::ER_BAD_NULL_ERROR,
        "3D000" => ErrorKind::ER_BAD_DB_ERROR,
        "42P07" => ErrorKind::ER_TABLE_EXISTS_ERROR,
        "42P04" => ErrorKind::ER_DB_CREATE_EXISTS,
        "42702" => ErrorKind::ER_NON_UNIQ_ERROR,
        "42701" => ErrorKind::ER_DUP_FIELDNAME,
        "42883" => ErrorKind::ER_SP_DOES_NOT_EXIST,
        "0A000" => ErrorKind::ER_NOT_SUPPORTED_YET,
        "22012" => ErrorKind::ER_DIVISION_BY_ZER,
        "22001" => ErrorKind::ER_DATA_TOO_LONG,
        "22003" => ErrorKind::ER_WARN_DATA_OUT_OF_RANGE,
        "22P02" | "22007" | "22008" => ErrorKind::ER_TRUNCATED_WRONG_VALUE,
        "57014" => ErrorKind::ER_QUERY_INTERRUPTED,
        "28000" | "28P01" => ErrorKind::ER_ACCESS_DENIED_ERROR,
        "25001" | "25P02" => ErrorKind::ER_CANT_DO_THIS_DURING_AN_TRANSACTION,
        "22023" if message.starts_with("Unknown system variable") => {
            ErrorKind::ER_UNKNOWN_SYSTEM_VARIABLE
        }
        _ => ErrorKind::ER_UNKNOWN_ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_clients_test_are_exact() {
        assert_eq!(error_kind("42P01", "") as u16, 1146);
        assert_eq!(error_kind("23505", "") as u16, 1062);
        assert_eq!(error_kind("42601", "") as u16, 1064);
        assert_eq!(error_kind("42703", "") as u16, 1054);
        assert_eq!(error_kind("40001", "") as u16, 1213);
        assert_eq!(error_kind("23502", "") as u16, 1048);
        assert_eq!(error_kind("3D000", "") as u16, 1049);
        assert_eq!(error_kind("XX000", "") as u16, 1105);
        assert_eq!(error_kind("42P01", "").sqlstate(), b"42S02");
        assert_eq!(error_kind("23505", "").sqlstate(), b"23000");
        assert_eq!(error_kind("57014", "") as u16, 1317);
        let e = MyError::shutdown();
        assert_eq!((e.code, &e.sqlstate), (1053, b"08S01"));
    }
}
