//! The generic response packets: OK, ERR and EOF, and the server status flags they carry.
//!
//! A result set is `column count · column definitions · [EOF] · rows · EOF|OK`; with
//! `CLIENT_DEPRECATE_EOF` the EOF after the definitions is left out and the final one is
//! an OK packet with header `0xfe`.

use super::wire::put_lenenc_int;

/// Server status flags.
pub mod status {
    /// A transaction is open.
    pub const IN_TRANS: u16 = 0x0001;
    /// Autocommit is on.
    pub const AUTOCOMMIT: u16 = 0x0002;
}

/// What an OK packet reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ok {
    /// Rows the statement changed.
    pub affected_rows: u64,
    /// The AUTO_INCREMENT value the statement generated (0: none).
    pub last_insert_id: u64,
    /// Server status flags.
    pub status: u16,
    /// Warning count.
    pub warnings: u16,
}

/// An OK packet (header 0x00), or with `eof` the OK that ends a result set (0xfe).
pub fn ok(ok: &Ok, eof: bool) -> Vec<u8> {
    let mut p = Vec::with_capacity(16);
    p.push(if eof { 0xfe } else { 0x00 });
    put_lenenc_int(&mut p, ok.affected_rows);
    put_lenenc_int(&mut p, ok.last_insert_id);
    p.extend_from_slice(&ok.status.to_le_bytes());
    p.extend_from_slice(&ok.warnings.to_le_bytes());
    p
}

/// An old-style EOF packet.
pub fn eof(status: u16) -> Vec<u8> {
    let mut p = vec![0xfe, 0, 0];
    p.extend_from_slice(&status.to_le_bytes());
    p
}

/// An ERR packet with MySQL error `code`, `sqlstate` (5 bytes) and `message`.
pub fn err(code: u16, sqlstate: &[u8], message: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(9 + message.len());
    p.push(0xff);
    p.extend_from_slice(&code.to_le_bytes());
    p.push(b'#');
    let mut state = [b'H', b'Y', b'0', b'0', b'0'];
    if sqlstate.len() == 5 {
        state.copy_from_slice(sqlstate);
    }
    p.extend_from_slice(&state);
    // MySQL caps messages at 512 bytes; stay within that, on a character boundary.
    let mut end = message.len().min(512);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    p.extend_from_slice(&message.as_bytes()[..end]);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_have_their_layout() {
        let o = ok(
            &Ok {
                affected_rows: 2,
                last_insert_id: 300,
                status: status::AUTOCOMMIT,
                warnings: 0,
            },
            false,
        );
        assert_eq!(o, vec![0, 2, 0xfc, 0x2c, 0x01, 2, 0, 0, 0]);
        let e = err(1146, b"42S02", "Table 'x' doesn't exist");
        assert_eq!(
            &e[..9],
            &[0xff, 0x7a, 0x04, b'#', b'4', b'2', b'S', b'0', b'2']
        );
        assert_eq!(eof(2), vec![0xfe, 0, 0, 2, 0]);
    }
}
