//! Decoding of the command phase: the first payload byte names the command, the rest
//! is its argument. Every command the gateway does not implement decodes to
//! [`Command::Unsupported`] and is answered with error 1047 — never with a silent OK,
//! which would let a connection pool believe, say, that a reset happened.

use super::wire::{Cursor, WireError};

/// One client command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    /// COM_QUIT.
    Quit,
    /// COM_INIT_DB: switch database.
    InitDb(&'a [u8]),
    /// COM_QUERY: SQL text (query attributes are not announced, so none precede it).
    Query(&'a [u8]),
    /// COM_FIELD_LIST: the columns of a table (the mariadb client's completion).
    FieldList(&'a [u8]),
    /// COM_STATISTICS.
    Statistics,
    /// COM_PROCESS_KILL: `KILL CONNECTION id`.
    ProcessKill(u32),
    /// COM_PING.
    Ping,
    /// COM_CHANGE_USER (payload decoded later, with the connection's capabilities).
    ChangeUser(&'a [u8]),
    /// COM_STMT_PREPARE.
    Prepare(&'a [u8]),
    /// COM_STMT_EXECUTE: statement id and the rest of the packet (flags, iteration
    /// count, parameters), decoded once the statement's parameter count is known.
    Execute { stmt: u32, rest: &'a [u8] },
    /// COM_STMT_SEND_LONG_DATA.
    SendLongData {
        stmt: u32,
        param: u16,
        data: &'a [u8],
    },
    /// COM_STMT_CLOSE (no answer).
    Close(u32),
    /// COM_STMT_RESET.
    StmtReset(u32),
    /// COM_SET_OPTION: 0 = multi-statements on, 1 = off.
    SetOption(u16),
    /// COM_STMT_FETCH (cursors are not supported).
    Fetch(u32),
    /// COM_RESET_CONNECTION.
    ResetConnection,
    /// Anything else, by command byte.
    Unsupported(u8),
}

/// Decodes one command packet.
pub fn parse(payload: &[u8]) -> Result<Command<'_>, WireError> {
    let mut c = Cursor::new(payload);
    let byte = c.u8("command")?;
    Ok(match byte {
        0x01 => Command::Quit,
        0x02 => Command::InitDb(c.rest()),
        0x03 => Command::Query(c.rest()),
        0x04 => Command::FieldList(c.null_str()),
        0x09 => Command::Statistics,
        0x0c => Command::ProcessKill(c.u32("connection id")?),
        0x0e => Command::Ping,
        0x11 => Command::ChangeUser(c.rest()),
        0x16 => Command::Prepare(c.rest()),
        0x17 => Command::Execute {
            stmt: c.u32("statement id")?,
            rest: c.rest(),
        },
        0x18 => Command::SendLongData {
            stmt: c.u32("statement id")?,
            param: c.u16("parameter number")?,
            data: c.rest(),
        },
        0x19 => Command::Close(c.u32("statement id")?),
        0x1a => Command::StmtReset(c.u32("statement id")?),
        0x1b => Command::SetOption(c.u16("option")?),
        0x1c => Command::Fetch(c.u32("statement id")?),
        0x1f => Command::ResetConnection,
        other => Command::Unsupported(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_commands() {
        assert_eq!(parse(b"\x03select 1"), Ok(Command::Query(b"select 1")));
        assert_eq!(parse(&[0x1f]), Ok(Command::ResetConnection));
        assert_eq!(parse(&[0x1a, 5, 0, 0, 0]), Ok(Command::StmtReset(5)));
        assert_eq!(parse(&[0x1b, 1, 0]), Ok(Command::SetOption(1)));
        assert_eq!(parse(&[0x20]), Ok(Command::Unsupported(0x20)));
        assert!(parse(&[]).is_err());
        assert!(parse(&[0x17, 1]).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..32)) {
            let _ = parse(&bytes);
        }
    }
}
